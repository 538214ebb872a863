// LitePullConsumer and Admin against the broker under test, plus the "exits by itself" check.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import {
  Admin, LitePullConsumer, MQBrokerError, NoRouteError, Producer, PushConsumer, type MessageExt, type MessageQueue,
  type SendResult,
} from '../../../ts/sdk/index.js';
import {
  brokerSkipReason, createTopic, startBrokerUnderTest, testLogger, uniqueName, waitUntil, type BrokerUnderTest,
} from './broker-under-test.js';

const skip = brokerSkipReason();
const btest = skip === null ? test.serial : test.serial.skip;
let broker: BrokerUnderTest | undefined;
let producer: Producer;
let admin: Admin;

test.before(async (t) => {
  if (skip !== null) return;
  broker = await startBrokerUnderTest(t);
  if (broker === undefined) return;
  producer = new Producer({ groupName: uniqueName('pg'), namesrvAddr: broker.namesrvAddr, logger: testLogger });
  await producer.start();
  admin = new Admin({ namesrvAddr: broker.namesrvAddr, logger: testLogger });
  await admin.start();
});

test.after.always(async () => {
  await admin?.shutdown();
  await producer?.shutdown();
  await broker?.stop();
});

function key(queue: MessageQueue): string {
  return `${queue.brokerName}/${queue.queueId}`;
}

async function pollUntil(consumer: LitePullConsumer, count: number, timeoutMs = 15_000): Promise<MessageExt[]> {
  const out: MessageExt[] = [];
  const deadline = Date.now() + timeoutMs;
  while (out.length < count && Date.now() < deadline) out.push(...(await consumer.poll(500)));
  return out;
}

btest('lite pull assign + seek: every queue delivers exactly [seek .. last]', async (t) => {
  const topic = uniqueName('lite');
  await createTopic(broker!.namesrvAddr, topic, 4);
  const results = await Promise.all(Array.from({ length: 100 }, (_, i) => producer.send({ topic, body: `s${i}` })));
  const lastByQueue = new Map<string, number>();
  for (const r of results) lastByQueue.set(key(r.messageQueue), Math.max(lastByQueue.get(key(r.messageQueue)) ?? -1, r.queueOffset));
  const consumer = new LitePullConsumer({
    groupName: uniqueName('lg'), namesrvAddr: broker!.namesrvAddr, autoCommit: false, logger: testLogger,
  });
  const queues = await consumer.fetchMessageQueues(topic).catch(() => [] as MessageQueue[]);
  await consumer.start();
  const all = queues.length > 0 ? queues : await consumer.fetchMessageQueues(topic);
  t.is(all.length, 4);
  consumer.assign(all);
  await waitUntil(() => consumer.assignment().length === 4, 5000);
  const seekTo = new Map<string, number>();
  let expected = 0;
  for (const queue of all) {
    const last = lastByQueue.get(key(queue))!;
    const middle = Math.floor(last / 2);
    seekTo.set(key(queue), middle);
    expected += last - middle + 1;
    await consumer.seek(queue, middle);
  }
  const got = await pollUntil(consumer, expected);
  await new Promise((resolve) => setTimeout(resolve, 300));
  got.push(...(await consumer.poll(200)));
  for (const queue of all) {
    const offsets = got.filter((m) => m.queueId === queue.queueId).map((m) => m.queueOffset);
    const first = seekTo.get(key(queue))!;
    t.deepEqual(offsets, Array.from({ length: lastByQueue.get(key(queue))! - first + 1 }, (_, i) => first + i), key(queue));
  }
  await consumer.commit();
  for (const queue of all) t.is(await consumer.committed(queue), lastByQueue.get(key(queue))! + 1);
  await consumer.shutdown();
});

btest('lite pull subscribe + auto-commit: a restarted consumer continues where the first stopped', async (t) => {
  const topic = uniqueName('litesub');
  const group = uniqueName('lsg');
  await createTopic(broker!.namesrvAddr, topic, 2);
  const options = {
    groupName: group, namesrvAddr: broker!.namesrvAddr, consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET' as const,
    autoCommitIntervalMs: 200, logger: testLogger,
  };
  const first = new LitePullConsumer(options);
  first.subscribe(topic, 'TagA');
  await first.start();
  await Promise.all(Array.from({ length: 20 }, (_, i) => producer.send({ topic, body: `a${i}`, tags: i % 2 ? 'TagA' : 'TagB' })));
  const got = await pollUntil(first, 10);
  t.is(got.length, 10);
  t.true(got.every((m) => m.tags === 'TagA'));
  await first.shutdown();
  await Promise.all(Array.from({ length: 6 }, (_, i) => producer.send({ topic, body: `b${i}`, tags: 'TagA' })));
  const second = new LitePullConsumer(options);
  second.subscribe(topic, 'TagA');
  await second.start();
  const more = await pollUntil(second, 6);
  t.deepEqual(more.map((m) => m.body.toString()).sort(), ['b0', 'b1', 'b2', 'b3', 'b4', 'b5']);
  await second.shutdown();
});

