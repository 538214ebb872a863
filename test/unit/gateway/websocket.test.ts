// The gateway's WebSocket API with FlatBuffers frames, through the SDK's GatewayClient (the `ws`
// package in Node): produce, credit-based POP subscriptions with ack/nack, malformed frames,
// and back-pressure against a client that stops reading.
import test, { type ExecutionContext } from 'ava';
import { WebSocket } from 'ws';
import { attachGateway } from '../../../ts/gateway/broker-server.js';
import { decodeGatewayFrame, encodeGatewayFrame, type GatewayFrame } from '../../../ts/protocol/gateway-frames.js';
import { GatewayClient, GatewayRequestError, type GatewayMessage } from '../../../ts/sdk/index.js';
import { startCluster } from '../../support/broker.js';
import type { BrokerOptions } from '../../../ts/broker/index.js';

async function setup(t: ExecutionContext, options: BrokerOptions = {}) {
  const cluster = await startCluster(t, options);
  const gateway = await attachGateway(cluster.broker, { port: 0 });
  t.teardown(() => gateway.stop());
  const url = `ws://${gateway.address}/ws`;
  const client = await GatewayClient.connect({ url });
  t.teardown(() => client.close());
  return { ...cluster, gateway, url, base: `http://${gateway.address}`, client };
}

async function until(check: () => boolean, timeoutMs = 15_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!check() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  return check();
}

test('produce over the WebSocket: one message and a batch, answered with SendResults', async (t) => {
  const { client, base, broker } = await setup(t);
  const one = await client.send({ topic: 'WsTopic', body: 'hello ws', tags: 'TagA', keys: ['k1'], properties: { p: 'v' } }, { queueId: 0 });
  t.like(one, { sendStatus: 'SEND_OK', queueOffset: 0, messageQueue: { topic: 'WsTopic', queueId: 0 } });
  t.regex(one.msgId, /^[0-9A-F]{32}$/);
  const batch = await client.send([{ topic: 'WsTopic', body: 'b1' }, { topic: 'WsTopic', body: new Uint8Array([1, 2, 3]) }], { queueId: 0 });
  t.is(batch.queueOffset, 1);
  t.is(batch.msgId.split(',').length, 2);
  broker.store.waitDispatched();
  const stored = await (await fetch(`${base}/api/messages/${one.offsetMsgId}`)).json() as Record<string, unknown>;
  t.like(stored, { body: 'hello ws', tags: 'TagA', msgId: one.msgId });
  const refused = await t.throwsAsync(client.send({ topic: 'bad topic!', body: 'x' }));
  t.true(refused instanceof GatewayRequestError);
  t.is((refused as GatewayRequestError).gatewayCode, 'BAD_REQUEST');
});

test('a timer produce over the WebSocket past timerMaxPendingMessages fails with a retriable TIMER_FLOW_CONTROL error', async (t) => {
  const { client } = await setup(t, { timerMaxPendingMessages: 1 });
  const later = () => ({ topic: 'WsTimerCap', body: 'later', deliverTimeMs: Date.now() + 60_000 });
  t.like(await client.send(later()), { sendStatus: 'SEND_OK' });
  const refused = await t.throwsAsync(client.send(later()));
  t.true(refused instanceof GatewayRequestError);
  t.is((refused as GatewayRequestError).gatewayCode, 'TIMER_FLOW_CONTROL');
  t.true((refused as GatewayRequestError).retriable);
  t.like(await client.send({ topic: 'WsTimerCap', body: 'now' }), { sendStatus: 'SEND_OK' });
});

