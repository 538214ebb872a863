package org.bolide.compat;

import java.lang.reflect.Method;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;

/**
 * produce-compressed: the producer compresses every body over --compress-over bytes with the 5.x codec
 * --compress-type (LZ4, ZSTD or ZLIB), so another client can check it decodes what Java writes. The codec API
 * (DefaultMQProducer.setCompressType, org.apache.rocketmq.common.compression.CompressionType) exists only in 5.x,
 * so it is reached by reflection and a 4.x client reports the scenario as unsupported.
 */
final class CompressionScenarios {
    static final List<String> NAMES = Arrays.asList("produce-compressed");

    static final Map<String, String> OPTIONS = new LinkedHashMap<>();

    static {
        OPTIONS.put("compress-type", "produce-compressed: LZ4, ZSTD or ZLIB (5.x CompressionType; default LZ4)");
        OPTIONS.put("compress-over", "produce-compressed: compress bodies larger than this many bytes (default 64)");
    }

    private CompressionScenarios() {
    }

    static boolean run(String scenario, Scenarios s) throws Exception {
        if (!NAMES.contains(scenario)) {
            return false;
        }
        DefaultMQProducer p = s.producer();
        String type = s.opts.getOrDefault("compress-type", "LZ4");
        s.details.put("compressType", setCompressType(p, type));
        p.setCompressMsgBodyOverHowmuch(s.intOpt("compress-over", 64));
        s.ensureTopic(p);
        Object[] records = new Object[s.count];
        for (int seq = 0; seq < s.count; seq++) {
            SendResult r = p.send(s.msgs.build(s.topic, seq));
            Map<String, Object> rec = new LinkedHashMap<>();
            rec.put("msgId", r.getMsgId());
            rec.put("offsetMsgId", r.getOffsetMsgId());
            rec.put("sendStatus", r.getSendStatus().name());
            rec.put("queueId", r.getMessageQueue().getQueueId());
            rec.put("brokerName", r.getMessageQueue().getBrokerName());
            rec.put("queueOffset", r.getQueueOffset());
            rec.putAll(s.msgs.sentContent(seq));
            records[seq] = rec;
            if (!"SEND_OK".equals(r.getSendStatus().name())) {
                s.problems.add("seq " + seq + ": " + r.getSendStatus());
            }
        }
        s.details.put("messages", Arrays.asList(records));
        return true;
    }

    /** DefaultMQProducer.setCompressType(CompressionType.valueOf(type)); returns the codec's sysFlag bits. */
    private static Object setCompressType(DefaultMQProducer p, String type) throws Exception {
        Class<?> typeClass;
        try {
            typeClass = Class.forName("org.apache.rocketmq.common.compression.CompressionType");
        } catch (ClassNotFoundException e) {
            throw new UnsupportedOperationException("this client has no CompressionType (4.x compresses with zlib only)");
        }
        Object value = typeClass.getMethod("valueOf", String.class).invoke(null, type);
        Method setter = DefaultMQProducer.class.getMethod("setCompressType", typeClass);
        setter.invoke(p, value);
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("type", type);
        out.put("flag", typeClass.getMethod("getCompressionFlag").invoke(value));
        return out;
    }
}
