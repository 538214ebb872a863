// The SDK against Apache's own Java client (rocketmq-client 5.3.3, through the compat driver):
// what the Java producer writes, the SDK consumes identically; what the SDK writes, the Java
// consumer receives identically (body, compressed bodies, tags, keys, properties, ids).
// Both sides use the compat driver's deterministic message set (test/compat/README.md).
import test from 'ava';
import { runScenario } from '../../support/java-compat.js';
import { Producer, PushConsumer, type MessageExt } from '../../../ts/sdk/index.js';
import {
  brokerSkipReason, createTopic, startBrokerUnderTest, testLogger, uniqueName, waitUntil, type BrokerUnderTest,
} from './broker-under-test.js';

const skip = brokerSkipReason();
const btest = skip === null ? test.serial : test.serial.skip;
const JAVA_CLIENT = '5.3.3';
let broker: BrokerUnderTest | undefined;

test.before(async (t) => {
  if (skip !== null) return;
  broker = await startBrokerUnderTest(t);
});

test.after.always(async () => {
  await broker?.stop();
});

// The compat driver's message set (Msgs.java), rebuilt from its documented rules.
const FILL = '0123456789abcdefghijklmnopqrstuvwxyz';
function body(run: string, seq: number, bodySize = 100, bigEvery = 50): string {
  const prefix = `bolide|${run}|${seq}|`;
  const size = bigEvery > 0 && seq % bigEvery === bigEvery - 1 ? 6000 : bodySize;
  let text = prefix;
  for (let i = 0; text.length < size; i += 1) text += FILL[(seq + i) % FILL.length];
  return text;
}
const tag = (seq: number) => ['TagA', 'TagB', 'TagC'][seq % 3]!;
const keys = (run: string, seq: number) => [`${run}-${seq}`, `${run}-all`];
const props = (run: string, seq: number) => ({
  bolide_run: run, bolide_seq: String(seq), bolide_note: `h\u00e9llo w\u00f6rld \u2713 #${seq}`,
});

btest('Java producer → SDK push consumer: every message identical, same ids and positions', async (t) => {
  t.timeout(120_000);
  const topic = uniqueName('java2sdk');
  const run = uniqueName('r');
  const count = 60;
  const sent = await runScenario(JAVA_CLIENT, broker!.namesrvAddr, 'produce-for', { topic, run, count, queues: 4 });
  t.true(sent.ok, sent.error ?? '');
  const got = new Map<string, MessageExt>();
  const consumer = new PushConsumer({
    groupName: uniqueName('j2s'), namesrvAddr: broker!.namesrvAddr, consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET',
    logger: testLogger,
  });
  t.teardown(() => consumer.shutdown());
  consumer.subscribe(topic, '*');
  consumer.onMessage((messages) => { for (const m of messages) if (m.topic === topic) got.set(m.msgId, m); });
  await consumer.start();
  t.true(await waitUntil(() => got.size >= count, 20_000), `${got.size} of ${count}`);
  for (const record of sent.details['messages'] as Array<Record<string, any>>) {
    const seq = record['seq'] as number;
    const m = got.get(record['msgId']);
    if (m === undefined) {
      t.fail(`seq ${seq} (${record['msgId']}) not consumed`);
      continue;
    }
    t.is(m.body.toString('utf8'), body(run, seq), `body of ${seq}`);
    t.is(m.tags, tag(seq));
    t.deepEqual(m.keys, keys(run, seq));
    t.like(m.properties, props(run, seq));
    t.is(m.offsetMsgId, record['offsetMsgId']);
    t.is(m.queueId, record['queueId']);
    t.is(m.queueOffset, record['queueOffset']);
  }
  t.true([...got.values()].some((m) => (m.sysFlag & 1) === 1), 'a compressed body was among them');
});

btest('SDK producer → Java push consumer: every message identical, same ids and positions', async (t) => {
  t.timeout(120_000);
  const topic = uniqueName('sdk2java');
  const run = uniqueName('r');
  const count = 60;
  await createTopic(broker!.namesrvAddr, topic, 4);
  const producer = new Producer({ groupName: uniqueName('s2j'), namesrvAddr: broker!.namesrvAddr, logger: testLogger });
  await producer.start();
  const results = [];
  for (let seq = 0; seq < count; seq += 1) {
    const message = { topic, body: body(run, seq), tags: tag(seq), keys: keys(run, seq), properties: props(run, seq) };
    results.push(await producer.send(message));
  }
  await producer.shutdown();
  const got = await runScenario(JAVA_CLIENT, broker!.namesrvAddr, 'consume-from', {
    topic, run, count, group: uniqueName('s2jg'), createTopic: 'none', settleMs: 500,
  });
  t.true(got.ok, got.error ?? '');
  t.is(got.details['received'], count);
  t.is(got.details['duplicates'], 0);
  const byId = new Map((got.details['messages'] as Array<Record<string, any>>).map((m) => [m['msgId'], m]));
  results.forEach((result, seq) => {
    const m = byId.get(result.msgId);
    if (m === undefined) {
      t.fail(`seq ${seq} (${result.msgId}) not received by the Java consumer`);
      return;
    }
    t.is(m['body'], body(run, seq));
    t.is(m['tags'], tag(seq));
    t.is(m['keys'], keys(run, seq).join(' '));
    t.is(m['offsetMsgId'], result.offsetMsgId);
    t.is(m['queueId'], result.messageQueue.queueId);
    t.is(m['queueOffset'], result.queueOffset);
    t.like(m['properties'], props(run, seq));
  });
});
