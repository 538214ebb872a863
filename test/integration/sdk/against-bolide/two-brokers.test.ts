// The SDK with two brokers (two brokerNames) of one cluster: Bolide process A runs the NameServer and
// broker-a, each test starts its own second broker process registered to A's NameServer. Covers merged
// routes, round robin across both, retry on the other broker when one dies, latency fault tolerance
// avoiding a dead or an unresponsive (SIGSTOPped) one, and the dead broker's queues leaving the route and a
// consumer's assignment (the NameServer drops a broker as soon as its connection closes; clients at their
// next route poll).
import test, { type ExecutionContext } from 'ava';
import { startBolideProcess, type BolideProcess } from '../../../support/bolide-process.js';
import {
  Admin, MQError, Producer, PushConsumer, silentLogger, type MessageExt, type ProducerOptions, type SendResult,
} from '../../../../ts/sdk/index.js';
import { waitUntil } from '../broker-under-test.js';

let clusterA: BolideProcess | undefined;
const others: BolideProcess[] = [];

test.before(async () => {
  clusterA = await startBolideProcess(['--brokerName=broker-a']);
});

test.after.always(async () => {
  await Promise.all(others.map((broker) => broker.stop()));
  await clusterA?.stop();
});

let topicSeq = 0;
/** A second broker for one test; it stops when the test ends so later tests see only their own. */
async function secondBroker(t: ExecutionContext, name: string): Promise<BolideProcess> {
  const broker = await startBolideProcess([`--namesrvAddr=${clusterA!.namesrvAddr}`, `--brokerName=${name}`]);
  others.push(broker);
  t.teardown(() => broker.stop());
  return broker;
}

/** Creates a topic with 2 queues on every broker and waits until the NameServer routes it to `brokers`. */
async function twoBrokerTopic(brokers: string[]): Promise<string> {
  topicSeq += 1;
  const topic = `two-brokers-${topicSeq}-${Date.now().toString(36)}`;
  const admin = new Admin({ namesrvAddr: clusterA!.namesrvAddr, logger: silentLogger });
  await admin.start();
  try {
    await admin.createTopic(topic, { queueNums: 2 });
    const complete = await waitUntil(async () => {
      const route = await admin.topicRoute(topic).catch(() => undefined);
      return brokers.every((name) => route?.queueDatas.some((data) => data.brokerName === name) === true);
    }, 15_000);
    if (!complete) throw new Error(`${topic} never routed to ${brokers.join(', ')}`);
  } finally {
    await admin.shutdown();
  }
  return topic;
}

async function startProducer(t: ExecutionContext, options: Partial<ProducerOptions> = {}): Promise<Producer> {
  const producer = new Producer({
    groupName: `pg-${topicSeq}-${Math.random().toString(36).slice(2)}`, namesrvAddr: clusterA!.namesrvAddr,
    logger: silentLogger, ...options,
  });
  t.teardown(() => producer.shutdown());
  await producer.start();
  return producer;
}

/** Sends `count` messages one after the other; failures are collected, not thrown. */
async function sendSequentially(producer: Producer, topic: string, count: number) {
  const results: SendResult[] = [];
  const failures: MQError[] = [];
  for (let i = 0; i < count; i += 1) {
    try {
      results.push(await producer.send({ topic, body: `m${i}` }));
    } catch (error) {
      if (!(error instanceof MQError)) throw error;
      failures.push(error);
    }
  }
  return { results, failures };
}

const brokersOf = (results: SendResult[]) => [...new Set(results.map((result) => result.messageQueue.brokerName))].sort();

function kill(broker: BolideProcess): Promise<void> {
  process.kill(broker.pid, 'SIGKILL');
  return broker.stop();
}

