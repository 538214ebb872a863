// The one module that imports the generated napi binding (see ARCHITECTURE.md). It holds no
// storage logic: it converts arguments and errors, keeps the per-segment Buffers and turns
// the engine's batched flush reports into per-append promises.
import { createRequire } from 'node:module';
import type * as Binding from './binding.cjs';
import { StoreError, toStoreError } from './errors.js';
import { bornHostOf, hostIntoNumbers, packHost } from './born-host.js';
import { FlushWaiters } from './flush-waiters.js';

export { StoreError, type StoreErrorCode } from './errors.js';
export { packHost } from './born-host.js';

const require = createRequire(import.meta.url);
/** Exported by hand, outside napi-rs's generated types (native/src/raw_call.rs says why). */
interface PlainFunctions {
  /** See native/src/fast_path.rs: in/out numbers in `io`, returns the physical offset. */
  appendOne(handle: number, topicId: number, body: Uint8Array, properties: Uint8Array, io: Float64Array): number;
}
const binding = require('./binding.cjs') as typeof Binding & PlainFunctions;

export type FlushDiskType = 'SYNC_FLUSH' | 'ASYNC_FLUSH';

/** Store settings; names are RocketMQ's broker.conf keys. Durations in ms unless noted. */
export interface StoreOptions {
  storePathRootDir: string;
  mappedFileSizeCommitLog?: number;
  /** Entries per ConsumeQueue file (RocketMQ: mappedFileSizeConsumeQueue / 20). */
  consumeQueueEntriesPerFile?: number;
  flushDiskType?: FlushDiskType;
  flushIntervalCommitLog?: number;
  flushCommitLogLeastPages?: number;
  flushCommitLogThoroughInterval?: number;
  flushIntervalConsumeQueue?: number;
  /** How long a SYNC_FLUSH append waits for its group commit before FLUSH_DISK_TIMEOUT. */
  syncFlushTimeout?: number;
  maxMessageSize?: number;
  warmMappedFile?: boolean;
  /** Hours. */
  fileReservedTime?: number;
  /** Hours of the day, e.g. [4] for deleteWhen=04. */
  deleteWhen?: number[];
  diskMaxUsedSpaceRatio?: number;
  diskCleanForciblyRatio?: number;
  diskFullRatio?: number;
  cleanResourceInterval?: number;
  messageIndexEnable?: boolean;
  maxHashSlotNum?: number;
  maxIndexNum?: number;
  /** Bolide: MADV_WILLNEED ahead of readers catching up in older segments (default true). */
  catchUpReadAhead?: boolean;
  /** Bolide: MADV_DONTNEED on segments the writer left behind (default true). */
  releaseColdSegments?: boolean;
  /** Bolide: start writeback of what the writer left behind, without waiting (default true). */
  writeBackBehindHead?: boolean;
  /** Bolide: write appends with pwrite rather than through the mapping (default: with SYNC_FLUSH). */
  appendByPwrite?: boolean;
  /** Bolide: with appendByPwrite, write zeros to disk ahead of the write head so group commits land on initialized blocks; writes the CommitLog twice (default false). */
  zeroFillAhead?: boolean;
  /** Bolide: run the engine's helper threads (allocator, dispatcher, retention, page-cache sampler) at a higher nice value than the opening thread, so appends and the flusher win the cores (default true). */
  lowerHelperThreadPriority?: boolean;
  /** Percent of physical memory behind the write head that reads count as "in memory" (40). */
  accessMessageInMemoryMaxRatio?: number;
  /** Bolide: physical memory size (bytes) for that estimate; default RAM or the cgroup limit if lower. */
  totalPhysicalMemorySize?: number;
  /** Bolide: ms between CommitLog residency samples (mincore); 0 = only on request. */
  pageCacheSampleInterval?: number;
}

