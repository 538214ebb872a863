// Read-only admin calls (mqadmin topicStatus, consumerProgress, clusterList, brokerStatus,
// queryMsgById's message track): exact body shapes as Java's fastjson reads them.
import test from 'ava';
import {
  CreateTopicRequestHeader, RequestCode, ResponseCode, UpdateConsumerOffsetRequestHeader, decodeConsumerConnection,
  decodeGroupList, decodeKVTable, decodeOffsetTable, encodeHeader, encodeHeartbeatData, makeRequest,
  type HeartbeatData, type RemotingCommand,
} from '../../../ts/protocol/index.js';
import { sendRequest, startCluster, type TestCluster } from '../../support/broker.js';
import { rawPeer, waitFor } from '../../helpers/raw-socket.js';

async function createTopic(c: TestCluster, topic: string, queues: number): Promise<void> {
  const response = await c.client.invoke(c.brokerAddr, makeRequest(RequestCode.UPDATE_AND_CREATE_TOPIC, {
    extFields: encodeHeader(CreateTopicRequestHeader, {
      topic, defaultTopic: 'TBW102', readQueueNums: queues, writeQueueNums: queues, perm: 6,
      topicFilterType: 'SINGLE_TAG', order: false,
    }),
  }));
  if (response.code !== ResponseCode.SUCCESS) throw new Error(`create ${topic}: ${response.remark}`);
}

async function commit(c: TestCluster, consumerGroup: string, topic: string, queueId: number, commitOffset: number): Promise<void> {
  await c.client.invokeOneway(c.brokerAddr, makeRequest(RequestCode.UPDATE_CONSUMER_OFFSET, {
    extFields: encodeHeader(UpdateConsumerOffsetRequestHeader, { consumerGroup, topic, queueId, commitOffset }),
  }));
  await waitFor(() => c.broker.offsets.query(consumerGroup, topic, queueId) === commitOffset, 2000, 'commit');
}

function heartbeat(clientID: string, group: string, topic: string): RemotingCommand {
  const data: HeartbeatData = {
    clientID, heartbeatFingerprint: 0, withoutSub: false, producerDataSet: [],
    consumerDataSet: [{
      groupName: group, consumeType: 'CONSUME_PASSIVELY', messageModel: 'CLUSTERING',
      consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET', unitMode: false,
      subscriptionDataSet: [{
        topic, subString: 'TagA || TagB', expressionType: 'TAG', tagsSet: ['TagA', 'TagB'], codeSet: [2598919, 2598920],
        subVersion: 17, classFilterMode: false,
      }],
    }],
  };
  return makeRequest(RequestCode.HEART_BEAT, { body: encodeHeartbeatData(data) });
}

const MQ = (topic: string, queueId: number): string => `{"brokerName":"broker-a","queueId":${queueId},"topic":"${topic}"}`;

test('GET_TOPIC_STATS_INFO: min/max offset and last store time per write queue, fastjson queue keys', async (t) => {
  const c = await startCluster(t);
  await createTopic(c, 'StatsT', 2);
  for (let i = 0; i < 3; i += 1) await c.client.invoke(c.brokerAddr, sendRequest({ topic: 'StatsT', queueId: 0 }));
  c.broker.store.waitDispatched();
  const last = c.broker.store.storeTimeAt('StatsT', 0, 2);
  const response = await c.client.invoke(c.brokerAddr, makeRequest(RequestCode.GET_TOPIC_STATS_INFO, { extFields: { topic: 'StatsT' } }));
  t.is(response.code, ResponseCode.SUCCESS);
  t.is(response.body?.toString(), `{"offsetTable":{${MQ('StatsT', 0)}:{"lastUpdateTimestamp":${last},"maxOffset":3,"minOffset":0},`
    + `${MQ('StatsT', 1)}:{"lastUpdateTimestamp":0,"maxOffset":0,"minOffset":0}},"topicPutTps":0.0}`);
  t.deepEqual(decodeOffsetTable(response.body, 'TopicStatsTable').map(([q]) => q.queueId), [0, 1]);
  const missing = await c.client.invoke(c.brokerAddr, makeRequest(RequestCode.GET_TOPIC_STATS_INFO, { extFields: { topic: 'NoSuch' } }));
  t.is(missing.code, ResponseCode.TOPIC_NOT_EXIST);
  t.is(missing.remark, 'topic[NoSuch] not exist');
});

