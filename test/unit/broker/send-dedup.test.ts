// Producer idempotence: repeated client sends (same topic + UNIQ_KEY) within the window are
// answered with the stored copy; retry topics, other topics, expiry, the memory bound, the off
// switch and a broker restart behave as ts/broker/send-dedup.ts documents.
import test, { type ExecutionContext } from 'ava';
import { SendDeduplicator, type RememberedSend } from '../../../ts/broker/send-dedup.js';
import { MessageStore } from '../../../ts/store/index.js';
import { RequestCode, ResponseCode, encodeBatch, encodeProperties } from '../../../ts/protocol/index.js';
import type { RemotingCommand } from '../../../ts/protocol/index.js';
import { sendRequest, startBroker, startCluster } from '../../support/broker.js';
import { tempDir } from '../../support/temp.js';

const UNIQ = 'C0A80001000018B4AAC2000000000001';

function positionOf(response: RemotingCommand): Record<string, string | undefined> {
  assertSent(response);
  const { msgId, queueId, queueOffset, transactionId } = response.extFields;
  return { msgId, queueId, queueOffset, transactionId };
}
function assertSent(response: RemotingCommand): void {
  if (response.code !== ResponseCode.SUCCESS) throw new Error(`send failed: ${response.code} ${response.remark ?? ''}`);
}

test('a repeated send of the same UNIQ_KEY returns the first SendResult and is stored once', async (t) => {
  const { client, brokerAddr, broker } = await startCluster(t);
  const send = () => client.invoke(brokerAddr, sendRequest({ topic: 'DedupTopic', body: 'once', properties: { UNIQ_KEY: UNIQ } }));
  const first = positionOf(await send());
  const again = positionOf(await send());
  t.deepEqual(again, first);
  t.is(broker.store.maxOffset('DedupTopic', 0), 1);
  // A different key is a different message.
  const other = await client.invoke(brokerAddr, sendRequest({ topic: 'DedupTopic', properties: { UNIQ_KEY: `${UNIQ}FF` } }));
  t.is(other.extFields['queueOffset'], '1');
});

test('a repeated delay-level or timer send is stored once too, though it waits in a system topic', async (t) => {
  const { client, brokerAddr, broker } = await startCluster(t);
  const cases: Array<[string, Record<string, string>, string]> = [
    ['level', { DELAY: '3', UNIQ_KEY: `${UNIQ}D1` }, 'SCHEDULE_TOPIC_XXXX'],
    ['timer', { TIMER_DELAY_SEC: '60', UNIQ_KEY: `${UNIQ}D2` }, 'rmq_sys_wheel_timer'],
  ];
  for (const [name, properties, parkedIn] of cases) {
    const send = () => client.invoke(brokerAddr, sendRequest({ topic: 'DedupParked', queueId: 1, body: name, properties }));
    const first = await send();
    const again = await send();
    t.deepEqual(positionOf(again), positionOf(first), name);
    t.is(again.extFields['queueId'], '1', `${name}: answered with the queue sent to`);
    t.is(again.extFields['recallHandle'], first.extFields['recallHandle'], `${name}: the same recallHandle (or none)`);
    broker.store.waitDispatched();
    const queueId = parkedIn === 'SCHEDULE_TOPIC_XXXX' ? 2 : 0; // level 3 waits in queue 2
    t.is(broker.store.maxOffset(parkedIn, queueId), 1, `${name}: stored once in ${parkedIn}`);
  }
  t.truthy(cases.length);
});

test('a repeated transactional half send is stored once and answered with the first half\'s offsets', async (t) => {
  const { client, brokerAddr, broker } = await startCluster(t);
  const half = { TRAN_MSG: 'true', PGROUP: 'dedup-tx', UNIQ_KEY: `${UNIQ}E1` };
  const send = () => client.invoke(brokerAddr, sendRequest({ topic: 'DedupHalf', queueId: 1, producerGroup: 'dedup-tx', properties: half }));
  const first = await send();
  const again = await send();
  t.deepEqual(positionOf(again), positionOf(first));
  t.is(again.extFields['queueId'], '1');
  broker.store.waitDispatched();
  t.is(broker.store.maxOffset('RMQ_SYS_TRANS_HALF_TOPIC', 0), 1, 'one half message');
});

