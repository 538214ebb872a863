package org.bolide.compat;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.rocketmq.client.QueryResult;
import org.apache.rocketmq.client.consumer.DefaultLitePullConsumer;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.impl.consumer.ProcessQueue;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendCallback;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.MQVersion;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageClientIDSetter;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.common.message.MessageQueue;

/**
 * Bolide compatibility driver: runs one scenario with the real Apache RocketMQ Java client against a name server
 * and prints exactly one JSON line on stdout: {"scenario", "ok", "details", "error"}. Everything else (client
 * logs, library noise) goes to stderr or to the log directory. Exit status: 0 ok, 1 scenario failed, 2 bad usage,
 * 3 watchdog fired.
 *
 * <pre>java -cp driver.jar:$(cat classpath.txt) org.bolide.compat.Scenarios --namesrv 127.0.0.1:9876 --scenario NAME [options]</pre>
 */
public final class Scenarios {
    static final List<String> SCENARIOS = Arrays.asList("produce-sync", "produce-async", "produce-oneway",
        "produce-batch", "push-cluster-two-consumers", "lite-pull-assign-seek", "query-by-key",
        "view-by-offset-msgid", "produce-for", "consume-from");

    /** Every scenario name the driver accepts: the core ones above plus the feature scenarios. */
    static final List<String> ALL_SCENARIOS = new ArrayList<>(SCENARIOS);

    static {
        ALL_SCENARIOS.addAll(FeatureScenarios.NAMES);
    }

    private static final Map<String, String> OPTIONS = new LinkedHashMap<>();

    static {
        OPTIONS.put("namesrv", "name server address host:port (required)");
        OPTIONS.put("scenario", "one of " + ALL_SCENARIOS);
        OPTIONS.put("topic", "topic (default bolide-compat-<scenario>-<run>)");
        OPTIONS.put("group", "consumer group (default bolide-compat-<scenario>-<run>)");
        OPTIONS.put("producer-group", "producer group (default bolide-compat-producer-<run>)");
        OPTIONS.put("count", "messages to send/receive (scenario default)");
        OPTIONS.put("queues", "queue count when the driver creates the topic (8)");
        OPTIONS.put("create-topic", "admin | auto | none (admin: createTopic(key, topic, queues) through TBW102)");
        OPTIONS.put("create-topic-key", "key topic for admin creation (TBW102)");
        OPTIONS.put("run", "run id stamped into every message (random)");
        OPTIONS.put("body-size", "body size in bytes (100)");
        OPTIONS.put("big-every", "every Nth message gets a 6000-byte (compressed) body, 0 = never (50)");
        OPTIONS.put("batch-size", "messages per batch for produce-batch (16)");
        OPTIONS.put("threads", "sender threads for push-cluster-two-consumers (4)");
        OPTIONS.put("seek-offset", "lite-pull-assign-seek: absolute offset to seek every queue to (default: middle"
            + " of what this run wrote to each queue)");
        OPTIONS.put("tag-expression", "consume-from: subscription expression (*)");
        OPTIONS.put("verify", "produce-*: read everything back and compare (true)");
        OPTIONS.put("settle-ms", "after the last expected message, keep consuming this long to catch duplicates"
            + " (2000)");
        OPTIONS.put("send-timeout-ms", "producer sendMsgTimeout (10000)");
        OPTIONS.put("timeout-ms", "scenario deadline (60000; push-cluster-two-consumers 240000)");
        OPTIONS.put("log-dir", "directory for the client's own log files (a new temp dir)");
        OPTIONS.putAll(FeatureScenarios.OPTIONS);
    }

    private static final int MAX_LISTED = 20;

    final Map<String, String> opts;
    final String scenario;
    final String namesrv;
    final String run;
    final String topic;
    final String group;
    final int count;
    final int queues;
    final long deadline;
    final Msgs msgs;
    final String pid = Long.toString(ProcessHandle.current().pid());
    final Map<String, Object> details = Collections.synchronizedMap(new LinkedHashMap<>());
    final List<String> problems = Collections.synchronizedList(new ArrayList<>());
    final List<Runnable> shutdowns = Collections.synchronizedList(new ArrayList<>());

    private Scenarios(Map<String, String> opts) {
        this.opts = opts;
        this.scenario = opts.get("scenario");
        this.namesrv = opts.get("namesrv");
        this.run = opts.getOrDefault("run", Long.toString(System.currentTimeMillis(), 36)
            + Integer.toHexString((int) (Math.random() * 0xffff)));
        this.topic = opts.getOrDefault("topic", "bolide-compat-" + scenario + "-" + run);
        this.group = opts.getOrDefault("group", "bolide-compat-" + scenario + "-" + run);
        this.count = intOpt("count", defaultCount(scenario));
        this.queues = intOpt("queues", 8);
        long timeout = longOpt("timeout-ms", scenario.startsWith("push-") ? 240_000 : 60_000);
        this.deadline = System.currentTimeMillis() + timeout;
        this.msgs = new Msgs(run, intOpt("body-size", 100), intOpt("big-every", 50));
    }

    private static int defaultCount(String scenario) {
        switch (scenario) {
            case "push-cluster-two-consumers":
                return 10_000;
            case "view-by-offset-msgid":
                return 10;
            case "query-by-key":
            case "produce-for":
            case "consume-from":
                return 20;
            default:
                return 100;
        }
    }

    public static void main(String[] args) throws Exception {
        PrintStream out = new PrintStream(new FileOutputStream(FileDescriptor.out), true, "UTF-8");
        System.setOut(System.err); // stdout carries the result line and nothing else
        Map<String, String> opts;
        try {
            opts = parse(args);
        } catch (IllegalArgumentException e) {
            out.println(Json.write(result(null, false, new LinkedHashMap<>(), e.getMessage() + "\n" + usage())));
            Runtime.getRuntime().halt(2);
            return;
        }
        configureClientLogging(opts);
        Scenarios s = new Scenarios(opts);
        AtomicBoolean printed = new AtomicBoolean();
        startWatchdog(s, out, printed);
        Map<String, Object> result = s.execute();
        if (printed.compareAndSet(false, true)) {
            out.println(Json.write(result));
            out.flush();
        }
        s.shutdownClients();
        Runtime.getRuntime().halt(Boolean.TRUE.equals(result.get("ok")) ? 0 : 1);
    }