export interface AppendMessage {
  topic: string;
  queueId: number;
  body: Buffer;
  /** Encoded properties string (`key\x01value\x02`...). */
  properties: Buffer;
  flag?: number;
  sysFlag?: number;
  /** Default: the store timestamp (a message nobody dated was born as it was stored). */
  bornTimestamp?: number;
  bornHost?: string;
  bornPort?: number;
  /** `bornHost:bornPort` pre-encoded with `packHost` (callers cache it per connection). */
  bornHostPacked?: Buffer;
  reconsumeTimes?: number;
  preparedTransactionOffset?: number;
}

export interface AppendResult {
  physicalOffset: number;
  size: number;
  queueOffset: number;
  storeTimestamp: number;
  /** Offset message id: store host + physical offset, hex. */
  msgId: string;
  /** The record is durable once the flushed offset reaches this. */
  endOffset: number;
}

export type GetMessageStatus =
  | 'FOUND'
  | 'NO_MATCHED_MESSAGE'
  | 'MESSAGE_WAS_REMOVING'
  | 'OFFSET_FOUND_NULL'
  | 'OFFSET_OVERFLOW_BADLY'
  | 'OFFSET_OVERFLOW_ONE'
  | 'OFFSET_TOO_SMALL'
  | 'NO_MATCHED_LOGIC_QUEUE'
  | 'NO_MESSAGE_IN_QUEUE';

export interface PullResult {
  status: GetMessageStatus;
  nextBeginOffset: number;
  minOffset: number;
  maxOffset: number;
  messageCount: number;
  totalBytes: number;
  /** [segmentStart, position, length, queueOffset] per message. */
  slices: Float64Array;
}

export interface QueueGrowth {
  topic: string;
  queueId: number;
  maxOffset: number;
}

export type StoreStatistics = Binding.StoreStatistics;
export type RecoveryInfo = Binding.RecoveryInfo;
export type PageCacheInfo = Binding.PageCacheInfo;
export type PageCacheResidency = Binding.PageCacheResidency;

function call<T>(fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    throw toStoreError(error);
  }
}

const EMPTY = Buffer.alloc(0);

/** Bound on the interned topic ids of `append` (each is a name in a table). */
const MAX_TOPIC_IDS = 100_000;

/** See #requestGroupCommit. */
const EARLY_GROUP_COMMIT = 64;

/** appendOne's `io`: six message numbers, then the born host (native/src/fast_path.rs). */
const APPEND_ONE_IO = 12;

/**
 * The born timestamp as the binding takes it: NaN for "not given", and the engine writes the
 * store timestamp (one clock read per append, not two), so a NaN from the caller is refused.
 */
function bornTimestampOf(message: AppendMessage): number {
  const born = message.bornTimestamp;
  if (born === undefined) return Number.NaN;
  if (Number.isNaN(born)) throw new StoreError('INVALID_ARGUMENT', 'bornTimestamp NaN is not an integer');
  return born;
}

/** Numbers per message in appendMany's `meta` (the binding's META_FIELDS). */
const META_FIELDS = 10;

/** A Bolide message store: CommitLog, ConsumeQueues, IndexFile (see ARCHITECTURE.md). */
export class MessageStore {
  readonly #native: Binding.NativeStore;
  readonly #flushWaiters = new FlushWaiters();
  readonly #segmentBuffers = new Map<number, Buffer>();
  readonly #growthListeners = new Set<(grown: QueueGrowth[]) => void>();
  readonly #syncFlushTimeout: number;
  /** appendOne's numbers, in and out (see the binding); reused, no allocation. */
  readonly #appendIo = new Float64Array(APPEND_ONE_IO);
  readonly #topicIds = new Map<string, number>();
  /** The native store's handle for the binding's free hot-path functions. */
  readonly #fastHandle: number;
  readonly #batchScratch = new BatchScratch();
  #storeHostHex = packHost('127.0.0.1', 10911).toString('hex').toUpperCase();
  readonly flushDiskType: FlushDiskType;
  #closed = false;
  #groupCommitScheduled = false;
  #appendsSinceRequest = 0;
  /** Drops Buffers of segments retention removed, so their disk space can be released. */
  readonly #pruneTimer: NodeJS.Timeout;

