import test from 'ava';
import { createServer, connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { MessageStore, StoreError, engineVersion, packHost } from '../../ts/store/index.js';
import { tempDir } from '../support/temp.js';
import { decodeStoredMessage } from '../../ts/protocol/message-record.js';
import { encodeProperties, javaStringHash } from '../support/properties.js';

const SMALL = {
  mappedFileSizeCommitLog: 256 * 1024,
  maxMessageSize: 64 * 1024,
  consumeQueueEntriesPerFile: 1000,
  maxHashSlotNum: 1024,
  maxIndexNum: 4096,
  diskMaxUsedSpaceRatio: 99,
  diskCleanForciblyRatio: 99,
  diskFullRatio: 100,
  deleteWhen: [],
};

function open(dir: string, extra: Partial<Parameters<typeof MessageStore.open>[0]> = {}) {
  return MessageStore.open({ storePathRootDir: dir, ...SMALL, ...extra });
}

function append(store: MessageStore, i: number, queueId = 0) {
  return store.append({
    topic: 'TopicTest',
    queueId,
    body: Buffer.from(`body-${i}`),
    properties: encodeProperties({ TAGS: i % 2 === 0 ? 'even' : 'odd', KEYS: `key-${i}` }),
    bornHost: '::ffff:10.0.0.8',
    bornPort: 5555,
  });
}

test('the engine reports its on-disk format version', (t) => {
  t.is(engineVersion(), 1);
});

test('appends get consecutive queue offsets and read back zero-copy through getMessages', (t) => {
  const store = open(tempDir(t));
  t.teardown(() => store.close());
  store.setStoreHost('127.0.0.1', 10911);
  const results = Array.from({ length: 10 }, (_, i) => append(store, i));
  t.deepEqual(results.map((r) => r.queueOffset), [...Array(10).keys()]);
  t.regex(results[0]!.msgId, /^7F00000100002A9F[0-9A-F]{16}$/);
  t.true(store.waitDispatched(5000));
  const pull = store.getMessages('TopicTest', 0, 0, 32, 1 << 20);
  t.is(pull.status, 'FOUND');
  t.is(pull.messageCount, 10);
  t.is(pull.nextBeginOffset, 10);
  const buffers = store.messageBuffers(pull);
  t.true(buffers[3]!.includes(Buffer.from('body-3')));
  // The record's born host is stored as IPv4 (bytes 48..52).
  t.deepEqual([...buffers[0]!.subarray(48, 52)], [10, 0, 0, 8]);
});

test('tag codes filter at the ConsumeQueue and the index finds keys', (t) => {
  const store = open(tempDir(t));
  t.teardown(() => store.close());
  const offsets = Array.from({ length: 20 }, (_, i) => append(store, i).physicalOffset);
  t.true(store.waitDispatched(5000));
  const odd = store.getMessages('TopicTest', 0, 0, 32, 1 << 20, [javaStringHash('odd')]);
  t.is(odd.messageCount, 10);
  t.deepEqual(store.queryByKey('TopicTest', 'key-7', 10, 0, Date.now() + 1000), [offsets[7]]);
});

test('a batch is stored as one unit and too-large messages are refused with a typed error', (t) => {
  const store = open(tempDir(t), { maxMessageSize: 1024 });
  t.teardown(() => store.close());
  const batch = store.appendBatch(
    [1, 2, 3].map((i) => ({ topic: 'Batch', queueId: 1, body: Buffer.from(`b${i}`), properties: Buffer.alloc(0) })),
  );
  t.deepEqual(batch.map((r) => r.queueOffset), [0, 1, 2]);
  const error = t.throws(() => store.append({ topic: 'Batch', queueId: 1, body: Buffer.alloc(2048), properties: Buffer.alloc(0) }), {
    instanceOf: StoreError,
  });
  t.is(error?.code, 'MESSAGE_TOO_LARGE');
  t.true(store.waitDispatched(5000));
  t.is(store.maxOffset('Batch', 1), 3, 'the refused message took no queue offset');
});

test('a batch mixing topics, queues and born hosts stores every field of every message, in order', (t) => {
  const store = open(tempDir(t));
  t.teardown(() => store.close());
  store.append({ topic: 'MixA', queueId: 0, body: Buffer.from('first'), properties: Buffer.alloc(0) });
  const sent = [
    { topic: 'MixA', queueId: 0, body: Buffer.from('a0'), properties: Buffer.from(encodeProperties({ TAGS: 'x' })), flag: 7, sysFlag: 0,
      bornTimestamp: 1_700_000_000_123, bornHost: '10.1.2.3', bornPort: 4567, reconsumeTimes: 2 },
    { topic: 'MixB', queueId: 3, body: Buffer.alloc(0), properties: Buffer.alloc(0), bornHost: '::1', bornPort: 9 },
    { topic: 'MixA', queueId: 0, body: Buffer.alloc(3000, 1), properties: Buffer.from(encodeProperties({ KEYS: 'k' })) },
  ];
  const results = store.appendBatch(sent);
  t.deepEqual(results.map((r) => r.queueOffset), [1, 0, 2]);
  for (let i = 1; i < results.length; i++) t.is(results[i]!.physicalOffset, results[i - 1]!.physicalOffset + results[i - 1]!.size);
  const stored = results.map((r) => decodeStoredMessage(store.messageAt(r.physicalOffset)).message);
  t.deepEqual(stored.map((m) => [m.topic, m.queueId, m.queueOffset, m.body.length]), [['MixA', 0, 1, 2], ['MixB', 3, 0, 0], ['MixA', 0, 2, 3000]]);
  t.like(stored[0], { flag: 7, bornTimestamp: 1_700_000_000_123, reconsumeTimes: 2, bornHost: { address: '10.1.2.3', port: 4567 } });
  t.is(stored[0]!.properties['TAGS'], 'x');
  t.like(stored[1]!.bornHost, { address: '::1', port: 9 });
  t.is(stored[2]!.properties['KEYS'], 'k');
  t.is(results[0]!.msgId, stored[0]!.msgId);
});

test('a batch with a message the engine refuses stores none of it', (t) => {
  const store = open(tempDir(t), { maxMessageSize: 1024 });
  t.teardown(() => store.close());
  const ok = { topic: 'AllOrNone', queueId: 0, body: Buffer.from('fine'), properties: Buffer.alloc(0) };
  t.is(t.throws(() => store.appendBatch([ok, { ...ok, body: Buffer.alloc(4096) }]), { instanceOf: StoreError })?.code, 'MESSAGE_TOO_LARGE');
  t.is(t.throws(() => store.appendBatch([ok, { ...ok, queueId: 1.5 }]), { instanceOf: StoreError })?.code, 'INVALID_ARGUMENT');
  t.deepEqual(store.appendBatch([]), []);
  t.is(store.appendBatch([ok])[0]!.queueOffset, 0, 'nothing of the refused batches took a queue offset');
});

test('single appends to interleaved topics store every field, each topic counting its own queue offsets', (t) => {
  const store = open(tempDir(t));
  t.teardown(() => store.close());
  const results = ['One', 'Two', 'One', 'Three', 'Two', 'One'].map((topic, i) =>
    store.append({ topic, queueId: i % 2, body: Buffer.from(`b${i}`), properties: Buffer.alloc(0), flag: i, sysFlag: 0,
      bornTimestamp: 1_700_000_000_000 + i, reconsumeTimes: i, preparedTransactionOffset: 0, bornHost: '10.0.0.1', bornPort: 10 + i }));
  const stored = results.map((r) => decodeStoredMessage(store.messageAt(r.physicalOffset)).message);
  t.deepEqual(stored.map((m) => [m.topic, m.queueId, m.queueOffset]),
    [['One', 0, 0], ['Two', 1, 0], ['One', 0, 1], ['Three', 1, 0], ['Two', 0, 0], ['One', 1, 0]]);
  t.deepEqual(results.map((r) => r.queueOffset), stored.map((m) => m.queueOffset));
  stored.forEach((m, i) => t.like(m, { flag: i, bornTimestamp: 1_700_000_000_000 + i, reconsumeTimes: i, body: Buffer.from(`b${i}`),
    bornHost: { address: '10.0.0.1', port: 10 + i } }));
});

test('a single append stores IPv4 and IPv6 born hosts as given, and the store timestamp as born timestamp when none is given', (t) => {
  const store = open(tempDir(t));
  t.teardown(() => store.close());
  const base = { topic: 'Hosts', queueId: 0, body: Buffer.from('h'), properties: Buffer.alloc(0) };
  const hosts = [
    { bornHost: '192.168.7.9', bornPort: 65535 },
    { bornHost: 'fe80::1:abcd:ef01', bornPort: 40000 },
    { bornHostPacked: packHost('2001:db8::ff00:42:8329', 1) },
  ];
  const stored = hosts.map((host) => {
    const result = store.append({ ...base, ...host });
    const message = decodeStoredMessage(store.messageAt(result.physicalOffset)).message;
    t.is(message.bornTimestamp, result.storeTimestamp, 'no bornTimestamp: born when stored');
    return message.bornHost;
  });
  t.deepEqual(stored, [
    { address: '192.168.7.9', port: 65535 },
    { address: 'fe80::1:abcd:ef01', port: 40000 },
    { address: '2001:db8::ff00:42:8329', port: 1 },
  ]);
  const badPacked = t.throws(() => store.append({ ...base, bornHostPacked: Buffer.alloc(5) }), { instanceOf: StoreError });
  t.is(badPacked?.code, 'INVALID_ARGUMENT');
  t.is(store.append(base).queueOffset, 3, 'the refused append took no queue offset');
});

test('two stores open in one process keep their own topics and offsets; a closed one refuses appends with CLOSED', (t) => {
  const first = open(tempDir(t));
  const second = open(tempDir(t));
  t.teardown(() => second.close());
  const message = (topic: string) => ({ topic, queueId: 0, body: Buffer.from('x'), properties: Buffer.alloc(0) });
  first.append(message('Shared'));
  first.append(message('Shared'));
  t.is(second.append(message('Other')).queueOffset, 0);
  t.is(second.append(message('Shared')).queueOffset, 0, 'the second store counts its own offsets');
  first.close();
  t.is(t.throws(() => first.append(message('Shared')), { instanceOf: StoreError })?.code, 'CLOSED');
  t.is(second.append(message('Shared')).queueOffset, 1);
  const reopened = open(tempDir(t));
  t.teardown(() => reopened.close());
  t.is(reopened.append(message('Fresh')).queueOffset, 0, 'a store opened after a close takes its slot cleanly');
});

test('a closed store collected after another took its place does not close the newcomer', async (t) => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const dir = tempDir(t);
  const message = { topic: 'Reopened', queueId: 0, body: Buffer.from('x'), properties: Buffer.alloc(0) };
  (() => {
    const first = open(dir);
    first.append(message);
    first.close();
  })();
  const second = open(dir);
  t.teardown(() => second.close());
  // The old store's JS objects become collectable only once its listeners are released.
  for (let i = 0; i < 20; i++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  t.is(second.append(message).queueOffset, 1);
});

test('a single append with a non-integer or out-of-range number is refused with INVALID_ARGUMENT and stores nothing', (t) => {
  const store = open(tempDir(t));
  t.teardown(() => store.close());
  const ok = { topic: 'Checked', queueId: 0, body: Buffer.from('x'), properties: Buffer.alloc(0) };
  for (const bad of [{ queueId: 1.5 }, { flag: 2 ** 31 }, { bornTimestamp: Number.NaN }, { reconsumeTimes: -(2 ** 32) }]) {
    t.is(t.throws(() => store.append({ ...ok, ...bad }), { instanceOf: StoreError })?.code, 'INVALID_ARGUMENT', JSON.stringify(bad));
  }
  t.is(store.append(ok).queueOffset, 0, 'the refused appends took no queue offset');
});

test('a second process-level open of the same store is refused with STORE_LOCKED', (t) => {
  const dir = tempDir(t);
  const store = open(dir);
  t.teardown(() => store.close());
  const error = t.throws(() => open(dir), { instanceOf: StoreError });
  t.is(error?.code, 'STORE_LOCKED');
});

test('256 concurrent SYNC_FLUSH waiters are covered by far fewer fsyncs (group commit)', async (t) => {
  const store = open(tempDir(t), { flushDiskType: 'SYNC_FLUSH' });
  t.teardown(() => store.close());
  const before = store.stats().fsyncs;
  const waits = Array.from({ length: 256 }, (_, i) => store.waitFlushed(append(store, i).endOffset));
  await Promise.all(waits);
  const fsyncs = store.stats().fsyncs - before;
  t.log(`256 waiters, ${fsyncs} fsyncs`);
  t.true(fsyncs >= 1);
  // One fsync per waiter would be 256; group commit covers many waiters per fsync.
  t.true(fsyncs <= 64, `expected group commit, got ${fsyncs} fsyncs for 256 waiters`);
  t.true(store.flushedOffset >= store.commitLogMaxOffset);
});

test('sendfile transfers records to a socket and counts the bytes', async (t) => {
  const store = open(tempDir(t));
  t.teardown(() => store.close());
  for (let i = 0; i < 50; i++) append(store, i);
  t.true(store.waitDispatched(5000));
  const pull = store.getMessages('TopicTest', 0, 0, 64, 1 << 20);
  const expected = Buffer.concat(store.messageBuffers(pull));
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => server.close());
  const port = (server.address() as { port: number }).port;
  const accepted = once(server, 'connection') as Promise<[Socket]>;
  const client = connect(port, '127.0.0.1');
  const [serverSide] = await accepted;
  const received: Buffer[] = [];
  client.on('data', (chunk: Buffer) => received.push(chunk));
  const fd = (serverSide as unknown as { _handle: { fd: number } })._handle.fd;
  const before = store.stats().transferredBytes;
  const sent = await store.transfer(fd, pull, 5000);
  t.is(sent, expected.length);
  t.is(store.stats().transferredBytes - before, expected.length);
  while (Buffer.concat(received).length < expected.length) await once(client, 'data');
  t.true(Buffer.concat(received).equals(expected));
  client.destroy();
  serverSide.destroy();
});

