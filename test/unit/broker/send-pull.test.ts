// A NameServer + broker in-process: sends with every send code and header encoding, pulls
// back, and checks every response field a client reads.
import test from 'ava';
import {
  MessageProperty, RequestCode, ResponseCode, decodeOffsetMsgId, decodeStoredMessages, decodeTopicRouteData,
  encodeBatch, makeRequest,
} from '../../../ts/protocol/index.js';
import { pullRequest, sendRequest, startCluster } from '../../support/broker.js';
import { rawPeer } from '../../helpers/raw-socket.js';

test('send with codes 10, 310 and 320 (JSON and ROCKETMQ headers), pull back, check every field', async (t) => {
  const { client, brokerAddr, broker, namesrvAddr } = await startCluster(t);
  const topic = 'SendPullTopic';
  const uniq = 'AC110001000A18B4AAC2000000000001';
  // Code 10, JSON header; auto-created from TBW102.
  const r10 = await client.invoke(brokerAddr, sendRequest({
    topic, code: RequestCode.SEND_MESSAGE, body: 'm0',
    properties: { TAGS: 'TagA', KEYS: 'k0 shared', UNIQ_KEY: uniq },
  }));
  t.is(r10.code, ResponseCode.SUCCESS, r10.remark);
  t.is(r10.extFields['queueId'], '0');
  t.is(r10.extFields['queueOffset'], '0');
  t.is(r10.extFields['transactionId'], uniq);
  t.is(r10.extFields['MSG_REGION'], 'DefaultRegion');
  t.is(r10.extFields['TRACE_ON'], 'true');
  for (const value of Object.values(r10.extFields)) t.is(typeof value, 'string');
  const id = decodeOffsetMsgId(r10.extFields['msgId'] ?? '');
  t.deepEqual(id.storeHost, { address: '127.0.0.1', port: broker.port });
  t.is(id.commitLogOffset, 0);

  // Code 310 over a raw socket with a ROCKETMQ binary header.
  const peer = await rawPeer(broker.port);
  t.teardown(() => peer.socket.destroy());
  peer.send({ ...sendRequest({ topic, body: 'm1', properties: { TAGS: 'TagB' } }), opaque: 7 }, 1);
  const r310 = await peer.next();
  t.is(r310.code, ResponseCode.SUCCESS, r310.remark);
  t.is(r310.opaque, 7);
  t.is(r310.extFields['queueOffset'], '1');
  t.is(r310.extFields['transactionId'], undefined);

  // Code 320: a batch of three with their own UNIQ_KEYs.
  const batch = encodeBatch([0, 1, 2].map((i) => ({
    flag: 0, body: Buffer.from(`b${i}`), properties: { TAGS: 'TagA', UNIQ_KEY: `U${i}` },
  })));
  const r320 = await client.invoke(brokerAddr, sendRequest({ topic, code: RequestCode.SEND_BATCH_MESSAGE, body: batch }));
  t.is(r320.code, ResponseCode.SUCCESS, r320.remark);
  t.is(r320.extFields['queueOffset'], '2');
  t.is(r320.extFields['msgId']?.split(',').length, 3);
  t.is(r320.extFields['transactionId'], 'U0,U1,U2');


  // The auto-created topic was registered with the name server at once.
  const route = await client.invoke(namesrvAddr, makeRequest(RequestCode.GET_ROUTEINFO_BY_TOPIC, { extFields: { topic } }));
  t.is(route.code, ResponseCode.SUCCESS, route.remark);
  t.is(decodeTopicRouteData(route.body ?? Buffer.alloc(0)).queueDatas[0]?.writeQueueNums, 4);

  broker.store.waitDispatched();
  const pull = await client.invoke(brokerAddr, pullRequest({ topic, queueOffset: 0 }));
  t.is(pull.code, ResponseCode.SUCCESS, pull.remark);
  t.is(pull.remark, 'FOUND');
  t.like(pull.extFields, { suggestWhichBrokerId: '0', nextBeginOffset: '5', minOffset: '0', maxOffset: '5' });
  const messages = decodeStoredMessages(pull.body ?? Buffer.alloc(0));
  t.deepEqual(messages.map((m) => m.body.toString()), ['m0', 'm1', 'b0', 'b1', 'b2']);
  t.deepEqual(messages.map((m) => m.queueOffset), [0, 1, 2, 3, 4]);
  t.is(messages[0]?.properties[MessageProperty.KEYS], 'k0 shared');
  t.is(messages[0]?.bornHost.address, '127.0.0.1');
  t.is(messages[0]?.msgId, r10.extFields['msgId']);
  t.deepEqual(messages.slice(2).map((m) => m.properties['UNIQ_KEY']), ['U0', 'U1', 'U2']);

  // Tag filter: TagA only.
  const tagged = await client.invoke(brokerAddr, pullRequest({ topic, queueOffset: 0, subscription: 'TagA' }));
  t.deepEqual(decodeStoredMessages(tagged.body ?? Buffer.alloc(0)).map((m) => m.body.toString()), ['m0', 'b0', 'b1', 'b2']);
  // Only TagB past offset 1: nothing matches → PULL_RETRY_IMMEDIATELY, next offset past the scan.
  const none = await client.invoke(brokerAddr, pullRequest({ topic, queueOffset: 2, subscription: 'TagB' }));
  t.is(none.code, ResponseCode.PULL_RETRY_IMMEDIATELY);
  t.is(none.extFields['nextBeginOffset'], '5');
});

