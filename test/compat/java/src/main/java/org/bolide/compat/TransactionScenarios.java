package org.bolide.compat;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.rocketmq.client.producer.LocalTransactionState;
import org.apache.rocketmq.client.producer.TransactionListener;
import org.apache.rocketmq.client.producer.TransactionMQProducer;
import org.apache.rocketmq.client.producer.TransactionSendResult;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.common.message.MessageQueue;

/**
 * Transactional messages with the Java TransactionMQProducer (issue 5, transactions).
 *
 * <ul>
 *   <li>transaction-commit: every local transaction commits; each message is delivered once, unchanged</li>
 *   <li>transaction-rollback: every local transaction rolls back, then one committed marker; nothing but the
 *       marker is delivered (use a one-queue topic: --queues 1)</li>
 *   <li>transaction-check-commit: every local transaction is UNKNOW; the checker answers UNKNOW for the first
 *       --unknown-checks checks of a message and COMMIT after; each message is delivered once</li>
 *   <li>transaction-crash: sends --count half messages whose local transactions stay unknown and halts the JVM
 *       inside the last local transaction (no END_TRANSACTION, no unregister: a producer killed
 *       mid-transaction). Its result line is printed just before the halt.</li>
 *   <li>transaction-checker: a producer of the same group (--producer-group) answering every check with COMMIT,
 *       until all --count messages of --run are delivered (the check-backs of a crashed producer)</li>
 * </ul>
 * The broker must check often (transactionCheckInterval / transactionTimeOut of a second or so).
 */
final class TransactionScenarios {
    static final List<String> NAMES = Arrays.asList("transaction-commit", "transaction-rollback",
        "transaction-check-commit", "transaction-crash", "transaction-checker");

    static final Map<String, String> OPTIONS = new LinkedHashMap<>();

    static {
        OPTIONS.put("unknown-checks", "transaction-check-commit: checks answered UNKNOW before COMMIT (0)");
    }

    private final Scenarios s;
    private final Map<String, AtomicInteger> checksById = new ConcurrentHashMap<>();

    private TransactionScenarios(Scenarios s) {
        this.s = s;
    }

    static boolean run(String scenario, Scenarios s) throws Exception {
        TransactionScenarios t = new TransactionScenarios(s);
        switch (scenario) {
            case "transaction-commit":
                t.sendAll(LocalTransactionState.COMMIT_MESSAGE, 0);
                return true;
            case "transaction-rollback":
                t.rollback();
                return true;
            case "transaction-check-commit":
                t.sendAll(LocalTransactionState.UNKNOW, s.intOpt("unknown-checks", 0));
                return true;
            case "transaction-crash":
                t.crash();
                return true;
            case "transaction-checker":
                t.checker();
                return true;
            default:
                return false;
        }
    }

    /** A started TransactionMQProducer of the producer group; the checker answers COMMIT after `unknownChecks`. */
    private TransactionMQProducer producer(TransactionListener listener, boolean shutDownAtEnd) throws Exception {
        TransactionMQProducer p = new TransactionMQProducer(
            s.opts.getOrDefault("producer-group", "bolide-compat-tx-producer-" + s.run));
        p.setNamesrvAddr(s.namesrv);
        p.setInstanceName("tx-" + s.scenario + "-" + s.pid);
        p.setSendMsgTimeout(s.intOpt("send-timeout-ms", 10_000));
        p.setDefaultTopicQueueNums(s.queues);
        // The broker learns about this producer (and finds it again after a broker restart) by heartbeat.
        p.setHeartbeatBrokerInterval(1000);
        p.setPollNameServerInterval(1000);
        p.setTransactionListener(listener);
        p.start();
        if (shutDownAtEnd) {
            s.shutdowns.add(p::shutdown);
        }
        return p;
    }

    private TransactionListener listener(LocalTransactionState local, int unknownChecks) {
        return new TransactionListener() {
            @Override
            public LocalTransactionState executeLocalTransaction(Message msg, Object arg) {
                return local;
            }

            @Override
            public LocalTransactionState checkLocalTransaction(MessageExt msg) {
                int n = checksById.computeIfAbsent(String.valueOf(s.msgs.seqOf(msg)), k -> new AtomicInteger())
                    .incrementAndGet();
                return n > unknownChecks ? LocalTransactionState.COMMIT_MESSAGE : LocalTransactionState.UNKNOW;
            }
        };
    }

