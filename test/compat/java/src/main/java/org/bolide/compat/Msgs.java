package org.bolide.compat;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageClientExt;
import org.apache.rocketmq.common.message.MessageExt;

/**
 * The deterministic message set of one run: message {@code seq} of run {@code run} always has the same body,
 * tag, keys and user properties, so any receiver can rebuild what was sent and compare byte for byte.
 *
 * <ul>
 *   <li>body: {@code bolide|<run>|<seq>|} padded with a repeating alphabet to {@code bodySize} bytes; every
 *       {@code bigEvery}-th message is {@link #BIG_BODY} bytes, above the client's 4 KiB compression threshold,
 *       so compressed bodies (sysFlag bit 0) are exercised too</li>
 *   <li>tag: TagA / TagB / TagC by {@code seq % 3}</li>
 *   <li>keys: {@code <run>-<seq>} and {@code <run>-all} (two keys, space-separated on the wire)</li>
 *   <li>user properties: {@code bolide_run}, {@code bolide_seq}, {@code bolide_note} (non-ASCII text)</li>
 * </ul>
 */
final class Msgs {
    static final int BIG_BODY = 6000;
    static final String PROP_RUN = "bolide_run";
    static final String PROP_SEQ = "bolide_seq";
    static final String PROP_NOTE = "bolide_note";
    private static final String[] TAGS = {"TagA", "TagB", "TagC"};
    private static final String FILL = "0123456789abcdefghijklmnopqrstuvwxyz";

    final String run;
    private final int bodySize;
    private final int bigEvery;

    Msgs(String run, int bodySize, int bigEvery) {
        this.run = run;
        this.bodySize = bodySize;
        this.bigEvery = bigEvery;
    }

    Message build(String topic, int seq) {
        Message msg = new Message(topic, tag(seq), body(seq));
        msg.setKeys(keys(seq));
        for (Map.Entry<String, String> e : props(seq).entrySet()) {
            msg.putUserProperty(e.getKey(), e.getValue());
        }
        return msg;
    }

    byte[] body(int seq) {
        String prefix = "bolide|" + run + "|" + seq + "|";
        int size = bigEvery > 0 && seq % bigEvery == bigEvery - 1 ? BIG_BODY : bodySize;
        StringBuilder sb = new StringBuilder(Math.max(size, prefix.length())).append(prefix);
        for (int i = 0; sb.length() < size; i++) {
            sb.append(FILL.charAt((seq + i) % FILL.length()));
        }
        return sb.toString().getBytes(StandardCharsets.UTF_8);
    }

    static String tag(int seq) {
        return TAGS[seq % TAGS.length];
    }

    List<String> keys(int seq) {
        return Arrays.asList(run + "-" + seq, allKey());
    }

    String allKey() {
        return run + "-all";
    }

    Map<String, String> props(int seq) {
        Map<String, String> p = new LinkedHashMap<>();
        p.put(PROP_RUN, run);
        p.put(PROP_SEQ, Integer.toString(seq));
        p.put(PROP_NOTE, "h\u00e9llo w\u00f6rld \u2713 #" + seq);
        return p;
    }

    /** The seq of a message of this run, or null for anything else (other runs, other producers). */
    Integer seqOf(MessageExt m) {
        if (!run.equals(m.getUserProperty(PROP_RUN))) {
            return null;
        }
        try {
            return Integer.valueOf(m.getUserProperty(PROP_SEQ));
        } catch (NumberFormatException e) {
            return null;
        }
    }

    /** Null when the received message is identical to what was sent for its seq, else what differs. */
    String check(MessageExt m, String topic) {
        Integer seq = seqOf(m);
        if (seq == null) {
            return "not a message of run " + run;
        }
        List<String> diffs = new ArrayList<>();
        if (topic != null && !topic.equals(m.getTopic())) {
            diffs.add("topic " + m.getTopic());
        }
        if (!Arrays.equals(body(seq), m.getBody())) {
            diffs.add("body (" + (m.getBody() == null ? "null" : m.getBody().length + " bytes") + ")");
        }
        if (!tag(seq).equals(m.getTags())) {
            diffs.add("tags '" + m.getTags() + "'");
        }
        if (!String.join(" ", keys(seq)).equals(m.getKeys())) {
            diffs.add("keys '" + m.getKeys() + "'");
        }
        for (Map.Entry<String, String> e : props(seq).entrySet()) {
            if (!e.getValue().equals(m.getUserProperty(e.getKey()))) {
                diffs.add("property " + e.getKey() + "='" + m.getUserProperty(e.getKey()) + "'");
            }
        }
        return diffs.isEmpty() ? null : "seq " + seq + ": " + String.join(", ", diffs);
    }

    /** What was sent for seq, as printed by produce-for. */
    Map<String, Object> sentContent(int seq) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("seq", seq);
        m.put("tags", tag(seq));
        m.put("keys", String.join(" ", keys(seq)));
        m.put("properties", props(seq));
        byte[] body = body(seq);
        m.put("body", new String(body, StandardCharsets.UTF_8));
        m.put("bodyLength", body.length);
        return m;
    }

    /** The broker-assigned id (store host + commit log offset); client-decoded messages keep it apart from msgId. */
    static String offsetMsgId(MessageExt m) {
        return m instanceof MessageClientExt ? ((MessageClientExt) m).getOffsetMsgId() : m.getMsgId();
    }

    /** Everything a received message carries, as printed by consume-from. */
    static Map<String, Object> describe(MessageExt m) {
        Map<String, Object> d = new LinkedHashMap<>();
        d.put("topic", m.getTopic());
        d.put("msgId", m.getMsgId());
        d.put("offsetMsgId", Msgs.offsetMsgId(m));
        d.put("brokerName", m.getBrokerName());
        d.put("queueId", m.getQueueId());
        d.put("queueOffset", m.getQueueOffset());
        d.put("commitLogOffset", m.getCommitLogOffset());
        d.put("tags", m.getTags());
        d.put("keys", m.getKeys());
        d.put("properties", new LinkedHashMap<>(m.getProperties()));
        byte[] body = m.getBody() == null ? new byte[0] : m.getBody();
        d.put("body", new String(body, StandardCharsets.UTF_8));
        d.put("bodyBase64", Base64.getEncoder().encodeToString(body));
        d.put("bodyLength", body.length);
        d.put("sysFlag", m.getSysFlag());
        d.put("bornTimestamp", m.getBornTimestamp());
        d.put("storeTimestamp", m.getStoreTimestamp());
        d.put("bornHost", String.valueOf(m.getBornHost()));
        d.put("storeHost", String.valueOf(m.getStoreHost()));
        d.put("reconsumeTimes", m.getReconsumeTimes());
        return d;
    }
}