test('a repeated batch returns the first msgIds; a batch with one new key is stored whole', async (t) => {
  const { client, brokerAddr, broker } = await startCluster(t);
  const batch = (keys: string[]) => sendRequest({
    topic: 'DedupBatch', code: RequestCode.SEND_BATCH_MESSAGE,
    body: encodeBatch(keys.map((k) => ({ flag: 0, body: Buffer.from(k), properties: { UNIQ_KEY: k } }))),
  });
  const first = positionOf(await client.invoke(brokerAddr, batch(['K1', 'K2', 'K3'])));
  t.deepEqual(positionOf(await client.invoke(brokerAddr, batch(['K1', 'K2', 'K3']))), first);
  t.is(broker.store.maxOffset('DedupBatch', 0), 3);
  const mixed = positionOf(await client.invoke(brokerAddr, batch(['K3', 'K4'])));
  t.is(mixed.queueOffset, '3');
  t.is(broker.store.maxOffset('DedupBatch', 0), 5);
});

test('the same UNIQ_KEY on another topic or a %RETRY% topic is stored every time', async (t) => {
  const { client, brokerAddr, broker } = await startCluster(t);
  for (const topic of ['DedupA', 'DedupB', '%RETRY%dedup-group', '%RETRY%dedup-group']) {
    assertSent(await client.invoke(brokerAddr, sendRequest({ topic, properties: { UNIQ_KEY: UNIQ } })));
  }
  t.is(broker.store.maxOffset('DedupA', 0), 1);
  t.is(broker.store.maxOffset('DedupB', 0), 1);
  t.is(broker.store.maxOffset('%RETRY%dedup-group', 0), 2);
});

test('sendDedupEnable=false stores every repeated send', async (t) => {
  const { client, brokerAddr, broker } = await startCluster(t, { sendDedupEnable: false });
  for (let i = 0; i < 3; i++) assertSent(await client.invoke(brokerAddr, sendRequest({ topic: 'NoDedup', properties: { UNIQ_KEY: UNIQ } })));
  t.is(broker.store.maxOffset('NoDedup', 0), 3);
});

test('after a restart on the same store, a retried send is answered with the copy stored before', async (t) => {
  const storeDir = tempDir(t, 'bolide-dedup-restart-');
  const { client, brokerAddr, broker } = await startCluster(t, { storePathRootDir: storeDir });
  const first = positionOf(await client.invoke(brokerAddr, sendRequest({ topic: 'DedupRestart', properties: { UNIQ_KEY: UNIQ } })));
  broker.store.waitDispatched();
  await broker.shutdown();
  const restarted = await startBroker(t, { storePathRootDir: storeDir });
  const again = positionOf(await client.invoke(restarted.brokerAddr,
    sendRequest({ topic: 'DedupRestart', properties: { UNIQ_KEY: UNIQ } })));
  // Same record: same offset msgId (store host differs only if the port changed, so compare positions).
  t.is(again.queueOffset, first.queueOffset);
  t.is(again.transactionId, UNIQ);
  t.is(restarted.store.maxOffset('DedupRestart', 0), 1);
  // A new key after the restart is stored normally.
  const fresh = positionOf(await client.invoke(restarted.brokerAddr,
    sendRequest({ topic: 'DedupRestart', properties: { UNIQ_KEY: `${UNIQ}01` } })));
  t.is(fresh.queueOffset, '1');
});

test('after a restart, retried delay-level, timer and half sends are answered with the copies parked before', async (t) => {
  const storeDir = tempDir(t, 'bolide-dedup-parked-restart-');
  const { client, brokerAddr, broker } = await startCluster(t, { storePathRootDir: storeDir });
  const cases: Array<[string, Record<string, string>, string, number]> = [
    ['level', { DELAY: '3', UNIQ_KEY: `${UNIQ}F1` }, 'SCHEDULE_TOPIC_XXXX', 2],
    ['timer', { TIMER_DELAY_SEC: '600', UNIQ_KEY: `${UNIQ}F2` }, 'rmq_sys_wheel_timer', 0],
    ['half', { TRAN_MSG: 'true', PGROUP: 'dedup-tx', UNIQ_KEY: `${UNIQ}F3` }, 'RMQ_SYS_TRANS_HALF_TOPIC', 0],
  ];
  const request = (properties: Record<string, string>) =>
    sendRequest({ topic: 'DedupParkedRestart', queueId: 1, producerGroup: 'dedup-tx', properties });
  const firsts = [];
  for (const [, properties] of cases) firsts.push(positionOf(await client.invoke(brokerAddr, request(properties))));
  broker.store.waitDispatched();
  await broker.shutdown();
  const restarted = await startBroker(t, { storePathRootDir: storeDir });
  for (const [index, [name, properties, parkedIn, queueId]] of cases.entries()) {
    const again = positionOf(await client.invoke(restarted.brokerAddr, request(properties)));
    t.is(again.queueOffset, firsts[index]?.queueOffset, `${name}: the parked copy's offset`);
    t.is(again.queueId, '1', `${name}: the queue sent to`);
    restarted.store.waitDispatched();
    t.is(restarted.store.maxOffset(parkedIn, queueId), 1, `${name}: still one copy in ${parkedIn}`);
  }
});