test.serial('routes of two brokers are merged and sends go round robin over all their queues; a consumer gets all', async (t) => {
  t.timeout(90_000);
  await secondBroker(t, 'broker-b1');
  const topic = await twoBrokerTopic(['broker-a', 'broker-b1']);
  const producer = await startProducer(t);
  const queues = await producer.fetchPublishQueues(topic);
  t.deepEqual(queues.map((q) => `${q.brokerName}/${q.queueId}`).sort(),
    ['broker-a/0', 'broker-a/1', 'broker-b1/0', 'broker-b1/1']);
  const { results, failures } = await sendSequentially(producer, topic, 12);
  t.deepEqual(failures, []);
  const perQueue = new Map<string, number>();
  for (const r of results) {
    const key = `${r.messageQueue.brokerName}/${r.messageQueue.queueId}`;
    perQueue.set(key, (perQueue.get(key) ?? 0) + 1);
  }
  t.deepEqual([...perQueue.values()], [3, 3, 3, 3], `per queue: ${JSON.stringify([...perQueue])}`);
  for (let i = 1; i < results.length; i += 1) {
    t.not(results[i]!.messageQueue.brokerName === results[i - 1]!.messageQueue.brokerName &&
      results[i]!.messageQueue.queueId === results[i - 1]!.messageQueue.queueId, true, 'consecutive sends change queue');
  }
  const got = new Map<string, MessageExt>();
  const consumer = new PushConsumer({
    groupName: `cg-${topic}`, namesrvAddr: clusterA!.namesrvAddr, consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET',
    logger: silentLogger,
  });
  t.teardown(() => consumer.shutdown());
  consumer.subscribe(topic, '*');
  consumer.onMessage((messages) => { for (const m of messages) got.set(m.msgId, m); });
  await consumer.start();
  t.true(await waitUntil(() => got.size >= results.length, 20_000), `${got.size} of ${results.length}`);
  t.deepEqual([...new Set([...got.values()].map((m) => m.brokerName))].sort(), ['broker-a', 'broker-b1']);
  for (const r of results) t.is(got.get(r.msgId)?.brokerName, r.messageQueue.brokerName);
});

test.serial('when one broker dies, sends are retried on the other one (and fail without retries)', async (t) => {
  t.timeout(90_000);
  const b2 = await secondBroker(t, 'broker-b2');
  const topic = await twoBrokerTopic(['broker-a', 'broker-b2']);
  // Routes are fetched once and not polled again during the test: the producers still pick broker-b2's queues.
  const noPoll = { pollNameServerIntervalMs: 600_000 };
  const retrying = await startProducer(t, noPoll);
  const single = await startProducer(t, { ...noPoll, retryTimesWhenSendFailed: 0 });
  for (const producer of [retrying, single]) {
    const warm = await sendSequentially(producer, topic, 4);
    t.deepEqual(brokersOf(warm.results), ['broker-a', 'broker-b2']);
  }
  await kill(b2);
  const retried = await sendSequentially(retrying, topic, 8);
  t.deepEqual(retried.failures.map((error) => error.code), []);
  t.deepEqual(brokersOf(retried.results), ['broker-a']);
  const unretried = await sendSequentially(single, topic, 8);
  t.true(unretried.failures.length >= 2, `${unretried.failures.length} failures without retries`);
  t.true(unretried.failures.every((error) => error.code === 'NETWORK'), unretried.failures.map((e) => e.message).join('; '));
  t.deepEqual(brokersOf(unretried.results), ['broker-a']);
});

test.serial('latency fault tolerance: after one failed send the dead broker is avoided, even without retries', async (t) => {
  t.timeout(90_000);
  const b3 = await secondBroker(t, 'broker-b3');
  const topic = await twoBrokerTopic(['broker-a', 'broker-b3']);
  const producer = await startProducer(t, {
    pollNameServerIntervalMs: 600_000, retryTimesWhenSendFailed: 0, sendLatencyFaultEnable: true,
  });
  const warm = await sendSequentially(producer, topic, 4);
  t.deepEqual(brokersOf(warm.results), ['broker-a', 'broker-b3']);
  await kill(b3);
  const after = await sendSequentially(producer, topic, 10);
  t.is(after.failures.length, 1, after.failures.map((e) => e.message).join('; '));
  t.is(after.results.length, 9);
  t.deepEqual(brokersOf(after.results), ['broker-a']);
});

