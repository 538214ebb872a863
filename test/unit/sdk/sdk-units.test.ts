// Unit tests of the SDK's pure parts and of the producer against in-process fake servers
// (deterministic failures a real broker will not produce on demand).
import test from 'ava';
import { silentLogger } from '../../../ts/common/index.js';
import { ConnectError, TimeoutError as CommonTimeoutError } from '../../../ts/common/errors.js';
import {
  RequestCode, ResponseCode, decodeSendMessageHeader, encodeTopicRouteData, makeResponse, type TopicRouteData,
} from '../../../ts/protocol/index.js';
import { RemotingServer } from '../../../ts/remoting/index.js';
import { ClientCore } from '../../../ts/sdk/client-core.js';
import { DeliveryChannel } from '../../../ts/sdk/delivery-channel.js';
import { MQBrokerError, NetworkError, TimeoutError, toMQError } from '../../../ts/sdk/errors.js';
import * as sdk from '../../../ts/sdk/index.js';
import { LatencyFaultTolerance, notAvailableDuration } from '../../../ts/sdk/latency-fault.js';
import { ConcurrencyLimiter } from '../../../ts/sdk/limiter.js';
import { parseLooseJson, looseEntries } from '../../../ts/sdk/loose-json.js';
import type { MessageExt } from '../../../ts/sdk/message.js';
import { ProcessQueue } from '../../../ts/sdk/process-queue.js';
import { Scheduler } from '../../../ts/sdk/scheduler.js';
import { argumentHash } from '../../../ts/sdk/selector.js';
import { javaStringHash, parseSubscription, tagMatches } from '../../../ts/sdk/subscription.js';

test('public index exports the API and nothing internal', (t) => {
  for (const name of [
    'Producer', 'PushConsumer', 'LitePullConsumer', 'Admin', 'hashSelector', 'allocateAveragely',
    'allocateAveragelyByCircle', 'allocateConsistentHash', 'allocateByConfig', 'MQError', 'MQClientError',
    'MQBrokerError', 'NoRouteError', 'TimeoutError', 'NetworkError', 'ClientStateError', 'InvalidMessageError',
    'ConsumeStatus',
  ]) t.truthy((sdk as Record<string, unknown>)[name], name);
  t.false('ClientCore' in sdk);
  t.false('ProcessQueue' in sdk);
});

test('tag hash codes equal Java String.hashCode (heartbeat codeSet)', (t) => {
  t.is(javaStringHash('TagA'), 2598919);
  t.is(javaStringHash(''), 0);
  t.is(javaStringHash('polygenelubricants'), -2147483648);
});

test('subscriptions parse * and || lists; the client re-check matches exact tags only', (t) => {
  const all = parseSubscription('T', '*');
  t.deepEqual(all.tagsSet, []);
  t.true(tagMatches(all, undefined));
  const some = parseSubscription('T', ' TagA ||TagB||  TagA ');
  t.deepEqual(some.tagsSet, ['TagA', 'TagB']);
  t.deepEqual(some.codeSet, [javaStringHash('TagA'), javaStringHash('TagB')]);
  t.true(tagMatches(some, 'TagB'));
  t.false(tagMatches(some, 'TagC'));
  t.false(tagMatches(some, undefined));
});

test('loose JSON: object keys (fastjson maps of MessageQueue) and bare integer keys', (t) => {
  const parsed = parseLooseJson(
    '{"offsetTable":{{"brokerName":"b","queueId":1,"topic":"t"}:{"maxOffset":5,"minOffset":0}},"n":{0:12,1:7}}',
  ) as Record<string, unknown>;
  const [entry] = looseEntries(parsed['offsetTable']);
  t.deepEqual(entry, [{ brokerName: 'b', queueId: 1, topic: 't' }, { maxOffset: 5, minOffset: 0 }]);
  t.deepEqual(looseEntries(parsed['n']), [[0, 12], [1, 7]]);
  t.deepEqual(parseLooseJson('{"a":[1,"x\\"y",true,null]}'), { a: [1, 'x"y', true, null] });
  t.throws(() => parseLooseJson('{"a":'), { code: 'MESSAGE_INVALID' });
  t.throws(() => parseLooseJson('{"a":1} x'), { code: 'MESSAGE_INVALID' });
  t.throws(() => parseLooseJson('['.repeat(100)), { code: 'MESSAGE_INVALID' });
});