btest('admin: create topic, topic list, route, cluster info, topic stats', async (t) => {
  const topic = uniqueName('admin');
  await admin.createTopic(topic, { queueNums: 3 });
  const route = await admin.waitForRoute(topic);
  t.is(route.queueDatas[0]!.writeQueueNums, 3);
  t.true((await admin.topicList()).includes(topic));
  const cluster = await admin.clusterInfo();
  t.true(Object.keys(cluster.brokerAddrTable).length >= 1);
  await Promise.all(Array.from({ length: 9 }, (_, i) => producer.send({ topic, body: `x${i}` })));
  // Queue offsets follow the CommitLog asynchronously on both servers (dispatch / reput): a
  // send's answer does not wait for them, so the stats catch up shortly after.
  const stored = async () => (await admin.topicStats(topic)).reduce((sum, s) => sum + s.maxOffset - s.minOffset, 0);
  t.true(await waitUntil(async () => (await stored()) === 9, 10_000), `stats show ${await stored()} of 9`);
  t.is((await admin.topicStats(topic)).length, 3);
  await t.throwsAsync(admin.topicRoute(uniqueName('missing')), { instanceOf: NoRouteError });
});

btest('admin: consume stats show a group\'s progress; reset offset by timestamp rewinds it', async (t) => {
  const topic = uniqueName('progress');
  const group = uniqueName('sg');
  await createTopic(broker!.namesrvAddr, topic, 2);
  await Promise.all(Array.from({ length: 10 }, (_, i) => producer.send({ topic, body: `p${i}` })));
  const consumer = new PushConsumer({
    groupName: group, namesrvAddr: broker!.namesrvAddr, consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET',
    persistConsumerOffsetIntervalMs: 200, logger: testLogger,
  });
  let consumed = 0;
  t.teardown(() => consumer.shutdown());
  consumer.subscribe(topic, '*');
  consumer.onMessage(() => { consumed += 1; });
  await consumer.start();
  t.true(await waitUntil(() => consumed >= 10, 15_000));
  await consumer.shutdown();
  const stats = await admin.consumeStats(group, topic);
  t.is(stats.queues.length, 2);
  t.is(stats.diffTotal, 0);
  t.is(stats.queues.reduce((sum, q) => sum + q.consumerOffset, 0), 10);
  const reset = await admin.resetOffsetByTimestamp(group, topic, 0);
  t.is(reset.length, 2);
  t.true(reset.every((r) => r.offset === 0));
  const after = await admin.consumeStats(group, topic);
  t.is(after.diffTotal, 10);
});

btest('admin: query by key, by unique key, view by offset msgId', async (t) => {
  const topic = uniqueName('query');
  await createTopic(broker!.namesrvAddr, topic, 2);
  const results: SendResult[] = [];
  for (let i = 0; i < 6; i += 1) results.push(await producer.send({ topic, body: `q${i}`, keys: [`k-${i}`, 'k-all'] }));
  let found: MessageExt[] = [];
  await waitUntil(async () => (found = await admin.queryMessageByKey(topic, 'k-all')).length === 6, 10_000, 300);
  t.is(found.length, 6);
  const single = await admin.queryMessageByKey(topic, 'k-3');
  t.deepEqual(single.map((m) => m.body.toString()), ['q3']);
  const byId = await admin.queryMessageByUniqKey(topic, results[2]!.msgId);
  t.is(byId[0]?.body.toString(), 'q2');
  const viewed = await admin.viewMessage(results[4]!.offsetMsgId);
  t.is(viewed.body.toString(), 'q4');
  t.is(viewed.queueOffset, results[4]!.queueOffset);
  t.is(viewed.msgId, results[4]!.msgId);
  await t.throwsAsync(admin.viewMessage('7F000001000000010000000000FFFFFF'), { instanceOf: Error });
  t.true(MQBrokerError.name.length > 0);
});

btest('a process using producer + push + lite consumers exits by itself after shutdown', async (t) => {
  const topic = uniqueName('exit');
  await createTopic(broker!.namesrvAddr, topic, 2);
  const fixture = fileURLToPath(new URL('../../fixtures/sdk-client-exit.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', fixture, broker!.namesrvAddr, topic], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString(); });
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
  const code = await new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); resolve(-1); }, 45_000);
    child.on('exit', (exitCode) => { clearTimeout(timer); resolve(exitCode); });
  });
  t.is(code, 0, `stderr: ${stderr.slice(-2000)}`);
  const summary = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as { sent: string; received: number; unhandled: string[] };
  t.is(summary.sent, 'SEND_OK');
  t.is(summary.received, 1);
  t.deepEqual(summary.unhandled, []);
});

btest('admin reset with the group online: the consumer re-reads from the new offsets', async (t) => {
  const topic = uniqueName('onlinereset');
  const group = uniqueName('org');
  await createTopic(broker!.namesrvAddr, topic, 2);
  await Promise.all(Array.from({ length: 8 }, (_, i) => producer.send({ topic, body: `r${i}` })));
  const bodies: string[] = [];
  const consumer = new PushConsumer({
    groupName: group, namesrvAddr: broker!.namesrvAddr, consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET',
    // Apache 5.x resets on the server side and tells the consumer on its next pull: keep polls short.
    persistConsumerOffsetIntervalMs: 200, brokerSuspendMaxTimeMillis: 2000, logger: testLogger,
  });
  t.teardown(() => consumer.shutdown());
  consumer.subscribe(topic, '*');
  consumer.onMessage((messages) => { for (const m of messages) if (m.topic === topic) bodies.push(m.body.toString()); });
  await consumer.start();
  t.true(await waitUntil(() => bodies.length >= 8, 15_000));
  await new Promise((resolve) => setTimeout(resolve, 500));
  const reset = await admin.resetOffsetByTimestamp(group, topic, 0);
  t.is(reset.length, 2, JSON.stringify(reset));
  t.true(reset.every((entry) => entry.offset === 0));
  t.true(await waitUntil(() => bodies.length >= 16, 15_000), `${bodies.length} deliveries`);
  t.deepEqual(bodies.slice(8).sort(), bodies.slice(0, 8).sort());
  await consumer.shutdown();
});
