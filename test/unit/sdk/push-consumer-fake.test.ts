// PushConsumer against an in-process fake name server + broker, for behaviour a real broker
// will not show on demand: a failing CONSUMER_SEND_MSG_BACK (fallback re-send to the retry
// topic), dropped connections (pulls resume after backoff) and pull flow control.
import test from 'ava';
import { silentLogger } from '../../../ts/common/index.js';
import {
  RequestCode, ResponseCode, decodeProperties, decodeSendMessageHeader, encodeStoredMessage, encodeTopicRouteData,
  makeResponse, type RemotingCommand, type TopicRouteData,
} from '../../../ts/protocol/index.js';
import { RemotingServer } from '../../../ts/remoting/index.js';
import { PushConsumer, type MessageExt, type PushConsumerOptions } from '../../../ts/sdk/index.js';

interface FakeBroker {
  namesrvAddr: string;
  broker: RemotingServer;
  /** Messages of T queue 0 (bodies). */
  messages: string[];
  pulledOffsets: number[];
  committed: number[];
  sentBack: number;
  resent: Array<{ topic: string; properties: Record<string, string>; reconsumeTimes?: number; max?: number; body: string }>;
  close(): Promise<void>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function fakeBroker(options: { sendBackCode?: number } = {}): Promise<FakeBroker> {
  const broker = new RemotingServer({ logger: silentLogger });
  const state: Omit<FakeBroker, 'namesrvAddr' | 'broker' | 'close'> = {
    messages: [], pulledOffsets: [], committed: [], sentBack: 0, resent: [],
  };
  const clients = new Set<string>();
  const ok = (request: RemotingCommand, extFields: Record<string, string> = {}, body?: Buffer) =>
    makeResponse(request, 0, body === undefined ? { extFields } : { extFields, body });
  broker.registerProcessor(RequestCode.HEART_BEAT, (request) => {
    clients.add((JSON.parse(request.body!.toString()) as { clientID: string }).clientID);
    return ok(request);
  });
  broker.registerProcessor(RequestCode.UNREGISTER_CLIENT, (request) => {
    clients.delete(request.extFields['clientID']!);
    return ok(request);
  });
  broker.registerProcessor(RequestCode.GET_CONSUMER_LIST_BY_GROUP, (request) =>
    ok(request, {}, Buffer.from(JSON.stringify({ consumerIdList: [...clients] }))));
  broker.registerProcessor(RequestCode.QUERY_CONSUMER_OFFSET, (request) =>
    makeResponse(request, ResponseCode.QUERY_NOT_FOUND, { remark: 'none' }));
  broker.registerProcessor(RequestCode.UPDATE_CONSUMER_OFFSET, (request) => {
    if (request.extFields['topic'] === 'T') state.committed.push(Number(request.extFields['commitOffset']));
    return ok(request);
  });
  broker.registerProcessor(RequestCode.GET_MAX_OFFSET, (request) =>
    ok(request, { offset: String(request.extFields['topic'] === 'T' ? state.messages.length : 0) }));
  broker.registerProcessor(RequestCode.PULL_MESSAGE, async (request) => {
    const topic = request.extFields['topic']!;
    const offset = Number(request.extFields['queueOffset']);
    const max = Number(request.extFields['maxMsgNums']);
    const list = topic === 'T' ? state.messages : [];
    if (topic === 'T') state.pulledOffsets.push(offset);
    if (offset >= list.length) {
      await sleep(50);
      return makeResponse(request, ResponseCode.PULL_NOT_FOUND, {
        extFields: { nextBeginOffset: String(offset), minOffset: '0', maxOffset: String(list.length), suggestWhichBrokerId: '0' },
      });
    }
    const end = Math.min(list.length, offset + max);
    const records = list.slice(offset, end).map((body, i) => encodeStoredMessage({
      queueId: 0, flag: 0, queueOffset: offset + i, commitLogOffset: 1000 + (offset + i) * 100, sysFlag: 0,
      bornTimestamp: Date.now(), bornHost: { address: '127.0.0.1', port: 1 }, storeTimestamp: Date.now(),
      storeHost: { address: '127.0.0.1', port: broker.port }, reconsumeTimes: 0, preparedTransactionOffset: 0,
      body: Buffer.from(body), topic, properties: { UNIQ_KEY: `ID${offset + i}`, TAGS: 'TagA' },
    }));
    return ok(request, {
      nextBeginOffset: String(end), minOffset: '0', maxOffset: String(list.length), suggestWhichBrokerId: '0',
    }, Buffer.concat(records));
  });
  broker.registerProcessor(RequestCode.CONSUMER_SEND_MSG_BACK, (request) => {
    state.sentBack += 1;
    const code = options.sendBackCode ?? 0;
    return code === 0 ? ok(request) : makeResponse(request, code, { remark: 'send back refused' });
  });
  broker.registerProcessor(RequestCode.SEND_MESSAGE_V2, (request) => {
    const header = decodeSendMessageHeader(request.code, request.extFields);
    const entry: FakeBroker['resent'][number] = {
      topic: header.topic, properties: decodeProperties(header.properties), body: request.body!.toString(),
    };
    if (header.reconsumeTimes !== undefined) entry.reconsumeTimes = header.reconsumeTimes;
    if (header.maxReconsumeTimes !== undefined) entry.max = header.maxReconsumeTimes;
    state.resent.push(entry);
    return ok(request, { msgId: '7F000001000000010000000000000001', queueId: '0', queueOffset: '0' });
  });
  const brokerPort = (await broker.listen('127.0.0.1', 0)).port;
  const route = (): TopicRouteData => ({
    queueDatas: [{ brokerName: 'broker-a', readQueueNums: 1, writeQueueNums: 1, perm: 6, topicSysFlag: 0 }],
    brokerDatas: [{ cluster: 'c', brokerName: 'broker-a', brokerAddrs: { 0: `127.0.0.1:${brokerPort}` }, enableActingMaster: false }],
    filterServerTable: {},
  });
  const namesrv = new RemotingServer({ logger: silentLogger });
  namesrv.registerProcessor(RequestCode.GET_ROUTEINFO_BY_TOPIC, (request) =>
    makeResponse(request, 0, { body: encodeTopicRouteData(route()) }));
  const namesrvPort = (await namesrv.listen('127.0.0.1', 0)).port;
  return Object.assign(state, {
    namesrvAddr: `127.0.0.1:${namesrvPort}`, broker,
    close: async () => {
      await namesrv.close();
      await broker.close();
    },
  }) as FakeBroker;
}

function consumerFor(fake: FakeBroker, options: Partial<PushConsumerOptions> = {}): PushConsumer {
  return new PushConsumer({
    groupName: 'g', namesrvAddr: fake.namesrvAddr, consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET', logger: silentLogger,
    brokerSuspendMaxTimeMillis: 100, persistConsumerOffsetIntervalMs: 100, ...options,
  });
}

async function until(check: () => boolean, timeoutMs = 5000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!check() && Date.now() < deadline) await sleep(20);
  return check();
}

