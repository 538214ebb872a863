// A stored message whose sysFlag names a compression codec the SDK does not know (a raw
// SEND_MESSAGE with codec bits 0x400) must not stall its queue: the push consumer settles it as
// a failed message (clustering: sent back, then %DLQ% after maxReconsumeTimes; orderly: straight
// to the DLQ; broadcasting: skipped) and consumes the messages stored after it. The lite pull
// consumer passes over it (logged, counted, committed past); Admin lookups return it as stored,
// flagged by bodyDecodeError.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import test from 'ava';
import { silentLogger, type Logger } from '../../../ts/common/index.js';
import { encodeSendMessageHeader, makeRequest, MessageSysFlag, RequestCode, ResponseCode } from '../../../ts/protocol/index.js';
import { RemotingClient } from '../../../ts/remoting/index.js';
import {
  Admin, LitePullConsumer, Producer, PushConsumer, type MessageExt, type PushConsumerOptions, type QueriedMessage,
} from '../../../ts/sdk/index.js';
import { sendHeader } from '../../support/broker.js';
import {
  brokerSkipReason, createTopic, startBrokerUnderTest, testLogger, uniqueName, waitUntil, type BrokerUnderTest,
} from './broker-under-test.js';

const skip = brokerSkipReason();
const btest = skip === null ? test.serial : test.serial.skip;
/** Codec bits 0x400: no codec (RocketMQ knows 0x100 LZ4, 0x200 ZSTD, 0x300 ZLIB). */
const UNKNOWN_CODEC = 0x400;
const GOOD = ['m0', 'm1', 'm2', 'm3'];
let broker: BrokerUnderTest | undefined;
let producer: Producer;
let admin: Admin;
let client: RemotingClient;
const consumers: Array<PushConsumer | LitePullConsumer> = [];

test.before(async (t) => {
  if (skip !== null) return;
  // Redelivery through %RETRY% uses delay level 3 + reconsumeTimes: make those levels short.
  broker = await startBrokerUnderTest(t, { messageDelayLevel: '1s 1s 1s 1s 1s 1s' });
  if (broker === undefined) return;
  producer = new Producer({ groupName: uniqueName('pg'), namesrvAddr: broker.namesrvAddr, logger: testLogger });
  await producer.start();
  admin = new Admin({ namesrvAddr: broker.namesrvAddr, logger: testLogger });
  await admin.start();
  client = new RemotingClient({ logger: silentLogger });
});

test.after.always(async () => {
  await Promise.allSettled(consumers.map((c) => c.shutdown()));
  await client?.close();
  await admin?.shutdown();
  await producer?.shutdown();
  await broker?.stop();
});

/** A one-queue topic holding the undecodable message at offset 0, then GOOD at offsets 1.. */
async function topicWithUndecodableFirst(good: readonly string[] = GOOD): Promise<{ topic: string; badMsgId: string }> {
  const topic = uniqueName('undecodable');
  await createTopic(broker!.namesrvAddr, topic, 1);
  const badMsgId = uniqueName('BAD');
  const header = {
    ...sendHeader({ topic, queueId: 0, properties: { UNIQ_KEY: badMsgId, TAGS: 'T' } }),
    sysFlag: MessageSysFlag.COMPRESSED | UNKNOWN_CODEC,
  };
  const response = await client.invoke(broker!.brokerAddr, makeRequest(RequestCode.SEND_MESSAGE_V2, {
    extFields: encodeSendMessageHeader(RequestCode.SEND_MESSAGE_V2, header), body: Buffer.from('not in any codec'),
  }));
  if (response.code !== ResponseCode.SUCCESS) throw new Error(`raw send refused: ${response.code} ${response.remark ?? ''}`);
  for (const body of good) await producer.send({ topic, body, tags: 'T' });
  return { topic, badMsgId };
}

async function messageCount(topic: string): Promise<number> {
  return (await admin.topicStats(topic).catch(() => [])).reduce((n, q) => n + q.maxOffset - q.minOffset, 0);
}

function startConsumer(topic: string, options: Partial<PushConsumerOptions> & { groupName: string }): { bodies: string[]; started: Promise<void> } {
  const consumer = new PushConsumer({
    namesrvAddr: broker!.namesrvAddr, consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET', logger: testLogger, ...options,
  });
  consumers.push(consumer);
  const bodies: string[] = [];
  consumer.subscribe(topic, '*');
  consumer.onMessage((messages) => { for (const m of messages) bodies.push(m.body.toString()); });
  return { bodies, started: consumer.start() };
}

/** The SDK's error-level log lines (what an operator would see), the rest dropped. */
function errorLog(): { logger: Logger; errors: Array<Record<string, unknown>> } {
  const errors: Array<Record<string, unknown>> = [];
  return { errors, logger: { ...silentLogger, error: (message, fields) => { errors.push({ message, ...fields }); } } };
}

