// POP consumption over HTTP: fetch hands each message to one fetcher at a time, ack settles,
// visibility timeouts and nacks redeliver, the group's retryMaxTimes leads to %DLQ%<group>,
// long polls wake on a send, remoting consumers cannot join a POP group, and a restart
// redelivers what was not acked (at-least-once). Also reads by queue and offset.
import test, { type ExecutionContext } from 'ava';
import { attachGateway } from '../../../ts/gateway/broker-server.js';
import {
  RequestCode, ResponseCode, encodeHeartbeatData, makeRequest, type HeartbeatData,
} from '../../../ts/protocol/index.js';
import type { BrokerController, BrokerOptions } from '../../../ts/broker/index.js';
import { startBroker, startCluster } from '../../support/broker.js';
import { tempDir } from '../../support/temp.js';

interface Popped {
  receiptHandle: string;
  deliveryAttempt: number;
  body: string;
  queueId: number;
  queueOffset: number;
  properties: Record<string, string>;
}

async function gatewayFor(t: ExecutionContext, broker: BrokerController): Promise<string> {
  const gateway = await attachGateway(broker, { port: 0 });
  t.teardown(() => gateway.stop());
  return `http://${gateway.address}`;
}

async function setup(t: ExecutionContext, options: BrokerOptions = {}) {
  const cluster = await startCluster(t, options);
  return { ...cluster, base: await gatewayFor(t, cluster.broker) };
}

async function produce(base: string, topic: string, bodies: string[], queueId = 0): Promise<void> {
  for (const body of bodies) {
    const response = await fetch(`${base}/topics/${topic}/messages`, { method: 'POST', body, headers: { 'x-bolide-queue-id': String(queueId) } });
    if (response.status !== 200) throw new Error(`produce failed: ${response.status} ${await response.text()}`);
  }
}