test('GET_CONSUME_STATS: broker/consumer/pull offsets and last consumed store time per read queue', async (t) => {
  const c = await startCluster(t);
  await createTopic(c, 'ProgT', 2);
  for (let i = 0; i < 4; i += 1) await c.client.invoke(c.brokerAddr, sendRequest({ topic: 'ProgT', queueId: i % 2 }));
  c.broker.store.waitDispatched();
  await commit(c, 'G1', 'ProgT', 0, 1);
  const ts = c.broker.store.storeTimeAt('ProgT', 0, 0);
  const response = await c.client.invoke(c.brokerAddr, makeRequest(RequestCode.GET_CONSUME_STATS, { extFields: { consumerGroup: 'G1' } }));
  t.is(response.code, ResponseCode.SUCCESS);
  t.is(response.body?.toString(), `{"consumeTps":0.0,"offsetTable":{`
    + `${MQ('ProgT', 0)}:{"brokerOffset":2,"consumerOffset":1,"lastTimestamp":${ts},"pullOffset":1},`
    + `${MQ('ProgT', 1)}:{"brokerOffset":2,"consumerOffset":0,"lastTimestamp":0,"pullOffset":0}}}`);
  // A group without offsets: an empty table (mqadmin then asks GET_CONSUMER_CONNECTION_LIST).
  const none = await c.client.invoke(c.brokerAddr, makeRequest(RequestCode.GET_CONSUME_STATS, { extFields: { consumerGroup: 'Nobody' } }));
  t.is(none.body?.toString(), '{"consumeTps":0.0,"offsetTable":{}}');
  // With a topic: only that topic, even without offsets.
  const one = await c.client.invoke(c.brokerAddr, makeRequest(RequestCode.GET_CONSUME_STATS, {
    extFields: { consumerGroup: 'Nobody', topic: 'ProgT' },
  }));
  t.is(decodeOffsetTable(one.body, 'ConsumeStats').length, 2);
});

