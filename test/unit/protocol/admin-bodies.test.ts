// Admin body codecs: fastjson's MessageQueue-keyed maps, Java doubles, round trips.
import test from 'ava';
import {
  decodeConsumerConnection, decodeOffsetTable, decodeQueueKeyedMap, decodeSubscriptionGroupBody, encodeConsumeStats,
  encodeConsumerConnection, encodeResetOffsetBody, encodeTopicStatsTable, javaDouble,
} from '../../../ts/protocol/index.js';

const q = (topic: string, queueId: number, brokerName = 'b') => ({ topic, brokerName, queueId });

test('javaDouble keeps .0 on integral values', (t) => {
  t.is(javaDouble(0), '0.0');
  t.is(javaDouble(3), '3.0');
  t.is(javaDouble(1.25), '1.25');
  t.is(javaDouble(Number.NaN), '0.0');
});

test('TopicStatsTable: queue keys sorted like MessageQueue.compareTo, fields alphabetical', (t) => {
  const body = encodeTopicStatsTable([
    [q('T', 1), { minOffset: 0, maxOffset: 2, lastUpdateTimestamp: 5 }],
    [q('T', 0), { minOffset: 1, maxOffset: 9, lastUpdateTimestamp: 7 }],
  ], 1.5);
  t.is(body.toString(), '{"offsetTable":{{"brokerName":"b","queueId":0,"topic":"T"}:{"lastUpdateTimestamp":7,"maxOffset":9,"minOffset":1},'
    + '{"brokerName":"b","queueId":1,"topic":"T"}:{"lastUpdateTimestamp":5,"maxOffset":2,"minOffset":0}},"topicPutTps":1.5}');
  t.deepEqual(decodeOffsetTable(body, 'TopicStatsTable'), [
    [q('T', 0), { lastUpdateTimestamp: 7, maxOffset: 9, minOffset: 1 }],
    [q('T', 1), { lastUpdateTimestamp: 5, maxOffset: 2, minOffset: 0 }],
  ]);
});

test('ConsumeStats and ResetOffsetBody round trip, including quotes in names', (t) => {
  const stats = encodeConsumeStats([[q('A"b', 0, 'x\\y'), { brokerOffset: 3, consumerOffset: 1, pullOffset: 2, lastTimestamp: 9 }]], 0);
  t.is(stats.toString(), '{"consumeTps":0.0,"offsetTable":{{"brokerName":"x\\\\y","queueId":0,"topic":"A\\"b"}:'
    + '{"brokerOffset":3,"consumerOffset":1,"lastTimestamp":9,"pullOffset":2}}}');
  t.deepEqual(decodeOffsetTable(stats, 'ConsumeStats')[0]?.[0], q('A"b', 0, 'x\\y'));
  const reset = encodeResetOffsetBody([[q('T', 2), 10], [q('S', 0), 4]]);
  t.is(reset.toString(), '{"offsetTable":{{"brokerName":"b","queueId":0,"topic":"S"}:4,{"brokerName":"b","queueId":2,"topic":"T"}:10}}');
  t.deepEqual(decodeQueueKeyedMap('{}', 'x'), []);
  t.deepEqual(decodeOffsetTable(Buffer.from('{"consumeTps":0.0}'), 'x'), []);
});

test('ConsumerConnection round trip and SubscriptionGroupConfig body decoding', (t) => {
  const connection = {
    connectionSet: [{ clientId: 'c1', clientAddr: '1.2.3.4:5', language: 'JAVA', version: 479 }],
    subscriptionTable: {
      T: { topic: 'T', subString: '*', expressionType: 'TAG', tagsSet: [], codeSet: [], subVersion: 1, classFilterMode: false },
    },
    consumeType: 'CONSUME_PASSIVELY', messageModel: 'CLUSTERING', consumeFromWhere: 'CONSUME_FROM_LAST_OFFSET',
  };
  t.deepEqual(decodeConsumerConnection(encodeConsumerConnection(connection)), connection);
  t.deepEqual(decodeSubscriptionGroupBody(Buffer.from('{"groupName":"G","retryMaxTimes":"3","consumeEnable":true,"attributes":{}}')),
    { groupName: 'G', retryMaxTimes: 3, consumeEnable: true });
  t.throws(() => decodeSubscriptionGroupBody(Buffer.from('{"retryMaxTimes":3}')));
});
