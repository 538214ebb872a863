package org.bolide.compat;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.util.Map;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.common.message.MessageExt;

/**
 * The few client calls whose signature differs between 4.9.x and 5.x, reached by reflection so one source
 * tree compiles against both. Each returns which API it used, for the report.
 */
final class Clients {
    private Clients() {
    }

    /** MQAdmin.createTopic(key, newTopic, queueNum): 4.x has it; 5.x only has the overload with attributes. */
    static String createTopic(DefaultMQProducer p, String key, String topic, int queues) throws Exception {
        try {
            Method m = DefaultMQProducer.class.getMethod("createTopic", String.class, String.class, int.class);
            invoke(m, p, key, topic, queues);
            return "MQAdmin.createTopic(key, topic, queueNum)";
        } catch (NoSuchMethodException e) {
            Method m = DefaultMQProducer.class.getMethod("createTopic", String.class, String.class, int.class,
                Map.class);
            invoke(m, p, key, topic, queues, null);
            return "MQAdmin.createTopic(key, topic, queueNum, attributes)";
        }
    }

    /**
     * VIEW_MESSAGE_BY_ID for an offset msgId, with no fallback. 4.x: the public MQAdmin.viewMessage(offsetMsgId).
     * 5.x removed that; its public viewMessage(topic, msgId) silently falls back to a query by unique key when the
     * view fails, which would hide a broken VIEW_MESSAGE_BY_ID, so call the producer impl's strict variant.
     */
    static Object[] viewByOffsetMsgId(DefaultMQProducer p, String topic, String offsetMsgId) throws Exception {
        try {
            Method m = DefaultMQProducer.class.getMethod("viewMessage", String.class);
            return new Object[] {invoke(m, p, offsetMsgId), "MQAdmin.viewMessage(offsetMsgId)"};
        } catch (NoSuchMethodException e) {
            Object impl = p.getDefaultMQProducerImpl();
            Method m = impl.getClass().getMethod("viewMessage", String.class, String.class);
            return new Object[] {invoke(m, impl, topic, offsetMsgId), "DefaultMQProducerImpl.viewMessage(topic, offsetMsgId)"};
        }
    }

    static MessageExt queryByUniqKey(DefaultMQProducer p, String topic, String msgId) throws Exception {
        return p.getDefaultMQProducerImpl().queryMessageByUniqKey(topic, msgId);
    }

    private static Object invoke(Method m, Object target, Object... args) throws Exception {
        try {
            return m.invoke(target, args);
        } catch (InvocationTargetException e) {
            Throwable cause = e.getCause();
            if (cause instanceof Exception) {
                throw (Exception) cause;
            }
            throw e;
        }
    }
}