    private static Map<String, String> parse(String[] args) {
        Map<String, String> opts = new HashMap<>();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (!a.startsWith("--")) {
                throw new IllegalArgumentException("unexpected argument: " + a);
            }
            String key = a.substring(2);
            String value;
            int eq = key.indexOf('=');
            if (eq >= 0) {
                value = key.substring(eq + 1);
                key = key.substring(0, eq);
            } else if (i + 1 < args.length) {
                value = args[++i];
            } else {
                throw new IllegalArgumentException("missing value for --" + key);
            }
            if (!OPTIONS.containsKey(key)) {
                throw new IllegalArgumentException("unknown option --" + key);
            }
            opts.put(key, value);
        }
        if (!opts.containsKey("namesrv") || !opts.containsKey("scenario")) {
            throw new IllegalArgumentException("--namesrv and --scenario are required");
        }
        if (!ALL_SCENARIOS.contains(opts.get("scenario"))) {
            throw new IllegalArgumentException("unknown scenario " + opts.get("scenario"));
        }
        return opts;
    }

    private static String usage() {
        StringBuilder sb = new StringBuilder("options:");
        OPTIONS.forEach((k, v) -> sb.append("\n  --").append(k).append("  ").append(v));
        return sb.toString();
    }

    /** Must run before any RocketMQ class initializes: 4.x reads rocketmq.client.*, 5.x's logback rocketmq.log.*. */
    private static void configureClientLogging(Map<String, String> opts) throws Exception {
        String dir = opts.containsKey("log-dir") ? opts.get("log-dir")
            : Files.createTempDirectory("bolide-compat-log").toString();
        System.setProperty("rocketmq.client.logUseSlf4j", "false");
        System.setProperty("rocketmq.client.logRoot", dir);
        System.setProperty("rocketmq.client.logLevel", "INFO");
        System.setProperty("rocketmq.log.root", dir);
        System.setProperty("rocketmq.log.level", "INFO");
        System.setProperty("mq.consoleAppender.enabled", "false");
        System.err.println("[bolide-compat] client logs in " + dir);
    }

    private static void startWatchdog(Scenarios s, PrintStream out, AtomicBoolean printed) {
        Thread t = new Thread(() -> {
            long grace = 20_000;
            try {
                Thread.sleep(Math.max(0, s.deadline - System.currentTimeMillis()) + grace);
            } catch (InterruptedException e) {
                return;
            }
            if (printed.compareAndSet(false, true)) {
                Map<String, Object> d;
                synchronized (s.details) {
                    d = new LinkedHashMap<>(s.details);
                }
                out.println(Json.write(result(s.scenario, false, d,
                    "driver watchdog: scenario still running " + grace + " ms after its deadline")));
                out.flush();
            }
            Runtime.getRuntime().halt(3);
        }, "bolide-compat-watchdog");
        t.setDaemon(true);
        t.start();
    }

    private static Map<String, Object> result(String scenario, boolean ok, Map<String, Object> details,
        String error) {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("scenario", scenario);
        r.put("ok", ok);
        r.put("details", details);
        r.put("error", error);
        return r;
    }

    private Map<String, Object> execute() {
        details.put("clientVersion", MQVersion.getVersionDesc(MQVersion.CURRENT_VERSION));
        details.put("namesrv", namesrv);
        details.put("topic", topic);
        details.put("run", run);
        details.put("count", count);
        long start = System.currentTimeMillis();
        String error = null;
        try {
            switch (scenario) {
                case "produce-sync":
                case "produce-async":
                case "produce-oneway":
                case "produce-batch":
                    produce(scenario.substring("produce-".length()));
                    break;
                case "push-cluster-two-consumers":
                    pushClusterTwoConsumers();
                    break;
                case "lite-pull-assign-seek":
                    litePullAssignSeek();
                    break;
                case "query-by-key":
                    queryByKey();
                    break;
                case "view-by-offset-msgid":
                    viewByOffsetMsgId();
                    break;
                case "produce-for":
                    produceFor();
                    break;
                case "consume-from":
                    consumeFrom();
                    break;
                default:
                    if (!FeatureScenarios.run(scenario, this)) {
                        throw new IllegalStateException(scenario);
                    }
            }
        } catch (Throwable e) {
            error = describe(e);
            e.printStackTrace();
        }
        details.put("elapsedMs", System.currentTimeMillis() - start);
        if (error == null && !problems.isEmpty()) {
            error = String.join("; ", problems);
        }
        Map<String, Object> d;
        synchronized (details) {
            d = new LinkedHashMap<>(details);
        }
        return result(scenario, error == null, d, error);
    }

    // ---------------------------------------------------------------------------------------------------- scenarios

    /** produce-sync / -async / -oneway / -batch: send, check every send result, then read everything back. */
    private void produce(String mode) throws Exception {
        DefaultMQProducer p = producer();
        ensureTopic(p);
        Map<MessageQueue, Long> before = maxOffsets(p);
        Object[] records = new Object[count];
        List<String> failures = Collections.synchronizedList(new ArrayList<>());
        long t0 = System.currentTimeMillis();
        switch (mode) {
            case "sync":
                for (int seq = 0; seq < count; seq++) {
                    try {
                        records[seq] = sendRecord(seq, p.send(msgs.build(topic, seq)), 0);
                    } catch (Exception e) {
                        failures.add("seq " + seq + ": " + describe(e));
                    }
                }
                break;
            case "async": {
                Semaphore inFlight = new Semaphore(64);
                CountDownLatch done = new CountDownLatch(count);
                for (int seq = 0; seq < count; seq++) {
                    final int s = seq;
                    inFlight.acquire();
                    SendCallback cb = new SendCallback() {
                        @Override
                        public void onSuccess(SendResult r) {
                            records[s] = sendRecord(s, r, 0);
                            inFlight.release();
                            done.countDown();
                        }

                        @Override
                        public void onException(Throwable e) {
                            failures.add("seq " + s + ": " + describe(e));
                            inFlight.release();
                            done.countDown();
                        }
                    };
                    try {
                        p.send(msgs.build(topic, seq), cb);
                    } catch (Exception e) {
                        cb.onException(e);
                    }
                }
                if (!done.await(remaining(), TimeUnit.MILLISECONDS)) {
                    problems.add(done.getCount() + " async sends never completed");
                }
                break;
            }
            case "oneway":
                for (int seq = 0; seq < count; seq++) {
                    Message m = msgs.build(topic, seq);
                    try {
                        p.sendOneway(m);
                        Map<String, Object> r = new LinkedHashMap<>();
                        r.put("seq", seq);
                        r.put("msgId", MessageClientIDSetter.getUniqID(m));
                        records[seq] = r;
                    } catch (Exception e) {
                        failures.add("seq " + seq + ": " + describe(e));
                    }
                }
                break;
            case "batch": {
                int batchSize = intOpt("batch-size", 16);
                int batches = 0;
                for (int first = 0; first < count; first += batchSize) {
                    List<Message> batch = new ArrayList<>();
                    for (int seq = first; seq < Math.min(count, first + batchSize); seq++) {
                        batch.add(msgs.build(topic, seq));
                    }
                    batches++;
                    try {
                        SendResult r = p.send(batch);
                        String[] ids = split(r.getMsgId());
                        String[] offsetIds = split(r.getOffsetMsgId());
                        if (ids.length != batch.size() || offsetIds.length != batch.size()) {
                            problems.add("batch at seq " + first + ": " + ids.length + " msgIds and "
                                + offsetIds.length + " offsetMsgIds for " + batch.size() + " messages");
                        }
                        for (int i = 0; i < batch.size(); i++) {
                            Map<String, Object> rec = sendRecord(first + i, r, i);
                            rec.put("msgId", i < ids.length ? ids[i] : null);
                            rec.put("offsetMsgId", i < offsetIds.length ? offsetIds[i] : null);
                            rec.put("batch", batches - 1);
                            records[first + i] = rec;
                        }
                    } catch (Exception e) {
                        failures.add("batch at seq " + first + ": " + describe(e));
                    }
                }
                details.put("batches", batches);
                break;
            }
            default:
                throw new IllegalArgumentException(mode);
        }
        details.put("sendMs", System.currentTimeMillis() - t0);
        details.put("mode", mode);
        details.put("messages", Arrays.asList(records));
        details.put("failures", failures);
        if (!failures.isEmpty()) {
            problems.add(failures.size() + " sends failed, first: " + failures.get(0));
        }
        checkSendRecords(records, !mode.equals("oneway"));
        if (!Boolean.parseBoolean(opts.getOrDefault("verify", "true"))) {
            return;
        }
        // Read back what this run wrote: every message present, identical, where the send result said it was.
        int sent = (int) Arrays.stream(records).filter(Objects::nonNull).count();
        List<MessageExt> got = readBack(before, sent, "verify");
        verifyReadBack(got, records, "verify");
    }

    /**
     * Two push consumers of one group (clustering) in this JVM; wait until the queue assignment is stable and
     * complete, then send and check every message arrives exactly once, unchanged.
     */
    private void pushClusterTwoConsumers() throws Exception {
        DefaultMQProducer p = producer();
        ensureTopic(p);
        ConcurrentHashMap<Integer, AtomicInteger> deliveries = new ConcurrentHashMap<>();
        AtomicInteger unique = new AtomicInteger();
        AtomicInteger duplicates = new AtomicInteger();
        AtomicInteger foreign = new AtomicInteger();
        AtomicInteger mismatchCount = new AtomicInteger();
        AtomicLong lastNewAt = new AtomicLong();
        List<String> mismatches = Collections.synchronizedList(new ArrayList<>());
        AtomicInteger[] perConsumer = {new AtomicInteger(), new AtomicInteger()};
        List<DefaultMQPushConsumer> consumers = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            final int idx = i;
            DefaultMQPushConsumer c = pushConsumer("c" + (i + 1), "*", (list, ctx) -> {
                for (MessageExt m : list) {
                    Integer seq = msgs.seqOf(m);
                    if (seq == null) {
                        foreign.incrementAndGet();
                        continue;
                    }
                    perConsumer[idx].incrementAndGet();
                    if (deliveries.computeIfAbsent(seq, k -> new AtomicInteger()).incrementAndGet() > 1) {
                        duplicates.incrementAndGet();
                        continue;
                    }
                    String diff = msgs.check(m, topic);
                    if (diff != null && mismatchCount.incrementAndGet() <= MAX_LISTED) {
                        mismatches.add(diff);
                    }
                    unique.incrementAndGet();
                    lastNewAt.set(System.currentTimeMillis());
                }
                return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
            });
            consumers.add(c);
        }
        Map<String, Object> assignment = waitForStableAssignment(consumers);
        details.put("assignment", assignment);
        if (!Boolean.TRUE.equals(assignment.get("stable"))) {
            problems.add("queue assignment never became stable and complete: " + assignment);
            return;
        }

        int threads = intOpt("threads", 4);
        boolean[] stored = new boolean[count]; // send returned (each thread writes its own seqs; read after join)
        AtomicInteger sendFailures = new AtomicInteger();
        List<String> failures = Collections.synchronizedList(new ArrayList<>());
        long t0 = System.currentTimeMillis();
        List<Thread> senders = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            final int first = t;
            Thread th = new Thread(() -> {
                for (int seq = first; seq < count && System.currentTimeMillis() < deadline; seq += threads) {
                    try {
                        SendResult r = p.send(msgs.build(topic, seq));
                        stored[seq] = true;
                        if (r.getSendStatus() != SendStatus.SEND_OK) {
                            failures.add("seq " + seq + ": " + r.getSendStatus());
                        }
                    } catch (Exception e) {
                        sendFailures.incrementAndGet();
                        if (failures.size() < MAX_LISTED) {
                            failures.add("seq " + seq + ": " + describe(e));
                        }
                    }
                }
            }, "sender-" + t);
            th.start();
            senders.add(th);
        }
        for (Thread th : senders) {
            th.join(remaining() + 1);
        }
        long sendMs = System.currentTimeMillis() - t0;
        int sent = 0;
        for (boolean b : stored) {
            sent += b ? 1 : 0;
        }
        int expected = sent;
        while (unique.get() < expected && System.currentTimeMillis() < deadline) {
            Thread.sleep(50);
        }
        long consumeMs = (unique.get() > 0 ? lastNewAt.get() : System.currentTimeMillis()) - t0;
        Thread.sleep(Math.min(longOpt("settle-ms", 2000), remaining()));

        List<Integer> missing = new ArrayList<>();
        int missingCount = 0;
        for (int seq = 0; seq < count; seq++) {
            if (stored[seq] && !deliveries.containsKey(seq) && missingCount++ < MAX_LISTED) {
                missing.add(seq);
            }
        }
        details.put("sent", sent);
        details.put("sendFailures", sendFailures.get());
        details.put("failures", failures);
        details.put("received", unique.get());
        details.put("duplicates", duplicates.get());
        details.put("missing", missingCount);
        details.put("missingSeqs", missing);
        details.put("foreign", foreign.get());
        details.put("mismatches", mismatchCount.get());
        details.put("mismatchSamples", mismatches);
        Map<String, Object> per = new LinkedHashMap<>();
        per.put("c1", perConsumer[0].get());
        per.put("c2", perConsumer[1].get());
        details.put("perConsumer", per);
        details.put("sendMs", sendMs);
        details.put("consumeMs", consumeMs);
        details.put("sendTps", sendMs > 0 ? Math.round(count * 1000.0 / sendMs) : null);

        if (!failures.isEmpty()) {
            problems.add(failures.size() + " sends failed, first: " + failures.get(0));
        }
        if (sent + sendFailures.get() < count) {
            problems.add((count - sent - sendFailures.get()) + " messages not sent before the deadline");
        }
        if (missingCount > 0) {
            problems.add(missingCount + " messages never consumed (first seqs " + missing + ")");
        }
        if (duplicates.get() > 0) {
            problems.add(duplicates.get() + " duplicate deliveries");
        }
        if (mismatchCount.get() > 0) {
            problems.add(mismatchCount.get() + " messages differ from what was sent, first: " + mismatches.get(0));
        }
        if (perConsumer[0].get() == 0 || perConsumer[1].get() == 0) {
            problems.add("one consumer received nothing: " + per);
        }
    }

    /** Assign all queues to a lite pull consumer, seek each to an offset and check exactly the rest arrives. */
    private void litePullAssignSeek() throws Exception {
        DefaultMQProducer p = producer();
        ensureTopic(p);
        Object[] records = new Object[count];
        for (int seq = 0; seq < count; seq++) {
            records[seq] = sendRecord(seq, p.send(msgs.build(topic, seq)), 0);
        }
        checkSendRecords(records, true);
        // This run's offsets per queue, then where to seek: --seek-offset, or the middle of each queue's share.
        Map<Integer, TreeSet<Long>> written = new TreeMap<>();
        for (Object o : records) {
            Map<?, ?> r = (Map<?, ?>) o;
            written.computeIfAbsent((Integer) r.get("queueId"), k -> new TreeSet<>()).add((Long) r.get("queueOffset"));
        }
        Map<Integer, Long> seekTo = new TreeMap<>();
        Map<Integer, List<Long>> expected = new TreeMap<>();
        int expectedCount = 0;
        for (Map.Entry<Integer, TreeSet<Long>> e : written.entrySet()) {
            List<Long> offs = new ArrayList<>(e.getValue());
            long seek = opts.containsKey("seek-offset") ? Long.parseLong(opts.get("seek-offset"))
                : offs.get(offs.size() / 2);
            seekTo.put(e.getKey(), seek);
            List<Long> exp = new ArrayList<>(e.getValue().tailSet(seek));
            expected.put(e.getKey(), exp);
            expectedCount += exp.size();
        }
        details.put("seekOffsets", seekTo);
        details.put("expected", expectedCount);

        DefaultLitePullConsumer c = litePullConsumer(group);
        List<MessageQueue> mqs = new ArrayList<>(c.fetchMessageQueues(topic));
        c.assign(mqs);
        // Paused while seeking: assign starts pulling at once, and a seek that had to wait (a
        // transient retry) must not let other queues deliver from their old offsets meanwhile.
        c.pause(mqs);
        for (MessageQueue mq : mqs) {
            if (seekTo.containsKey(mq.getQueueId())) {
                long offset = seekTo.get(mq.getQueueId());
                retryTransient("seek " + mq, () -> c.seek(mq, offset));
            } else {
                // no message of this run there: nothing should come from it
                retryTransient("seekToEnd " + mq, () -> c.seekToEnd(mq));
            }
        }
        c.resume(mqs);
        Map<Integer, List<Long>> got = new TreeMap<>();
        List<String> mismatches = new ArrayList<>();
        int received = 0;
        int foreign = 0;
        long quietUntil = Long.MAX_VALUE;
        while (System.currentTimeMillis() < Math.min(deadline, quietUntil)) {
            for (MessageExt m : c.poll(500)) {
                if (msgs.seqOf(m) == null) {
                    foreign++;
                    continue;
                }
                received++;
                got.computeIfAbsent(m.getQueueId(), k -> new ArrayList<>()).add(m.getQueueOffset());
                String diff = msgs.check(m, topic);
                if (diff != null && mismatches.size() < MAX_LISTED) {
                    mismatches.add(diff);
                }
            }
            if (received >= expectedCount && quietUntil == Long.MAX_VALUE) {
                quietUntil = System.currentTimeMillis() + 1000; // linger: anything more is an error
            }
        }
        Map<String, Object> perQueue = new TreeMap<>();
        for (Integer q : written.keySet()) {
            List<Long> g = got.getOrDefault(q, Collections.emptyList());
            Map<String, Object> pq = new LinkedHashMap<>();
            pq.put("seek", seekTo.get(q));
            pq.put("expected", expected.get(q).size());
            pq.put("received", g.size());
            pq.put("first", g.isEmpty() ? null : g.get(0));
            pq.put("last", g.isEmpty() ? null : g.get(g.size() - 1));
            perQueue.put(Integer.toString(q), pq);
            if (!g.equals(expected.get(q))) {
                problems.add("queue " + q + " after seek to " + seekTo.get(q) + ": expected offsets "
                    + summarize(expected.get(q)) + ", got " + summarize(g));
            }
        }
        for (Integer q : got.keySet()) {
            if (!written.containsKey(q)) {
                problems.add("queue " + q + " delivered messages although nothing of this run was written there");
            }
        }
        details.put("received", received);
        details.put("foreign", foreign);
        details.put("perQueue", perQueue);
        details.put("mismatches", mismatches);
        if (!mismatches.isEmpty()) {
            problems.add(mismatches.size() + " messages differ from what was sent, first: " + mismatches.get(0));
        }
    }

    /** QUERY_MESSAGE by key (one key shared by all, one key per message) and by unique key (msgId). */
    private void queryByKey() throws Exception {
        DefaultMQProducer p = producer();
        ensureTopic(p);
        long begin = System.currentTimeMillis() - 60_000;
        List<String> msgIds = new ArrayList<>();
        for (int seq = 0; seq < count; seq++) {
            msgIds.add(p.send(msgs.build(topic, seq)).getMsgId());
        }
        // The index is built asynchronously after the append: poll until the shared key finds everything.
        Set<Integer> found = new TreeSet<>();
        List<String> mismatches = new ArrayList<>();
        int queries = 0;
        long t0 = System.currentTimeMillis();
        while (found.size() < count && System.currentTimeMillis() < deadline) {
            queries++;
            QueryResult qr = p.queryMessage(topic, msgs.allKey(), Math.max(64, count * 2), begin,
                System.currentTimeMillis() + 3_600_000L);
            found.clear();
            mismatches.clear();
            for (MessageExt m : qr.getMessageList()) {
                Integer seq = msgs.seqOf(m);
                String diff = msgs.check(m, topic);
                if (seq != null) {
                    found.add(seq);
                }
                if (diff != null && mismatches.size() < MAX_LISTED) {
                    mismatches.add(diff);
                }
            }
            if (found.size() < count) {
                Thread.sleep(200);
            }
        }
        Map<String, Object> all = new LinkedHashMap<>();
        all.put("key", msgs.allKey());
        all.put("expected", count);
        all.put("found", found.size());
        all.put("queries", queries);
        all.put("ms", System.currentTimeMillis() - t0);
        details.put("sharedKey", all);
        if (found.size() != count) {
            problems.add("query by shared key found " + found.size() + " of " + count);
        }

        List<Object> single = new ArrayList<>();
        List<Object> uniq = new ArrayList<>();
        for (int seq : sample(count)) {
            String key = run + "-" + seq;
            QueryResult qr = p.queryMessage(topic, key, 32, begin, System.currentTimeMillis() + 3_600_000L);
            List<Integer> seqs = new ArrayList<>();
            for (MessageExt m : qr.getMessageList()) {
                seqs.add(msgs.seqOf(m));
                String diff = msgs.check(m, topic);
                if (diff != null && mismatches.size() < MAX_LISTED) {
                    mismatches.add(diff);
                }
            }
            Map<String, Object> s = new LinkedHashMap<>();
            s.put("key", key);
            s.put("seqs", seqs);
            single.add(s);
            if (!seqs.equals(Collections.singletonList(seq))) {
                problems.add("query by key " + key + " returned seqs " + seqs);
            }

            MessageExt m = Clients.queryByUniqKey(p, topic, msgIds.get(seq));
            Map<String, Object> u = new LinkedHashMap<>();
            u.put("msgId", msgIds.get(seq));
            u.put("seq", m == null ? null : msgs.seqOf(m));
            u.put("returnedMsgId", m == null ? null : m.getMsgId());
            uniq.add(u);
            if (m == null || !Integer.valueOf(seq).equals(msgs.seqOf(m))) {
                problems.add("query by unique key " + msgIds.get(seq) + " did not return seq " + seq);
            } else if (msgs.check(m, topic) != null && mismatches.size() < MAX_LISTED) {
                mismatches.add(msgs.check(m, topic));
            }
        }
        details.put("singleKeys", single);
        details.put("uniqKeys", uniq);
        details.put("mismatches", mismatches);
        if (!mismatches.isEmpty()) {
            problems.add(mismatches.size() + " queried messages differ from what was sent, first: "
                + mismatches.get(0));
        }
    }

    /** VIEW_MESSAGE_BY_ID with every offset msgId a send returned. */
    private void viewByOffsetMsgId() throws Exception {
        DefaultMQProducer p = producer();
        ensureTopic(p);
        List<Object> views = new ArrayList<>();
        String api = null;
        for (int seq = 0; seq < count; seq++) {
            SendResult r = p.send(msgs.build(topic, seq));
            Object[] viewed = Clients.viewByOffsetMsgId(p, topic, r.getOffsetMsgId());
            MessageExt m = (MessageExt) viewed[0];
            api = (String) viewed[1];
            Map<String, Object> v = new LinkedHashMap<>();
            v.put("seq", seq);
            v.put("offsetMsgId", r.getOffsetMsgId());
            v.put("sentQueueId", r.getMessageQueue().getQueueId());
            v.put("sentQueueOffset", r.getQueueOffset());
            v.put("queueId", m == null ? null : m.getQueueId());
            v.put("queueOffset", m == null ? null : m.getQueueOffset());
            v.put("viewedOffsetMsgId", m == null ? null : Msgs.offsetMsgId(m));
            v.put("viewedMsgId", m == null ? null : m.getMsgId());
            List<String> diffs = new ArrayList<>();
            if (m == null) {
                diffs.add("no message");
            } else {
                String diff = msgs.check(m, topic);
                if (diff != null) {
                    diffs.add(diff);
                }
                if (m.getQueueId() != r.getMessageQueue().getQueueId() || m.getQueueOffset() != r.getQueueOffset()) {
                    diffs.add("position " + m.getQueueId() + "/" + m.getQueueOffset());
                }
                if (!r.getOffsetMsgId().equals(Msgs.offsetMsgId(m))) {
                    diffs.add("offsetMsgId " + Msgs.offsetMsgId(m));
                }
                if (!r.getMsgId().equals(m.getMsgId())) {
                    diffs.add("msgId " + m.getMsgId() + " (sent " + r.getMsgId() + ")");
                }
            }
            v.put("problems", diffs);
            views.add(v);
            if (!diffs.isEmpty()) {
                problems.add("view " + r.getOffsetMsgId() + " (seq " + seq + "): " + String.join(", ", diffs));
            }
        }
        details.put("api", api);
        details.put("views", views);
    }

    /** Send count messages and print each with its full content, for another client to consume and compare. */
    private void produceFor() throws Exception {
        DefaultMQProducer p = producer();
        ensureTopic(p);
        Object[] records = new Object[count];
        for (int seq = 0; seq < count; seq++) {
            Map<String, Object> rec = sendRecord(seq, p.send(msgs.build(topic, seq)), 0);
            rec.putAll(msgs.sentContent(seq));
            records[seq] = rec;
        }
        checkSendRecords(records, true);
        details.put("messages", Arrays.asList(records));
    }

    /** Consume count messages from a topic (written by anyone) with a push consumer and print them all. */
    private void consumeFrom() throws Exception {
        Map<String, MessageExt> byId = new ConcurrentHashMap<>();
        List<Map<String, Object>> arrived = Collections.synchronizedList(new ArrayList<>());
        AtomicInteger duplicates = new AtomicInteger();
        pushConsumer("c1", opts.getOrDefault("tag-expression", "*"), (list, ctx) -> {
            for (MessageExt m : list) {
                if (byId.putIfAbsent(m.getMsgId(), m) != null) {
                    duplicates.incrementAndGet();
                } else {
                    arrived.add(Msgs.describe(m));
                }
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        while (byId.size() < count && System.currentTimeMillis() < deadline) {
            Thread.sleep(50);
        }
        Thread.sleep(Math.min(longOpt("settle-ms", 2000), remaining()));
        List<Map<String, Object>> sorted;
        synchronized (arrived) {
            sorted = new ArrayList<>(arrived);
        }
        sorted.sort((a, b) -> {
            int c = Integer.compare((Integer) a.get("queueId"), (Integer) b.get("queueId"));
            return c != 0 ? c : Long.compare((Long) a.get("queueOffset"), (Long) b.get("queueOffset"));
        });
        details.put("group", group);
        details.put("received", sorted.size());
        details.put("duplicates", duplicates.get());
        details.put("messages", sorted);
        if (sorted.size() != count) {
            problems.add("expected " + count + " messages, received " + sorted.size());
        }
        if (duplicates.get() > 0) {
            problems.add(duplicates.get() + " duplicate deliveries");
        }
        // Messages written by this driver (same --run) are also checked byte for byte.
        for (MessageExt m : byId.values()) {
            if (msgs.seqOf(m) != null && msgs.check(m, topic) != null) {
                problems.add(msgs.check(m, topic));
            }
        }
    }

    // ------------------------------------------------------------------------------------------------------ helpers

    DefaultMQProducer producer() throws Exception {
        DefaultMQProducer p = new DefaultMQProducer(opts.getOrDefault("producer-group", "bolide-compat-producer-" + run));
        p.setNamesrvAddr(namesrv);
        p.setInstanceName("p-" + pid);
        p.setSendMsgTimeout(intOpt("send-timeout-ms", 10_000));
        p.setDefaultTopicQueueNums(queues);
        p.start();
        shutdowns.add(p::shutdown);
        return p;
    }

    DefaultMQPushConsumer pushConsumer(String name, String expression, MessageListenerConcurrently listener)
        throws Exception {
        DefaultMQPushConsumer c = new DefaultMQPushConsumer(group);
        c.setNamesrvAddr(namesrv);
        c.setInstanceName(name + "-" + pid);
        c.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        c.subscribe(topic, expression);
        c.registerMessageListener(listener);
        c.start();
        shutdowns.add(c::shutdown);
        return c;
    }

    DefaultLitePullConsumer litePullConsumer(String consumerGroup) throws Exception {
        DefaultLitePullConsumer c = new DefaultLitePullConsumer(consumerGroup);
        c.setNamesrvAddr(namesrv);
        c.setInstanceName("lp-" + consumerGroup.hashCode() + "-" + pid);
        c.setAutoCommit(false);
        c.start();
        shutdowns.add(c::shutdown);
        return c;
    }

    /** admin: createTopic through the key topic (TBW102) then wait for the route; auto: let the first send create
     * it (broker autoCreateTopicEnable); none: it must already exist. */
    void ensureTopic(DefaultMQProducer p) throws Exception {
        String mode = opts.getOrDefault("create-topic", "admin");
        details.put("createTopic", mode);
        long t0 = System.currentTimeMillis();
        switch (mode) {
            case "admin":
                details.put("createTopicApi", Clients.createTopic(p, opts.getOrDefault("create-topic-key", "TBW102"),
                    topic, queues));
                waitForRoute(p, queues);
                break;
            case "auto":
                if (scenario.startsWith("push-")) {
                    // Consumers need a route before anything is sent: create the topic with one message of another run.
                    p.send(new Msgs(run + "-prime", 10, 0).build(topic, 0));
                    waitForRoute(p, 1);
                }
                break;
            case "none":
                waitForRoute(p, 1);
                break;
            default:
                throw new IllegalArgumentException("--create-topic must be admin, auto or none");
        }
        details.put("createTopicMs", System.currentTimeMillis() - t0);
    }

    private void waitForRoute(DefaultMQProducer p, int minQueues) throws Exception {
        Exception last = null;
        while (System.currentTimeMillis() < deadline) {
            try {
                int n = p.fetchPublishMessageQueues(topic).size();
                if (n >= minQueues) {
                    details.put("routeQueues", n);
                    return;
                }
            } catch (Exception e) {
                last = e;
            }
            Thread.sleep(200);
        }
        throw new IllegalStateException("no route with " + minQueues + " queues for " + topic
            + (last == null ? "" : ": " + describe(last)));
    }

    Map<MessageQueue, Long> maxOffsets(DefaultMQProducer p) {
        Map<MessageQueue, Long> offsets = new HashMap<>();
        try {
            for (MessageQueue mq : p.fetchPublishMessageQueues(topic)) {
                offsets.put(mq, p.maxOffset(mq));
            }
        } catch (Exception e) {
            details.put("offsetsBefore", "unavailable (" + describe(e) + "), reading from 0");
        }
        return offsets;
    }

    private Map<Integer, String> queueIdsAssigned(DefaultMQPushConsumer c) {
        Map<Integer, String> ids = new TreeMap<>();
        for (Map.Entry<MessageQueue, ProcessQueue> e
            : c.getDefaultMQPushConsumerImpl().getRebalanceImpl().getProcessQueueTable().entrySet()) {
            if (e.getKey().getTopic().equals(topic) && !e.getValue().isDropped()) {
                ids.put(e.getKey().getQueueId(), e.getKey().getBrokerName());
            }
        }
        return ids;
    }

    /** Poll both consumers' process queue tables until they are disjoint, cover every queue, and hold for 2 s. */
    private Map<String, Object> waitForStableAssignment(List<DefaultMQPushConsumer> consumers) throws Exception {
        long t0 = System.currentTimeMillis();
        long stableFor = 2000;
        String lastSignature = null;
        long since = 0;
        Set<Integer> all = new TreeSet<>();
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("stable", false);
        while (System.currentTimeMillis() < deadline) {
            if (all.isEmpty()) {
                try {
                    for (MessageQueue mq : consumers.get(0).fetchSubscribeMessageQueues(topic)) {
                        all.add(mq.getQueueId());
                    }
                } catch (Exception e) {
                    out.put("routeError", describe(e));
                }
            }
            Set<Integer> a = queueIdsAssigned(consumers.get(0)).keySet();
            Set<Integer> b = queueIdsAssigned(consumers.get(1)).keySet();
            Set<Integer> union = new TreeSet<>(a);
            union.addAll(b);
            boolean good = !all.isEmpty() && Collections.disjoint(a, b) && union.equals(all)
                && (all.size() < 2 || (!a.isEmpty() && !b.isEmpty()));
            String signature = a + "|" + b;
            out.put("c1", new ArrayList<>(a));
            out.put("c2", new ArrayList<>(b));
            out.put("queues", new ArrayList<>(all));
            long now = System.currentTimeMillis();
            if (!good) {
                lastSignature = null;
            } else if (!signature.equals(lastSignature)) {
                lastSignature = signature;
                since = now;
            } else if (now - since >= stableFor) {
                out.put("stable", true);
                break;
            }
            Thread.sleep(100);
        }
        out.put("waitedMs", System.currentTimeMillis() - t0);
        return out;
    }

    interface ClientCall {
        void run() throws Exception;
    }

    /**
     * Runs an admin call (seek = GET_MIN_OFFSET / GET_MAX_OFFSET), retrying only a failure to put the request on
     * the wire. The 5.x client can hand out a channel that closes while it is being created, and it does not
     * retry admin calls itself; a server answer of any kind (an error code included) is never retried. Each
     * retry is recorded in details.transientRetries so a run that needed one is visible.
     */
    @SuppressWarnings("unchecked")
    void retryTransient(String what, ClientCall call) throws Exception {
        for (int attempt = 1; ; attempt++) {
            try {
                call.run();
                return;
            } catch (Exception e) {
                if (attempt >= 3 || !describe(e).contains("RemotingSendRequestException")) {
                    throw e;
                }
                ((List<String>) details.computeIfAbsent("transientRetries", k -> new ArrayList<String>()))
                    .add(what + ": " + describe(e));
                System.err.println("[bolide-compat] retrying " + what + " after " + describe(e));
                Thread.sleep(200L * attempt);
            }
        }
    }

    /** Lite-pull every queue of the topic from the given offsets until `expected` messages of this run arrived. */
    List<MessageExt> readBack(Map<MessageQueue, Long> from, int expected, String label) throws Exception {
        long t0 = System.currentTimeMillis();
        DefaultLitePullConsumer c = litePullConsumer(group + "-" + label);
        List<MessageQueue> mqs = new ArrayList<>(c.fetchMessageQueues(topic));
        c.assign(mqs);
        c.pause(mqs); // see litePullAssignSeek
        for (MessageQueue mq : mqs) {
            long offset = from.getOrDefault(mq, 0L);
            retryTransient("seek " + mq, () -> c.seek(mq, offset));
        }
        c.resume(mqs);
        List<MessageExt> got = new ArrayList<>();
        int mine = 0;
        while (mine < expected && System.currentTimeMillis() < deadline) {
            for (MessageExt m : c.poll(500)) {
                if (msgs.seqOf(m) != null) {
                    mine++;
                    got.add(m);
                }
            }
        }
        details.put(label + "Ms", System.currentTimeMillis() - t0);
        return got;
    }

    void verifyReadBack(List<MessageExt> got, Object[] records, String label) {
        Map<Integer, Integer> seen = new HashMap<>();
        List<String> mismatches = new ArrayList<>();
        int duplicates = 0;
        // batch index -> msgIds the stored messages carry instead of the per-message ids of the send result
        Map<Object, Set<String>> batchIdOverrides = new TreeMap<>();
        Map<Object, Integer> batchSizes = new HashMap<>();
        for (Object o : records) {
            if (o != null && ((Map<?, ?>) o).containsKey("batch")) {
                batchSizes.merge(((Map<?, ?>) o).get("batch"), 1, Integer::sum);
            }
        }
        int overridden = 0;
        for (MessageExt m : got) {
            int seq = msgs.seqOf(m);
            if (seen.merge(seq, 1, Integer::sum) > 1) {
                duplicates++;
                continue;
            }
            List<String> diffs = new ArrayList<>();
            String diff = msgs.check(m, topic);
            if (diff != null) {
                diffs.add(diff);
            }
            Map<?, ?> rec = seq < records.length ? (Map<?, ?>) records[seq] : null;
            if (rec != null) {
                if (String.valueOf(rec.get("msgId")).equals(m.getMsgId())) {
                    // as sent
                } else if (rec.containsKey("batch")) {
                    batchIdOverrides.computeIfAbsent(rec.get("batch"), k -> new TreeSet<>()).add(m.getMsgId());
                    overridden++;
                } else {
                    diffs.add("msgId " + m.getMsgId() + " (sent " + rec.get("msgId") + ")");
                }
                if (rec.containsKey("queueOffset")) {
                    if (!rec.get("queueId").equals(m.getQueueId()) || !rec.get("queueOffset").equals(m.getQueueOffset())) {
                        diffs.add("stored at " + m.getQueueId() + "/" + m.getQueueOffset() + ", send result said "
                            + rec.get("queueId") + "/" + rec.get("queueOffset"));
                    }
                    if (!String.valueOf(rec.get("offsetMsgId")).equals(Msgs.offsetMsgId(m))) {
                        diffs.add("offsetMsgId " + Msgs.offsetMsgId(m) + " (send result " + rec.get("offsetMsgId") + ")");
                    }
                }
            }
            if (!diffs.isEmpty() && mismatches.size() < MAX_LISTED) {
                mismatches.add("seq " + seq + ": " + String.join(", ", diffs));
            }
        }
        List<Integer> missing = new ArrayList<>();
        int missingCount = 0;
        for (int seq = 0; seq < records.length; seq++) {
            if (records[seq] != null && !seen.containsKey(seq)) {
                missingCount++;
                if (missing.size() < MAX_LISTED) {
                    missing.add(seq);
                }
            }
        }
        // A 5.x client also gives the batch itself a UNIQ_KEY, and a 5.x store appends the batch's properties to
        // every message in it, so each stored message reads back with the batch's id (Apache 5.3.3 does this).
        // Accept that only in its exact form: one shared id for every message of the batch.
        if (!batchIdOverrides.isEmpty()) {
            int consistent = 0;
            for (Map.Entry<Object, Set<String>> e : batchIdOverrides.entrySet()) {
                long inBatch = got.stream().filter(m -> e.getValue().contains(m.getMsgId())).count();
                if (e.getValue().size() == 1 && inBatch == batchSizes.get(e.getKey())) {
                    consistent++;
                } else if (mismatches.size() < MAX_LISTED) {
                    mismatches.add("batch " + e.getKey() + ": stored msgIds " + e.getValue()
                        + " differ from the send result's per-message ids");
                }
            }
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("batches", batchIdOverrides.size());
            o.put("consistentBatches", consistent);
            o.put("messages", overridden);
            details.put("batchMsgIdOverride", o);
        }
        Map<String, Object> v = new LinkedHashMap<>();
        v.put("received", seen.size());
        v.put("duplicates", duplicates);
        v.put("missing", missingCount);
        v.put("missingSeqs", missing);
        v.put("mismatches", mismatches);
        details.put(label, v);
        if (missingCount > 0) {
            problems.add(label + ": " + missingCount + " sent messages not found (first seqs " + missing + ")");
        }
        if (duplicates > 0) {
            problems.add(label + ": " + duplicates + " messages stored twice");
        }
        if (!mismatches.isEmpty()) {
            problems.add(label + ": " + mismatches.size() + " messages differ, first: " + mismatches.get(0));
        }
    }

    private Map<String, Object> sendRecord(int seq, SendResult r, int indexInBatch) {
        Map<String, Object> rec = new LinkedHashMap<>();
        rec.put("seq", seq);
        rec.put("status", r.getSendStatus() == null ? null : r.getSendStatus().name());
        rec.put("msgId", r.getMsgId());
        rec.put("offsetMsgId", r.getOffsetMsgId());
        rec.put("brokerName", r.getMessageQueue() == null ? null : r.getMessageQueue().getBrokerName());
        rec.put("queueId", r.getMessageQueue() == null ? null : r.getMessageQueue().getQueueId());
        rec.put("queueOffset", r.getQueueOffset() + indexInBatch);
        return rec;
    }

    /** Every send OK; msgIds unique; with positions: offset msgIds and (broker, queue, offset) unique too. */
    private void checkSendRecords(Object[] records, boolean withPositions) {
        Set<Object> ids = new HashSet<>();
        Set<Object> offsetIds = new HashSet<>();
        Set<String> positions = new HashSet<>();
        for (Object o : records) {
            if (o == null) {
                continue;
            }
            Map<?, ?> r = (Map<?, ?>) o;
            if (r.get("msgId") == null || !ids.add(r.get("msgId"))) {
                problems.add("seq " + r.get("seq") + ": missing or repeated msgId " + r.get("msgId"));
            }
            if (!withPositions) {
                continue;
            }
            if (!"SEND_OK".equals(r.get("status"))) {
                problems.add("seq " + r.get("seq") + ": status " + r.get("status"));
            }
            if (r.get("offsetMsgId") == null || !offsetIds.add(r.get("offsetMsgId"))) {
                problems.add("seq " + r.get("seq") + ": missing or repeated offsetMsgId " + r.get("offsetMsgId"));
            }
            if (!positions.add(r.get("brokerName") + "/" + r.get("queueId") + "/" + r.get("queueOffset"))) {
                problems.add("seq " + r.get("seq") + ": position " + r.get("queueId") + "/" + r.get("queueOffset")
                    + " given to two messages");
            }
        }
    }

    private void shutdownClients() {
        Thread t = new Thread(() -> {
            List<Runnable> list;
            synchronized (shutdowns) {
                list = new ArrayList<>(shutdowns);
            }
            Collections.reverse(list);
            for (Runnable r : list) {
                try {
                    r.run();
                } catch (Throwable e) {
                    System.err.println("[bolide-compat] shutdown: " + e);
                }
            }
        }, "bolide-compat-shutdown");
        t.setDaemon(true);
        t.start();
        try {
            t.join(5_000);
        } catch (InterruptedException ignored) {
            Thread.currentThread().interrupt();
        }
    }

    private static List<Integer> sample(int n) {
        Set<Integer> s = new TreeSet<>(Arrays.asList(0, n / 2, n - 1));
        s.removeIf(i -> i < 0);
        return new ArrayList<>(s);
    }

    private static String[] split(String joined) {
        return joined == null ? new String[0] : joined.split(",");
    }

    private static String summarize(List<Long> offsets) {
        if (offsets.isEmpty()) {
            return "[]";
        }
        return offsets.size() + " offsets [" + offsets.get(0) + ".." + offsets.get(offsets.size() - 1) + "]"
            + (offsets.size() <= 10 ? " " + offsets : "");
    }

    private long remaining() {
        return Math.max(0, deadline - System.currentTimeMillis());
    }

    int intOpt(String key, int def) {
        return opts.containsKey(key) ? Integer.parseInt(opts.get(key)) : def;
    }

    long longOpt(String key, long def) {
        return opts.containsKey(key) ? Long.parseLong(opts.get(key)) : def;
    }

    static String describe(Throwable e) {
        StringBuilder sb = new StringBuilder();
        Set<Throwable> seen = new HashSet<>();
        for (Throwable t = e; t != null && seen.add(t); t = t.getCause()) {
            if (sb.length() > 0) {
                sb.append(" <- ");
            }
            String msg = t.getMessage() == null ? "" : t.getMessage();
            int nl = msg.indexOf('\n');
            sb.append(t.getClass().getSimpleName()).append(": ").append(nl >= 0 ? msg.substring(0, nl) : msg);
        }
        return sb.toString();
    }
}
