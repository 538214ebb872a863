// Producer against the broker under test (Apache RocketMQ 5.3.3 by default; see
// broker-under-test.ts). One broker instance for the whole file.
import test from 'ava';
import {
  Admin, ClientStateError, InvalidMessageError, LitePullConsumer, NetworkError, NoRouteError, Producer, hashSelector,
  type MessageExt, type MessageQueue, type SendResult,
} from '../../../ts/sdk/index.js';
import {
  brokerSkipReason, createTopic, startBrokerUnderTest, testLogger, uniqueName, type BrokerUnderTest,
} from './broker-under-test.js';

const skip = brokerSkipReason();
const btest = skip === null ? test.serial : test.serial.skip;
let broker: BrokerUnderTest | undefined;
let producer: Producer;

test.before(async (t) => {
  if (skip !== null) return;
  broker = await startBrokerUnderTest(t);
  if (broker === undefined) return;
  producer = new Producer({ groupName: uniqueName('pg'), namesrvAddr: broker.namesrvAddr, logger: testLogger });
  await producer.start();
});

test.after.always(async () => {
  await producer?.shutdown();
  await broker?.stop();
});

/** Reads every message of `queues` from `from` offsets (default 0) with a lite pull consumer. */
async function readBack(queues: MessageQueue[], expected: number, from?: Map<string, number>): Promise<MessageExt[]> {
  const consumer = new LitePullConsumer({
    groupName: uniqueName('reader'), namesrvAddr: broker!.namesrvAddr, autoCommit: false, logger: testLogger,
    consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET', pullBatchSize: 32,
  });
  consumer.assign(queues);
  await consumer.start();
  try {
    for (const queue of queues) {
      const offset = from?.get(`${queue.brokerName}/${queue.queueId}`);
      if (offset !== undefined) await consumer.seek(queue, offset);
    }
    const out: MessageExt[] = [];
    const deadline = Date.now() + 20_000;
    while (out.length < expected && Date.now() < deadline) out.push(...(await consumer.poll(1000)));
    return out;
  } finally {
    await consumer.shutdown();
  }
}

function queueOf(result: SendResult): string {
  return `${result.messageQueue.brokerName}/${result.messageQueue.queueId}`;
}

btest('sync send returns SEND_OK with ids, queue and offset; the message reads back intact', async (t) => {
  const topic = uniqueName('sync');
  await createTopic(broker!.namesrvAddr, topic, 4);
  const result = await producer.send({
    topic, body: 'hello bolide', tags: 'TagA', keys: ['k1', 'k2'], properties: { color: 'blue', note: 'ünïcödé' },
  });
  t.is(result.sendStatus, 'SEND_OK');
  t.regex(result.msgId, /^[0-9A-F]{32}([0-9A-F]{24})?$/);
  t.regex(result.offsetMsgId, /^[0-9A-F]{32}$/);
  t.is(result.messageQueue.topic, topic);
  t.is(result.queueOffset, 0);
  const [message] = await readBack(await producer.fetchPublishQueues(topic), 1);
  t.truthy(message);
  t.is(message!.body.toString(), 'hello bolide');
  t.is(message!.tags, 'TagA');
  t.deepEqual(message!.keys, ['k1', 'k2']);
  t.is(message!.properties['color'], 'blue');
  t.is(message!.properties['note'], 'ünïcödé');
  t.is(message!.msgId, result.msgId);
  t.is(message!.offsetMsgId, result.offsetMsgId);
  t.is(message!.queueId, result.messageQueue.queueId);
});

btest('500 pipelined sends on one connection: unique ids, offsets 0..n-1 per queue, round robin', async (t) => {
  const topic = uniqueName('async');
  await createTopic(broker!.namesrvAddr, topic, 4);
  const results = await Promise.all(Array.from({ length: 500 }, (_, i) => producer.send({ topic, body: `m${i}` })));
  t.true(results.every((r) => r.sendStatus === 'SEND_OK'));
  t.is(new Set(results.map((r) => r.msgId)).size, 500);
  t.is(new Set(results.map((r) => r.offsetMsgId)).size, 500);
  const perQueue = new Map<string, number[]>();
  for (const r of results) perQueue.set(queueOf(r), [...(perQueue.get(queueOf(r)) ?? []), r.queueOffset]);
  t.is(perQueue.size, 4);
  for (const offsets of perQueue.values()) {
    t.deepEqual([...offsets].sort((a, b) => a - b), offsets.map((_, i) => i));
    t.true(offsets.length >= 124 && offsets.length <= 126, `round robin: ${offsets.length}`);
  }
});

btest('oneway sends arrive', async (t) => {
  const topic = uniqueName('oneway');
  await createTopic(broker!.namesrvAddr, topic, 2);
  for (let i = 0; i < 20; i += 1) await producer.sendOneway({ topic, body: `one${i}` });
  const read = await readBack(await producer.fetchPublishQueues(topic), 20);
  t.deepEqual(read.map((m) => m.body.toString()).sort(), Array.from({ length: 20 }, (_, i) => `one${i}`).sort());
});