test('a subscription receives every message once within its window, acks settle them, a failure is redelivered', async (t) => {
  const { client, base } = await setup(t);
  for (let i = 0; i < 60; i += 1) await client.send({ topic: 'WsSub', body: `m${i}` });
  const seen = new Map<string, number>();
  let handling = 0;
  let maxHandling = 0;
  let failedOnce = false;
  const subscription = await client.subscribe({ group: 'ws-group', topic: 'WsSub', window: 8, retryDelayMs: 0 }, async (m: GatewayMessage) => {
    handling += 1;
    maxHandling = Math.max(maxHandling, handling);
    await new Promise((resolve) => setTimeout(resolve, 2));
    handling -= 1;
    const body = new TextDecoder().decode(m.body);
    if (body === 'm7' && !failedOnce) {
      failedOnce = true;
      throw new Error('handler failure');
    }
    seen.set(body, (seen.get(body) ?? 0) + 1);
    if (body === 'm7') t.is(m.reconsumeTimes, 1);
  });
  t.true(await until(() => seen.size === 60), `got ${seen.size}`);
  await subscription.close();
  t.true([...seen.values()].every((n) => n === 1), 'each message handled successfully once');
  t.true(maxHandling <= 8, `at most the window in progress (${maxHandling})`);
  // Acks are one-way frames: wait until the broker has settled them all.
  let lag = -1;
  const deadline = Date.now() + 10_000;
  while (lag !== 0 && Date.now() < deadline) {
    lag = ((await (await fetch(`${base}/api/groups/ws-group`)).json()) as { lag: number }).lag;
    if (lag !== 0) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  t.is(lag, 0, 'the group caught up');
});

async function rawSocket(url: string): Promise<{ ws: WebSocket; frames: GatewayFrame[] }> {
  const ws = new WebSocket(url);
  const frames: GatewayFrame[] = [];
  ws.on('message', (data: Buffer) => frames.push(decodeGatewayFrame(new Uint8Array(data))));
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
  return { ws, frames };
}

test('malformed and text frames get error frames; the connection keeps working', async (t) => {
  const { url } = await setup(t);
  const { ws, frames } = await rawSocket(url);
  t.teardown(() => ws.terminate());
  ws.send(Buffer.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]));
  ws.send('a text frame');
  const valid = encodeGatewayFrame({ type: 'produce', requestId: 42, topic: 'WsRaw', queueId: 0, messages: [{ body: new Uint8Array([7]) }] });
  const mutated = Uint8Array.from(valid);
  mutated[mutated.length - 5] = 0xff;
  ws.send(mutated);
  ws.send(encodeGatewayFrame({ type: 'credit', subscriptionId: 999, messages: 1 }));
  ws.send(valid);
  t.true(await until(() => frames.some((f) => f.type === 'produceAck')));
  const errors = frames.filter((f) => f.type === 'error');
  t.true(errors.length >= 3, JSON.stringify(errors));
  t.true(errors.some((e) => e.type === 'error' && e.code === 'BAD_FRAME'));
  t.true(errors.some((e) => e.type === 'error' && e.code === 'BAD_REQUEST'));
  t.like(frames.find((f) => f.type === 'produceAck'), { requestId: 42, status: 'SEND_OK' });
});

test('a subscriber that stops reading pauses deliveries; when it reads again nothing is lost', async (t) => {
  const { client, url } = await setup(t, { gatewayWsMaxBufferedBytes: 1024 * 1024 });
  const body = new Uint8Array(32 * 1024).fill(65);
  for (let i = 0; i < 150; i += 1) await client.send({ topic: 'WsSlow', body });
  const { ws, frames } = await rawSocket(url);
  t.teardown(() => ws.terminate());
  const socket = (ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
  ws.send(encodeGatewayFrame({ type: 'subscribe', requestId: 1, group: 'slow', topic: 'WsSlow', expression: '*', initMode: 'first', visibilityMs: 600_000, credit: 1000 }));
  t.true(await until(() => frames.some((f) => f.type === 'deliver')));
  socket.pause();
  await new Promise((resolve) => setTimeout(resolve, 1000));
  socket.resume();
  t.true(await until(() => frames.filter((f) => f.type === 'deliver').length === 150), `delivered ${frames.filter((f) => f.type === 'deliver').length}`);
  const offsets = new Set(frames.flatMap((f) => (f.type === 'deliver' ? [f.queueId * 1e6 + f.queueOffset] : [])));
  t.is(offsets.size, 150, 'every message once');
});

test('a client that stops reading while its answers pile up is disconnected; the broker keeps serving', async (t) => {
  const { url, client } = await setup(t, { gatewayWsMaxBufferedBytes: 64 * 1024 });
  const { ws } = await rawSocket(url);
  const socket = (ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
  socket.pause();
  let closed = false;
  ws.on('close', () => { closed = true; });
  ws.on('error', () => { closed = true; });
  // Batches of 100 tiny messages: each answer carries 200 ids (~7 KB), far more than is sent.
  const batch = encodeGatewayFrame({ type: 'produce', requestId: 1, topic: 'WsFlood', queueId: 0,
    messages: Array.from({ length: 100 }, () => ({ body: new Uint8Array([1]) })) });
  for (let i = 0; i < 2500 && ws.readyState === WebSocket.OPEN; i += 1) {
    ws.send(batch);
    if (i % 50 === 0) await new Promise((resolve) => setTimeout(resolve, 5));
  }
  socket.resume();
  t.true(await until(() => closed, 20_000), 'the server closed the socket');
  // Other clients are unaffected.
  t.like(await client.send({ topic: 'WsAfterFlood', body: 'still here' }), { sendStatus: 'SEND_OK' });
});