test('latency fault table is RocketMQ 5.x\'s; brokers come back after their penalty', (t) => {
  t.is(notAvailableDuration(10), 0);
  t.is(notAvailableDuration(100), 0);
  t.is(notAvailableDuration(549), 0);
  t.is(notAvailableDuration(550), 2000);
  t.is(notAvailableDuration(1800), 5000);
  t.is(notAvailableDuration(3000), 6000);
  t.is(notAvailableDuration(5000), 10000);
  t.is(notAvailableDuration(15000), 30000);
  let now = 1000;
  const faults = new LatencyFaultTolerance(() => now);
  faults.update('a', 20, false);
  t.true(faults.isAvailable('a'));
  faults.update('b', 0, true);
  t.false(faults.isAvailable('b'));
  now += 9_999;
  t.false(faults.isAvailable('b'));
  now += 1;
  t.true(faults.isAvailable('b'));
});

test('hashSelector hashes like Java SelectMessageQueueByHash', (t) => {
  const queues = Array.from({ length: 4 }, (_, queueId) => ({ topic: 'T', brokerName: 'b', queueId }));
  const message = { topic: 'T', body: 'x' };
  t.is(sdk.hashSelector(queues, message, 7).queueId, 3);
  t.is(sdk.hashSelector(queues, message, -7).queueId, 3);
  t.is(sdk.hashSelector(queues, message, 'TagA').queueId, Math.abs(2598919 % 4));
  t.is(argumentHash('polygenelubricants'), -2147483648);
  t.is(sdk.hashSelector(queues, message, 'polygenelubricants').queueId, 0);
  t.is(sdk.hashSelector(queues, message, 'order-1').queueId, sdk.hashSelector(queues, message, 'order-1').queueId);
});

function fakeMessage(queueOffset: number): MessageExt {
  return {
    topic: 'T', body: Buffer.from('x'), tags: undefined, keys: [], properties: {}, msgId: String(queueOffset),
    offsetMsgId: '', brokerName: 'b', queueId: 0, queueOffset, commitLogOffset: 0, reconsumeTimes: 0,
    bornTimestamp: 0, storeTimestamp: 0, bornHost: '', storeHost: '', sysFlag: 0, flag: 0, storeSize: 0,
  };
}

test('process queue: only offsets below the lowest in-flight message are committable', (t) => {
  const pq = new ProcessQueue({ topic: 'T', brokerName: 'b', queueId: 0 });
  t.is(pq.commitableOffset(), -1);
  const messages = [10, 11, 12, 13].map(fakeMessage);
  pq.add(messages);
  t.is(pq.count, 4);
  t.is(pq.span, 3);
  t.is(pq.remove([messages[1]!, messages[2]!]), 10);
  t.is(pq.remove([messages[0]!]), 13);
  t.is(pq.remove([messages[3]!]), 14);
  t.is(pq.bytes, 0);
});

test('process queue (orderly): take, roll back in front, commit', (t) => {
  const pq = new ProcessQueue({ topic: 'T', brokerName: 'b', queueId: 0 });
  pq.add([0, 1, 2, 3].map(fakeMessage));
  t.deepEqual(pq.take(2).map((m) => m.queueOffset), [0, 1]);
  pq.rollbackTaken();
  t.deepEqual(pq.take(3).map((m) => m.queueOffset), [0, 1, 2]);
  t.is(pq.commitTaken(), 3);
  t.deepEqual(pq.take(5).map((m) => m.queueOffset), [3]);
  t.is(pq.commitTaken(), 4);
});

