// Admin calls that change state: subscription groups (200, 207), topic deletion (215 on the
// broker, 216 on the name server), offset reset by time (222 → 220 to running consumers).
import test from 'ava';
import {
  CreateTopicRequestHeader, RequestCode, ResetOffsetRequestHeader, ResponseCode, UpdateConsumerOffsetRequestHeader,
  decodeOffsetTable, encodeHeader, encodeHeartbeatData, makeRequest, type HeartbeatData,
} from '../../../ts/protocol/index.js';
import { sendRequest, startCluster, type TestCluster } from '../../support/broker.js';
import { rawPeer, sleep, waitFor } from '../../helpers/raw-socket.js';

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

const MQ = (topic: string, queueId: number): string => `{"brokerName":"broker-a","queueId":${queueId},"topic":"${topic}"}`;

test('UPDATE_AND_CREATE_SUBSCRIPTIONGROUP creates/updates a group from its JSON body; DELETE_SUBSCRIPTIONGROUP removes it', async (t) => {
  const c = await startCluster(t);
  const body = Buffer.from(JSON.stringify({
    groupName: 'AdminG', consumeEnable: false, consumeFromMinEnable: true, consumeBroadcastEnable: true,
    consumeMessageOrderly: false, retryQueueNums: 2, retryMaxTimes: 5, brokerId: 0, whichBrokerWhenConsumeSlowly: 1,
    notifyConsumerIdsChangedEnable: false, groupSysFlag: 0, consumeTimeoutMinute: 15, subscriptionDataSet: null, attributes: {},
  }));
  const created = await c.client.invoke(c.brokerAddr, makeRequest(RequestCode.UPDATE_AND_CREATE_SUBSCRIPTIONGROUP, { body }));
  t.is(created.code, ResponseCode.SUCCESS);
  t.like(c.broker.groups.get('AdminG'), {
    consumeEnable: false, retryQueueNums: 2, retryMaxTimes: 5, notifyConsumerIdsChangedEnable: false,
  });
  const bad = await c.client.invoke(c.brokerAddr, makeRequest(RequestCode.UPDATE_AND_CREATE_SUBSCRIPTIONGROUP, {
    body: Buffer.from('{"retryQueueNums":1}'),
  }));
  t.is(bad.code, ResponseCode.SYSTEM_ERROR);
  await commit(c, 'AdminG', 'SomeTopic', 0, 4);
  const deleted = await c.client.invoke(c.brokerAddr, makeRequest(RequestCode.DELETE_SUBSCRIPTIONGROUP, {
    extFields: { groupName: 'AdminG', cleanOffset: 'true' },
  }));
  t.is(deleted.code, ResponseCode.SUCCESS);
  t.is(c.broker.groups.get('AdminG'), undefined);
  t.is(c.broker.offsets.query('AdminG', 'SomeTopic', 0), -1);
});

test('DELETE_TOPIC_IN_BROKER drops config, offsets and ConsumeQueues; a re-created topic starts at offset 0', async (t) => {
  const c = await startCluster(t);
  await createTopic(c, 'DelT', 2);
  for (let i = 0; i < 5; i += 1) await c.client.invoke(c.brokerAddr, sendRequest({ topic: 'DelT', queueId: 0 }));
  c.broker.store.waitDispatched();
  await commit(c, 'G', 'DelT', 0, 3);
  t.is(c.broker.store.maxOffset('DelT', 0), 5);
  const response = await c.client.invoke(c.brokerAddr, makeRequest(RequestCode.DELETE_TOPIC_IN_BROKER, { extFields: { topic: 'DelT' } }));
  t.is(response.code, ResponseCode.SUCCESS);
  t.is(c.broker.topics.get('DelT'), undefined);
  t.is(c.broker.offsets.query('G', 'DelT', 0), -1);
  t.is(c.broker.store.maxOffset('DelT', 0), 0);
  t.false(c.broker.store.queues().some(([topic]) => topic === 'DelT'));
  // The name server forgets it with DELETE_TOPIC_IN_NAMESRV (mqadmin deleteTopic sends both).
  const ns = await c.client.invoke(c.namesrvAddr, makeRequest(RequestCode.DELETE_TOPIC_IN_NAMESRV, {
    extFields: { topic: 'DelT', clusterName: 'DefaultCluster' },
  }));
  t.is(ns.code, ResponseCode.SUCCESS);
  const route = await c.client.invoke(c.namesrvAddr, makeRequest(RequestCode.GET_ROUTEINFO_BY_TOPIC, { extFields: { topic: 'DelT' } }));
  t.is(route.code, ResponseCode.TOPIC_NOT_EXIST);

  await createTopic(c, 'DelT', 2);
  const again = await c.client.invoke(c.brokerAddr, sendRequest({ topic: 'DelT', queueId: 0 }));
  t.is(again.code, ResponseCode.SUCCESS);
  t.is(again.extFields['queueOffset'], '0');

  for (const topic of ['TBW102', 'SCHEDULE_TOPIC_XXXX', 'DefaultCluster', 'broker-a']) {
    const refused = await c.client.invoke(c.brokerAddr, makeRequest(RequestCode.DELETE_TOPIC_IN_BROKER, { extFields: { topic } }));
    t.is(refused.code, ResponseCode.SYSTEM_ERROR, topic);
    t.not(c.broker.topics.get(topic), undefined);
  }
});

