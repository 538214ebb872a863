// Storage engine benchmark: every figure is printed beside a raw limit measured in the same
// run on the same disk, as a ratio. Figures, not pass/fail.
//
//   npm run bench:store            (about two minutes; writes ~1.5 GiB at a time under $BENCH_DIR or /tmp)
//   BENCH_STORE_ROUNDS=3           rounds of the alternating target figures
import { closeSync, fdatasyncSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { createServer, connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MessageStore, type StoreOptions } from '../../ts/store/index.js';

const root = mkdtempSync(join(process.env.BENCH_DIR ?? tmpdir(), 'bolide-bench-'));
process.on('exit', () => rmSync(root, { recursive: true, force: true }));

const PROPS = Buffer.from('TAGS\u0001TagA\u0002KEYS\u0001order-1\u0002');
let storeCount = 0;

function openStore(extra: Partial<StoreOptions> = {}): MessageStore {
  return MessageStore.open({
    storePathRootDir: join(root, `store-${storeCount++}`),
    diskMaxUsedSpaceRatio: 95,
    diskCleanForciblyRatio: 97,
    diskFullRatio: 99,
    deleteWhen: [],
    ...extra,
  });
}

const ROUNDS = Math.max(1, Number(process.env.BENCH_STORE_ROUNDS ?? 3));

function medianOf(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/** Deletes the store `openStore` made last (each holds preallocated 1 GiB segments). */
function removeLastStore(): void {
  removeSettled(join(root, `store-${storeCount - 1}`));
}

/**
 * Delete and wait until the file system has committed the deletion. This VM's ext4 is mounted
 * with `discard` (freed blocks are discarded when the journal commits), so without this the
 * first fsyncs of the next timed run could carry the discards of the last one's files.
 */
function removeSettled(path: string): void {
  rmSync(path, { recursive: true, force: true });
  execFileSync('sync');
}

function mb(bytes: number): number {
  return bytes / (1024 * 1024);
}

function fmt(value: number, digits = 0): string {
  return value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

function line(label: string, value: string, reference: string, ratio: number): void {
  console.log(`${label.padEnd(44)} ${value.padStart(26)}   ref ${reference.padStart(22)}   ratio ${fmt(ratio, 2)}`);
}

/** Raw sequential write: the same number of bytes in 1 MiB writes, then one fdatasync. */
function rawSequentialWrite(bytes: number): number {
  const path = join(root, `raw-${Date.now()}`);
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(1 << 20, 7);
  const start = performance.now();
  for (let written = 0; written < bytes; written += chunk.length) writeSync(fd, chunk);
  fdatasyncSync(fd);
  const seconds = (performance.now() - start) / 1000;
  closeSync(fd);
  removeSettled(path);
  return mb(bytes) / seconds;
}

/** Raw fdatasync rate: append 1 KiB and fdatasync, repeatedly. */
function rawFsyncRate(durationMs: number): number {
  const path = join(root, 'raw-fsync');
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(1024, 1);
  const end = performance.now() + durationMs;
  let count = 0;
  while (performance.now() < end) {
    writeSync(fd, chunk);
    fdatasyncSync(fd);
    count++;
  }
  closeSync(fd);
  removeSettled(path);
  return count / (durationMs / 1000);
}

/** Raw synced bandwidth: write `chunk` bytes and fdatasync, repeatedly (a group commit's shape). */
function rawSyncedBandwidth(chunk: number, durationMs: number): number {
  const path = join(root, 'raw-synced');
  const fd = openSync(path, 'w');
  const buffer = Buffer.alloc(chunk, 2);
  const end = performance.now() + durationMs;
  let bytes = 0;
  const start = performance.now();
  while (performance.now() < end) {
    writeSync(fd, buffer);
    fdatasyncSync(fd);
    bytes += chunk;
  }
  const seconds = (performance.now() - start) / 1000;
  closeSync(fd);
  removeSettled(path);
  return mb(bytes) / seconds;
}

function appendThroughput(
  bodySize: number,
  count: number,
  batch: number,
  options: Partial<StoreOptions> = {},
): { rate: number; mbps: number; bytes: number } {
  const store = openStore(options);
  const body = Buffer.alloc(bodySize, 0x61);
  const message = { topic: 'BenchTopic', queueId: 0, body, properties: PROPS };
  const messages = Array.from({ length: batch }, () => message);
  // Steady state: the first segment is allocated in the background at open.
  store.append(message);
  const start = performance.now();
  if (batch === 1) {
    for (let i = 0; i < count; i++) store.append(message);
  } else {
    for (let i = 0; i < count; i += batch) store.appendBatch(messages);
  }
  store.flushAll();
  const seconds = (performance.now() - start) / 1000;
  const bytes = store.commitLogMaxOffset;
  store.close();
  removeLastStore();
  return { rate: count / seconds, mbps: mb(bytes) / seconds, bytes };
}

/**
 * `concurrency` clients, each appending 1 KiB and awaiting its flush, in a loop. The first
 * `warmUpMs` are not counted: on this VM a run that starts after a quiet second (such as the
 * 1-waiter run before it) was 15-30% slower in its first seconds than the same run started
 * while the machine was busy (paired runs of the 256-waiter case: 186k-237k vs 285k-349k msg/s).
 */
async function syncFlush(concurrency: number, durationMs: number, warmUpMs = 1000): Promise<{ rate: number; perSync: number }> {
  const store = openStore({ flushDiskType: 'SYNC_FLUSH' });
  const body = Buffer.alloc(1024, 0x62);
  const timedFrom = performance.now() + warmUpMs;
  const end = timedFrom + durationMs;
  let acked = 0;
  let fsyncsBefore: number | undefined;
  async function client(queueId: number): Promise<void> {
    while (performance.now() < end) {
      const result = store.append({ topic: 'SyncTopic', queueId: queueId % 8, body, properties: PROPS });
      await store.waitFlushed(result.endOffset);
      if (performance.now() < timedFrom) continue;
      fsyncsBefore ??= store.stats().fsyncs;
      acked++;
    }
  }
  await Promise.all(Array.from({ length: concurrency }, (_, i) => client(i)));
  const seconds = (performance.now() - timedFrom) / 1000;
  const fsyncs = store.stats().fsyncs - (fsyncsBefore ?? 0);
  store.close();
  removeLastStore();
  return { rate: acked / seconds, perSync: acked / Math.max(1, fsyncs) };
}

function fillForReads(count: number): MessageStore {
  const store = openStore();
  const body = Buffer.alloc(1024, 0x63);
  for (let i = 0; i < count; i++) store.append({ topic: 'ReadTopic', queueId: 0, body, properties: PROPS });
  store.flushAll();
  store.waitDispatched(60_000);
  return store;
}

function readAll(store: MessageStore): { rate: number; mbps: number } {
  let offset = 0;
  let messages = 0;
  let bytes = 0;
  let checksum = 0;
  const start = performance.now();
  for (;;) {
    const pull = store.getMessages('ReadTopic', 0, offset, 32, 256 * 1024);
    if (pull.status !== 'FOUND') break;
    for (const record of store.messageBuffers(pull)) {
      checksum ^= record[record.length - 1]!; // touch the bytes so the page is really read
      bytes += record.length;
    }
    messages += pull.messageCount;
    offset = pull.nextBeginOffset;
  }
  const seconds = (performance.now() - start) / 1000;
  if (checksum === -1) console.log('unreachable');
  return { rate: messages / seconds, mbps: mb(bytes) / seconds };
}

function dropPageCache(): boolean {
  try {
    writeFileSync('/proc/sys/vm/drop_caches', '1');
    return true;
  } catch {
    return false;
  }
}

async function socketPair(): Promise<{ server: Socket; client: Socket; close: () => void }> {
  const listener = createServer();
  listener.listen(0, '127.0.0.1');
  await once(listener, 'listening');
  const port = (listener.address() as { port: number }).port;
  const accepted = once(listener, 'connection') as Promise<[Socket]>;
  const client = connect(port, '127.0.0.1');
  const [server] = await accepted;
  return { server, client, close: () => (client.destroy(), server.destroy(), listener.close()) };
}

/**
 * Deliver every record of the read queue to a loopback socket in pulls of `perPull` records:
 * `writev` writes the zero-copy Buffers (corked, so one writev per pull), `sendfile` hands the
 * slices to the engine's transfer (libuv pool, duplicated fd).
 */
async function deliver(store: MessageStore, mode: 'sendfile' | 'writev', perPull: number): Promise<number> {
  const { server, client, close } = await socketPair();
  let received = 0;
  client.on('data', (chunk: Buffer) => (received += chunk.length));
  const fd = (server as unknown as { _handle: { fd: number } })._handle.fd;
  let offset = 0;
  let sent = 0;
  const start = performance.now();
  for (;;) {
    const pull = store.getMessages('ReadTopic', 0, offset, perPull, 64 << 20);
    if (pull.status !== 'FOUND') break;
    if (mode === 'sendfile') {
      sent += await store.transfer(fd, pull, 10_000);
    } else {
      server.cork();
      let ok = true;
      for (const record of store.messageBuffers(pull)) {
        ok = server.write(record);
        sent += record.length;
      }
      server.uncork();
      if (!ok) await once(server, 'drain');
    }
    offset = pull.nextBeginOffset;
  }
  while (received < sent) await once(client, 'data');
  const seconds = (performance.now() - start) / 1000;
  close();
  return mb(sent) / seconds;
}

function rssFileMiB(): number {
  const status = readFileSync('/proc/self/status', 'utf8');
  const match = /RssFile:\s+(\d+) kB/.exec(status);
  return match ? Number(match[1]) / 1024 : NaN;
}

/** Write ~256 MiB through 64 MiB segments; report the process's mapped file pages after. */
function rssAfterWrites(releaseColdSegments: boolean): number {
  const store = openStore({ mappedFileSizeCommitLog: 64 << 20, releaseColdSegments });
  const body = Buffer.alloc(1024, 0x64);
  for (let i = 0; i < 250_000; i++) store.append({ topic: 'RssTopic', queueId: 0, body, properties: PROPS });
  store.flushAll();
  const rss = rssFileMiB();
  store.close();
  return rss;
}

/** Catch-up read of old segments with the page cache dropped, with and without read-ahead. */
function catchUpRead(readAhead: boolean, dir: string): { mbps: number } | null {
  const store = openStore({ storePathRootDir: dir, mappedFileSizeCommitLog: 64 << 20, catchUpReadAhead: readAhead });
  if (!dropPageCache()) {
    store.close();
    return null;
  }
  const result = readAll(store);
  store.close();
  return { mbps: result.mbps };
}

/**
 * Steady-state appends with and without warmMappedFile: fill the first 64 MiB segment
 * (untimed), give the allocator time to prepare the next one, then time appends into it.
 */
async function warmAppend(warm: boolean): Promise<number> {
  const store = openStore({ mappedFileSizeCommitLog: 64 << 20, warmMappedFile: warm });
  const body = Buffer.alloc(1024, 0x65);
  const message = { topic: 'WarmTopic', queueId: 0, body, properties: PROPS };
  while (store.commitLogMaxOffset < (64 << 20) - (1 << 20)) store.append(message);
  await new Promise((resolve) => setTimeout(resolve, 3000));
  const count = 50_000;
  const start = performance.now();
  for (let i = 0; i < count; i++) store.append(message);
  const rate = count / ((performance.now() - start) / 1000);
  store.close();
  return rate;
}

async function pageCacheTuning(): Promise<void> {
  console.log('## Page-cache tuning (madvise, writeback), each beside the same run with it off');
  const released = rssAfterWrites(true);
  const kept = rssAfterWrites(false);
  line('RssFile after 250 MiB, DONTNEED cold segments', `${fmt(released)} MiB`, `${fmt(kept)} MiB without`, released / kept);
  const dir = join(root, 'catch-up');
  const filler = openStore({ storePathRootDir: dir, mappedFileSizeCommitLog: 64 << 20 });
  const body = Buffer.alloc(1024, 0x66);
  for (let i = 0; i < 250_000; i++) filler.append({ topic: 'ReadTopic', queueId: 0, body, properties: PROPS });
  filler.flushAll();
  filler.waitDispatched(60_000);
  filler.close();
  const without = catchUpRead(false, dir);
  const withAhead = catchUpRead(true, dir);
  if (without && withAhead) {
    line('cold catch-up read, WILLNEED read-ahead', `${fmt(withAhead.mbps)} MB/s`, `${fmt(without.mbps)} MB/s without`, withAhead.mbps / without.mbps);
  } else {
    console.log('cold catch-up read: not measured (cannot drop the page cache here)');
  }
  const cold = await warmAppend(false);
  const warm = await warmAppend(true);
  line('append 1 KiB, warmMappedFile (pre-touch)', `${fmt(warm)} msg/s`, `${fmt(cold)} msg/s without`, warm / cold);
  const writeBack: number[] = [];
  const noWriteBack: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    noWriteBack.push(appendThroughput(1024, 200_000, 32, { writeBackBehindHead: false }).mbps);
    writeBack.push(appendThroughput(1024, 200_000, 32, { writeBackBehindHead: true }).mbps);
  }
  line('append 1 KiB x32 + flush, writeback behind head', `${fmt(medianOf(writeBack))} MB/s`, `${fmt(medianOf(noWriteBack))} MB/s without`,
    medianOf(writeBack) / medianOf(noWriteBack));
}

async function main(): Promise<void> {
  console.log(`# bolide storage bench (node ${process.version}, store under ${root})`);
  // The disk and page cache of a shared machine vary by 2-4x within a minute, so each target
  // figure is measured in ROUNDS rounds that alternate it with its reference, and the median of
  // the per-round ratios is reported (with the rounds, so the spread is visible).
  console.log(`## ASYNC_FLUSH appends from JS vs raw sequential write of the same bytes (${ROUNDS} alternating rounds, medians)`);
  // One untimed round of each first: the first touch of memory the VM has not used for a while
  // is several times slower (free-page reporting), whichever side meets it.
  rawSequentialWrite(appendThroughput(1024, 200_000, 32).bytes);
  for (const [bodySize, count] of [[128, 400_000], [1024, 200_000]] as const) {
    for (const batch of [1, 32]) {
      const appends: Array<{ rate: number; mbps: number }> = [];
      const raws: number[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        const result = appendThroughput(bodySize, count, batch);
        appends.push(result);
        raws.push(rawSequentialWrite(result.bytes));
      }
      const ratios = appends.map((a, i) => a.mbps / (raws[i] as number));
      const label = `append ${bodySize} B ${batch === 1 ? 'single' : `batch x${batch}`}`;
      line(label, `${fmt(medianOf(appends.map((a) => a.rate)))} msg/s ${fmt(medianOf(appends.map((a) => a.mbps)))} MB/s`,
        `${fmt(medianOf(raws))} MB/s raw`, medianOf(ratios));
      console.log(`    rounds (append MB/s / raw MB/s): ${appends.map((a, i) => `${fmt(a.mbps)}/${fmt(raws[i] as number)}`).join('  ')}`);
    }
  }
  console.log(`## SYNC_FLUSH (1 KiB) vs raw write+fdatasync rate (${ROUNDS} rounds of 1, 16, 256 waiters, each 2 s timed after 1 s of the same load untimed; ratios per round, medians)`);
  const fsyncRate = rawFsyncRate(2000);
  const byConcurrency = new Map<number, Array<{ rate: number; perSync: number }>>([[1, []], [16, []], [256, []]]);
  for (let round = 0; round < ROUNDS; round++) {
    for (const [concurrency, runs] of byConcurrency) runs.push(await syncFlush(concurrency, 2000));
  }
  const singles = byConcurrency.get(1)!;
  const single = { rate: medianOf(singles.map((r) => r.rate)), perSync: medianOf(singles.map((r) => r.perSync)) };
  line('sync flush, 1 waiter', `${fmt(single.rate)} msg/s ${fmt(single.perSync, 1)}/sync`, `${fmt(fsyncRate)} fsync/s raw`, single.rate / fsyncRate);
  for (const concurrency of [16, 256]) {
    const runs = byConcurrency.get(concurrency)!;
    const ratios = runs.map((r, i) => r.rate / (singles[i] as { rate: number }).rate);
    line(
      `sync flush, ${concurrency} concurrent waiters`,
      `${fmt(medianOf(runs.map((r) => r.rate)))} msg/s ${fmt(medianOf(runs.map((r) => r.perSync)), 1)}/sync`,
      `${fmt(single.rate)} msg/s 1 waiter`,
      medianOf(ratios),
    );
    console.log(`    rounds (msg/s vs 1 waiter): ${runs.map((r, i) => `${fmt(r.rate)}/${fmt((singles[i] as { rate: number }).rate)}`).join('  ')}`);
    // The stricter reference: a raw loop of 1 KiB write + fdatasync, measured in this run.
    console.log(`    vs raw fdatasync (${fmt(fsyncRate)}/s): ratio ${fmt(medianOf(runs.map((r) => r.rate)) / fsyncRate, 2)}`);
  }
  // A group commit of 256 x 1 KiB is a ~290 KB write + fdatasync: compare with the disk doing
  // exactly that, to see how close the group commit gets to the synced-bandwidth limit.
  const synced = rawSyncedBandwidth(256 * 1134, 2000);
  const at256 = await syncFlush(256, 3000);
  line('sync flush 256 waiters, synced MB/s', `${fmt((at256.rate * 1134) / (1 << 20))} MB/s`, `${fmt(synced)} MB/s raw 290 KB+fdatasync`, (at256.rate * 1134) / (1 << 20) / synced);
  console.log('## Reads (1 KiB records, 32 per pull) and delivery to a loopback socket');
  const store = fillForReads(200_000);
  const warm = readAll(store);
  const rawRead = rawSequentialWrite(64 << 20); // disk reference for context
  line('read warm (page cache)', `${fmt(warm.rate)} msg/s ${fmt(warm.mbps)} MB/s`, `${fmt(rawRead)} MB/s raw write`, warm.mbps / rawRead);
  store.close();
  const reopened = openStore({ storePathRootDir: join(root, `store-${storeCount - 1}`) });
  if (dropPageCache()) {
    const cold = readAll(reopened);
    line('read cold (page cache dropped)', `${fmt(cold.rate)} msg/s ${fmt(cold.mbps)} MB/s`, `${fmt(warm.mbps)} MB/s warm`, cold.mbps / warm.mbps);
  } else {
    console.log('read cold: not measured (cannot drop the page cache here)');
  }
  for (const perPull of [4, 32, 256, 1024]) {
    const writev = await deliver(reopened, 'writev', perPull);
    const zeroCopy = await deliver(reopened, 'sendfile', perPull);
    line(`deliver ${perPull}-record pulls (~${perPull} KiB): sendfile`, `${fmt(zeroCopy)} MB/s`, `${fmt(writev)} MB/s writev`, zeroCopy / writev);
  }
  reopened.close();
  await pageCacheTuning();
}

await main();