// The window and the memory bound, on the class with a controlled clock, over a real store (a
// remembered key is confirmed against its stored record). The deduplicator "started" long ago,
// so no post-restart index lookup happens.
function storeWith(t: ExecutionContext, keys: string[]): { store: MessageStore; sends: Map<string, RememberedSend> } {
  const store = MessageStore.open({ storePathRootDir: tempDir(t, 'bolide-dedup-class-'), mappedFileSizeCommitLog: 16 << 20, maxHashSlotNum: 64, maxIndexNum: 256 });
  t.teardown(() => store.close());
  store.setStoreHost('127.0.0.1', 10911);
  const sends = new Map<string, RememberedSend>();
  for (const key of keys) {
    const r = store.append({ topic: 'T', queueId: 0, body: Buffer.from(key), properties: Buffer.from(encodeProperties({ UNIQ_KEY: key })) });
    sends.set(key, { physicalOffset: r.physicalOffset });
  }
  return { store, sends };
}

test('a key is forgotten once its window has passed, not before', (t) => {
  const { store, sends } = storeWith(t, ['a']);
  const dedup = new SendDeduplicator({ enabled: true, windowMs: 1000, maxKeys: 100 }, store, -10_000);
  dedup.remember('T', 'a', sends.get('a')!, 0);
  t.like(dedup.lookup('T', ['a'], 999)?.[0], { queueOffset: 0 });
  t.is(dedup.lookup('T', ['a'], 1000), null);
  t.is(dedup.stats().keys, 0);
});

test('beyond sendDedupMaxKeys the oldest keys leave the window early and are counted', (t) => {
  const { store, sends } = storeWith(t, ['a', 'b', 'c']);
  const dedup = new SendDeduplicator({ enabled: true, windowMs: 60_000, maxKeys: 2 }, store, -120_000);
  for (const [i, key] of ['a', 'b', 'c'].entries()) dedup.remember('T', key, sends.get(key)!, i);
  t.is(dedup.lookup('T', ['a'], 3), null);
  t.deepEqual(dedup.lookup('T', ['b', 'c'], 3)?.map((s) => s.queueOffset), [1, 2]);
  t.like(dedup.stats(), { keys: 2, evictedEarly: 1, duplicates: 1 });
});

test('a remembered key whose record does not carry it (a hash collision) is not a duplicate', (t) => {
  const { store, sends } = storeWith(t, ['a', 'b']);
  const dedup = new SendDeduplicator({ enabled: true, windowMs: 60_000, maxKeys: 100 }, store, -120_000);
  // Remember 'x' at the position of the record holding 'a': the lookup must check and miss.
  dedup.remember('T', 'x', sends.get('a')!, 0);
  t.is(dedup.lookup('T', ['x'], 1), null);
  dedup.remember('T', 'b', sends.get('b')!, 0);
  t.like(dedup.lookup('T', ['b'], 1)?.[0], { queueOffset: 1 });
});

test('a key sent again after expiry starts a new window of its own', (t) => {
  const { store, sends } = storeWith(t, ['a']);
  const dedup = new SendDeduplicator({ enabled: true, windowMs: 1000, maxKeys: 100 }, store, -10_000);
  dedup.remember('T', 'a', sends.get('a')!, 0);
  t.is(dedup.lookup('T', ['a'], 1500), null);
  dedup.remember('T', 'a', sends.get('a')!, 1500);
  t.like(dedup.lookup('T', ['a'], 2400)?.[0], { queueOffset: 0 });
});