test('process queue (orderly): a message take() must handle alone is taken by itself, never inside a batch', (t) => {
  const pq = new ProcessQueue({ topic: 'T', brokerName: 'b', queueId: 0 });
  pq.add([0, 1, 2, 3, 4].map(fakeMessage));
  const alone = (m: MessageExt) => m.queueOffset === 2;
  t.deepEqual(pq.take(4, alone).map((m) => m.queueOffset), [0, 1]);
  t.is(pq.commitTaken(), 2);
  t.deepEqual(pq.take(4, alone).map((m) => m.queueOffset), [2]);
  t.is(pq.commitTaken(), 3);
  t.deepEqual(pq.take(4, alone).map((m) => m.queueOffset), [3, 4]);
});

test('delivery channel: ack on next(), abandon on close, return() acks the message in hand', async (t) => {
  const channel = new DeliveryChannel();
  const first = channel.deliver(fakeMessage(1));
  const second = channel.deliver(fakeMessage(2));
  const third = channel.deliver(fakeMessage(3));
  t.is((await channel.next()).value?.queueOffset, 1);
  t.is((await channel.next()).value?.queueOffset, 2);
  t.is(await first, 'ACK');
  await channel.return();
  t.is(await second, 'ACK');
  channel.close();
  t.is(await third, 'ABANDON');
  t.true((await channel.next()).done);
});

test('transport errors map to typed SDK errors with retriable set', (t) => {
  const timeout = toMQError(new CommonTimeoutError('slow'), 'a:1');
  t.true(timeout instanceof TimeoutError);
  t.true(timeout.retriable);
  const network = toMQError(new ConnectError('refused'), 'a:1');
  t.true(network instanceof NetworkError);
  t.is(network.code, 'NETWORK');
  t.true(new MQBrokerError(ResponseCode.SYSTEM_BUSY, 'busy').retriable);
  t.true(new MQBrokerError(ResponseCode.TOPIC_NOT_EXIST, 'x').retriable);
  t.true(new MQBrokerError(205, 'x').retriable);
  t.false(new MQBrokerError(ResponseCode.MESSAGE_ILLEGAL, 'bad').retriable);
  t.is(new MQBrokerError(13, 'bad').responseCode, 13);
});

test('scheduler: stop clears timers and wakes sleepers; failing tasks are logged, not thrown', async (t) => {
  const scheduler = new Scheduler(silentLogger);
  let runs = 0;
  scheduler.every('x', 1, 1, () => {
    runs += 1;
    throw new Error('boom');
  });
  for (let waited = 0; runs < 2 && waited < 5000; waited += 10) await new Promise((resolve) => setTimeout(resolve, 10));
  t.true(runs >= 2);
  const sleeping = scheduler.sleep(60_000);
  scheduler.stop();
  await sleeping;
  const before = runs;
  await new Promise((resolve) => setTimeout(resolve, 20));
  t.is(runs, before);
});

test('concurrency limiter bounds running tasks and reports idle', async (t) => {
  const limiter = new ConcurrencyLimiter(2);
  let running = 0;
  let peak = 0;
  const task = async (): Promise<void> => {
    running += 1;
    peak = Math.max(peak, running);
    await new Promise((resolve) => setTimeout(resolve, 5));
    running -= 1;
  };
  const all = Promise.all(Array.from({ length: 10 }, () => limiter.run(task)));
  t.false(await limiter.idle(1));
  await all;
  t.is(peak, 2);
  t.true(await limiter.idle(1));
});