btest('batch send stores consecutive offsets in one queue with per-message ids', async (t) => {
  const topic = uniqueName('batch');
  await createTopic(broker!.namesrvAddr, topic, 2);
  const batch = Array.from({ length: 16 }, (_, i) => ({ topic, body: `b${i}`, tags: 'TagB', keys: `key${i}` }));
  const result = await producer.sendBatch(batch);
  t.is(result.sendStatus, 'SEND_OK');
  const ids = result.msgId.split(',');
  t.is(ids.length, 16);
  t.is(result.offsetMsgId.split(',').length, 16);
  const read = await readBack([result.messageQueue], 16);
  t.deepEqual(read.map((m) => m.queueOffset), Array.from({ length: 16 }, (_, i) => result.queueOffset + i));
  t.deepEqual(read.map((m) => m.body.toString()), batch.map((m) => m.body));
  t.deepEqual(read.map((m) => m.keys[0]), batch.map((m) => m.keys));
  // Apache 5.x stamps every stored message with the batch's own UNIQ_KEY; Bolide may keep per-message ids.
  t.true(read.every((m) => ids.includes(m.msgId) || m.msgId === read[0]!.msgId));
});

btest('ordered sends: the same sharding key always lands on the same queue, in order', async (t) => {
  const topic = uniqueName('ordered');
  await createTopic(broker!.namesrvAddr, topic, 4);
  const byKey = new Map<string, SendResult[]>();
  for (let i = 0; i < 60; i += 1) {
    const key = `order-${i % 5}`;
    const result = await producer.send({ topic, body: `${key}:${i}` }, hashSelector, key);
    byKey.set(key, [...(byKey.get(key) ?? []), result]);
  }
  for (const results of byKey.values()) {
    t.is(new Set(results.map(queueOf)).size, 1);
    const offsets = results.map((r) => r.queueOffset);
    t.deepEqual(offsets, [...offsets].sort((a, b) => a - b));
  }
});

btest('bodies over 4 KiB are compressed on the wire and read back identical', async (t) => {
  const topic = uniqueName('big');
  await createTopic(broker!.namesrvAddr, topic, 1);
  const body = Buffer.alloc(200_000, 'abcdefghij');
  const result = await producer.send({ topic, body });
  const [message] = await readBack([result.messageQueue], 1);
  t.is(message!.sysFlag & 0x1, 0x1);
  t.true(message!.body.equals(body));
});

btest('a new topic is auto-created through TBW102 (4 queues) and later routed for real', async (t) => {
  const topic = uniqueName('auto');
  const results: SendResult[] = [];
  for (let i = 0; i < 8; i += 1) results.push(await producer.send({ topic, body: `a${i}` }));
  t.true(results.every((r) => r.sendStatus === 'SEND_OK'));
  t.true(new Set(results.map(queueOf)).size >= 2);
  const admin = new Admin({ namesrvAddr: broker!.namesrvAddr, logger: testLogger });
  await admin.start();
  const route = await admin.waitForRoute(topic);
  await admin.shutdown();
  t.true(route.queueDatas.length > 0);
});

btest('typed errors: invalid messages, unknown topic without auto-create, closed client', async (t) => {
  await t.throwsAsync(producer.send({ topic: 'bad topic!', body: 'x' }), { instanceOf: InvalidMessageError, code: 'MESSAGE_INVALID' });
  await t.throwsAsync(producer.send({ topic: uniqueName('t'), body: '' }), { instanceOf: InvalidMessageError });
  const small = new Producer({ groupName: uniqueName('pg'), namesrvAddr: broker!.namesrvAddr, maxMessageSize: 10, logger: testLogger });
  await small.start();
  const error = await t.throwsAsync(small.send({ topic: uniqueName('t'), body: 'more than ten bytes' }));
  t.is((error as InvalidMessageError).retriable, false);
  await small.shutdown();
  await t.throwsAsync(small.send({ topic: 'x', body: 'y' }), { instanceOf: ClientStateError, code: 'CLIENT_STATE' });
});

btest('name server failover: a dead first address is skipped', async (t) => {
  const topic = uniqueName('failover');
  await createTopic(broker!.namesrvAddr, topic, 1);
  const failover = new Producer({
    groupName: uniqueName('pg'), namesrvAddr: ['127.0.0.1:1', broker!.namesrvAddr], logger: testLogger,
  });
  await failover.start();
  const result = await failover.send({ topic, body: 'via the second name server' });
  t.is(result.sendStatus, 'SEND_OK');
  await failover.shutdown();
});

btest('no reachable name server: a retriable NetworkError; unknown topic with no TBW102: NoRouteError', async (t) => {
  const dead = new Producer({ groupName: uniqueName('pg'), namesrvAddr: '127.0.0.1:1', sendMsgTimeout: 1500, logger: testLogger });
  await dead.start();
  const error = await t.throwsAsync(dead.send({ topic: 'Anything', body: 'x' }));
  t.true(error instanceof NetworkError || (error as { code?: string }).code === 'TIMEOUT', String(error));
  t.true((error as NetworkError).retriable);
  await dead.shutdown();
  t.is(new NoRouteError('t', 'm').code, 'NO_ROUTE');
});

btest('latency fault tolerance enabled: sends still succeed and spread over queues', async (t) => {
  const topic = uniqueName('latency');
  await createTopic(broker!.namesrvAddr, topic, 4);
  const tolerant = new Producer({
    groupName: uniqueName('pg'), namesrvAddr: broker!.namesrvAddr, sendLatencyFaultEnable: true, logger: testLogger,
  });
  await tolerant.start();
  const results = await Promise.all(Array.from({ length: 40 }, (_, i) => tolerant.send({ topic, body: `l${i}` })));
  t.true(results.every((r) => r.sendStatus === 'SEND_OK'));
  t.is(new Set(results.map(queueOf)).size, 4);
  await tolerant.shutdown();
});