test.serial('latency fault tolerance: a broker that stops answering is avoided after its first timed-out send', async (t) => {
  t.timeout(90_000);
  const b5 = await secondBroker(t, 'broker-b5');
  const topic = await twoBrokerTopic(['broker-a', 'broker-b5']);
  const producer = await startProducer(t, {
    pollNameServerIntervalMs: 600_000, retryTimesWhenSendFailed: 0, sendLatencyFaultEnable: true, sendMsgTimeout: 1500,
  });
  const warm = await sendSequentially(producer, topic, 4);
  t.deepEqual(brokersOf(warm.results), ['broker-a', 'broker-b5']);
  // SIGSTOP: the process keeps its sockets (the NameServer still routes to it) but answers nothing.
  process.kill(b5.pid, 'SIGSTOP');
  t.teardown(() => { process.kill(b5.pid, 'SIGCONT'); });
  const after = await sendSequentially(producer, topic, 10);
  t.deepEqual(after.failures.map((error) => error.code), ['TIMEOUT']);
  t.is(after.results.length, 9);
  t.deepEqual(brokersOf(after.results), ['broker-a']);
});

test.serial("a dead broker's queues leave the route: the NameServer drops it when its connection closes, the producer at its next route poll", async (t) => {
  t.timeout(90_000);
  const b4 = await secondBroker(t, 'broker-b4');
  const topic = await twoBrokerTopic(['broker-a', 'broker-b4']);
  const producer = await startProducer(t, { pollNameServerIntervalMs: 500, retryTimesWhenSendFailed: 0 });
  t.is((await producer.fetchPublishQueues(topic)).length, 4);
  await kill(b4);
  const admin = new Admin({ namesrvAddr: clusterA!.namesrvAddr, logger: silentLogger });
  t.teardown(() => admin.shutdown());
  await admin.start();
  // The NameServer learns of the death from the closed connection, not from a missed heartbeat.
  const onlyA = (names: string[]) => names.length > 0 && names.every((name) => name === 'broker-a');
  t.true(await waitUntil(async () => {
    const route = await admin.topicRoute(topic);
    return onlyA(route.brokerDatas.map((data) => data.brokerName)) && onlyA(route.queueDatas.map((data) => data.brokerName));
  }, 10_000), 'the NameServer still routes to broker-b4');
  t.true(await waitUntil(async () => (await producer.fetchPublishQueues(topic)).every((q) => q.brokerName === 'broker-a'), 15_000));
  t.is((await producer.fetchPublishQueues(topic)).length, 2);
  const after = await sendSequentially(producer, topic, 6);
  t.deepEqual(after.failures, []);
  t.deepEqual(brokersOf(after.results), ['broker-a']);
});

test.serial("a push consumer drops a dead broker's queues and keeps consuming from the live one", async (t) => {
  t.timeout(90_000);
  const b6 = await secondBroker(t, 'broker-b6');
  const topic = await twoBrokerTopic(['broker-a', 'broker-b6']);
  const got = new Map<string, MessageExt>();
  const consumer = new PushConsumer({
    groupName: `cg-${topic}`, namesrvAddr: clusterA!.namesrvAddr, consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET',
    logger: silentLogger, pollNameServerIntervalMs: 500, rebalanceIntervalMs: 500,
  });
  t.teardown(() => consumer.shutdown());
  consumer.subscribe(topic, '*');
  consumer.onMessage((messages) => { for (const m of messages) got.set(m.msgId, m); });
  await consumer.start();
  const assignedBrokers = () => [...new Set(consumer.assignedQueues().map((q) => q.brokerName))].sort();
  t.true(await waitUntil(() => assignedBrokers().length === 2, 15_000), `assigned: ${assignedBrokers().join(',')}`);
  const producer = await startProducer(t, { pollNameServerIntervalMs: 600_000 });
  const before = await sendSequentially(producer, topic, 4);
  t.deepEqual(brokersOf(before.results), ['broker-a', 'broker-b6']);
  t.true(await waitUntil(() => got.size >= 4, 20_000), `${got.size} of 4 before the kill`);
  await kill(b6);
  t.true(await waitUntil(() => assignedBrokers().join(',') === 'broker-a', 15_000), `assigned: ${assignedBrokers().join(',')}`);
  const after = await sendSequentially(producer, topic, 6);
  t.deepEqual(after.failures, []);
  t.true(await waitUntil(() => after.results.every((r) => got.has(r.msgId)), 20_000),
    `${after.results.filter((r) => got.has(r.msgId)).length} of 6 after the kill`);
});