test('GET_CONSUMER_CONNECTION_LIST: channels and subscriptions of an online group; 206 when offline', async (t) => {
  const c = await startCluster(t);
  const peer = await rawPeer(c.broker.port);
  t.teardown(() => peer.socket.destroy());
  peer.send({ ...heartbeat('10.0.0.1@c1', 'OnlineG', 'SubT'), opaque: 7 });
  await waitFor(() => c.broker.clients.consumerIds('OnlineG').length === 1, 3000, 'heartbeat');
  const response = await c.client.invoke(c.brokerAddr, makeRequest(RequestCode.GET_CONSUMER_CONNECTION_LIST, {
    extFields: { consumerGroup: 'OnlineG' },
  }));
  t.is(response.code, ResponseCode.SUCCESS);
  const body = JSON.parse(response.body?.toString() ?? '{}') as Record<string, unknown>;
  t.deepEqual(Object.keys(body), ['connectionSet', 'consumeFromWhere', 'consumeType', 'messageModel', 'subscriptionTable']);
  t.like(body, { consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET', consumeType: 'CONSUME_PASSIVELY', messageModel: 'CLUSTERING' });
  const decoded = decodeConsumerConnection(response.body);
  t.is(decoded.connectionSet.length, 1);
  t.like(decoded.connectionSet[0], { clientId: '10.0.0.1@c1' });
  t.regex(decoded.connectionSet[0]?.clientAddr ?? '', /^127\.0\.0\.1:\d+$/);
  t.deepEqual(Object.keys((body['connectionSet'] as object[])[0] ?? {}), ['clientAddr', 'clientId', 'language', 'version']);
  t.deepEqual(body['subscriptionTable'], {
    SubT: {
      classFilterMode: false, codeSet: [2598919, 2598920], expressionType: 'TAG', subString: 'TagA || TagB', subVersion: 17,
      tagsSet: ['TagA', 'TagB'], topic: 'SubT',
    },
  });
  const offline = await c.client.invoke(c.brokerAddr, makeRequest(RequestCode.GET_CONSUMER_CONNECTION_LIST, {
    extFields: { consumerGroup: 'OfflineG' },
  }));
  t.is(offline.code, ResponseCode.CONSUMER_NOT_ONLINE);
  t.is(offline.remark, 'the consumer group[OfflineG] not online');
  // QUERY_TOPIC_CONSUME_BY_WHO: online subscribers and groups with offsets.
  await createTopic(c, 'SubT', 1);
  await commit(c, 'OffsetOnlyG', 'SubT', 0, 0);
  const who = await c.client.invoke(c.brokerAddr, makeRequest(RequestCode.QUERY_TOPIC_CONSUME_BY_WHO, { extFields: { topic: 'SubT' } }));
  t.is(who.body?.toString(), '{"groupList":["OffsetOnlyG","OnlineG"]}');
  t.deepEqual(decodeGroupList(who.body), ['OffsetOnlyG', 'OnlineG']);
});

test('GET_BROKER_RUNTIME_INFO: the KVTable keys mqadmin clusterList / brokerStatus read', async (t) => {
  const c = await startCluster(t);
  for (let i = 0; i < 3; i += 1) await c.client.invoke(c.brokerAddr, sendRequest({ topic: 'RtT' }));
  c.broker.store.waitDispatched();
  const response = await c.client.invoke(c.brokerAddr, makeRequest(RequestCode.GET_BROKER_RUNTIME_INFO));
  t.is(response.code, ResponseCode.SUCCESS);
  t.true(response.body?.toString().startsWith('{"table":{'));
  const table = decodeKVTable(response.body ?? Buffer.alloc(0));
  t.like(table, {
    brokerVersionDesc: 'V4_9_8', brokerVersion: '409', brokerActive: 'true', msgPutTotalTodayNow: '3',
    msgGetTotalTodayNow: '0', bootTimestamp: String(c.broker.stats.bootTimestamp), commitLogMinOffset: '0',
    commitLogMaxOffset: String(c.broker.store.commitLogMaxOffset), dispatchBehindBytes: '0', pageCacheLockTimeMills: '0',
  });
  for (const key of ['msgPutTotalYesterdayMorning', 'msgPutTotalTodayMorning', 'msgGetTotalYesterdayMorning',
    'msgGetTotalTodayMorning', 'sendThreadPoolQueueSize', 'pullThreadPoolQueueSize', 'sendThreadPoolQueueHeadWaitTimeMills',
    'pullThreadPoolQueueHeadWaitTimeMills', 'timerReadBehind', 'timerOffsetBehind', 'timerCongestNum', 'timerEnqueueTps',
    'timerDequeueTps', 'runtime', 'commitLogDirCapacity']) {
    t.true(key in table, key);
  }
  t.regex(table['putTps'] ?? '', /^\d+\.\d\d \d+\.\d\d \d+\.\d\d$/);
  t.regex(table['getTransferredTps'] ?? '', /^\d+\.\d\d \d+\.\d\d \d+\.\d\d$/);
  const ratio = Number(table['commitLogDiskRatio']);
  t.true(ratio > 0 && ratio < 1, `commitLogDiskRatio ${ratio}`);
  const earliest = Number(table['earliestMessageTimeStamp']);
  t.true(Math.abs(earliest - Date.now()) < 60_000, 'earliestMessageTimeStamp is the first message\'s store time');
});

test('GET_TOPIC_CONFIG, GET_ALL_CONSUMER_OFFSET, GET_ALL_SUBSCRIPTIONGROUP_CONFIG bodies', async (t) => {
  const c = await startCluster(t);
  await createTopic(c, 'CfgT', 3);
  const config = await c.client.invoke(c.brokerAddr, makeRequest(RequestCode.GET_TOPIC_CONFIG, { extFields: { topic: 'CfgT' } }));
  t.is(config.code, ResponseCode.SUCCESS);
  t.deepEqual(JSON.parse(config.body?.toString() ?? ''), {
    topicName: 'CfgT', readQueueNums: 3, writeQueueNums: 3, perm: 6, topicFilterType: 'SINGLE_TAG', topicSysFlag: 0,
    order: false, attributes: {},
  });
  const missing = await c.client.invoke(c.brokerAddr, makeRequest(RequestCode.GET_TOPIC_CONFIG, { extFields: { topic: 'Nope' } }));
  t.is(missing.code, ResponseCode.TOPIC_NOT_EXIST);

  await commit(c, 'G', 'CfgT', 2, 9);
  const offsets = await c.client.invoke(c.brokerAddr, makeRequest(RequestCode.GET_ALL_CONSUMER_OFFSET));
  const offsetsBody = JSON.parse(offsets.body?.toString() ?? '') as { offsetTable: unknown; dataVersion: unknown };
  t.deepEqual(Object.keys(offsetsBody), ['dataVersion', 'offsetTable']);
  t.deepEqual(offsetsBody.offsetTable, { 'CfgT@G': { 2: 9 } });

  c.broker.groups.findOrCreate('SomeGroup');
  const groups = await c.client.invoke(c.brokerAddr, makeRequest(RequestCode.GET_ALL_SUBSCRIPTIONGROUP_CONFIG));
  const groupsBody = JSON.parse(groups.body?.toString() ?? '') as { subscriptionGroupTable: Record<string, unknown> };
  t.like(groupsBody.subscriptionGroupTable['SomeGroup'], {
    groupName: 'SomeGroup', consumeEnable: true, retryQueueNums: 1, retryMaxTimes: 16, brokerId: 0,
  });
  t.like(groupsBody, { dataVersion: { counter: 1 } });
});

test('GET_BROKER_CONFIG: broker.conf keys as properties text, DataVersion in the header', async (t) => {
  const c = await startCluster(t);
  const response = await c.client.invoke(c.brokerAddr, makeRequest(RequestCode.GET_BROKER_CONFIG));
  t.is(response.code, ResponseCode.SUCCESS);
  const lines = response.body?.toString().trimEnd().split('\n') ?? [];
  const props = new Map(lines.map((line) => line.split('=', 2) as [string, string]));
  t.is(props.get('brokerName'), 'broker-a');
  t.is(props.get('brokerClusterName'), 'DefaultCluster');
  t.is(props.get('namesrvAddr'), c.namesrvAddr);
  t.is(props.get('listenPort'), '0');
  t.false(props.has('logger'));
  t.deepEqual([...props.keys()], [...props.keys()].sort());
  t.like(JSON.parse(response.extFields['version'] ?? '{}'), { stateVersion: 0 });
});