test('pull status mapping: overflow one, overflow badly, empty queue, unknown topic', async (t) => {
  const { client, brokerAddr, broker } = await startCluster(t);
  const topic = 'StatusTopic';
  for (let i = 0; i < 3; i += 1) await client.invoke(brokerAddr, sendRequest({ topic }));
  broker.store.waitDispatched();
  const at = async (queueOffset: number, queueId = 0) => client.invoke(brokerAddr, pullRequest({ topic, queueOffset, queueId }));
  const one = await at(3);
  t.is(one.code, ResponseCode.PULL_NOT_FOUND);
  t.is(one.remark, 'OFFSET_OVERFLOW_ONE');
  t.is(one.extFields['nextBeginOffset'], '3');
  const badly = await at(10);
  t.is(badly.code, ResponseCode.PULL_OFFSET_MOVED);
  t.is(badly.extFields['nextBeginOffset'], '3');
  const emptyAtZero = await at(0, 1);
  t.is(emptyAtZero.code, ResponseCode.PULL_NOT_FOUND);
  const emptyAtFive = await at(5, 1);
  t.is(emptyAtFive.code, ResponseCode.PULL_OFFSET_MOVED);
  t.is(emptyAtFive.extFields['nextBeginOffset'], '0');
  const limited = await client.invoke(brokerAddr, pullRequest({ topic, queueOffset: 0, maxMsgNums: 2 }));
  t.is(decodeStoredMessages(limited.body ?? Buffer.alloc(0)).length, 2);
  t.is(limited.extFields['nextBeginOffset'], '2');
  const unknown = await client.invoke(brokerAddr, pullRequest({ topic: 'NoSuchTopic', queueOffset: 0 }));
  t.is(unknown.code, ResponseCode.TOPIC_NOT_EXIST);
  const badQueue = await client.invoke(brokerAddr, sendRequest({ topic, queueId: 99 }));
  t.is(badQueue.code, ResponseCode.INVALID_PARAMETER);
  const sql = await client.invoke(brokerAddr, pullRequest({ topic, queueOffset: 0, expressionType: 'SQL92', subscription: 'a > 1' }));
  t.is(sql.code, ResponseCode.SYSTEM_ERROR);
  t.is(sql.remark, 'The broker does not support consumer to filter message by SQL92');
  const noSub = await client.invoke(brokerAddr, pullRequest({ topic, queueOffset: 0, sysFlag: 0, group: 'nobody' }));
  t.is(noSub.code, ResponseCode.SUBSCRIPTION_NOT_EXIST);
});

test('TOPIC_NOT_EXIST with RocketMQ remark when auto-create is off; system topics refused', async (t) => {
  const { client, brokerAddr, namesrvAddr } = await startCluster(t, { autoCreateTopicEnable: false });
  const response = await client.invoke(brokerAddr, sendRequest({ topic: 'NotThere' }));
  t.is(response.code, ResponseCode.TOPIC_NOT_EXIST);
  t.is(response.remark, 'topic[NotThere] not exist, apply first please!');
  const tbw = await client.invoke(brokerAddr, sendRequest({ topic: 'TBW102' }));
  t.is(tbw.code, ResponseCode.SYSTEM_ERROR);
  const bad = await client.invoke(brokerAddr, sendRequest({ topic: 'bad topic!' }));
  t.is(bad.code, ResponseCode.SYSTEM_ERROR);
  const route = await client.invoke(namesrvAddr, makeRequest(RequestCode.GET_ROUTEINFO_BY_TOPIC, { extFields: { topic: 'TBW102' } }));
  t.is(route.code, ResponseCode.TOPIC_NOT_EXIST, 'no TBW102 route without auto-create');
  const selfTest = await client.invoke(namesrvAddr, makeRequest(RequestCode.GET_ROUTEINFO_BY_TOPIC, { extFields: { topic: 'SELF_TEST_TOPIC' } }));
  t.is(selfTest.code, ResponseCode.SUCCESS);
  t.is(decodeTopicRouteData(selfTest.body ?? Buffer.alloc(0)).brokerDatas[0]?.brokerAddrs['0'], brokerAddr);
});

test('oversized body → MESSAGE_ILLEGAL; the broker keeps serving', async (t) => {
  const { client, brokerAddr } = await startCluster(t, { maxMessageSize: 1024 });
  const big = await client.invoke(brokerAddr, sendRequest({ topic: 'Big', body: Buffer.alloc(2048) }));
  t.is(big.code, ResponseCode.MESSAGE_ILLEGAL);
  const ok = await client.invoke(brokerAddr, sendRequest({ topic: 'Big', body: 'small' }));
  t.is(ok.code, ResponseCode.SUCCESS);
});