btest('clustering: an unknown codec is logged, sent back, redelivered once, then lands in %DLQ%; the messages after it are consumed', async (t) => {
  const { topic, badMsgId } = await topicWithUndecodableFirst();
  const group = uniqueName('ucg');
  const { logger, errors } = errorLog();
  const { bodies, started } = startConsumer(topic, { groupName: group, maxReconsumeTimes: 1, logger });
  await started;
  t.true(await waitUntil(() => bodies.length >= GOOD.length, 30_000), `consumed ${bodies.join(',')}`);
  t.true(await waitUntil(async () => (await messageCount(`%DLQ%${group}`)) === 1, 40_000), 'the undecodable message reaches the DLQ');
  t.is(await messageCount(`%RETRY%${group}`), 1, 'it was sent back for a retry before the DLQ');
  t.deepEqual([...bodies].sort(), GOOD, 'the handler never sees the undecodable body');
  const logged = errors.filter((e) => e['msgId'] === badMsgId);
  t.deepEqual(logged.map((e) => [e['codec'], e['reconsumeTimes']]), [['unknown(0x400)', 0], ['unknown(0x400)', 1]],
    'one error per delivery, naming the codec');
});

btest('orderly clustering: an unknown codec goes straight to %DLQ% and the queue carries on in order', async (t) => {
  const { topic } = await topicWithUndecodableFirst();
  const group = uniqueName('uog');
  const { bodies, started } = startConsumer(topic, { groupName: group, orderly: true });
  await started;
  t.true(await waitUntil(() => bodies.length >= GOOD.length, 30_000), `consumed ${bodies.join(',')}`);
  t.deepEqual(bodies, GOOD);
  t.true(await waitUntil(async () => (await messageCount(`%DLQ%${group}`)) === 1, 30_000), 'the undecodable message reaches the DLQ');
});

btest('broadcasting: an unknown codec is skipped and the messages after it are consumed', async (t) => {
  const { topic } = await topicWithUndecodableFirst();
  const dir = mkdtempSync(path.join(tmpdir(), 'bolide-undecodable-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const { bodies, started } = startConsumer(topic, { groupName: uniqueName('ubg'), messageModel: 'BROADCASTING', offsetStoreDir: dir });
  await started;
  t.true(await waitUntil(() => bodies.length >= GOOD.length, 30_000), `consumed ${bodies.join(',')}`);
  t.deepEqual([...bodies].sort(), GOOD);
});

/** A lite pull consumer (clustering, no auto-commit) started on every queue of `topic`. */
async function startLite(topic: string, logger: Logger): Promise<LitePullConsumer> {
  const consumer = new LitePullConsumer({
    groupName: uniqueName('ulg'), namesrvAddr: broker!.namesrvAddr, consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET',
    autoCommit: false, logger,
  });
  consumers.push(consumer);
  await consumer.start();
  consumer.assign(await consumer.fetchMessageQueues(topic));
  return consumer;
}

btest('lite pull: an unknown codec is logged, counted and never polled; the messages after it are, and commit() covers it', async (t) => {
  const { topic, badMsgId } = await topicWithUndecodableFirst();
  const { logger, errors } = errorLog();
  const consumer = await startLite(topic, logger);
  const got: MessageExt[] = [];
  t.true(await waitUntil(async () => { got.push(...(await consumer.poll(500))); return got.length >= GOOD.length; }, 30_000),
    `polled ${got.map((m) => m.body.toString()).join(',')}`);
  t.deepEqual(got.map((m) => m.body.toString()), GOOD);
  t.deepEqual(got.map((m) => m.queueOffset), [1, 2, 3, 4], 'offset 0 (the undecodable one) is not handed out');
  t.is(consumer.undecodableMessages, 1);
  t.deepEqual(errors.filter((e) => e['msgId'] === badMsgId).map((e) => e['codec']), ['unknown(0x400)'], 'one error naming the codec');
  await consumer.commit();
  t.is(await consumer.committed(consumer.assignment()[0]!), GOOD.length + 1);
});

btest('lite pull: a queue holding only an undecodable message moves past it, so commit() stores the offset after it', async (t) => {
  const { topic } = await topicWithUndecodableFirst([]);
  const consumer = await startLite(topic, errorLog().logger);
  const got: MessageExt[] = [];
  t.true(await waitUntil(async () => { got.push(...(await consumer.poll(200))); return consumer.undecodableMessages === 1; }, 30_000));
  // The pass-over is queued behind anything pulled before it: one more poll takes it.
  got.push(...(await consumer.poll(0)));
  t.deepEqual(got, []);
  await consumer.commit();
  t.is(await consumer.committed(consumer.assignment()[0]!), 1);
});

btest('admin: a message in an unknown codec is found by msgId and by offset msgId, with its body as stored and bodyDecodeError set', async (t) => {
  const { topic, badMsgId } = await topicWithUndecodableFirst();
  let found: QueriedMessage[] = [];
  // The broker indexes keys in the background: the lookup may miss for a moment.
  t.true(await waitUntil(async () => (found = await admin.queryMessageByUniqKey(topic, badMsgId)).length > 0, 30_000));
  t.is(found.length, 1);
  const queried = found[0]!;
  t.is(queried.bodyDecodeError?.code, 'MESSAGE_DECODE');
  t.is(queried.bodyDecodeError?.codec, 'unknown(0x400)');
  t.is(queried.body.toString(), 'not in any codec');
  const viewed = await admin.viewMessage(queried.offsetMsgId);
  t.is(viewed.msgId, badMsgId);
  t.is(viewed.bodyDecodeError?.codec, 'unknown(0x400)');
  t.is(viewed.body.toString(), 'not in any codec');
});
