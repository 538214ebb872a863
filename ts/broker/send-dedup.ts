// Producer idempotence: a client send whose UNIQ_KEY was stored within the window gets the
// original SendResult back instead of a second copy in the CommitLog.
//
// RocketMQ leaves de-duplication to applications; the classic duplicate is a producer retry after
// a timeout (the broker stored the message, the answer was lost or late). Bolide remembers the
// (topic, UNIQ_KEY) of every client send for `sendDedupWindowSeconds`:
//  - in memory, in arrival order, at most `sendDedupMaxKeys` keys. When the bound is reached the
//    oldest keys leave early (the effective window shrinks to maxKeys / send rate): memory stays
//    bounded whatever the rate. A key is kept as a 53-bit hash of (topic, UNIQ_KEY) with the
//    record's position, no strings: UNIQ_KEYs decoded from a request are slices of its header
//    text, and keeping them would keep every request's header alive (measured: ~1.2 KB per
//    key). The keys live in typed arrays (dedup-table.ts: 32 bytes a key, no object per send).
//    A hash hit is confirmed against the stored record before a send is called a duplicate.
//  - after a restart the memory is empty, so for one window after start a miss is looked up in the
//    IndexFile (which indexes topic#UNIQ_KEY) for sends stored before the start: a retry that
//    reaches a restarted broker is still answered with the stored copy. (Needs messageIndexEnable.)
// Only client sends (codes 10, 310, 320) are checked; internal re-puts (delay delivery, retry/DLQ,
// committing a half message) never come through here. Retry and DLQ topics are never
// de-duplicated: consumers' fallback send-back re-sends the same UNIQ_KEY once per attempt.
// Consequence worth knowing: re-sending the same message object (same UNIQ_KEY) to the same topic
// within the window stores it once. Delay-level, timer and transactional (half) sends count as
// sends to their REAL_TOPIC though they wait in SCHEDULE_TOPIC_XXXX / rmq_sys_wheel_timer /
// RMQ_SYS_TRANS_HALF_TOPIC (a retried timer send is answered with the first one's recallHandle, a
// retried half send with the first half's offsets, which its END_TRANSACTION then names). After a
// restart, the IndexFile lookup of such a send asks the topic it would wait in first (the index
// holds the parked copy under it), then its REAL_TOPIC (the copy delivered or committed since).

import { decodeStoredMessage } from '../protocol/message-record.js';
import { MessageProperty } from '../protocol/properties.js';
import type { MessageStore } from '../store/index.js';
import { DedupTable } from './dedup-table.js';
import { TIMER_OUT_MS } from './schedule/timer-message.js';
import { DLQ_GROUP_TOPIC_PREFIX, RETRY_GROUP_TOPIC_PREFIX, SystemTopic } from './topic-config-manager.js';

/**
 * Where the send path parks delay-level and timer messages until they are due, under REAL_TOPIC:
 * a send stored there is still a send to its REAL_TOPIC (and its retry a duplicate).
 */
const PARKING_TOPICS: ReadonlySet<string> = new Set([SystemTopic.SCHEDULE, SystemTopic.TIMER, SystemTopic.TRANS_HALF]);

/** Whether a send stored in `topic` waits there for its REAL_TOPIC (see PARKING_TOPICS). */
export function isParkingTopic(topic: string): boolean {
  return PARKING_TOPICS.has(topic);
}

export interface SendDedupOptions {
  enabled: boolean;
  windowMs: number;
  maxKeys: number;
}

/** What a duplicate is answered with: the stored copy's position. */
export interface StoredSend {
  /** Offset msgId of the stored record. */
  msgId: string;
  queueId: number;
  queueOffset: number;
  /** CommitLog end offset of the record (a SYNC_FLUSH duplicate waits for it too). */
  endOffset: number;
  /** A timer message's delivery time (TIMER_OUT_MS): its recallHandle is made from it. */
  timerOutMs?: number;
}

/** What `remember` is given per message: where its copy was stored. */
export interface RememberedSend {
  physicalOffset: number;
}

export interface SendDedupStats {
  keys: number;
  duplicates: number;
  /** Keys dropped before their window ended because of the memory bound. */
  evictedEarly: number;
  /** Duplicates found through the IndexFile after a restart. */
  indexHits: number;
}