async function popFetch(base: string, group: string, topic: string, query = ''): Promise<Popped[]> {
  const response = await fetch(`${base}/groups/${group}/topics/${topic}/fetch?${query}`, { method: 'POST' });
  if (response.status !== 200) throw new Error(`fetch failed: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { messages: Popped[] }).messages;
}

async function settle(base: string, group: string, verb: 'ack' | 'nack', handles: string[], delayMs?: number) {
  const response = await fetch(`${base}/groups/${group}/${verb}`, {
    method: 'POST', body: JSON.stringify({ receiptHandles: handles, ...(delayMs === undefined ? {} : { delayMs }) }),
  });
  return { status: response.status, body: (await response.json()) as { settled: number; stale: string[] } };
}

test('two fetchers of one group never hold the same message; acked messages move the committed offset', async (t) => {
  const { base, broker } = await setup(t);
  await produce(base, 'PopTopic', ['a', 'b', 'c', 'd', 'e']);
  const first = await popFetch(base, 'pg', 'PopTopic', 'max=3');
  const second = await popFetch(base, 'pg', 'PopTopic', 'max=3');
  t.deepEqual(first.map((m) => m.body), ['a', 'b', 'c']);
  t.deepEqual(second.map((m) => m.body), ['d', 'e']);
  t.deepEqual(await popFetch(base, 'pg', 'PopTopic'), [], 'nothing left while all are in flight');
  t.is(broker.offsets.query('pg', 'PopTopic', 0), 0);
  // Acking the first two moves the committed offset to the lowest message still in flight.
  t.like((await settle(base, 'pg', 'ack', first.slice(0, 2).map((m) => m.receiptHandle))).body, { settled: 2, stale: [] });
  t.is(broker.offsets.query('pg', 'PopTopic', 0), 2);
  // Another group sees everything.
  t.is((await popFetch(base, 'other', 'PopTopic', 'max=10')).length, 5);
});

test('an unacked message comes back after its visibility timeout; the old receipt handle is stale', async (t) => {
  const { base } = await setup(t);
  await produce(base, 'PopVisibility', ['x']);
  const [first] = await popFetch(base, 'vg', 'PopVisibility', 'visibilityMs=1000');
  t.is(first?.deliveryAttempt, 1);
  await new Promise((resolve) => setTimeout(resolve, 1100));
  const [again] = await popFetch(base, 'vg', 'PopVisibility');
  t.is(again?.body, 'x');
  t.is(again?.deliveryAttempt, 2);
  t.deepEqual((await settle(base, 'vg', 'ack', [first!.receiptHandle])).body, { settled: 0, stale: [first!.receiptHandle] });
  t.like((await settle(base, 'vg', 'ack', [again!.receiptHandle])).body, { settled: 1 });
});

test('nack redelivers; past retryMaxTimes the message goes to %DLQ%<group> with its origin', async (t) => {
  const { base, broker } = await setup(t);
  broker.groups.put({ ...broker.groups.findOrCreate('dg')!, retryMaxTimes: 2 });
  await produce(base, 'PopDlq', ['poison']);
  for (let attempt = 1; attempt <= 3; attempt += 1) {
    const [m] = await popFetch(base, 'dg', 'PopDlq');
    t.is(m?.deliveryAttempt, attempt);
    t.like((await settle(base, 'dg', 'nack', [m!.receiptHandle], 0)).body, { settled: 1 });
  }
  t.deepEqual(await popFetch(base, 'dg', 'PopDlq'), [], 'the fourth delivery went to the DLQ instead');
  broker.store.waitDispatched();
  const dlq = await (await fetch(`${base}/topics/${encodeURIComponent('%DLQ%dg')}/queues/0/messages`)).json() as { messages: Popped[] };
  t.is(dlq.messages.length, 1);
  t.like(dlq.messages[0]?.properties, { DLQ_ORIGIN_TOPIC: 'PopDlq', RECONSUME_TIME: '3' });
  t.is(broker.offsets.query('dg', 'PopDlq', 0), 1, 'the dead-lettered message no longer holds the offset back');
});

test('a long-polling fetch is answered by the next send', async (t) => {
  const { base } = await setup(t);
  await produce(base, 'PopWait', ['first']);
  const [first] = await popFetch(base, 'wg', 'PopWait');
  await settle(base, 'wg', 'ack', [first!.receiptHandle]);
  const waiting = popFetch(base, 'wg', 'PopWait', 'waitMs=20000');
  await new Promise((resolve) => setTimeout(resolve, 200));
  await produce(base, 'PopWait', ['second']);
  t.deepEqual((await waiting).map((m) => m.body), ['second']);
});

test('a POP group refuses remoting consumers, and a group with remoting consumers refuses POP', async (t) => {
  const { base, client, brokerAddr } = await setup(t);
  await produce(base, 'PopMixed', ['m']);
  await popFetch(base, 'popOnly', 'PopMixed');
  const heartbeat = (group: string): HeartbeatData => ({
    clientID: '10.0.0.9@x', heartbeatFingerprint: 0, withoutSub: false, producerDataSet: [],
    consumerDataSet: [{
      groupName: group, consumeType: 'CONSUME_PASSIVELY', messageModel: 'CLUSTERING', consumeFromWhere: 'CONSUME_FROM_LAST_OFFSET', unitMode: false,
      subscriptionDataSet: [{ topic: 'PopMixed', subString: '*', expressionType: 'TAG', tagsSet: [], codeSet: [], subVersion: 1, classFilterMode: false }],
    }],
  });
  const refused = await client.invoke(brokerAddr, makeRequest(RequestCode.HEART_BEAT, { body: encodeHeartbeatData(heartbeat('popOnly')) }));
  t.is(refused.code, ResponseCode.SYSTEM_ERROR);
  t.regex(refused.remark ?? '', /consumed over HTTP/);
  const joined = await client.invoke(brokerAddr, makeRequest(RequestCode.HEART_BEAT, { body: encodeHeartbeatData(heartbeat('pushOnly')) }));
  t.is(joined.code, ResponseCode.SUCCESS);
  const response = await fetch(`${base}/groups/pushOnly/topics/PopMixed/fetch`, { method: 'POST' });
  t.is(response.status, 409);
});

test('after a restart, messages fetched but not acked are delivered again; acked ones below them are not', async (t) => {
  const storeDir = tempDir(t, 'bolide-pop-restart-');
  const { base, broker } = await setup(t, { storePathRootDir: storeDir });
  await produce(base, 'PopRestart', ['r0', 'r1', 'r2', 'r3']);
  const got = await popFetch(base, 'rg', 'PopRestart', 'max=4');
  await settle(base, 'rg', 'ack', [got[0]!.receiptHandle]);
  await broker.shutdown();
  const restarted = await startBroker(t, { storePathRootDir: storeDir });
  const again = await popFetch(`${await gatewayFor(t, restarted)}`, 'rg', 'PopRestart', 'max=10');
  t.deepEqual(again.map((m) => m.body), ['r1', 'r2', 'r3']);
});

test('reads by queue and offset page through a queue; bad handles and bodies get 400', async (t) => {
  const { base } = await setup(t);
  await produce(base, 'PopRead', ['q0', 'q1', 'q2', 'q3'], 1);
  const page = await (await fetch(`${base}/topics/PopRead/queues/1/messages?offset=1&max=2`)).json() as { messages: Popped[]; nextOffset: number };
  t.deepEqual(page.messages.map((m) => m.body), ['q1', 'q2']);
  t.is(page.nextOffset, 3);
  const end = await (await fetch(`${base}/topics/PopRead/queues/1/messages?offset=4`)).json() as { messages: Popped[]; nextOffset: number; status: string };
  t.like(end, { nextOffset: 4, status: 'OFFSET_OVERFLOW_ONE' });
  t.is((await fetch(`${base}/topics/PopRead/queues/9/messages`)).status, 400);
  t.is((await settle(base, 'g', 'ack', ['not-a-handle'])).status, 400);
  t.is((await fetch(`${base}/groups/g/ack`, { method: 'POST', body: '{"receiptHandles": 3}' })).status, 400);
  t.is((await fetch(`${base}/groups/g/topics/PopRead/fetch?max=0`, { method: 'POST' })).status, 400);
  t.is((await fetch(`${base}/groups/g/topics/NoSuchTopic/fetch`, { method: 'POST' })).status, 404);
});