test('closing the store while a transfer to a stalled socket is in flight succeeds; the transfer then ends', async (t) => {
  const store = open(tempDir(t));
  for (let i = 0; i < 400; i++) store.append({ topic: 'Stalled', queueId: 0, body: Buffer.alloc(16 * 1024, i), properties: Buffer.alloc(0) });
  t.true(store.waitDispatched(5000));
  const pull = store.getMessages('Stalled', 0, 0, 400, 64 << 20);
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => server.close());
  const accepted = once(server, 'connection') as Promise<[Socket]>;
  const client = connect((server.address() as { port: number }).port, '127.0.0.1');
  client.pause(); // reads nothing: ~6 MiB cannot fit in the socket buffers, the transfer waits
  const [serverSide] = await accepted;
  const fd = (serverSide as unknown as { _handle: { fd: number } })._handle.fd;
  const transfer = store.transfer(fd, pull, 2000);
  await new Promise((resolve) => setTimeout(resolve, 100));
  t.notThrows(() => store.close());
  const outcome = await transfer.then(() => 'sent', (error: unknown) => (error as StoreError).code);
  t.is(outcome, 'TRANSFER_TIMEOUT');
  client.destroy();
  serverSide.destroy();
});

test('page-cache hints through the binding: the in-memory window, the read split, residency on request, bad ratios refused', (t) => {
  // 10 KiB of "memory" at 50 %: reads within 5,120 bytes of the write head count as in memory.
  const store = open(tempDir(t), { totalPhysicalMemorySize: 10 * 1024, accessMessageInMemoryMaxRatio: 50, pageCacheSampleInterval: 0 });
  t.teardown(() => store.close());
  t.is(store.pageCache().inMemoryWindowBytes, 5 * 1024);
  t.is(store.pageCache().residency, undefined, 'no sampler thread and no sample yet');
  const records = Array.from({ length: 100 }, (_, i) => append(store, i));
  t.true(store.waitDispatched(5000));
  const pull = store.getMessages('TopicTest', 0, 0, 100, 1 << 20);
  t.is(pull.messageCount, 100);
  const head = store.commitLogMaxOffset;
  const hot = records.filter((r) => head - r.physicalOffset <= 5 * 1024);
  t.true(hot.length > 0 && hot.length < records.length);
  const stats = store.stats();
  t.is(stats.readMessagesInMemory, hot.length);
  t.is(stats.readBytesInMemory, hot.reduce((sum, r) => sum + r.size, 0));
  t.is(stats.readMessagesOnDisk, records.length - hot.length);
  t.is(stats.readBytesInMemory + stats.readBytesOnDisk, pull.totalBytes);
  const sample = store.samplePageCacheNow();
  t.is(sample.mappedBytes, SMALL.mappedFileSizeCommitLog);
  t.true(sample.residentBytes <= sample.mappedBytes && sample.hotTailResidentBytes <= sample.hotTailBytes);
  t.deepEqual(store.pageCache().residency, sample);
  const error = t.throws(() => open(tempDir(t), { accessMessageInMemoryMaxRatio: 101 }), { instanceOf: StoreError });
  t.is(error?.code, 'INVALID_ARGUMENT');
});
