// Delivery of delay-level messages (RocketMQ's ScheduleMessageService): every 100 ms each level
// queue of SCHEDULE_TOPIC_XXXX is read from its progress offset, and the messages that are due
// (store time + the level's delay; one level has one delay, so its queue is in due order) are
// re-put to their real topic and queue. Progress per level is kept in config/delayOffset.json
// (RocketMQ's layout, written atomically every second and at shutdown).
//
// Crash story: progress can lag what was delivered by up to a second. After a restart, a due
// message stored before the last progress write + that second is first looked up in its real
// topic's index (by UNIQ_KEY) and skipped if it is already there, so a crash neither loses nor,
// as far as the index can tell, duplicates a delayed message. Late delivery after downtime is
// expected: everything due while the broker was down goes out at once.
import { join } from 'node:path';
import { errorMessage } from '../../common/errors.js';
import { decodeStoredMessage, type StoredMessage } from '../../protocol/message-record.js';
import { MessageProperty } from '../../protocol/properties.js';
import type { BrokerContext } from '../broker-context.js';
import { readJsonFile, writeJsonFileAtomic } from '../json-file.js';
import { SCHEDULE_TOPIC, toDueMessage } from './scheduled-message.js';

const TICK_MS = 100;
const PERSIST_MS = 1000;
const BATCH = 64;
/** Progress may lag delivery by one persist interval (plus scheduling slack). */
const UNCERTAIN_MS = PERSIST_MS + 1000;

interface PersistedOffsets {
  offsetTable?: Record<string, unknown>;
  /** Bolide: when this progress was written (RocketMQ's file has no such field). */
  writtenAt?: unknown;
}

export class ScheduleMessageService {
  readonly #context: BrokerContext;
  readonly #levels: readonly number[];
  readonly #file: string;
  /** Next SCHEDULE_TOPIC queue offset per level (index = level - 1). */
  readonly #offsets: number[];
  #dirty = false;
  /** Messages stored before this time may have been delivered before a crash. */
  #uncertainUntil = 0;
  #timer: NodeJS.Timeout | undefined;
  #lastPersist = 0;
  delivered = 0;

  constructor(context: BrokerContext, levels: readonly number[], configDir: string) {
    this.#context = context;
    this.#levels = levels;
    this.#file = join(configDir, 'delayOffset.json');
    this.#offsets = levels.map(() => 0);
  }

  /** Loads progress and starts the delivery timer. */
  start(): void {
    const persisted = readJsonFile(this.#file) as PersistedOffsets | undefined;
    for (const [key, value] of Object.entries(persisted?.offsetTable ?? {})) {
      const level = Number(key);
      const offset = Number(value);
      if (Number.isInteger(level) && level >= 1 && level <= this.#levels.length && Number.isSafeInteger(offset) && offset >= 0) {
        this.#offsets[level - 1] = offset;
      }
    }
    const writtenAt = Number(persisted?.writtenAt ?? 0);
    // Without a write time (RocketMQ's file, or none), everything before now is uncertain.
    this.#uncertainUntil = (Number.isFinite(writtenAt) && writtenAt > 0 ? writtenAt : Date.now()) + UNCERTAIN_MS;
    this.#timer = setInterval(() => this.tick(), TICK_MS);
    this.#timer.unref();
  }

  /** One delivery round (the timer calls it; tests may too). */
  tick(now = Date.now()): void {
    for (let index = 0; index < this.#levels.length; index += 1) {
      try {
        this.#deliverLevel(index, now);
      } catch (error) {
        // A store error (disk full, shutting down): keep the progress, retry next tick.
        this.#context.logger.warn('delayed delivery failed; retrying', { level: index + 1, error: errorMessage(error) });
      }
    }
    if (this.#dirty && now - this.#lastPersist >= PERSIST_MS) this.persist(now);
  }

  #deliverLevel(index: number, now: number): void {
    const store = this.#context.store;
    const delay = this.#levels[index] as number;
    for (;;) {
      let offset = this.#offsets[index] as number;
      const result = store.getMessages(SCHEDULE_TOPIC, index, offset, BATCH, 4 * 1024 * 1024);
      if (result.status === 'OFFSET_TOO_SMALL') {
        this.#offsets[index] = result.minOffset; // removed by retention: nothing to deliver there
        this.#dirty = true;
        continue;
      }
      if (result.status !== 'FOUND') return;
      for (const buffer of store.messageBuffers(result)) {
        const scheduled = decodeStoredMessage(buffer).message;
        if (scheduled.storeTimestamp + delay > now) return; // the rest of this level is later still
        this.#deliver(scheduled);
        offset = scheduled.queueOffset + 1;
        this.#offsets[index] = offset;
        this.#dirty = true;
      }
    }
  }

  #deliver(scheduled: StoredMessage): void {
    const due = toDueMessage(scheduled);
    if (due === null) {
      this.#context.logger.warn('delayed message without a real topic dropped', { msgId: scheduled.msgId });
      return;
    }
    if (scheduled.storeTimestamp < this.#uncertainUntil && this.#alreadyDelivered(scheduled, due.topic)) return;
    this.#context.store.append(due);
    this.delivered += 1;
  }

  /** Whether the real topic already holds this message (delivered before a crash). */
  #alreadyDelivered(scheduled: StoredMessage, topic: string): boolean {
    const uniqKey = scheduled.properties[MessageProperty.UNIQ_KEY];
    if (uniqKey === undefined) return false;
    try {
      for (const offset of this.#context.store.queryByKey(topic, uniqKey, 8, scheduled.storeTimestamp, Date.now() + 60_000)) {
        const copy = decodeStoredMessage(this.#context.store.messageAt(offset)).message;
        // Retry copies of one message share UNIQ_KEY and born time: a delivered copy of *this*
        // record was stored after it, with the same reconsume count.
        if (copy.topic === topic && copy.properties[MessageProperty.UNIQ_KEY] === uniqKey && copy.bornTimestamp === scheduled.bornTimestamp
          && copy.reconsumeTimes === scheduled.reconsumeTimes && copy.storeTimestamp >= scheduled.storeTimestamp) {
          return true;
        }
      }
    } catch {
      // index off or unreadable: deliver (at least once)
    }
    return false;
  }

  /** Writes progress (atomically). */
  persist(now = Date.now()): void {
    const offsetTable: Record<string, number> = {};
    this.#offsets.forEach((offset, index) => { offsetTable[String(index + 1)] = offset; });
    try {
      writeJsonFileAtomic(this.#file, { offsetTable, writtenAt: now });
      this.#dirty = false;
      this.#lastPersist = now;
    } catch (error) {
      this.#context.logger.error('persisting delayOffset.json failed', { error: errorMessage(error) });
    }
  }

  /** Stops the timer and writes the final progress. */
  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.persist();
  }

  /** Next queue offset per level (tests, admin). */
  offsets(): readonly number[] {
    return [...this.#offsets];
  }
}
