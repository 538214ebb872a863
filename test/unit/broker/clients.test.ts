// Heartbeats, consumer group membership, NOTIFY_CONSUMER_IDS_CHANGED, channel expiry, locks.
import test from 'ava';
import {
  RequestCode, ResponseCode, decodeConsumerIdList, decodeLockBatchResponseBody, decodeTopicRouteData,
  encodeHeartbeatData, encodeLockBatchRequestBody, makeRequest, type HeartbeatData, type RemotingCommand,
} from '../../../ts/protocol/index.js';
import { pullRequest, startCluster } from '../../support/broker.js';
import { rawPeer, sleep, waitFor, type RawPeer } from '../../helpers/raw-socket.js';

function heartbeat(clientID: string, group: string, topic: string, subVersion = 1): RemotingCommand {
  const data: HeartbeatData = {
    clientID, heartbeatFingerprint: 0, withoutSub: false, producerDataSet: [{ groupName: 'CLIENT_INNER_PRODUCER' }],
    consumerDataSet: [{
      groupName: group, consumeType: 'CONSUME_PASSIVELY', messageModel: 'CLUSTERING',
      consumeFromWhere: 'CONSUME_FROM_LAST_OFFSET', unitMode: false,
      subscriptionDataSet: [{
        topic, subString: '*', expressionType: 'TAG', tagsSet: [], codeSet: [], subVersion, classFilterMode: false,
      }],
    }],
  };
  return makeRequest(RequestCode.HEART_BEAT, { body: encodeHeartbeatData(data) });
}

/** Takes the next frame that is a response to `opaque`, keeping the rest. */
async function responseTo(peer: RawPeer, opaque: number): Promise<RemotingCommand> {
  await waitFor(() => peer.received.some((c) => (c.flag & 1) === 1 && c.opaque === opaque), 5000, `response ${opaque}`);
  const index = peer.received.findIndex((c) => (c.flag & 1) === 1 && c.opaque === opaque);
  return peer.received.splice(index, 1)[0] as RemotingCommand;
}

function notifications(peer: RawPeer): RemotingCommand[] {
  return peer.received.filter((c) => c.code === RequestCode.NOTIFY_CONSUMER_IDS_CHANGED && (c.flag & 1) === 0);
}

test('heartbeat registers the group, creates %RETRY%group, notifies the other member; close notifies too', async (t) => {
  const { client, brokerAddr, namesrvAddr, broker } = await startCluster(t);
  const group = 'GroupA';
  const first = await rawPeer(broker.port);
  const second = await rawPeer(broker.port);
  t.teardown(() => first.socket.destroy());
  first.send({ ...heartbeat('10.0.0.1@c1', group, 'T1'), opaque: 1 });
  const response = await responseTo(first, 1);
  t.is(response.code, ResponseCode.SUCCESS);
  t.true(response.version >= 401, `version ${response.version}`);
  t.like(response.extFields, { IS_SUPPORT_HEART_BEAT_V2: 'true', IS_SUB_CHANGE: 'true' });
  await sleep(50);
  first.received.length = 0;

  second.send({ ...heartbeat('10.0.0.2@c2', group, 'T1'), opaque: 1 });
  await responseTo(second, 1);
  await waitFor(() => notifications(first).length === 1, 2000, 'NOTIFY to the first member');
  const notify = notifications(first)[0] as RemotingCommand;
  t.is(notify.extFields['consumerGroup'], group);
  t.is(notify.flag & 2, 2, 'oneway');

  const list = await client.invoke(brokerAddr, makeRequest(RequestCode.GET_CONSUMER_LIST_BY_GROUP, { extFields: { consumerGroup: group } }));
  t.deepEqual(decodeConsumerIdList(list.body), ['10.0.0.1@c1', '10.0.0.2@c2']);
  const route = await client.invoke(namesrvAddr, makeRequest(RequestCode.GET_ROUTEINFO_BY_TOPIC, { extFields: { topic: `%RETRY%${group}` } }));
  t.is(route.code, ResponseCode.SUCCESS, 'the retry topic is routed at once');
  t.like(decodeTopicRouteData(route.body ?? Buffer.alloc(0)).queueDatas[0], { readQueueNums: 1, writeQueueNums: 1, perm: 6 });

  first.received.length = 0;
  second.socket.destroy();
  await waitFor(() => notifications(first).length === 1, 2000, 'NOTIFY after the close');
  const after = await client.invoke(brokerAddr, makeRequest(RequestCode.GET_CONSUMER_LIST_BY_GROUP, { extFields: { consumerGroup: group } }));
  t.deepEqual(decodeConsumerIdList(after.body), ['10.0.0.1@c1']);
  const none = await client.invoke(brokerAddr, makeRequest(RequestCode.GET_CONSUMER_LIST_BY_GROUP, { extFields: { consumerGroup: 'Nobody' } }));
  t.is(none.code, ResponseCode.SYSTEM_ERROR);
  t.is(none.remark, 'no consumer for this group, Nobody');
});

