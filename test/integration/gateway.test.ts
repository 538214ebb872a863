// The HTTP gateway in a real Bolide process: messages produced over HTTP are consumed by the
// SDK's push consumer over the remoting protocol (and vice versa visible in /api and /metrics).
import test from 'ava';
import { startBolideProcess, type BolideProcess } from '../support/bolide-process.js';
import { Producer, PushConsumer, silentLogger, type MessageExt } from '../../ts/sdk/index.js';

let bolide: BolideProcess | undefined;

test.before(async () => {
  bolide = await startBolideProcess();
});

test.after.always(async () => {
  await bolide?.stop();
});

test('HTTP-produced messages reach an SDK push consumer with tags, keys and properties intact', async (t) => {
  const base = `http://${bolide!.gatewayAddr}`;
  const topic = `HttpToSdk${Date.now().toString(36)}`;
  const sent = new Map<string, string>();
  for (let i = 0; i < 30; i += 1) {
    const response = await fetch(`${base}/topics/${topic}/messages`, {
      method: 'POST', body: `http-${i}`,
      headers: { 'x-bolide-tags': i % 2 === 0 ? 'Even' : 'Odd', 'x-bolide-keys': `k${i}`, 'x-bolide-property-seq': String(i) },
    });
    t.is(response.status, 200);
    const produced = await response.json() as { messages: Array<{ msgId: string }> };
    sent.set(produced.messages[0]!.msgId, `http-${i}`);
  }
  const received: MessageExt[] = [];
  const consumer = new PushConsumer({
    groupName: `http-cg-${Date.now().toString(36)}`, namesrvAddr: bolide!.namesrvAddr, consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET', logger: silentLogger,
  });
  consumer.subscribe(topic, 'Even');
  consumer.onMessage((messages) => { received.push(...messages); });
  await consumer.start();
  try {
    const deadline = Date.now() + 30_000;
    while (received.length < 15 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  } finally {
    await consumer.shutdown();
  }
  t.is(received.length, 15);
  for (const m of received) {
    t.is(m.tags ?? '', 'Even');
    t.is(sent.get(m.msgId) ?? '(not sent)', m.body.toString());
    const seq = Number(m.properties['seq']);
    t.is(m.body.toString(), `http-${seq}`);
    t.deepEqual(m.keys, [`k${seq}`]);
    // BORNHOST is the HTTP client's address (the test's loopback connection).
    t.is(m.bornHost, '127.0.0.1:0');
  }
  const metrics = await (await fetch(`${base}/metrics`)).text();
  const out = Number(metrics.match(new RegExp(`^bolide_topic_messages_out_total\\{[^}]*topic="${topic}"\\} (\\d+)$`, 'm'))?.[1]);
  t.true(out >= 15, `messages out ${out}`);
  t.regex(metrics, /^bolide_pull_latency_seconds_count\{[^}]*\} [1-9]/m);
});

test('SDK-produced messages are listed by the HTTP admin API and counted in /metrics', async (t) => {
  const base = `http://${bolide!.gatewayAddr}`;
  const topic = `SdkToHttp${Date.now().toString(36)}`;
  const producer = new Producer({ groupName: 'http-pg', namesrvAddr: bolide!.namesrvAddr, logger: silentLogger });
  await producer.start();
  let keyed;
  try {
    for (let i = 0; i < 12; i += 1) {
      const result = await producer.send({ topic, body: `sdk-${i}`, keys: i === 5 ? ['the-key'] : [] });
      if (i === 5) keyed = result;
    }
  } finally {
    await producer.shutdown();
  }
  // Queue offsets follow the CommitLog asynchronously (dispatch): poll until they caught up.
  const listed = async () => ((await (await fetch(`${base}/api/topics?prefix=${topic}`)).json()) as { items: Array<{ topic: string; messages: number }> })
    .items.map((i) => [i.topic, i.messages]);
  const deadline = Date.now() + 10_000;
  while (JSON.stringify(await listed()) !== JSON.stringify([[topic, 12]]) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  t.deepEqual(await listed(), [[topic, 12]]);
  const found = await (await fetch(`${base}/api/messages?topic=${topic}&key=the-key`)).json() as { messages: Array<{ body: string; msgId: string }> };
  t.deepEqual(found.messages.map((m) => m.body), ['sdk-5']);
  t.is(found.messages[0]?.msgId, keyed!.msgId);
  const metrics = await (await fetch(`${base}/metrics`)).text();
  t.regex(metrics, new RegExp(`^bolide_topic_messages_stored\\{[^}]*topic="${topic}"\\} 12$`, 'm'));
});

test('an HTTP POP consumer group consumes what the SDK produced, acking each message exactly once', async (t) => {
  const base = `http://${bolide!.gatewayAddr}`;
  const topic = `SdkToPop${Date.now().toString(36)}`;
  const producer = new Producer({ groupName: 'pop-pg', namesrvAddr: bolide!.namesrvAddr, logger: silentLogger });
  await producer.start();
  try {
    for (let i = 0; i < 40; i += 1) await producer.send({ topic, body: `pop-${i}` });
  } finally {
    await producer.shutdown();
  }
  const seen = new Set<string>();
  const deadline = Date.now() + 30_000;
  while (seen.size < 40 && Date.now() < deadline) {
    const response = await fetch(`${base}/groups/http-pop/topics/${topic}/fetch?max=16&waitMs=1000`, { method: 'POST' });
    t.is(response.status, 200);
    const { messages } = await response.json() as { messages: Array<{ body: string; receiptHandle: string }> };
    for (const m of messages) {
      t.false(seen.has(m.body), `${m.body} delivered twice`);
      seen.add(m.body);
    }
    const ack = await fetch(`${base}/groups/http-pop/ack`, { method: 'POST', body: JSON.stringify({ receiptHandles: messages.map((m) => m.receiptHandle) }) });
    t.like(await ack.json(), { settled: messages.length, stale: [] });
  }
  t.is(seen.size, 40);
  const group = await (await fetch(`${base}/api/groups/http-pop`)).json() as { lag: number };
  t.is(group.lag, 0);
});