test('heartbeat body lists producer groups and consumer subscriptions', (t) => {
  const core = new ClientCore({ namesrvAddr: '127.0.0.1:1', logger: silentLogger, instanceName: 'unit' }, 'x');
  core.addProducerGroup('pg');
  core.registerConsumer({
    groupName: 'cg', consumeType: 'CONSUME_PASSIVELY', messageModel: 'CLUSTERING',
    consumeFromWhere: 'CONSUME_FROM_LAST_OFFSET', subscriptions: () => [parseSubscription('T', 'TagA', 5)],
  });
  const body = JSON.parse(core.heartbeatBody().toString()) as Record<string, any>;
  t.regex(body['clientID'], /@unit$/);
  t.deepEqual(body['producerDataSet'], [{ groupName: 'pg' }]);
  t.is(body['consumerDataSet'][0].subscriptionDataSet[0].codeSet[0], 2598919);
  t.is(body['consumerDataSet'][0].subscriptionDataSet[0].subVersion, 5);
});

// ------------------------------------------------------------------ producer against fakes

interface Fake {
  namesrv: RemotingServer;
  brokers: Map<string, RemotingServer>;
  sends: Array<{ broker: string; queueId: number; code: number }>;
  namesrvAddr: string;
  close(): Promise<void>;
}

/** A name server routing topic T to brokers a and b (2 queues each), brokers answering `codes[broker]`. */
async function fakeCluster(codes: Record<string, number | 'hang'>): Promise<Fake> {
  const sends: Fake['sends'] = [];
  const brokers = new Map<string, RemotingServer>();
  const addresses: Record<string, string> = {};
  for (const name of Object.keys(codes)) {
    const server = new RemotingServer({ logger: silentLogger });
    server.registerProcessor(RequestCode.SEND_MESSAGE_V2, (request) => {
      const header = decodeSendMessageHeader(request.code, request.extFields);
      const code = codes[name]!;
      sends.push({ broker: name, queueId: header.queueId, code: code === 'hang' ? -1 : code });
      if (code === 'hang') return undefined;
      return makeResponse(request, code, {
        extFields: { msgId: '7F0000010000271100000000000000FF', queueId: String(header.queueId), queueOffset: '5' },
        remark: code === 0 ? undefined : `fake ${code}`,
      } as never);
    });
    server.registerProcessor(RequestCode.HEART_BEAT, (request) => makeResponse(request, 0));
    server.registerProcessor(RequestCode.UNREGISTER_CLIENT, (request) => makeResponse(request, 0));
    const address = await server.listen('127.0.0.1', 0);
    addresses[name] = `127.0.0.1:${address.port}`;
    brokers.set(name, server);
  }
  const route: TopicRouteData = {
    queueDatas: Object.keys(codes).map((brokerName) => ({ brokerName, readQueueNums: 2, writeQueueNums: 2, perm: 6, topicSysFlag: 0 })),
    brokerDatas: Object.keys(codes).map((brokerName) => ({
      cluster: 'c', brokerName, brokerAddrs: { 0: addresses[brokerName]! }, enableActingMaster: false,
    })),
    filterServerTable: {},
  };
  const namesrv = new RemotingServer({ logger: silentLogger });
  namesrv.registerProcessor(RequestCode.GET_ROUTEINFO_BY_TOPIC, (request) =>
    request.extFields['topic'] === 'T'
      ? makeResponse(request, 0, { body: encodeTopicRouteData(route) })
      : makeResponse(request, ResponseCode.TOPIC_NOT_EXIST, { remark: 'no route' }));
  const listened = await namesrv.listen('127.0.0.1', 0);
  return {
    namesrv, brokers, sends, namesrvAddr: `127.0.0.1:${listened.port}`,
    close: async () => {
      await namesrv.close();
      for (const server of brokers.values()) await server.close();
    },
  };
}

test('producer retries a retriable broker failure on the other broker', async (t) => {
  const fake = await fakeCluster({ 'broker-a': ResponseCode.SYSTEM_BUSY, 'broker-b': ResponseCode.SUCCESS });
  t.teardown(() => fake.close());
  const producer = new sdk.Producer({ groupName: 'pg', namesrvAddr: fake.namesrvAddr, logger: silentLogger });
  await producer.start();
  for (let i = 0; i < 4; i += 1) {
    const result = await producer.send({ topic: 'T', body: 'x' });
    t.is(result.messageQueue.brokerName, 'broker-b');
  }
  t.true(fake.sends.some((s) => s.broker === 'broker-a'));
  // After a failure on broker-a the retry never picks broker-a again.
  await producer.shutdown();
});