/** cyrb53: a fast 53-bit string hash (collisions are resolved by checking the record). */
function dedupKey(topic: string, uniqKey: string): number {
  // No helper closure for the mixing step: one created per call is an allocation (and under
  // tsx an Object.defineProperty) on every send.
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < topic.length; i += 1) {
    const code = topic.charCodeAt(i);
    h1 = Math.imul(h1 ^ code, 2654435761);
    h2 = Math.imul(h2 ^ code, 1597334677);
  }
  h1 = Math.imul(h1, 2654435761);
  h2 = Math.imul(h2, 1597334677);
  for (let i = 0; i < uniqKey.length; i += 1) {
    const code = uniqKey.charCodeAt(i);
    h1 = Math.imul(h1 ^ code, 2654435761);
    h2 = Math.imul(h2 ^ code, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/** Whether sends to this topic take part (retry and DLQ topics do not, see the header comment). */
export function isDeduplicatedTopic(topic: string): boolean {
  return !topic.startsWith(RETRY_GROUP_TOPIC_PREFIX) && !topic.startsWith(DLQ_GROUP_TOPIC_PREFIX);
}

/** The store calls the post-restart lookup needs. */
export type DedupIndex = Pick<MessageStore, 'queryByKey' | 'messageAt' | 'commitLogMaxOffset'>;

/** The stored record at `physicalOffset` if it is (topic, UNIQ_KEY); undefined otherwise. */
function storedCopy(store: DedupIndex, physicalOffset: number, topic: string, uniqKey: string): StoredSend | undefined {
  let record;
  try {
    record = decodeStoredMessage(store.messageAt(physicalOffset)).message;
  } catch {
    return undefined; // removed by retention meanwhile, or not a record: not a match
  }
  const parked = PARKING_TOPICS.has(record.topic);
  const sentTo = parked ? record.properties[MessageProperty.REAL_TOPIC] : record.topic;
  if (sentTo !== topic || record.properties[MessageProperty.UNIQ_KEY] !== uniqKey) return undefined;
  // A parked copy answers as its first send did: the queue asked for, the parking queue's offset.
  const realQueueId = Number(record.properties[MessageProperty.REAL_QID]);
  const queueId = parked && Number.isInteger(realQueueId) ? realQueueId : record.queueId;
  const stored: StoredSend = { msgId: record.msgId, queueId, queueOffset: record.queueOffset, endOffset: physicalOffset + record.storeSize };
  const timerOutMs = Number(record.properties[TIMER_OUT_MS]);
  if (record.topic === SystemTopic.TIMER && Number.isSafeInteger(timerOutMs)) stored.timerOutMs = timerOutMs;
  return stored;
}

export class SendDeduplicator {
  readonly #options: SendDedupOptions;
  readonly #store: DedupIndex;
  readonly #startedAt: number;
  // An empty store at start has nothing stored before it: no index lookups at all.
  readonly #storedBeforeStart: boolean;
  readonly #table: DedupTable;
  // A send's keys are hashed by `lookup` and again by `remember` right after: remember the last.
  #memoTopic = '';
  #memoUniqKey = '';
  #memoKey = 0;
  #duplicates = 0;
  #evictedEarly = 0;
  #indexHits = 0;

  constructor(options: SendDedupOptions, store: DedupIndex, now = Date.now()) {
    this.#options = options;
    this.#store = store;
    this.#startedAt = now;
    this.#storedBeforeStart = store.commitLogMaxOffset > 0;
    this.#table = new DedupTable(options.maxKeys);
  }

  get enabled(): boolean {
    return this.#options.enabled;
  }

  /**
   * The stored copies of a send whose every UNIQ_KEY is known, in the send's order; null when any
   * key is new (then the whole send is stored: a partly repeated batch is not split).
   */
  lookup(topic: string, uniqKeys: readonly string[], now = Date.now(), parkedIn?: string): StoredSend[] | null {
    if (!this.#options.enabled || uniqKeys.length === 0 || !isDeduplicatedTopic(topic)) return null;
    this.#expire(now);
    const found: StoredSend[] = [];
    for (const uniqKey of uniqKeys) {
      const physicalOffset = this.#table.position(this.#key(topic, uniqKey));
      const send = physicalOffset >= 0
        ? storedCopy(this.#store, physicalOffset, topic, uniqKey)
        : this.#lookupBeforeStart(topic, uniqKey, now, parkedIn);
      if (send === undefined) return null;
      found.push(send);
    }
    this.#duplicates += 1;
    return found;
  }

  /**
   * Records where a client send's message with `uniqKey` was stored (a later duplicate is
   * answered from that record, so only its position is kept).
   */
  remember(topic: string, uniqKey: string, send: RememberedSend, now = Date.now()): void {
    if (!this.#options.enabled || !isDeduplicatedTopic(topic)) return;
    if (this.#table.full) {
      const storedAt = this.#table.dropOldest() as number;
      if (storedAt > now - this.#options.windowMs) this.#evictedEarly += 1;
    }
    this.#table.add(this.#key(topic, uniqKey), now, send.physicalOffset);
  }

  stats(): SendDedupStats {
    return { keys: this.#table.size, duplicates: this.#duplicates, evictedEarly: this.#evictedEarly, indexHits: this.#indexHits };
  }

  #key(topic: string, uniqKey: string): number {
    if (uniqKey !== this.#memoUniqKey || topic !== this.#memoTopic) {
      this.#memoTopic = topic;
      this.#memoUniqKey = uniqKey;
      this.#memoKey = dedupKey(topic, uniqKey);
    }
    return this.#memoKey;
  }

  #expire(now: number): void {
    const horizon = now - this.#options.windowMs;
    for (;;) {
      const oldest = this.#table.oldestStoredAt();
      if (oldest === undefined || oldest > horizon) return;
      this.#table.dropOldest();
    }
  }

  /**
   * For one window after start: a send stored before the start is found through the IndexFile,
   * under the topic it waits in (`parkedIn`, if it is one that waits) and under its own topic.
   */
  #lookupBeforeStart(topic: string, uniqKey: string, now: number, parkedIn: string | undefined): StoredSend | undefined {
    if (!this.#storedBeforeStart || now - this.#startedAt >= this.#options.windowMs) return undefined;
    const begin = now - this.#options.windowMs;
    const indexedUnder = parkedIn !== undefined && PARKING_TOPICS.has(parkedIn) ? [parkedIn, topic] : [topic];
    for (const indexTopic of indexedUnder) {
      let offsets: number[];
      try {
        offsets = this.#store.queryByKey(indexTopic, uniqKey, 4, begin, this.#startedAt);
      } catch {
        return undefined; // index off or unreadable: behave as if unknown (store the send)
      }
      for (const physicalOffset of offsets) {
        const send = storedCopy(this.#store, physicalOffset, topic, uniqKey);
        if (send === undefined) continue;
        this.#indexHits += 1;
        return send;
      }
    }
    return undefined;
  }
}
