// PushConsumer against the broker under test: clustering (two members, joins and leaves),
// broadcasting, orderly, retry, tag filtering, async iteration, graceful shutdown.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import test from 'ava';
import {
  Admin, ConsumeStatus, MQBrokerError, MQClientError, Producer, PushConsumer, hashSelector, type MessageExt, type PushConsumerOptions,
} from '../../../ts/sdk/index.js';
import { encodeRecallHandle } from '../../../ts/protocol/index.js';
import {
  brokerSkipReason, timersSupported, createTopic, startBrokerUnderTest, testLogger, uniqueName, waitUntil, type BrokerUnderTest,
} from './broker-under-test.js';

const skip = brokerSkipReason();
const btest = skip === null ? test.serial : test.serial.skip;
let broker: BrokerUnderTest | undefined;
let producer: Producer;
const consumers: PushConsumer[] = [];

test.before(async (t) => {
  if (skip !== null) return;
  broker = await startBrokerUnderTest(t);
  if (broker === undefined) return;
  producer = new Producer({ groupName: uniqueName('pg'), namesrvAddr: broker.namesrvAddr, logger: testLogger });
  await producer.start();
});

test.after.always(async () => {
  await Promise.allSettled(consumers.map((c) => c.shutdown()));
  await producer?.shutdown();
  await broker?.stop();
});

function consumer(options: Partial<PushConsumerOptions> & { groupName: string }): PushConsumer {
  const created = new PushConsumer({
    namesrvAddr: broker!.namesrvAddr, consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET', logger: testLogger, ...options,
  });
  consumers.push(created);
  return created;
}

async function sendAll(topic: string, count: number, tag = 'TagA'): Promise<string[]> {
  const results = await Promise.all(Array.from({ length: count }, (_, i) => producer.send({ topic, body: `m${i}`, tags: tag })));
  return results.map((r) => r.msgId);
}

btest('clustering: two consumers split the queues, nothing lost while one joins and the other leaves', async (t) => {
  const topic = uniqueName('cluster');
  const group = uniqueName('cg');
  await createTopic(broker!.namesrvAddr, topic, 8);
  const seen = new Map<string, number>();
  const perConsumer = [0, 0];
  const handler = (index: number) => async (messages: MessageExt[]): Promise<void> => {
    for (const m of messages) {
      if (m.topic !== topic) continue;
      seen.set(m.msgId, (seen.get(m.msgId) ?? 0) + 1);
      perConsumer[index]! += 1;
    }
  };
  const c1 = consumer({ groupName: group });
  c1.subscribe(topic, '*');
  c1.onMessage(handler(0));
  await c1.start();
  t.is(c1.assignedQueues().filter((q) => q.topic === topic).length, 8);
  const sent: string[] = [...(await sendAll(topic, 300))];
  const c2 = consumer({ groupName: group });
  c2.subscribe(topic, '*');
  c2.onMessage(handler(1));
  await c2.start();
  const split = await waitUntil(() => {
    const a = c1.assignedQueues().filter((q) => q.topic === topic).length;
    const b = c2.assignedQueues().filter((q) => q.topic === topic).length;
    return a === 4 && b === 4;
  }, 15_000);
  t.true(split, 'queues split 4/4');
  sent.push(...(await sendAll(topic, 300)));
  await c1.shutdown();
  t.true(await waitUntil(() => c2.assignedQueues().filter((q) => q.topic === topic).length === 8, 15_000), 'c2 took over');
  sent.push(...(await sendAll(topic, 300)));
  t.true(await waitUntil(() => sent.every((id) => seen.has(id)), 30_000), `received ${seen.size} of ${sent.length}`);
  t.true(perConsumer[0]! > 0 && perConsumer[1]! > 0, `both consumed: ${perConsumer.join('/')}`);
  const duplicates = [...seen.values()].filter((n) => n > 1).length;
  t.log(`duplicates during rebalance: ${duplicates}`);
  t.true(duplicates < sent.length / 10);
});