test('producer does not retry a non-retriable broker answer', async (t) => {
  const fake = await fakeCluster({ 'broker-a': ResponseCode.MESSAGE_ILLEGAL, 'broker-b': ResponseCode.MESSAGE_ILLEGAL });
  t.teardown(() => fake.close());
  const producer = new sdk.Producer({ groupName: 'pg', namesrvAddr: fake.namesrvAddr, logger: silentLogger });
  await producer.start();
  const error = await t.throwsAsync(producer.send({ topic: 'T', body: 'x' }), { instanceOf: MQBrokerError });
  t.is((error as MQBrokerError).responseCode, ResponseCode.MESSAGE_ILLEGAL);
  t.is(fake.sends.length, 1);
  await producer.shutdown();
});

test('producer gives up with TimeoutError when brokers never answer within sendMsgTimeout', async (t) => {
  const fake = await fakeCluster({ 'broker-a': 'hang', 'broker-b': 'hang' });
  t.teardown(() => fake.close());
  const producer = new sdk.Producer({ groupName: 'pg', namesrvAddr: fake.namesrvAddr, sendMsgTimeout: 300, logger: silentLogger });
  await producer.start();
  const started = Date.now();
  await t.throwsAsync(producer.send({ topic: 'T', body: 'x' }), { instanceOf: TimeoutError, code: 'TIMEOUT' });
  t.true(Date.now() - started < 2000);
  await producer.shutdown();
});

test('producer with latency fault tolerance avoids a failing broker on later sends', async (t) => {
  const fake = await fakeCluster({ 'broker-a': ResponseCode.SYSTEM_ERROR, 'broker-b': ResponseCode.SUCCESS });
  t.teardown(() => fake.close());
  const producer = new sdk.Producer({
    groupName: 'pg', namesrvAddr: fake.namesrvAddr, sendLatencyFaultEnable: true, logger: silentLogger,
  });
  await producer.start();
  for (let i = 0; i < 10; i += 1) await producer.send({ topic: 'T', body: 'x' });
  t.is(fake.sends.filter((s) => s.broker === 'broker-a').length, 1, 'broker-a tried once, then isolated');
  await producer.shutdown();
});

test('unknown topic: the producer falls back to TBW102, and without it raises NoRouteError', async (t) => {
  const fake = await fakeCluster({ 'broker-a': ResponseCode.SUCCESS });
  t.teardown(() => fake.close());
  const producer = new sdk.Producer({ groupName: 'pg', namesrvAddr: fake.namesrvAddr, logger: silentLogger });
  await producer.start();
  await t.throwsAsync(producer.send({ topic: 'Unknown', body: 'x' }), { instanceOf: sdk.NoRouteError, code: 'NO_ROUTE' });
  await producer.shutdown();
  t.throws(() => new sdk.Producer({ groupName: '', namesrvAddr: 'x:1' }), { code: 'CLIENT_ERROR' });
  t.throws(() => new sdk.Producer({ groupName: 'g', namesrvAddr: [] }), { code: 'CLIENT_ERROR' });
  const saved = process.env['NAMESRV_ADDR'];
  process.env['NAMESRV_ADDR'] = fake.namesrvAddr;
  const fromEnv = new sdk.Producer({ groupName: 'g', logger: silentLogger });
  await fromEnv.start();
  t.is((await fromEnv.send({ topic: 'T', body: 'x' })).sendStatus, 'SEND_OK');
  await fromEnv.shutdown();
  if (saved === undefined) delete process.env['NAMESRV_ADDR'];
  else process.env['NAMESRV_ADDR'] = saved;
});
