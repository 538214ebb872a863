// Arbitrary delivery times (TIMER_DELIVER_MS / TIMER_DELAY_SEC / TIMER_DELAY_MS) through the
// timing wheel and the timer service, against an in-process broker. Timing is asserted only as
// "never early" and "eventually".
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import type { RemotingClient } from '../../../ts/remoting/index.js';
import { MessageProperty, ResponseCode, decodeStoredMessages, type StoredMessage } from '../../../ts/protocol/index.js';
import { TimerFlowControlError } from '../../../ts/broker/schedule/timer-message.js';
import { TimingWheel } from '../../../ts/broker/schedule/timing-wheel.js';
import { pullRequest, sendHeader, sendRequest, startBroker, startCluster } from '../../support/broker.js';

async function pullAll(client: RemotingClient, brokerAddr: string, topic: string, queueId = 0): Promise<StoredMessage[]> {
  const response = await client.invoke(brokerAddr, pullRequest({ topic, queueId, queueOffset: 0, maxMsgNums: 64 }));
  if (response.code !== ResponseCode.SUCCESS) return [];
  return decodeStoredMessages(response.body ?? Buffer.alloc(0));
}

async function eventually(client: RemotingClient, brokerAddr: string, topic: string, count: number): Promise<StoredMessage[]> {
  for (;;) {
    const messages = await pullAll(client, brokerAddr, topic);
    if (messages.length >= count) return messages;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

test('the timing wheel fires every timer at or after its due time, including ones beyond one revolution', (t) => {
  const start = 1_000_000;
  const wheel = new TimingWheel(start, 10, 16); // 160 ms per revolution
  const dues = [5, 10, 159, 160, 161, 300, 1000, 1001, 5000, 0, -50].map((d, id) => ({ dueMs: start + d, physicalOffset: id, queueOffset: id }));
  for (const entry of dues) wheel.add(entry);
  t.is(wheel.size, dues.length);
  const fired = new Map<number, number>();
  for (let now = start; now <= start + 6000; now += 7) {
    for (const entry of wheel.advance(now)) {
      const id = entry.physicalOffset;
      t.false(fired.has(id), `timer ${id} fired twice`);
      t.true(entry.dueMs <= now, `timer ${id} due ${entry.dueMs} fired early at ${now}`);
      t.is(entry.dueMs, dues[id]!.dueMs, 'the entry fired is the one added');
      fired.set(id, now);
    }
  }
  t.is(fired.size, dues.length);
  t.is(wheel.size, 0);
  // A long stall (advance called once, much later) fires everything that came due in between.
  const later = new TimingWheel(start, 10, 16);
  for (let i = 0; i < 100; i++) later.add({ dueMs: start + i * 37, physicalOffset: i, queueOffset: i });
  t.is(later.advance(start + 100 * 37).length, 100);
});

test('the timing wheel reuses freed nodes, keeps timers of one tick in the order added, and loses none across growth', (t) => {
  const start = 5_000_000;
  const wheel = new TimingWheel(start, 10, 64); // 640 ms per revolution
  let seed = 12345;
  const random = (): number => {
    seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
    return seed / 2_147_483_648;
  };
  const expected = new Map<number, number>();
  let id = 0;
  let now = start;
  const firedOrder: number[] = [];
  for (let round = 0; round < 200; round++) {
    for (let i = 0; i < 50; i++) {
      const dueMs = now + Math.floor(random() * 5000) - 100;
      expected.set(id, dueMs);
      wheel.add({ dueMs, physicalOffset: id, queueOffset: id });
      id++;
    }
    now += 23;
    for (const entry of wheel.advance(now)) {
      t.true(entry.dueMs <= now, 'never early');
      t.is(expected.get(entry.physicalOffset), entry.dueMs);
      expected.delete(entry.physicalOffset);
      firedOrder.push(entry.physicalOffset);
    }
  }
  const poolAfterLoad = wheel.poolBytes;
  for (const entry of wheel.advance(now + 10_000)) expected.delete(entry.physicalOffset);
  t.is(expected.size, 0, 'every timer fired once');
  t.is(wheel.size, 0);
  // Same-tick timers keep their insertion order.
  const sameTick = new TimingWheel(start, 10, 64);
  for (let i = 0; i < 10; i++) sameTick.add({ dueMs: start + 1234, physicalOffset: i, queueOffset: i });
  t.deepEqual(sameTick.advance(start + 2000).map((e) => e.physicalOffset), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  // A second wave of the same size reuses the freed nodes: the pool does not grow.
  for (let i = 0; i < 5000; i++) wheel.add({ dueMs: now + 20_000 + i, physicalOffset: i, queueOffset: i });
  t.is(wheel.poolBytes, poolAfterLoad);
  t.true(firedOrder.length > 0);
});

test('the timing wheel fires a burst over bounded calls: in order, never early, none lost, across a cascade', (t) => {
  const start = 2_000_000;
  const wheel = new TimingWheel(start, 10, 8); // 80 ms per revolution
  // 25 timers in one tick, 25 in the next, 25 two revolutions later (coarse bucket), 5 overdue.
  const dues = [
    ...Array.from({ length: 25 }, () => start + 30),
    ...Array.from({ length: 25 }, () => start + 40),
    ...Array.from({ length: 25 }, () => start + 175),
    ...Array.from({ length: 5 }, () => start - 500),
  ];
  dues.forEach((dueMs, id) => wheel.add({ dueMs, physicalOffset: id, queueOffset: id }));
  const order: number[] = [];
  const batches: number[] = [];
  // Far past every due time, but at most 7 per call.
  for (let calls = 0; calls < 100 && wheel.size > 0; calls++) {
    const now = start + 200 + calls;
    const fired = wheel.advance(now, 7);
    batches.push(fired.length);
    for (const entry of fired) {
      t.true(entry.dueMs <= now, `timer ${entry.physicalOffset} fired early`);
      t.is(entry.dueMs, dues[entry.physicalOffset]!);
      order.push(entry.physicalOffset);
    }
  }
  t.true(batches.every((n) => n <= 7), `batches ${batches.join(',')}`);
  t.is(wheel.size, 0);
  // Ticks in due order; within a tick, the order added (the overdue ones went into the first tick).
  const expected = [...Array.from({ length: 5 }, (_, i) => 75 + i), ...Array.from({ length: 75 }, (_, i) => i)];
  t.deepEqual(order, expected);
  // Nothing due: a bounded call returns nothing and fires nothing early.
  wheel.add({ dueMs: start + 10_000, physicalOffset: 1, queueOffset: 1 });
  t.deepEqual(wheel.advance(start + 9_999, 7), []);
  t.is(wheel.advance(start + 10_000, 7).length, 1);
});

test('the timing wheel pool grows by chunks without losing timers and reuses freed nodes before growing again', (t) => {
  const start = 9_000_000;
  const wheel = new TimingWheel(start, 10, 4096);
  const count = 150_000; // three chunks of 65,536
  for (let i = 0; i < count; i++) wheel.add({ dueMs: start + (i % 3000), physicalOffset: i * 3, queueOffset: i });
  const grown = wheel.poolBytes;
  t.is(grown, 3 * 65_536 * 28);
  const seen = new Uint8Array(count);
  for (const entry of wheel.advance(start + 3000)) {
    t.is(entry.physicalOffset, entry.queueOffset * 3, 'fields of one timer stay together across chunks');
    t.is(entry.dueMs, start + (entry.queueOffset % 3000));
    seen[entry.queueOffset]! += 1;
  }
  t.true(seen.every((n) => n === 1), 'every timer fired exactly once');
  // The same number again fits in the freed nodes.
  for (let i = 0; i < count; i++) wheel.add({ dueMs: start + 5000 + (i % 100), physicalOffset: i, queueOffset: i });
  t.is(wheel.poolBytes, grown);
  t.is(wheel.advance(start + 6000).length, count);
});

test('TIMER_DELIVER_MS, TIMER_DELAY_SEC and TIMER_DELAY_MS messages are delivered never early with UNIQ_KEY kept', async (t) => {
  const { client, brokerAddr, broker } = await startCluster(t);
  const topic = 'TimerTopic';
  const now = Date.now();
  const sends: Array<{ properties: Record<string, string> & { UNIQ_KEY: string }; notBefore: number }> = [
    { properties: { TIMER_DELIVER_MS: String(now + 700), UNIQ_KEY: 'T-abs' }, notBefore: now + 700 },
    { properties: { TIMER_DELAY_SEC: '1', UNIQ_KEY: 'T-sec' }, notBefore: now + 1000 },
    { properties: { TIMER_DELAY_MS: '300', UNIQ_KEY: 'T-ms' }, notBefore: now + 300 },
    { properties: { TIMER_DELIVER_MS: String(now - 1000), UNIQ_KEY: 'T-past' }, notBefore: 0 },
  ];
  for (const send of sends) {
    const response = await client.invoke(brokerAddr, sendRequest({ topic, body: send.properties.UNIQ_KEY, properties: send.properties }));
    t.is(response.code, ResponseCode.SUCCESS, response.remark);
  }
  broker.store.waitDispatched();
  // Only the past-due one is there at once; the others wait in the timer topic.
  t.deepEqual((await pullAll(client, brokerAddr, topic)).map((m) => m.body.toString()), ['T-past']);
  t.is(broker.store.maxOffset('rmq_sys_wheel_timer', 0), 3);
  const delivered = await eventually(client, brokerAddr, topic, 4);
  for (const send of sends) {
    const copy = delivered.find((m) => m.properties[MessageProperty.UNIQ_KEY] === send.properties.UNIQ_KEY);
    t.truthy(copy);
    t.true((copy?.storeTimestamp ?? 0) >= send.notBefore, `${send.properties.UNIQ_KEY} delivered early`);
    t.is(copy?.properties[MessageProperty.TIMER_DELAY_SEC], undefined);
    t.is(copy?.topic, topic);
  }
});

test('a delivery time beyond timerMaxDelaySec or not a number is refused with MESSAGE_ILLEGAL', async (t) => {
  const { client, brokerAddr } = await startCluster(t, { timerMaxDelaySec: 60 });
  const far = await client.invoke(brokerAddr, sendRequest({ topic: 'TimerLimit', properties: { TIMER_DELAY_SEC: '61' } }));
  t.is(far.code, ResponseCode.MESSAGE_ILLEGAL);
  t.regex(far.remark ?? '', /beyond the maximum/);
  const bad = await client.invoke(brokerAddr, sendRequest({ topic: 'TimerLimit', properties: { TIMER_DELIVER_MS: 'soon' } }));
  t.is(bad.code, ResponseCode.MESSAGE_ILLEGAL);
  const ok = await client.invoke(brokerAddr, sendRequest({ topic: 'TimerLimit', properties: { TIMER_DELAY_SEC: '59' } }));
  t.is(ok.code, ResponseCode.SUCCESS);
});

test('pending timers survive a restart and deliveries after the last checkpoint are not repeated', async (t) => {
  const { client, brokerAddr, broker, storeDir, namesrvAddr } = await startCluster(t);
  const topic = 'TimerRestart';
  for (let i = 0; i < 3; i++) {
    await client.invoke(brokerAddr, sendRequest({ topic, body: `soon${i}`, properties: { TIMER_DELAY_MS: '100', UNIQ_KEY: `TS${i}` } }));
    await client.invoke(brokerAddr, sendRequest({ topic, body: `later${i}`, properties: { TIMER_DELAY_MS: '1500', UNIQ_KEY: `TL${i}` } }));
  }
  await eventually(client, brokerAddr, topic, 3);
  await broker.shutdown();
  // As after a kill -9 before any checkpoint: the wheel is rebuilt from the whole timer queue.
  for (const suffix of ['', '.bak', '.tmp']) rmSync(join(storeDir, 'config', `timerOffset.json${suffix}`), { force: true });
  const second = await startBroker(t, { storePathRootDir: storeDir, namesrvAddr: [namesrvAddr] });
  await eventually(client, second.brokerAddr, topic, 6);
  await new Promise((resolve) => setTimeout(resolve, 500));
  const all = await pullAll(client, second.brokerAddr, topic);
  t.deepEqual(all.map((m) => m.body.toString()).sort(), ['later0', 'later1', 'later2', 'soon0', 'soon1', 'soon2']);
});

test('beyond timerMaxPendingMessages timer sends are refused with SYSTEM_ERROR (flow control); other sends are not', async (t) => {
  const { client, brokerAddr } = await startCluster(t, { timerMaxPendingMessages: 3 });
  const topic = 'TimerFlowControl';
  const timer = (i: number) => sendRequest({ topic, body: `t${i}`, properties: { TIMER_DELAY_SEC: '60', UNIQ_KEY: `TFC${i}` } });
  for (let i = 0; i < 3; i++) t.is((await client.invoke(brokerAddr, timer(i))).code, ResponseCode.SUCCESS);
  const refused = await client.invoke(brokerAddr, timer(3));
  t.is(refused.code, ResponseCode.SYSTEM_ERROR);
  t.regex(refused.remark ?? '', /flow control: 3 timer messages pending, timerMaxPendingMessages is 3/);
  t.is((await client.invoke(brokerAddr, sendRequest({ topic, body: 'plain' }))).code, ResponseCode.SUCCESS);
  t.is((await client.invoke(brokerAddr, sendRequest({ topic, body: 'level', properties: { DELAY: '1' } }))).code, ResponseCode.SUCCESS);
});

test('a timer send refused by flow control is counted in the send-latency metric, thrown to an in-process caller as to a remoting one', async (t) => {
  const { client, brokerAddr, broker } = await startCluster(t, { timerMaxPendingMessages: 1 });
  const spec = (i: number) => ({ topic: 'TimerFlowControlLatency', body: `t${i}`, properties: { TIMER_DELAY_SEC: '60', UNIQ_KEY: `TFL${i}` } });
  t.is((await client.invoke(brokerAddr, sendRequest(spec(0)))).code, ResponseCode.SUCCESS);
  const latency = broker.stats.traffic.sendLatency;
  const before = latency.snapshot().count;
  t.is((await client.invoke(brokerAddr, sendRequest(spec(1)))).code, ResponseCode.SYSTEM_ERROR);
  t.is(latency.snapshot().count, before + 1, 'the remoting refusal is observed');
  const { send } = broker.frontEnd();
  t.throws(() => send.send(sendRequest(spec(2)), '127.0.0.1:0', { header: sendHeader(spec(2)), throwFlowControl: true }),
    { instanceOf: TimerFlowControlError });
  t.is(latency.snapshot().count, before + 2, 'the refusal thrown to the gateway is observed too');
});