test('INVOKE_BROKER_TO_RESET_OFFSET moves committed offsets to a time and tells running consumers (220)', async (t) => {
  const c = await startCluster(t);
  await createTopic(c, 'ResetT', 2);
  for (let i = 0; i < 3; i += 1) await c.client.invoke(c.brokerAddr, sendRequest({ topic: 'ResetT', queueId: 0 }));
  await sleep(20);
  const middle = Date.now();
  await sleep(20);
  for (let i = 0; i < 3; i += 1) await c.client.invoke(c.brokerAddr, sendRequest({ topic: 'ResetT', queueId: 0 }));
  for (let i = 0; i < 2; i += 1) await c.client.invoke(c.brokerAddr, sendRequest({ topic: 'ResetT', queueId: 1 }));
  c.broker.store.waitDispatched();
  await commit(c, 'RG', 'ResetT', 0, 6);
  await commit(c, 'RG', 'ResetT', 1, 2);

  const peer = await rawPeer(c.broker.port);
  t.teardown(() => peer.socket.destroy());
  const data: HeartbeatData = {
    clientID: '10.0.0.9@reset', heartbeatFingerprint: 0, withoutSub: false, producerDataSet: [],
    consumerDataSet: [{
      groupName: 'RG', consumeType: 'CONSUME_PASSIVELY', messageModel: 'CLUSTERING', consumeFromWhere: 'CONSUME_FROM_LAST_OFFSET',
      unitMode: false, subscriptionDataSet: [{
        topic: 'ResetT', subString: '*', expressionType: 'TAG', tagsSet: [], codeSet: [], subVersion: 1, classFilterMode: false,
      }],
    }],
  };
  peer.send({ ...makeRequest(RequestCode.HEART_BEAT, { body: encodeHeartbeatData(data) }), opaque: 3 });
  await waitFor(() => c.broker.clients.consumerIds('RG').length === 1, 3000, 'heartbeat');

  const reset = (timestamp: number, isForce: boolean) => c.client.invoke(c.brokerAddr, makeRequest(RequestCode.INVOKE_BROKER_TO_RESET_OFFSET, {
    extFields: encodeHeader(ResetOffsetRequestHeader, { topic: 'ResetT', group: 'RG', timestamp, isForce }),
  }));
  const response = await reset(middle, true);
  t.is(response.code, ResponseCode.SUCCESS);
  // Queue 0: first message stored after `middle` is offset 3; queue 1: everything is after it.
  t.is(response.body?.toString(), `{"offsetTable":{${MQ('ResetT', 0)}:3,${MQ('ResetT', 1)}:0}}`);
  t.deepEqual(decodeOffsetTable(response.body, 'ResetOffsetBody').map(([q, v]) => [q.queueId, v]), [[0, 3], [1, 0]]);
  t.is(c.broker.offsets.query('RG', 'ResetT', 0), 3);
  t.is(c.broker.offsets.query('RG', 'ResetT', 1), 0);
  await waitFor(() => peer.received.some((x) => x.code === RequestCode.RESET_CONSUMER_CLIENT_OFFSET), 3000, 'RESET_CONSUMER_CLIENT_OFFSET');
  const notify = peer.received.find((x) => x.code === RequestCode.RESET_CONSUMER_CLIENT_OFFSET);
  t.like(notify?.extFields, { topic: 'ResetT', group: 'RG', timestamp: String(middle), isForce: 'true' });
  t.is(notify?.body?.toString(), response.body?.toString());
  t.is((notify?.flag ?? 0) & 2, 2, 'oneway');

  // Not forced: never moves a queue forward (−1 = the max offset).
  const notForced = await reset(-1, false);
  t.is(notForced.body?.toString(), `{"offsetTable":{${MQ('ResetT', 0)}:3,${MQ('ResetT', 1)}:0}}`);
  const forced = await reset(-1, true);
  t.is(forced.body?.toString(), `{"offsetTable":{${MQ('ResetT', 0)}:6,${MQ('ResetT', 1)}:2}}`);

  const unknownGroup = await c.client.invoke(c.brokerAddr, makeRequest(RequestCode.INVOKE_BROKER_TO_RESET_OFFSET, {
    extFields: encodeHeader(ResetOffsetRequestHeader, { topic: 'ResetT', group: 'Ghost', timestamp: 0, isForce: true }),
  }));
  t.is(unknownGroup.code, ResponseCode.SYSTEM_ERROR);
  const unknownTopic = await c.client.invoke(c.brokerAddr, makeRequest(RequestCode.INVOKE_BROKER_TO_RESET_OFFSET, {
    extFields: encodeHeader(ResetOffsetRequestHeader, { topic: 'NoTopic', group: 'RG', timestamp: 0, isForce: true }),
  }));
  t.is(unknownTopic.code, ResponseCode.SYSTEM_ERROR);
});
