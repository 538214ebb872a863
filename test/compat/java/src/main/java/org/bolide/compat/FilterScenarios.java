package org.bolide.compat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.rocketmq.client.consumer.DefaultMQPullConsumer;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.MessageSelector;
import org.apache.rocketmq.client.consumer.PullResult;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.exception.MQBrokerException;
import org.apache.rocketmq.client.exception.MQClientException;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.common.message.MessageQueue;

/**
 * Filter scenarios: a table of messages (seq, tag, user properties) and of subscriptions (TAG or SQL92), read from
 * --filter-file. Every subscription is pulled through DefaultMQPullConsumer with MessageSelector.byTag/bySql from
 * offset 0 to the end of the one queue; details.results maps each case id to the seqs that arrived or to the
 * broker's error code. --push-case runs one case through a DefaultMQPushConsumer (subscription registered by
 * heartbeat, CHECK_CLIENT_CONFIG at start); --push-bad-cases starts a push consumer with each refused selector
 * and reports the error start() throws (CHECK_CLIENT_CONFIG).
 *
 * File lines, tab-separated: "M seq tag|- base64(k 0x01 v 0x02 ...)" and "Q id TAG|SQL92 base64(expression)".
 */
final class FilterScenarios {
    static final String FILTER_TABLE = "filter-table";

    private FilterScenarios() {
    }

    static void register(List<String> names, Map<String, String> options) {
        names.add(FILTER_TABLE);
        options.put("filter-file", "filter-table: file with the messages and subscriptions (see FilterScenarios)");
        options.put("push-case", "filter-table: id of a case also consumed by a push consumer");
        options.put("push-expect", "filter-table: how many messages the push case must receive");
        options.put("push-bad-cases", "filter-table: comma-separated ids of refused selectors; a push consumer is"
            + " started with each (CHECK_CLIENT_CONFIG must refuse it)");
    }

    private static final class Row {
        final int seq;
        final String tag;
        final Map<String, String> properties = new LinkedHashMap<>();

        Row(int seq, String tag) {
            this.seq = seq;
            this.tag = tag;
        }
    }

    private static final class Query {
        final String id;
        final String type;
        final String expression;

        Query(String id, String type, String expression) {
            this.id = id;
            this.type = type;
            this.expression = expression;
        }

        MessageSelector selector() {
            return "TAG".equals(type) ? MessageSelector.byTag(expression) : MessageSelector.bySql(expression);
        }
    }

    private static String decode(String base64) {
        return new String(Base64.getDecoder().decode(base64), StandardCharsets.UTF_8);
    }

    static void filterTable(Scenarios s) throws Exception {
        List<Row> rows = new ArrayList<>();
        Map<String, Query> queries = new LinkedHashMap<>();
        for (String line : Files.readAllLines(Paths.get(s.opts.get("filter-file")), StandardCharsets.UTF_8)) {
            String[] f = line.split("\t", -1);
            if (f[0].equals("M")) {
                Row row = new Row(Integer.parseInt(f[1]), f[2].equals("-") ? null : f[2]);
                for (String pair : decode(f[3]).split("\u0002")) {
                    int sep = pair.indexOf('\u0001');
                    if (sep > 0) {
                        row.properties.put(pair.substring(0, sep), pair.substring(sep + 1));
                    }
                }
                rows.add(row);
            } else if (f[0].equals("Q")) {
                queries.put(f[1], new Query(f[1], f[2], decode(f[3])));
            }
        }
        DefaultMQProducer p = s.producer();
        s.ensureTopic(p);
        for (Row row : rows) {
            byte[] body = Integer.toString(row.seq).getBytes(StandardCharsets.UTF_8);
            Message m = row.tag == null ? new Message(s.topic, body) : new Message(s.topic, row.tag, body);
            for (Map.Entry<String, String> e : row.properties.entrySet()) {
                m.putUserProperty(e.getKey(), e.getValue());
            }
            MessageQueue only = new MessageQueue(s.topic, p.fetchPublishMessageQueues(s.topic).get(0).getBrokerName(), 0);
            SendResult r = p.send(m, only);
            if (r.getSendStatus() != SendStatus.SEND_OK) {
                s.problems.add("send of seq " + row.seq + ": " + r.getSendStatus());
            }
        }
        s.details.put("sent", rows.size());

        DefaultMQPullConsumer pc = new DefaultMQPullConsumer(s.group);
        pc.setNamesrvAddr(s.namesrv);
        pc.setInstanceName("pull-" + s.pid);
        // A registered topic gets a route and a heartbeat, which tells the client the broker's version: the
        // client refuses SQL92 pulls until it knows the broker is at least 4.1.0.
        pc.setRegisterTopics(Collections.singleton(s.topic));
        pc.start();
        s.shutdowns.add(pc::shutdown);
        MessageQueue mq = null;
        for (MessageQueue q : pc.fetchSubscribeMessageQueues(s.topic)) {
            if (q.getQueueId() == 0) {
                mq = q;
            }
        }
        if (mq == null) {
            throw new IllegalStateException("no queue 0 for " + s.topic);
        }
        // Sends are acknowledged before the ConsumeQueue is built (dispatch is asynchronous): wait for all entries.
        long until = Math.min(s.deadline, System.currentTimeMillis() + 30_000);
        while (pc.maxOffset(mq) < rows.size() && System.currentTimeMillis() < until) {
            Thread.sleep(50);
        }
        s.details.put("maxOffset", pc.maxOffset(mq));
        Map<String, Object> results = new LinkedHashMap<>();
        for (Query q : queries.values()) {
            results.put(q.id, pullAll(pc, mq, q));
        }
        s.details.put("results", results);

        String pushCase = s.opts.get("push-case");
        if (pushCase != null) {
            s.details.put("push", push(s, queries.get(pushCase), s.intOpt("push-expect", 1)));
        }
        String badCases = s.opts.get("push-bad-cases");
        if (badCases != null) {
            Map<String, Object> bad = new LinkedHashMap<>();
            int n = 0;
            for (String id : badCases.split(",")) {
                bad.put(id, pushBad(s, queries.get(id), n++));
            }
            s.details.put("pushBad", bad);
        }
    }