test('a refused send-back falls back to re-sending the message to %RETRY%group, as Java does', async (t) => {
  const fake = await fakeBroker({ sendBackCode: ResponseCode.SYSTEM_ERROR });
  t.teardown(() => fake.close());
  fake.messages.push('first', 'second');
  const consumer = consumerFor(fake);
  consumer.subscribe('T', '*');
  consumer.onMessage((messages) => (messages[0]!.body.toString() === 'first' ? 'RECONSUME_LATER' : undefined));
  await consumer.start();
  t.true(await until(() => fake.resent.length === 1 && fake.committed.includes(2)), JSON.stringify(fake.committed));
  await consumer.shutdown();
  t.is(fake.sentBack, 1);
  const [resent] = fake.resent;
  t.is(resent!.topic, '%RETRY%g');
  t.is(resent!.body, 'first');
  t.is(resent!.properties['RETRY_TOPIC'], 'T');
  t.is(resent!.properties['DELAY'], '3');
  t.is(resent!.properties['UNIQ_KEY'], 'ID0');
  t.is(resent!.properties['ORIGIN_MESSAGE_ID'], 'ID0');
  t.is(resent!.reconsumeTimes, 1);
  t.is(resent!.max, 16);
});

test('dropped broker connections: pulls resume after a backoff and nothing is lost', async (t) => {
  const fake = await fakeBroker();
  t.teardown(() => fake.close());
  fake.messages.push('m0');
  const got: string[] = [];
  const consumer = consumerFor(fake, { pullTimeDelayMillsWhenException: 100 });
  consumer.subscribe('T', '*');
  consumer.onMessage((messages) => { got.push(...messages.map((m) => m.body.toString())); });
  await consumer.start();
  t.true(await until(() => got.length === 1));
  for (let round = 0; round < 3; round += 1) {
    for (const connection of [...fake.broker.connections]) connection.close('local');
    fake.messages.push(`m${round + 1}`);
    t.true(await until(() => got.length === round + 2), `round ${round}: ${got.join(',')}`);
  }
  await consumer.shutdown();
  t.deepEqual(got, ['m0', 'm1', 'm2', 'm3']);
  t.is(fake.committed[fake.committed.length - 1], 4);
});

test('flow control: a queue holding pullThresholdForQueue messages is not pulled further', async (t) => {
  const fake = await fakeBroker();
  t.teardown(() => fake.close());
  for (let i = 0; i < 50; i += 1) fake.messages.push(`m${i}`);
  let release: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => { release = resolve; });
  const seen: MessageExt[] = [];
  const consumer = consumerFor(fake, { pullThresholdForQueue: 4, pullBatchSize: 2, consumeConcurrency: 1 });
  consumer.subscribe('T', '*');
  consumer.onMessage(async (messages) => {
    seen.push(...messages);
    await gate;
  });
  await consumer.start();
  await sleep(500);
  t.true(Math.max(...fake.pulledOffsets) <= 4, `pulled up to ${Math.max(...fake.pulledOffsets)}`);
  t.is(seen.length, 1);
  release();
  t.true(await until(() => seen.length === 50));
  await consumer.shutdown();
  t.is(fake.committed[fake.committed.length - 1], 50);
});

test('batches: consumeMessageBatchMaxSize groups messages; ackIndex acks a prefix, the rest is sent back', async (t) => {
  const fake = await fakeBroker();
  t.teardown(() => fake.close());
  fake.messages.push('a', 'b', 'c');
  const batches: string[][] = [];
  const consumer = consumerFor(fake, { consumeMessageBatchMaxSize: 3 });
  consumer.subscribe('T', '*');
  consumer.onMessage((messages, context) => {
    batches.push(messages.map((m) => m.body.toString()));
    context.ackIndex = 0;
    return 'CONSUME_SUCCESS';
  });
  await consumer.start();
  t.true(await until(() => fake.sentBack === 2 && fake.committed.includes(3)));
  await consumer.shutdown();
  t.deepEqual(batches, [['a', 'b', 'c']]);
});
