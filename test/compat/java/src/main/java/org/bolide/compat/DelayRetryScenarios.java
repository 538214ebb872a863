package org.bolide.compat;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.MessageAccessor;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;

/**
 * Delay levels and retry/DLQ through the real client. The broker must run with a short messageDelayLevel table
 * whose delays (ms) for levels 1 and 3 are given as --level-delays-ms (the assertions are "never early", and
 * "eventually" within the driver's deadline).
 *
 *   delay-levels: messages at delay level 1 and 3 arrive at a push consumer no earlier than their delay after the
 *     send began, with their msgId, topic and body intact.
 *   retry-to-dlq: a push consumer (maxReconsumeTimes = --max-reconsume) that always answers RECONSUME_LATER sees
 *     each message max+1 times with reconsumeTimes 0..max and its original topic; the message then sits in
 *     %DLQ%group with reconsumeTimes max+1, its msgId, RETRY_TOPIC and ORIGIN_MESSAGE_ID.
 *   timer-delivery: messages with TIMER_DELIVER_MS (RocketMQ 5's arbitrary delivery time; set as a property so the
 *     4.9 client can send it too) arrive no earlier than that time.
 *   timer-recall: timer messages sent in pairs; one of each pair is recalled with DefaultMQProducer.recallMessage and
 *     the recallHandle of its SendResult (client 5.3+, called reflectively so the driver still builds for 4.9).
 *     The kept ones arrive, never early; the recalled ones never arrive, even well after their time.
 */
final class DelayRetryScenarios {
    static final List<String> NAMES = List.of("delay-levels", "retry-to-dlq", "timer-delivery", "timer-recall");

    static void register(List<String> names, Map<String, String> options) {
        names.addAll(NAMES);
        options.put("level-delays-ms", "delay-levels: the broker's delays of levels 1 and 3 in ms (1000,10000)");
        options.put("max-reconsume", "retry-to-dlq: the consumer's maxReconsumeTimes (2)");
        options.put("timer-delay-ms", "timer-delivery, timer-recall: delivery time = send time + this (2000)");
    }

    private final Scenarios s;

    private DelayRetryScenarios(Scenarios s) {
        this.s = s;
    }

    static boolean run(String scenario, Scenarios s) throws Exception {
        switch (scenario) {
            case "delay-levels":
                new DelayRetryScenarios(s).delayLevels();
                return true;
            case "retry-to-dlq":
                new DelayRetryScenarios(s).retryToDlq();
                return true;
            case "timer-delivery":
                new DelayRetryScenarios(s).timerDelivery();
                return true;
            case "timer-recall":
                new DelayRetryScenarios(s).timerRecall();
                return true;
            default:
                return false;
        }
    }

    private void sleepABit() throws InterruptedException {
        Thread.sleep(100);
    }

    private boolean beforeDeadline() {
        return System.currentTimeMillis() < s.deadline;
    }

    private DefaultMQPushConsumer consumer(String group, String topic, int maxReconsume,
        org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently listener) throws Exception {
        DefaultMQPushConsumer c = new DefaultMQPushConsumer(group);
        c.setNamesrvAddr(s.namesrv);
        c.setInstanceName("dr-" + group.hashCode() + "-" + s.pid);
        c.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        if (maxReconsume >= 0) {
            c.setMaxReconsumeTimes(maxReconsume);
        }
        c.subscribe(topic, "*");
        c.registerMessageListener(listener);
        c.start();
        s.shutdowns.add(c::shutdown);
        return c;
    }