    private static Map<String, Object> pullAll(DefaultMQPullConsumer pc, MessageQueue mq, Query q) {
        Map<String, Object> out = new LinkedHashMap<>();
        List<Integer> seqs = new ArrayList<>();
        long offset = 0;
        try {
            for (int pulls = 0; pulls < 100; pulls++) {
                PullResult r = pullOnce(pc, mq, q, offset);
                if (r.getMsgFoundList() != null) {
                    for (MessageExt m : r.getMsgFoundList()) {
                        seqs.add(Integer.parseInt(new String(m.getBody(), StandardCharsets.UTF_8)));
                    }
                }
                offset = r.getNextBeginOffset();
                switch (r.getPullStatus()) {
                    case FOUND:
                    case NO_MATCHED_MSG:
                        continue;
                    default:
                        out.put("seqs", seqs);
                        return out;
                }
            }
            out.put("seqs", seqs);
            out.put("warning", "pull loop limit");
        } catch (MQBrokerException e) {
            out.put("errorCode", e.getResponseCode());
            out.put("error", Scenarios.describe(e));
        } catch (MQClientException e) {
            out.put("errorCode", e.getResponseCode());
            out.put("error", Scenarios.describe(e));
        } catch (Exception e) {
            out.put("errorCode", -1);
            out.put("error", Scenarios.describe(e));
        }
        return out;
    }

    /** One pull; waits (up to 15 s) while the client does not know the broker version yet (no heartbeat yet). */
    private static PullResult pullOnce(DefaultMQPullConsumer pc, MessageQueue mq, Query q, long offset)
        throws Exception {
        long until = System.currentTimeMillis() + 15_000;
        while (true) {
            try {
                return pc.pull(mq, q.selector(), offset, 32, 10_000);
            } catch (MQClientException e) {
                String msg = String.valueOf(e.getMessage());
                if (!msg.contains("does not upgrade") || System.currentTimeMillis() > until) {
                    throw e;
                }
                Thread.sleep(250);
            }
        }
    }

    private static Map<String, Object> push(Scenarios s, Query q, int expect) throws Exception {
        List<Integer> seqs = Collections.synchronizedList(new ArrayList<>());
        DefaultMQPushConsumer c = new DefaultMQPushConsumer(s.group + "-push");
        c.setNamesrvAddr(s.namesrv);
        c.setInstanceName("push-" + s.pid);
        c.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        c.subscribe(s.topic, q.selector());
        c.registerMessageListener((MessageListenerConcurrently) (msgs, context) -> {
            for (MessageExt m : msgs) {
                seqs.add(Integer.parseInt(new String(m.getBody(), StandardCharsets.UTF_8)));
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        c.start();
        s.shutdowns.add(c::shutdown);
        long until = Math.min(s.deadline - 5_000, System.currentTimeMillis() + 60_000);
        while (seqs.size() < expect && System.currentTimeMillis() < until) {
            Thread.sleep(100);
        }
        // Keep consuming a moment to catch anything the filter should have dropped.
        Thread.sleep(1_500);
        c.shutdown();
        List<Integer> sorted;
        synchronized (seqs) {
            sorted = new ArrayList<>(seqs);
        }
        Collections.sort(sorted);
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("id", q.id);
        out.put("seqs", sorted);
        return out;
    }

    private static Map<String, Object> pushBad(Scenarios s, Query q, int n) {
        Map<String, Object> out = new LinkedHashMap<>();
        DefaultMQPushConsumer c = new DefaultMQPushConsumer(s.group + "-bad" + n);
        c.setNamesrvAddr(s.namesrv);
        c.setInstanceName("bad-" + n + "-" + s.pid);
        try {
            c.subscribe(s.topic, q.selector());
            c.registerMessageListener((MessageListenerConcurrently) (msgs, context) ->
                ConsumeConcurrentlyStatus.CONSUME_SUCCESS);
            c.start();
            out.put("started", true);
        } catch (MQClientException e) {
            out.put("started", false);
            out.put("errorCode", e.getResponseCode());
            out.put("error", Scenarios.describe(e));
        } finally {
            c.shutdown();
        }
        return out;
    }
}
