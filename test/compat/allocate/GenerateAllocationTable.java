// Generates test/unit/sdk/allocation-table.json by running Apache RocketMQ's own allocation
// strategies (rocketmq-client) over a grid of inputs. The SDK's unit test replays the table
// against ts/sdk/allocate.ts. Run ./generate.sh (needs java + mvn; dependencies from Maven Central).
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.apache.rocketmq.client.consumer.AllocateMessageQueueStrategy;
import org.apache.rocketmq.client.consumer.rebalance.AllocateMessageQueueAveragely;
import org.apache.rocketmq.client.consumer.rebalance.AllocateMessageQueueAveragelyByCircle;
import org.apache.rocketmq.client.consumer.rebalance.AllocateMessageQueueByConfig;
import org.apache.rocketmq.client.consumer.rebalance.AllocateMessageQueueConsistentHash;
import org.apache.rocketmq.common.message.MessageQueue;

public class GenerateAllocationTable {
    static String q(String s) {
        return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }

    static String mqs(List<MessageQueue> list) {
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < list.size(); i++) {
            MessageQueue mq = list.get(i);
            if (i > 0) sb.append(',');
            sb.append("{\"topic\":").append(q(mq.getTopic())).append(",\"brokerName\":").append(q(mq.getBrokerName()))
                .append(",\"queueId\":").append(mq.getQueueId()).append('}');
        }
        return sb.append(']').toString();
    }

    public static void main(String[] args) {
        int[][] shapes = {{1, 1}, {1, 4}, {2, 3}, {2, 4}, {2, 5}, {1, 8}, {3, 3}, {1, 16}, {4, 4}, {2, 16}};
        int[] consumerCounts = {1, 2, 3, 4, 5, 7, 12};
        StringBuilder out = new StringBuilder("{\"generator\":\"rocketmq-client ")
            .append(org.apache.rocketmq.common.MQVersion.getVersionDesc(org.apache.rocketmq.common.MQVersion.CURRENT_VERSION))
            .append("\",\"cases\":[\n");
        boolean first = true;
        for (int[] shape : shapes) {
            for (int consumers : consumerCounts) {
                List<MessageQueue> all = new ArrayList<>();
                for (int b = 0; b < shape[0]; b++) {
                    for (int i = 0; i < shape[1]; i++) all.add(new MessageQueue("TopicTest", "broker-" + (char) ('a' + b), i));
                }
                List<String> cids = new ArrayList<>();
                for (int c = 0; c < consumers; c++) cids.add("10.0.0." + (c * 7 % 13 + 1) + "@" + (4000 + c * 31) + "#" + (c * 1000003L));
                Collections.sort(all);
                Collections.sort(cids);
                List<MessageQueue> configured = new ArrayList<>();
                for (int i = 0; i < all.size(); i += 2) configured.add(all.get(i));
                AllocateMessageQueueByConfig byConfig = new AllocateMessageQueueByConfig();
                byConfig.setMessageQueueList(configured);
                AllocateMessageQueueStrategy[] strategies = {
                    new AllocateMessageQueueAveragely(), new AllocateMessageQueueAveragelyByCircle(),
                    new AllocateMessageQueueConsistentHash(), new AllocateMessageQueueConsistentHash(3), byConfig,
                };
                String[] names = {"AVG", "AVG_BY_CIRCLE", "CONSISTENT_HASH", "CONSISTENT_HASH_3", "CONFIG"};
                for (int s = 0; s < strategies.length; s++) {
                    if (!first) out.append(",\n");
                    first = false;
                    out.append("{\"strategy\":").append(q(names[s])).append(",\"mqAll\":").append(mqs(all)).append(",\"cidAll\":[");
                    for (int c = 0; c < cids.size(); c++) out.append(c > 0 ? "," : "").append(q(cids.get(c)));
                    out.append("],\"configured\":").append(s == 4 ? mqs(configured) : "null").append(",\"result\":{");
                    for (int c = 0; c < cids.size(); c++) {
                        List<MessageQueue> got = strategies[s].allocate("group", cids.get(c), all, cids);
                        out.append(c > 0 ? "," : "").append(q(cids.get(c))).append(':').append(mqs(got));
                    }
                    out.append("}}");
                }
            }
        }
        out.append("\n]}\n");
        System.out.print(out);
    }
}