    private void delayLevels() throws Exception {
        String[] delays = s.opts.getOrDefault("level-delays-ms", "1000,10000").split(",");
        long[] delayOf = {0, Long.parseLong(delays[0].trim()), 0, Long.parseLong(delays[1].trim())};
        DefaultMQProducer p = s.producer();
        s.ensureTopic(p);
        Map<String, Long> arrived = new ConcurrentHashMap<>();
        List<String> wrong = Collections.synchronizedList(new ArrayList<>());
        consumer(s.group, s.topic, -1, (list, ctx) -> {
            long now = System.currentTimeMillis();
            for (MessageExt m : list) {
                arrived.putIfAbsent(m.getMsgId(), now);
                if (!s.topic.equals(m.getTopic())) {
                    wrong.add(m.getMsgId() + " arrived with topic " + m.getTopic());
                }
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        int perLevel = Math.max(1, s.count / 2);
        Map<String, Object[]> sent = new LinkedHashMap<>(); // msgId -> {level, sendBeganAt, body}
        for (int level : new int[] {1, 3}) {
            for (int i = 0; i < perLevel; i++) {
                String body = s.run + "-L" + level + "-" + i;
                Message m = new Message(s.topic, "delay", body.getBytes(StandardCharsets.UTF_8));
                m.setDelayTimeLevel(level);
                long began = System.currentTimeMillis();
                SendResult r = p.send(m);
                if (r.getSendStatus() != SendStatus.SEND_OK) {
                    s.problems.add("send " + body + ": " + r.getSendStatus());
                }
                sent.put(r.getMsgId(), new Object[] {level, began, body});
            }
        }
        while (beforeDeadline() && !arrived.keySet().containsAll(sent.keySet())) {
            sleepABit();
        }
        List<Map<String, Object>> report = new ArrayList<>();
        for (Map.Entry<String, Object[]> e : sent.entrySet()) {
            int level = (Integer) e.getValue()[0];
            long began = (Long) e.getValue()[1];
            Long at = arrived.get(e.getKey());
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("msgId", e.getKey());
            r.put("level", level);
            r.put("afterMs", at == null ? null : at - began);
            report.add(r);
            if (at == null) {
                s.problems.add("level " + level + " message " + e.getKey() + " never arrived");
            } else if (at - began < delayOf[level]) {
                s.problems.add("level " + level + " message arrived early: after " + (at - began) + " ms, delay "
                    + delayOf[level] + " ms");
            }
        }
        s.details.put("deliveries", report);
        if (!wrong.isEmpty()) {
            s.problems.add(wrong.size() + " wrong topics, first: " + wrong.get(0));
        }
    }

    private void retryToDlq() throws Exception {
        int max = s.intOpt("max-reconsume", 2);
        DefaultMQProducer p = s.producer();
        s.ensureTopic(p);
        Map<String, List<Integer>> attempts = new ConcurrentHashMap<>();
        List<String> wrong = Collections.synchronizedList(new ArrayList<>());
        consumer(s.group, s.topic, max, (list, ctx) -> {
            for (MessageExt m : list) {
                attempts.computeIfAbsent(m.getMsgId(), k -> Collections.synchronizedList(new ArrayList<>()))
                    .add(m.getReconsumeTimes());
                if (!s.topic.equals(m.getTopic())) {
                    wrong.add(m.getMsgId() + " delivered with topic " + m.getTopic());
                }
            }
            return ConsumeConcurrentlyStatus.RECONSUME_LATER;
        });
        int n = Math.max(1, Math.min(s.count, 4));
        Map<String, String> bodies = new LinkedHashMap<>();
        for (int i = 0; i < n; i++) {
            String body = s.run + "-retry-" + i;
            SendResult r = p.send(new Message(s.topic, "retry", body.getBytes(StandardCharsets.UTF_8)));
            bodies.put(r.getMsgId(), body);
        }
        while (beforeDeadline() && !bodies.keySet().stream().allMatch(id -> attempts.getOrDefault(id, List.of()).size() > max)) {
            sleepABit();
        }
        s.details.put("attempts", new LinkedHashMap<>(attempts));
        String dlq = "%DLQ%" + s.group;
        // The DLQ topic exists once the broker moved the first message; wait for its route before subscribing.
        while (beforeDeadline()) {
            try {
                if (!p.fetchPublishMessageQueues(dlq).isEmpty()) {
                    break;
                }
            } catch (Exception e) {
                // not routed yet
            }
            sleepABit();
        }
        Map<String, MessageExt> dead = new ConcurrentHashMap<>();
        consumer(s.group + "-dlq-reader", dlq, -1, (list, ctx) -> {
            for (MessageExt m : list) {
                dead.putIfAbsent(m.getMsgId(), m);
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        while (beforeDeadline() && !dead.keySet().containsAll(bodies.keySet())) {
            sleepABit();
        }
        List<Map<String, Object>> report = new ArrayList<>();
        for (Map.Entry<String, String> e : bodies.entrySet()) {
            String id = e.getKey();
            List<Integer> seen = attempts.getOrDefault(id, List.of());
            List<Integer> expected = new ArrayList<>();
            for (int i = 0; i <= max; i++) {
                expected.add(i);
            }
            if (seen.size() < expected.size() || !seen.subList(0, expected.size()).equals(expected)) {
                s.problems.add(id + ": reconsumeTimes seen " + seen + ", expected to start " + expected);
            }
            MessageExt m = dead.get(id);
            if (m == null) {
                s.problems.add(id + " never reached " + dlq);
                continue;
            }
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("msgId", id);
            r.put("reconsumeTimes", m.getReconsumeTimes());
            r.put("RETRY_TOPIC", m.getProperty("RETRY_TOPIC"));
            r.put("ORIGIN_MESSAGE_ID", m.getProperty("ORIGIN_MESSAGE_ID"));
            r.put("DLQ_ORIGIN_TOPIC", m.getProperty("DLQ_ORIGIN_TOPIC"));
            r.put("DLQ_ORIGIN_MESSAGE_ID", m.getProperty("DLQ_ORIGIN_MESSAGE_ID"));
            report.add(r);
            if (m.getReconsumeTimes() != max + 1) {
                s.problems.add(id + " in the DLQ with reconsumeTimes " + m.getReconsumeTimes() + ", expected " + (max + 1));
            }
            if (!e.getValue().equals(new String(m.getBody(), StandardCharsets.UTF_8))) {
                s.problems.add(id + " in the DLQ with another body");
            }
            if (!s.topic.equals(m.getProperty("RETRY_TOPIC"))) {
                s.problems.add(id + " in the DLQ with RETRY_TOPIC " + m.getProperty("RETRY_TOPIC"));
            }
            if (m.getProperty("ORIGIN_MESSAGE_ID") == null) {
                s.problems.add(id + " in the DLQ without ORIGIN_MESSAGE_ID");
            }
        }
        s.details.put("dlq", report);
        if (!wrong.isEmpty()) {
            s.problems.add(wrong.size() + " deliveries with the retry topic, first: " + wrong.get(0));
        }
    }

    private void timerDelivery() throws Exception {
        long delay = s.longOpt("timer-delay-ms", 2000);
        DefaultMQProducer p = s.producer();
        s.ensureTopic(p);
        Map<String, Long> arrived = new ConcurrentHashMap<>();
        consumer(s.group, s.topic, -1, (list, ctx) -> {
            long now = System.currentTimeMillis();
            for (MessageExt m : list) {
                arrived.putIfAbsent(m.getMsgId(), now);
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        Map<String, Long> deliverAt = new LinkedHashMap<>();
        for (int i = 0; i < Math.max(1, s.count); i++) {
            Message m = new Message(s.topic, "timer", (s.run + "-timer-" + i).getBytes(StandardCharsets.UTF_8));
            long at = System.currentTimeMillis() + delay + i * 100L;
            MessageAccessor.putProperty(m, "TIMER_DELIVER_MS", Long.toString(at));
            SendResult r = p.send(m);
            if (r.getSendStatus() != SendStatus.SEND_OK) {
                s.problems.add("send " + i + ": " + r.getSendStatus());
            }
            deliverAt.put(r.getMsgId(), at);
        }
        while (beforeDeadline() && !arrived.keySet().containsAll(deliverAt.keySet())) {
            sleepABit();
        }
        List<Map<String, Object>> report = new ArrayList<>();
        for (Map.Entry<String, Long> e : deliverAt.entrySet()) {
            Long got = arrived.get(e.getKey());
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("msgId", e.getKey());
            r.put("lateMs", got == null ? null : got - e.getValue());
            report.add(r);
            if (got == null) {
                s.problems.add("timer message " + e.getKey() + " never arrived");
            } else if (got < e.getValue()) {
                s.problems.add("timer message " + e.getKey() + " arrived " + (e.getValue() - got) + " ms early");
            }
        }
        s.details.put("deliveries", report);
    }

    private void timerRecall() throws Exception {
        long delay = s.longOpt("timer-delay-ms", 2000);
        java.lang.reflect.Method recallHandleOf;
        java.lang.reflect.Method recall;
        try {
            recallHandleOf = SendResult.class.getMethod("getRecallHandle");
            recall = DefaultMQProducer.class.getMethod("recallMessage", String.class, String.class);
        } catch (NoSuchMethodException e) {
            s.problems.add("this client has no recallMessage (RocketMQ 5.3+ only)");
            return;
        }
        DefaultMQProducer p = s.producer();
        s.ensureTopic(p);
        Map<String, Long> arrived = new ConcurrentHashMap<>();
        consumer(s.group, s.topic, -1, (list, ctx) -> {
            long now = System.currentTimeMillis();
            for (MessageExt m : list) {
                arrived.putIfAbsent(m.getMsgId(), now);
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        Map<String, Long> kept = new LinkedHashMap<>();
        List<String> recalled = new ArrayList<>();
        long latest = 0;
        for (int i = 0; i < Math.max(2, s.count); i++) {
            Message m = new Message(s.topic, "recall", (s.run + "-recall-" + i).getBytes(StandardCharsets.UTF_8));
            long at = System.currentTimeMillis() + delay;
            latest = Math.max(latest, at);
            MessageAccessor.putProperty(m, "TIMER_DELIVER_MS", Long.toString(at));
            SendResult r = p.send(m);
            if (r.getSendStatus() != SendStatus.SEND_OK) {
                s.problems.add("send " + i + ": " + r.getSendStatus());
            }
            String handle = (String) recallHandleOf.invoke(r);
            if (handle == null || handle.isEmpty()) {
                s.problems.add("send " + i + " of a timer message returned no recallHandle");
                continue;
            }
            if (i % 2 == 0) {
                String id = (String) recall.invoke(p, s.topic, handle);
                if (!r.getMsgId().equals(id)) {
                    s.problems.add("recallMessage answered " + id + " for " + r.getMsgId());
                }
                recalled.add(r.getMsgId());
            } else {
                kept.put(r.getMsgId(), at);
            }
        }
        while (beforeDeadline() && !arrived.keySet().containsAll(kept.keySet())) {
            sleepABit();
        }
        // Give the recalled ones time to show up, if they would.
        while (beforeDeadline() && System.currentTimeMillis() < latest + 2000) {
            sleepABit();
        }
        List<Map<String, Object>> report = new ArrayList<>();
        for (Map.Entry<String, Long> e : kept.entrySet()) {
            Long got = arrived.get(e.getKey());
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("msgId", e.getKey());
            r.put("lateMs", got == null ? null : got - e.getValue());
            report.add(r);
            if (got == null) {
                s.problems.add("kept timer message " + e.getKey() + " never arrived");
            } else if (got < e.getValue()) {
                s.problems.add("kept timer message " + e.getKey() + " arrived " + (e.getValue() - got) + " ms early");
            }
        }
        for (String id : recalled) {
            if (arrived.containsKey(id)) {
                s.problems.add("recalled timer message " + id + " was delivered");
            }
        }
        s.details.put("kept", report);
        s.details.put("recalled", recalled);
    }
}