test('pulls use the heartbeat subscription: missing → 24, older than the request → 25', async (t) => {
  const { broker } = await startCluster(t);
  const peer = await rawPeer(broker.port);
  t.teardown(() => peer.socket.destroy());
  peer.send({ ...heartbeat('10.0.0.1@c1', 'G', 'TBW102', 100), opaque: 1 });
  await responseTo(peer, 1);
  peer.send({ ...pullRequest({ topic: 'TBW102', group: 'G', queueOffset: 0, sysFlag: 0, subVersion: 100 }), opaque: 2 });
  t.is((await responseTo(peer, 2)).code, ResponseCode.PULL_NOT_FOUND);
  peer.send({ ...pullRequest({ topic: 'TBW102', group: 'G', queueOffset: 0, sysFlag: 0, subVersion: 200 }), opaque: 3 });
  t.is((await responseTo(peer, 3)).code, ResponseCode.SUBSCRIPTION_NOT_LATEST);
  peer.send({ ...pullRequest({ topic: 'SELF_TEST_TOPIC', group: 'G', queueOffset: 0, sysFlag: 0 }), opaque: 4 });
  t.is((await responseTo(peer, 4)).code, ResponseCode.SUBSCRIPTION_NOT_EXIST);
});

test('a silent channel expires after channelExpiredTimeout and its connection is closed', async (t) => {
  const { client, brokerAddr, broker } = await startCluster(t, { channelExpiredTimeout: 300, clientScanIntervalMs: 100 });
  const peer = await rawPeer(broker.port);
  peer.send({ ...heartbeat('10.0.0.9@c9', 'Quiet', 'T'), opaque: 1 });
  await responseTo(peer, 1);
  t.deepEqual(broker.clients.consumerIds('Quiet'), ['10.0.0.9@c9']);
  await peer.closed;
  t.deepEqual(broker.clients.consumerIds('Quiet'), []);
  const list = await client.invoke(brokerAddr, makeRequest(RequestCode.GET_CONSUMER_LIST_BY_GROUP, { extFields: { consumerGroup: 'Quiet' } }));
  t.is(list.code, ResponseCode.SYSTEM_ERROR);
});

test('LOCK_BATCH_MQ / UNLOCK_BATCH_MQ: one owner per queue', async (t) => {
  const { client, brokerAddr } = await startCluster(t);
  const mqSet = [0, 1].map((queueId) => ({ topic: 'T', brokerName: 'broker-a', queueId }));
  const lock = (clientId: string, code: number = RequestCode.LOCK_BATCH_MQ) => client.invoke(brokerAddr, makeRequest(code, {
    body: encodeLockBatchRequestBody({ consumerGroup: 'G', clientId, onlyThisBroker: false, mqSet }),
  }));
  t.deepEqual(decodeLockBatchResponseBody((await lock('a')).body), mqSet);
  t.deepEqual(decodeLockBatchResponseBody((await lock('b')).body), []);
  t.deepEqual(decodeLockBatchResponseBody((await lock('a')).body), mqSet, 'the owner renews');
  t.is((await lock('a', RequestCode.UNLOCK_BATCH_MQ)).code, ResponseCode.SUCCESS);
  t.deepEqual(decodeLockBatchResponseBody((await lock('b')).body), mqSet);
});

test('unknown request codes → REQUEST_CODE_NOT_SUPPORTED', async (t) => {
  const { client, brokerAddr } = await startCluster(t);
  const response = await client.invoke(brokerAddr, makeRequest(9999));
  t.is(response.code, ResponseCode.REQUEST_CODE_NOT_SUPPORTED);
});