btest('broadcasting: every member gets every message; offsets go to a local file', async (t) => {
  const topic = uniqueName('broadcast');
  const group = uniqueName('bg');
  const dir = mkdtempSync(path.join(tmpdir(), 'bolide-sdk-offsets-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  await createTopic(broker!.namesrvAddr, topic, 4);
  const got = [new Set<string>(), new Set<string>()];
  const members = [0, 1].map((i) => {
    const c = consumer({ groupName: group, messageModel: 'BROADCASTING', offsetStoreDir: dir });
    c.subscribe(topic, '*');
    c.onMessage((messages) => { for (const m of messages) got[i]!.add(m.msgId); });
    return c;
  });
  for (const c of members) await c.start();
  t.is(members[0]!.assignedQueues().length, 4);
  t.is(members[1]!.assignedQueues().length, 4);
  const sent = await sendAll(topic, 100);
  t.true(await waitUntil(() => got.every((set) => sent.every((id) => set.has(id))), 20_000), `${got[0]!.size}/${got[1]!.size}`);
  for (const c of members) await c.shutdown();
  t.true(existsSync(path.join(dir, group, 'offsets.json')));
  // A restarted member continues from the offsets in its file: only what was sent since.
  const later = await sendAll(topic, 10);
  const again = new Set<string>();
  const restarted = consumer({ groupName: group, messageModel: 'BROADCASTING', offsetStoreDir: dir });
  restarted.subscribe(topic, '*');
  restarted.onMessage((messages) => { for (const m of messages) again.add(m.msgId); });
  await restarted.start();
  t.true(await waitUntil(() => later.every((id) => again.has(id)), 15_000));
  await new Promise((resolve) => setTimeout(resolve, 300));
  t.is(again.size, 10);
  await restarted.shutdown();
});

btest('orderly: per sharding key strictly in send order, even with a suspended retry', async (t) => {
  const topic = uniqueName('orderly');
  const group = uniqueName('og');
  await createTopic(broker!.namesrvAddr, topic, 4);
  const received = new Map<string, number[]>();
  let failedOnce = false;
  const c = consumer({ groupName: group, orderly: true, consumeConcurrency: 4, suspendCurrentQueueTimeMillis: 200 });
  c.subscribe(topic, '*');
  c.onMessage((messages, context) => {
    t.true(context.orderly);
    for (const m of messages) {
      const [key, seq] = m.body.toString().split(':');
      if (!failedOnce && Number(seq) === 7) {
        failedOnce = true;
        return ConsumeStatus.SUSPEND_CURRENT_QUEUE_A_MOMENT;
      }
      received.set(key!, [...(received.get(key!) ?? []), Number(seq)]);
    }
    return ConsumeStatus.SUCCESS;
  });
  await c.start();
  const keys = ['alpha', 'beta', 'gamma', 'delta', 'epsilon'];
  for (let seq = 0; seq < 40; seq += 1) {
    await Promise.all(keys.map((key) => producer.send({ topic, body: `${key}:${seq}` }, hashSelector, key)));
  }
  t.true(await waitUntil(() => keys.every((key) => (received.get(key)?.length ?? 0) >= 40), 30_000));
  for (const key of keys) t.deepEqual(received.get(key), Array.from({ length: 40 }, (_, i) => i), key);
  t.true(failedOnce);
});

btest('retry: RECONSUME_LATER sends the message back; it returns with RECONSUME_TIMES 1 and its topic', async (t) => {
  const topic = uniqueName('retry');
  const group = uniqueName('rg');
  await createTopic(broker!.namesrvAddr, topic, 2);
  const deliveries: MessageExt[] = [];
  const thrown: MessageExt[] = [];
  const c = consumer({ groupName: group });
  c.subscribe(topic, '*');
  c.onMessage((messages, context) => {
    for (const m of messages) {
      deliveries.push(m);
      if (m.body.toString() === 'fail-once' && m.reconsumeTimes === 0) {
        context.delayLevelWhenNextConsume = 1;
        return ConsumeStatus.RECONSUME_LATER;
      }
      if (m.body.toString() === 'throw-once' && m.reconsumeTimes === 0) {
        thrown.push(m);
        context.delayLevelWhenNextConsume = 1;
        throw new Error('handler failure');
      }
    }
    return ConsumeStatus.CONSUME_SUCCESS;
  });
  await c.start();
  const failed = await producer.send({ topic, body: 'fail-once', keys: 'retry-key' });
  const threw = await producer.send({ topic, body: 'throw-once' });
  const redelivered = (id: string) => deliveries.find((m) => m.msgId === id && m.reconsumeTimes === 1);
  t.true(await waitUntil(() => redelivered(failed.msgId) !== undefined && redelivered(threw.msgId) !== undefined, 30_000));
  const again = redelivered(failed.msgId)!;
  t.is(again.topic, topic);
  t.is(again.properties['RETRY_TOPIC'], topic);
  t.is(again.body.toString(), 'fail-once');
  t.deepEqual(again.keys, ['retry-key']);
  t.is(thrown.length, 1);
});

btest('tag filtering: only subscribed tags arrive', async (t) => {
  const topic = uniqueName('tags');
  const group = uniqueName('tg');
  await createTopic(broker!.namesrvAddr, topic, 2);
  const tags: string[] = [];
  const c = consumer({ groupName: group });
  c.subscribe(topic, 'TagA || TagC');
  c.onMessage((messages) => { for (const m of messages) if (m.topic === topic) tags.push(m.tags ?? ''); });
  await c.start();
  for (const tag of ['TagA', 'TagB', 'TagC', 'TagD', 'TagA']) await producer.send({ topic, body: tag, tags: tag });
  t.true(await waitUntil(() => tags.length >= 3, 15_000));
  await new Promise((resolve) => setTimeout(resolve, 500));
  t.deepEqual(tags.sort(), ['TagA', 'TagA', 'TagC']);
});

btest('async iteration: for await delivers every message; shutdown ends the loop', async (t) => {
  const topic = uniqueName('iter');
  const group = uniqueName('ig');
  await createTopic(broker!.namesrvAddr, topic, 2);
  const c = consumer({ groupName: group, consumeConcurrency: 4 });
  c.subscribe(topic, '*');
  await c.start();
  const sent = await sendAll(topic, 50);
  const got = new Set<string>();
  for await (const message of c) {
    got.add(message.msgId);
    if (sent.every((id) => got.has(id))) break;
  }
  t.is(got.size, 50);
  await c.shutdown();
  const after: MessageExt[] = [];
  for await (const message of c) after.push(message);
  t.deepEqual(after, []);
});

btest('graceful shutdown waits for running handlers and commits their offsets', async (t) => {
  const topic = uniqueName('drain');
  const group = uniqueName('dg');
  await createTopic(broker!.namesrvAddr, topic, 1);
  let started = 0;
  let finished = 0;
  const c = consumer({ groupName: group, consumeConcurrency: 1 });
  c.subscribe(topic, '*');
  c.onMessage(async () => {
    started += 1;
    await new Promise((resolve) => setTimeout(resolve, 300));
    finished += 1;
  });
  await c.start();
  await sendAll(topic, 5);
  t.true(await waitUntil(() => started >= 1, 10_000));
  await c.shutdown();
  t.is(started, finished, 'no handler cut off');
  // A new member of the group resumes after what was consumed: no message is handled twice.
  const again: string[] = [];
  const c2 = consumer({ groupName: group });
  c2.subscribe(topic, '*');
  c2.onMessage((messages) => { for (const m of messages) if (m.topic === topic) again.push(m.body.toString()); });
  await c2.start();
  t.true(await waitUntil(() => finished + again.length >= 5, 15_000), `${finished} + ${again.length}`);
  t.is(finished + again.length, 5);
});

btest('retries to the DLQ: after maxReconsumeTimes failed redeliveries the message goes to %DLQ%<group>', async (t) => {
  const topic = uniqueName('dlq');
  const group = uniqueName('dg');
  await createTopic(broker!.namesrvAddr, topic, 1);
  const attempts: number[] = [];
  const c = consumer({ groupName: group, maxReconsumeTimes: 2 });
  c.subscribe(topic, '*');
  c.onMessage((messages, context) => {
    for (const m of messages) attempts.push(m.reconsumeTimes);
    context.delayLevelWhenNextConsume = 1;
    return ConsumeStatus.RECONSUME_LATER;
  });
  await c.start();
  await producer.send({ topic, body: 'poison' });
  const admin = new Admin({ namesrvAddr: broker!.namesrvAddr, logger: testLogger });
  await admin.start();
  try {
    const dlqCount = async () => (await admin.topicStats(`%DLQ%${group}`).catch(() => [])).reduce((n, q) => n + q.maxOffset - q.minOffset, 0);
    t.true(await waitUntil(async () => (await dlqCount()) === 1, 40_000), `attempts ${attempts.join(',')}`);
    t.deepEqual(attempts, [0, 1, 2], 'delivered once, then retried twice');
  } finally {
    await admin.shutdown();
  }
});

btest('delayed messages: delay level 1 arrives no earlier than asked, after a plain send', async (t) => {
  const topic = uniqueName('delay');
  const group = uniqueName('dlg');
  await createTopic(broker!.namesrvAddr, topic, 2);
  const arrived = new Map<string, number>();
  const c = consumer({ groupName: group });
  c.subscribe(topic, '*');
  c.onMessage((messages) => { for (const m of messages) arrived.set(m.body.toString(), Date.now()); });
  await c.start();
  const sentAt = Date.now();
  await producer.send({ topic, body: 'level1', delayTimeLevel: 1 });
  await producer.send({ topic, body: 'now' });
  t.true(await waitUntil(() => arrived.size === 2, 20_000), [...arrived.keys()].join(','));
  t.true(arrived.get('level1')! - sentAt >= 900, `level 1 after ${arrived.get('level1')! - sentAt} ms`);
  t.true(arrived.get('now')! <= arrived.get('level1')!);
});

// RocketMQ 5's arbitrary delivery time (TIMER_DELIVER_MS), on both servers.
(timersSupported() ? btest : test.serial.skip)('a deliver time (RocketMQ 5 timer) arrives no earlier than asked', async (t) => {
  const topic = uniqueName('timer');
  const group = uniqueName('tmg');
  await createTopic(broker!.namesrvAddr, topic, 2);
  const arrived = new Map<string, number>();
  const c = consumer({ groupName: group });
  c.subscribe(topic, '*');
  c.onMessage((messages) => { for (const m of messages) arrived.set(m.body.toString(), Date.now()); });
  await c.start();
  const sentAt = Date.now();
  await producer.send({ topic, body: 'timer', deliverTimeMs: sentAt + 1500 });
  t.true(await waitUntil(() => arrived.size === 1, 20_000), [...arrived.keys()].join(','));
  t.true(arrived.get('timer')! - sentAt >= 1200, `timer after ${arrived.get('timer')! - sentAt} ms`);
});

// RocketMQ 5.3's RECALL_MESSAGE, on both servers: the handle comes with the send's result.
(timersSupported() ? btest : test.serial.skip)('a recalled timer message is never delivered, the one sent beside it is', async (t) => {
  const topic = uniqueName('recall');
  const group = uniqueName('rcg');
  await createTopic(broker!.namesrvAddr, topic, 2);
  const arrived = new Map<string, number>();
  const c = consumer({ groupName: group });
  c.subscribe(topic, '*');
  c.onMessage((messages) => { for (const m of messages) arrived.set(m.body.toString(), Date.now()); });
  await c.start();
  const due = Date.now() + 3000;
  const recalled = await producer.send({ topic, body: 'recalled', deliverTimeMs: due });
  const kept = await producer.send({ topic, body: 'kept', deliverTimeMs: due });
  t.truthy(recalled.recallHandle, 'a timer send returns a recallHandle');
  t.truthy(kept.recallHandle);
  t.is(await producer.recallMessage(topic, recalled.recallHandle!), recalled.msgId);
  // Refusals: a malformed handle (client side), another topic's handle, a time already past.
  await t.throwsAsync(producer.recallMessage(topic, 'not a handle'), { instanceOf: MQClientError });
  const otherTopic = uniqueName('other');
  await createTopic(broker!.namesrvAddr, otherTopic, 1);
  const mismatch = await t.throwsAsync(producer.recallMessage(otherTopic, kept.recallHandle!), { instanceOf: MQBrokerError });
  t.is((mismatch as MQBrokerError).responseCode, 604, 'ILLEGAL_OPERATION: topic not match');
  const past = encodeRecallHandle({ topic, brokerName: kept.messageQueue.brokerName, deliverTimeMs: Date.now() - 1000, messageId: kept.msgId });
  const pastError = await t.throwsAsync(producer.recallMessage(topic, past), { instanceOf: MQBrokerError });
  t.is((pastError as MQBrokerError).responseCode, 604, 'ILLEGAL_OPERATION');
  t.true(await waitUntil(() => arrived.has('kept'), 20_000), 'the message not recalled arrives');
  t.true(arrived.get('kept')! >= due - 1000, `kept arrived ${due - arrived.get('kept')!} ms before its time`);
  // Both were due in the same second: give the recalled one ample time to show up, if it would.
  await new Promise((resolve) => setTimeout(resolve, 2000));
  t.false(arrived.has('recalled'), 'the recalled message was delivered');
});

btest('CONSUME_FROM_TIMESTAMP (strict) starts at the first message stored after the timestamp', async (t) => {
  const topic = uniqueName('fromtime');
  const group = uniqueName('ftg');
  await createTopic(broker!.namesrvAddr, topic, 1);
  for (let i = 0; i < 5; i += 1) await producer.send({ topic, body: `old${i}` });
  await new Promise((resolve) => setTimeout(resolve, 1100));
  const from = Date.now();
  await new Promise((resolve) => setTimeout(resolve, 50));
  for (let i = 0; i < 3; i += 1) await producer.send({ topic, body: `new${i}` });
  const got: string[] = [];
  const c = consumer({
    groupName: group, consumeFromWhere: 'CONSUME_FROM_TIMESTAMP', consumeTimestamp: from, strictConsumeFromWhere: true,
  });
  c.subscribe(topic, '*');
  c.onMessage((messages) => { for (const m of messages) if (m.topic === topic) got.push(m.body.toString()); });
  await c.start();
  t.true(await waitUntil(() => got.length >= 3, 15_000));
  await new Promise((resolve) => setTimeout(resolve, 300));
  t.deepEqual(got.sort(), ['new0', 'new1', 'new2']);
});