  private constructor(native: Binding.NativeStore, options: StoreOptions) {
    this.#native = native;
    this.#fastHandle = native.fastHandle;
    this.flushDiskType = options.flushDiskType ?? 'ASYNC_FLUSH';
    this.#syncFlushTimeout = options.syncFlushTimeout ?? 5000;
    native.onFlushed((event) => this.#flushWaiters.flushed(event.flushedOffset, event.error));
    native.onDispatched((grown) => {
      for (const listener of this.#growthListeners) listener(grown);
    });
    this.#pruneTimer = setInterval(() => this.#forgetRemovedSegments(), 10_000);
    this.#pruneTimer.unref();
  }

  /** Open (and recover) a store. Throws StoreError STORE_LOCKED if another process has it. */
  static open(options: StoreOptions): MessageStore {
    const { syncFlushTimeout: _timeout, consumeQueueEntriesPerFile, ...rest } = options;
    const native = call(
      () => new binding.NativeStore({ ...rest, mappedFileSizeConsumeQueueEntries: consumeQueueEntriesPerFile }),
    );
    return new MessageStore(native, options);
  }

  /** The address written as STOREHOST (brokerIP1 and the port actually bound). */
  setStoreHost(host: string, port: number): void {
    call(() => this.#native.setStoreHost(host, port));
    this.#storeHostHex = packHost(host, port).toString('hex').toUpperCase();
  }

  append(message: AppendMessage): AppendResult {
    const io = this.#appendIo;
    io[0] = message.queueId;
    io[1] = message.sysFlag ?? 0;
    io[2] = message.flag ?? 0;
    io[3] = bornTimestampOf(message);
    io[4] = message.reconsumeTimes ?? 0;
    io[5] = message.preparedTransactionOffset ?? 0;
    hostIntoNumbers(message.bornHostPacked ?? bornHostOf(message), io, 6);
    const topicId = this.#topicIds.get(message.topic) ?? this.#registerTopic(message.topic);
    const physicalOffset = call(() => binding.appendOne(this.#fastHandle, topicId, message.body, message.properties, io));
    return new StoredRecord(physicalOffset, io[2]!, io[0]!, io[1]!, this.#storeHostHex);
  }

  /** Topic ids for appendOne; the table is dropped whole if it ever grows huge. */
  #registerTopic(topic: string): number {
    if (this.#topicIds.size >= MAX_TOPIC_IDS) {
      call(() => binding.clearTopics(this.#fastHandle));
      this.#topicIds.clear();
    }
    const id = call(() => binding.registerTopic(this.#fastHandle, topic));
    this.#topicIds.set(topic, id);
    return id;
  }

  /**
   * Append messages as one unit (all or none), with consecutive queue offsets. The batch
   * crosses into the engine as numbers and one byte buffer (see the binding's appendMany):
   * converting a JS object per message cost more than the append itself.
   */
  appendBatch(messages: AppendMessage[]): AppendResult[] {
    const count = messages.length;
    if (count === 0) return [];
    const topics: string[] = [];
    const hosts: Buffer[] = new Array<Buffer>(count);
    let dataBytes = 0;
    const meta = this.#batchScratch.meta(count * META_FIELDS);
    for (let i = 0; i < count; i++) {
      const m = messages[i] as AppendMessage;
      let topicIndex = topics.indexOf(m.topic);
      if (topicIndex < 0) topicIndex = topics.push(m.topic) - 1;
      const host = m.bornHostPacked ?? bornHostOf(m);
      hosts[i] = host;
      const at = i * META_FIELDS;
      meta[at] = topicIndex;
      meta[at + 1] = m.queueId;
      meta[at + 2] = m.sysFlag ?? 0;
      meta[at + 3] = m.flag ?? 0;
      meta[at + 4] = bornTimestampOf(m);
      meta[at + 5] = m.reconsumeTimes ?? 0;
      meta[at + 6] = m.preparedTransactionOffset ?? 0;
      meta[at + 7] = host.length;
      meta[at + 8] = m.body.length;
      meta[at + 9] = m.properties.length;
      dataBytes += host.length + m.body.length + m.properties.length;
    }
    const data = this.#batchScratch.data(dataBytes);
    let written = 0;
    for (let i = 0; i < count; i++) {
      const m = messages[i] as AppendMessage;
      // TypedArray#set, not Buffer#copy: the latter's argument handling cost as much as
      // the copy of a 1 KiB body.
      const host = hosts[i] as Buffer;
      data.set(host, written);
      written += host.length;
      data.set(m.body, written);
      written += m.body.length;
      data.set(m.properties, written);
      written += m.properties.length;
    }
    const out = this.#batchScratch.out(count * 4);
    call(() => this.#native.appendMany(topics, meta, data, out));
    const results: AppendResult[] = new Array<AppendResult>(count);
    for (let i = 0; i < count; i++) {
      results[i] = new StoredRecord(out[i * 4]!, out[i * 4 + 3]!, out[i * 4 + 1]!, out[i * 4 + 2]!, this.#storeHostHex);
    }
    return results;
  }

  /**
   * Resolves when the record ending at `endOffset` is durable. With SYNC_FLUSH it rejects
   * with FLUSH_DISK_TIMEOUT after `syncFlushTimeout`; with ASYNC_FLUSH it waits for the
   * background flusher (callers normally don't wait at all).
   */
  waitFlushed(endOffset: number, timeoutMs = this.#syncFlushTimeout): Promise<void> {
    if (this.#closed) return Promise.reject(new StoreError('CLOSED', 'the store is closed'));
    const waiting = this.#flushWaiters.wait(endOffset, timeoutMs);
    this.#requestGroupCommit();
    return waiting;
  }

  /**
   * One group-commit request per burst of appends: deferred to a microtask, so every append
   * made in the same turn of the event loop (a socket read carrying many sends, or the
   * continuations of waiters a flush just released) is covered by the same fsync.
   */
  #requestGroupCommit(): void {
    if (this.flushDiskType !== 'SYNC_FLUSH') return;
    if (this.#groupCommitScheduled) {
      // A long burst (hundreds of waiters released by one flush, appending again) does
      // not wait for its end: every EARLY_GROUP_COMMIT appends start a sync, so the disk
      // works on the first part while the rest is appended (the next sync covers it).
      if (++this.#appendsSinceRequest >= EARLY_GROUP_COMMIT) {
        this.#appendsSinceRequest = 0;
        this.#requestFlushNow();
      }
      return;
    }
    this.#groupCommitScheduled = true;
    this.#appendsSinceRequest = 0;
    queueMicrotask(() => {
      this.#groupCommitScheduled = false;
      this.#requestFlushNow();
    });
  }

  #requestFlushNow(): void {
    if (this.#closed) return;
    try {
      this.#native.requestFlush();
    } catch {
      // Closed concurrently: the waiters are rejected by close().
    }
  }

  get pendingFlushWaiters(): number {
    return this.#flushWaiters.pending;
  }

  /** Listen for queues that received new ConsumeQueue entries (batched per dispatch round). */
  onQueuesGrew(listener: (grown: QueueGrowth[]) => void): () => void {
    this.#growthListeners.add(listener);
    return () => this.#growthListeners.delete(listener);
  }

  /** RocketMQ's getMessage. `tagCodes` keeps only records with these tag hash codes. */
  getMessages(
    topic: string,
    queueId: number,
    offset: number,
    maxMessages: number,
    maxBytes: number,
    tagCodes?: number[] | null,
  ): PullResult {
    const result = call(() =>
      this.#native.getMessages(topic, queueId, offset, maxMessages, maxBytes, tagCodes ?? null),
    );
    return result as PullResult;
  }

  /** The records of a pull as Buffers over the mapping: no copy. */
  messageBuffers(result: Pick<PullResult, 'slices'>): Buffer[] {
    const buffers: Buffer[] = [];
    const slices = result.slices;
    for (let i = 0; i < slices.length; i += 4) {
      const segment = this.#segmentBuffer(slices[i]!);
      const position = slices[i + 1]!;
      buffers.push(segment.subarray(position, position + slices[i + 2]!));
    }
    return buffers;
  }

  /**
   * sendfile the records of a pull to a socket descriptor, off the JS thread. The caller
   * must have flushed everything it wrote to the socket before (bytes must stay in order).
   */
  async transfer(fd: number, result: Pick<PullResult, 'slices'>, timeoutMs: number): Promise<number> {
    const outcome = (await call(() => this.#native.transfer(fd, result.slices, timeoutMs))) as Binding.TransferOutcome;
    if (outcome.errorCode) {
      const code = outcome.errorCode === 'TIMEOUT' ? 'TRANSFER_TIMEOUT' : 'TRANSFER_FAILED';
      throw new StoreError(code, `${outcome.error ?? 'transfer failed'} (${outcome.bytesSent} bytes sent)`);
    }
    return outcome.bytesSent;
  }

  /** The stored record at a physical offset (VIEW_MESSAGE_BY_ID), zero-copy. */
  messageAt(physicalOffset: number): Buffer {
    const slice = call(() => this.#native.messageAt(physicalOffset));
    return this.messageBuffers({ slices: slice })[0] ?? EMPTY;
  }

  maxOffset(topic: string, queueId: number): number {
    return call(() => this.#native.maxOffset(topic, queueId));
  }

  minOffset(topic: string, queueId: number): number {
    return call(() => this.#native.minOffset(topic, queueId));
  }

  queues(): Array<[topic: string, queueId: number]> {
    return call(() => this.#native.queues());
  }

  /** SEARCH_OFFSET_BY_TIMESTAMP: `boundary` lower = first at/after, upper = last at/before. */
  offsetByTime(topic: string, queueId: number, timestamp: number, boundary: 'lower' | 'upper' = 'lower'): number {
    return call(() => this.#native.offsetByTime(topic, queueId, timestamp, boundary === 'upper'));
  }

  storeTimeAt(topic: string, queueId: number, queueOffset: number): number | null {
    return call(() => this.#native.storeTimeAt(topic, queueId, queueOffset)) ?? null;
  }

  /** Physical offsets indexed under `topic#key` (newest first; re-check keys, hashes collide). */
  queryByKey(topic: string, key: string, maxNum: number, beginTimestamp: number, endTimestamp: number): number[] {
    return call(() => this.#native.queryByKey(topic, key, maxNum, beginTimestamp, endTimestamp));
  }

  /** Replication, master side: raw CommitLog bytes from `offset` (within one segment). */
  readReplicationRange(offset: number, maxLength: number): Buffer {
    return call(() => this.#native.readReplicationRange(offset, maxLength));
  }

  /** Replication, slave side: append raw bytes at the received offset; returns the new one. */
  appendReplicated(offset: number, bytes: Buffer): number {
    return call(() => this.#native.appendReplicated(offset, bytes));
  }

  get commitLogMinOffset(): number {
    return call(() => this.#native.commitLogMinOffset());
  }

  get commitLogMaxOffset(): number {
    return call(() => this.#native.commitLogMaxOffset());
  }

  get flushedOffset(): number {
    return call(() => this.#native.flushedOffset());
  }

  get dispatchedOffset(): number {
    return call(() => this.#native.dispatchedOffset());
  }

  /** Block (bounded) until everything appended is in the ConsumeQueues; tests and tools. */
  waitDispatched(timeoutMs = 10_000): boolean {
    return call(() => this.#native.waitDispatched(timeoutMs));
  }

  /**
   * DELETE_TOPIC_IN_BROKER: drops the topic's ConsumeQueues and queue offsets (a topic created
   * again starts at offset 0). Its records stay in the CommitLog until retention. True if the
   * topic had queues.
   */
  deleteTopic(topic: string): boolean {
    return call(() => this.#native.deleteTopic(topic));
  }

  flushAll(): number {
    return call(() => this.#native.flushAll());
  }

  checkpointNow(): number {
    return call(() => this.#native.checkpointNow());
  }

  /** One retention / disk-check pass now; returns how many segments were deleted. */
  cleanNow(): number {
    const deleted = call(() => this.#native.cleanNow());
    this.#forgetRemovedSegments();
    return deleted;
  }

  stats(): StoreStatistics {
    return call(() => this.#native.stats());
  }

  /** Page-cache hints: cheap, reads the engine's latest residency sample. */
  pageCache(): PageCacheInfo {
    return call(() => this.#native.pageCache());
  }

  /** A residency sample taken now: a mincore walk of every segment, on the event loop. */
  samplePageCacheNow(): PageCacheResidency {
    return call(() => this.#native.samplePageCacheNow());
  }

  recovery(): RecoveryInfo {
    return call(() => this.#native.recovery());
  }

  /** Clean shutdown: flush, finish dispatching, checkpoint. Waiters still pending fail. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#pruneTimer);
    this.#growthListeners.clear();
    try {
      call(() => this.#native.close());
    } finally {
      this.#flushWaiters.flushed(Number.MAX_SAFE_INTEGER);
      this.#flushWaiters.close();
      this.#segmentBuffers.clear();
    }
  }

  #segmentBuffer(start: number): Buffer {
    let buffer = this.#segmentBuffers.get(start);
    if (!buffer) {
      this.#forgetRemovedSegments();
      buffer = call(() => this.#native.segmentBuffer(start));
      this.#segmentBuffers.set(start, buffer);
    }
    return buffer;
  }

  #forgetRemovedSegments(): void {
    if (this.#closed || this.#segmentBuffers.size === 0) return;
    const min = this.commitLogMinOffset;
    for (const start of this.#segmentBuffers.keys()) {
      if (start < min) this.#segmentBuffers.delete(start);
    }
  }
}

/** The result of an append; the offset msg id is formatted only when asked for. */
class StoredRecord implements AppendResult {
  constructor(
    readonly physicalOffset: number,
    readonly size: number,
    readonly queueOffset: number,
    readonly storeTimestamp: number,
    readonly storeHostHex: string,
  ) {}

  get msgId(): string {
    return this.storeHostHex + this.physicalOffset.toString(16).toUpperCase().padStart(16, '0');
  }

  get endOffset(): number {
    return this.physicalOffset + this.size;
  }
}

/**
 * appendBatch's arguments, reused from call to call (the engine reads them only during the
 * call): a fresh 36 KiB buffer and two typed arrays per batch were a tenth of its cost.
 */
class BatchScratch {
  #meta = new Float64Array(64 * META_FIELDS);
  #out = new Float64Array(64 * 4);
  #data = Buffer.allocUnsafeSlow(64 * 1024);

  meta(length: number): Float64Array {
    if (this.#meta.length < length) this.#meta = new Float64Array(length);
    return this.#meta.length === length ? this.#meta : this.#meta.subarray(0, length);
  }

  out(length: number): Float64Array {
    if (this.#out.length < length) this.#out = new Float64Array(length);
    return this.#out;
  }

  /** Batches over 4 MiB get a buffer of their own rather than pinning one that big. */
  data(length: number): Buffer {
    if (length > 4 << 20) return Buffer.allocUnsafeSlow(length);
    if (this.#data.length < length) this.#data = Buffer.allocUnsafeSlow(Math.max(length, this.#data.length * 2));
    return this.#data.subarray(0, length);
  }
}

export function engineVersion(): number {
  return binding.engineVersion();
}