    private Map<String, Object> sendInTransaction(TransactionMQProducer p, int seq) throws Exception {
        TransactionSendResult r = p.sendMessageInTransaction(s.msgs.build(s.topic, seq), null);
        Map<String, Object> rec = new LinkedHashMap<>();
        rec.put("seq", seq);
        rec.put("msgId", r.getMsgId());
        rec.put("offsetMsgId", r.getOffsetMsgId());
        rec.put("transactionId", r.getTransactionId());
        rec.put("status", String.valueOf(r.getSendStatus()));
        rec.put("localTransactionState", String.valueOf(r.getLocalTransactionState()));
        rec.put("queueId", r.getMessageQueue().getQueueId());
        if (!"SEND_OK".equals(rec.get("status"))) {
            s.problems.add("seq " + seq + ": send status " + rec.get("status"));
        }
        return rec;
    }

    /** Sends count messages in transactions, then checks each is delivered exactly once, unchanged. */
    private void sendAll(LocalTransactionState local, int unknownChecks) throws Exception {
        TransactionMQProducer p = producer(listener(local, unknownChecks), true);
        s.ensureTopic(p);
        Map<MessageQueue, Long> before = s.maxOffsets(p);
        List<Map<String, Object>> records = new ArrayList<>();
        for (int seq = 0; seq < s.count; seq++) {
            records.add(sendInTransaction(p, seq));
        }
        s.details.put("messages", records);
        List<MessageExt> got = s.readBack(before, s.count, "verify");
        s.details.put("checks", checkCounts());
        verifyDeliveredOnce(p, before, got, s.count);
        if (unknownChecks > 0 || local == LocalTransactionState.UNKNOW) {
            for (int seq = 0; seq < s.count; seq++) {
                AtomicInteger n = checksById.get(String.valueOf(seq));
                if (n == null || n.get() <= unknownChecks) {
                    s.problems.add("seq " + seq + ": checked " + (n == null ? 0 : n.get()) + " times, expected more than "
                        + unknownChecks);
                }
            }
        }
    }

    private Map<String, Integer> checkCounts() {
        Map<String, Integer> out = new TreeMap<>();
        checksById.forEach((k, v) -> out.put(k, v.get()));
        return out;
    }

    /** Every message of the run arrived once and unchanged, and the topic grew by exactly `expected`. */
    private void verifyDeliveredOnce(TransactionMQProducer p, Map<MessageQueue, Long> before, List<MessageExt> got,
        int expected) throws Exception {
        Map<Integer, Integer> seen = new TreeMap<>();
        for (MessageExt m : got) {
            Integer seq = s.msgs.seqOf(m);
            seen.merge(seq, 1, Integer::sum);
            String diff = s.msgs.check(m, s.topic);
            if (diff != null) {
                s.problems.add(diff);
            }
        }
        s.details.put("received", got.size());
        if (seen.size() != expected) {
            s.problems.add("expected " + expected + " distinct messages, received " + seen.size());
        }
        seen.forEach((seq, n) -> {
            if (n > 1) {
                s.problems.add("seq " + seq + " delivered " + n + " times");
            }
        });
        long grown = 0;
        for (MessageQueue mq : p.fetchPublishMessageQueues(s.topic)) {
            grown += p.maxOffset(mq) - before.getOrDefault(mq, 0L);
        }
        s.details.put("storedInTopic", grown);
        if (grown != expected) {
            s.problems.add("the topic holds " + grown + " new messages, expected " + expected + " (stored once each)");
        }
    }

    /**
     * Every local transaction rolls back; then a plain message (seq = count) is sent on the same connection. On a
     * one-queue topic the first message of this run to arrive must be that marker, and the topic holds nothing else.
     */
    private void rollback() throws Exception {
        TransactionMQProducer p = producer(listener(LocalTransactionState.ROLLBACK_MESSAGE, 0), true);
        s.ensureTopic(p);
        Map<MessageQueue, Long> before = s.maxOffsets(p);
        List<Map<String, Object>> records = new ArrayList<>();
        for (int seq = 0; seq < s.count; seq++) {
            records.add(sendInTransaction(p, seq));
        }
        s.details.put("messages", records);
        p.send(s.msgs.build(s.topic, s.count));
        List<MessageExt> got = s.readBack(before, 1, "verify");
        List<Integer> seqs = new ArrayList<>();
        for (MessageExt m : got) {
            seqs.add(s.msgs.seqOf(m));
        }
        s.details.put("receivedSeqs", seqs);
        if (!seqs.equals(Collections.singletonList(s.count))) {
            s.problems.add("expected only the marker (seq " + s.count + "), received seqs " + seqs);
        }
        long grown = 0;
        for (MessageQueue mq : p.fetchPublishMessageQueues(s.topic)) {
            grown += p.maxOffset(mq) - before.getOrDefault(mq, 0L);
        }
        s.details.put("storedInTopic", grown);
        if (grown != 1) {
            s.problems.add("the topic holds " + grown + " new messages, expected only the marker");
        }
    }

    /** Half messages whose local transactions never end, then a halt inside the last local transaction. */
    private void crash() throws Exception {
        List<Map<String, Object>> records = Collections.synchronizedList(new ArrayList<>());
        PrintStream out = new PrintStream(new FileOutputStream(FileDescriptor.out), true, "UTF-8");
        TransactionListener crashing = new TransactionListener() {
            @Override
            public LocalTransactionState executeLocalTransaction(Message msg, Object arg) {
                Integer seq = Integer.valueOf(msg.getUserProperty(Msgs.PROP_SEQ));
                Map<String, Object> rec = new LinkedHashMap<>();
                rec.put("seq", seq);
                rec.put("msgId", msg.getProperty("UNIQ_KEY"));
                records.add(rec);
                if (seq != null && seq == s.count - 1) {
                    s.details.put("messages", new ArrayList<>(records));
                    s.details.put("crashed", "inside the local transaction of seq " + seq);
                    Map<String, Object> result = new LinkedHashMap<>();
                    result.put("scenario", s.scenario);
                    result.put("ok", s.problems.isEmpty());
                    result.put("details", new LinkedHashMap<>(s.details));
                    result.put("error", s.problems.isEmpty() ? null : String.join("; ", s.problems));
                    out.println(Json.write(result));
                    out.flush();
                    Runtime.getRuntime().halt(0);
                }
                return LocalTransactionState.UNKNOW;
            }

            @Override
            public LocalTransactionState checkLocalTransaction(MessageExt msg) {
                return LocalTransactionState.UNKNOW;
            }
        };
        TransactionMQProducer p = producer(crashing, false);
        s.ensureTopic(p);
        for (int seq = 0; seq < s.count; seq++) {
            p.sendMessageInTransaction(s.msgs.build(s.topic, seq), null);
        }
        s.problems.add("the producer did not crash");
    }

    /** Another producer of the group: commits whatever it is asked about until every message arrived. */
    private void checker() throws Exception {
        TransactionMQProducer p = producer(listener(LocalTransactionState.COMMIT_MESSAGE, 0), true);
        // A producer heartbeats only to brokers of topics it knows: learn the topic's brokers, introduce us now.
        p.getDefaultMQProducerImpl().getmQClientFactory().updateTopicRouteInfoFromNameServer(s.topic);
        p.getDefaultMQProducerImpl().getmQClientFactory().sendHeartbeatToAllBrokerWithLock();
        Map<MessageQueue, Long> from = new HashMap<>();
        List<MessageExt> got = s.readBack(from, s.count, "verify");
        s.details.put("checks", checkCounts());
        s.details.put("checkedMessages", checksById.size());
        verifyDeliveredOnce(p, from, got, s.count);
        if (checksById.size() != s.count) {
            s.problems.add("this producer was asked about " + checksById.size() + " messages, expected " + s.count);
        }
    }
}
