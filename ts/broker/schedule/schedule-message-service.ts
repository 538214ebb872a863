// ScheduleMessageService: delivers the messages held in SCHEDULE_TOPIC_XXXX (queue L-1 holds
// delay level L) to their REAL_TOPIC / REAL_QID when due, as RocketMQ's service of that name.
//
// Due time: RocketMQ writes the delivery time into the ConsumeQueue's tag-code slot. Our store
// derives tag codes from TAGS only, so the due time is computed as the record's storeTimestamp
// + the level's delay. Consequence: changing `messageDelayLevel` changes the due time of
// messages already waiting (RocketMQ's keep the time computed at put).
//
// Each level is a queue read in order; messages of one level become due in store order, so a
// level waits on its head only: one timer per level, no per-message state, the pending count
// costs nothing.
//
// Crash story: progress per level (the next ConsumeQueue offset to deliver) is persisted in
// <storePathRootDir>/config/delayOffset.json (atomic replace, RocketMQ's format), and only
// once the delivered copies are flushed, so a crash or kill -9 never loses a message: at worst
// the messages delivered after the last write are delivered again. To avoid even that, after a
// restart each message is first looked up in the index (UNIQ_KEY under its real topic, stored
// at or after the schedule record with the same reconsumeTimes): one found there is skipped.

import { join } from 'node:path';
import { errorMessage } from '../../common/errors.js';
import type { Logger } from '../../common/logger.js';
import { decodeStoredMessage, type StoredMessage } from '../../protocol/message-record.js';
import { MessageProperty } from '../../protocol/properties.js';
import type { MessageStore } from '../../store/index.js';
import { readJsonFile, writeJsonFileAtomic } from '../json-file.js';
import { SystemTopic } from '../topic-config-manager.js';
import { parseDelayLevels } from './delay-levels.js';
import { copyOf, deliveredBefore } from './stored-copy.js';

/** RocketMQ polls an idle level every 100 ms. */
const IDLE_POLL_MS = 100;
/** After a failed put (disk full, ...) the level waits this long before trying again. */
const FAILURE_BACKOFF_MS = 1000;
const PERSIST_INTERVAL_MS = 1000;
const BATCH = 32;
/** Batches delivered per turn of the event loop before yielding to requests. */
const BATCHES_PER_TURN = 8;

export interface ScheduleMessageServiceOptions {
  store: MessageStore;
  /** <storePathRootDir>/config */
  configDir: string;
  messageDelayLevel: string;
  messageIndexEnable: boolean;
  logger: Logger;
}

export class ScheduleMessageService {
  readonly #store: MessageStore;
  readonly #logger: Logger;
  readonly #path: string;
  readonly #indexEnabled: boolean;
  /** Delay per level, ms (index = level - 1). */
  readonly delays: readonly number[];
  /** Next queue offset to deliver, per level index. */
  readonly #next: number[];
  /** Offsets whose deliveries are flushed: what is persisted. */
  readonly #durable: number[];
  /** Offsets below which a message may have been delivered before a crash (look it up first). */
  readonly #recheckBelow: number[];
  readonly #timers: Array<NodeJS.Timeout | undefined>;
  /** CommitLog end of the last copy a level put: its offset is durable once that is flushed. */
  readonly #lastEnd: number[];
  #persistTimer: NodeJS.Timeout | undefined;
  #dirty = false;
  #running = false;

  /** @throws BrokerError BROKER_OPTIONS_INVALID for a bad `messageDelayLevel` */
  constructor(options: ScheduleMessageServiceOptions) {
    this.#store = options.store;
    this.#logger = options.logger;
    this.#path = join(options.configDir, 'delayOffset.json');
    this.#indexEnabled = options.messageIndexEnable;
    this.delays = parseDelayLevels(options.messageDelayLevel);
    this.#next = this.delays.map(() => 0);
    this.#durable = this.delays.map(() => 0);
    this.#recheckBelow = this.delays.map(() => 0);
    this.#timers = this.delays.map(() => undefined);
    this.#lastEnd = this.delays.map(() => 0);
  }

  /** Next offset to deliver of a level (1-based), for tests and admin. */
  offsetOf(level: number): number {
    return this.#next[level - 1] ?? 0;
  }

  /** Loads delayOffset.json and starts one delivery loop per level. */
  start(): void {
    this.#load();
    this.#store.waitDispatched();
    for (let index = 0; index < this.delays.length; index++) {
      this.#recheckBelow[index] = this.#store.maxOffset(SystemTopic.SCHEDULE, index);
      this.#schedule(index, 0);
    }
    this.#running = true;
    this.#persistTimer = setInterval(() => this.#persistIfDirty(), PERSIST_INTERVAL_MS);
    this.#persistTimer.unref();
  }

  /** Stops the loops, flushes what was delivered and persists the offsets (before the store closes). */
  shutdown(): void {
    if (!this.#running) return;
    this.#running = false;
    for (const timer of this.#timers) clearTimeout(timer);
    clearInterval(this.#persistTimer);
    try {
      this.#store.flushAll();
      for (let index = 0; index < this.#next.length; index++) this.#durable[index] = this.#next[index] as number;
      this.#dirty = true;
    } catch (error) {
      this.#logger.error('flushing delivered delay messages failed', { error: errorMessage(error) });
    }
    this.#persistIfDirty();
  }

  #load(): void {
    const json = readJsonFile(this.#path) as { offsetTable?: Record<string, unknown> } | undefined;
    const table = json?.offsetTable ?? {};
    for (const [key, value] of Object.entries(table)) {
      const level = Number(key);
      if (Number.isInteger(level) && level >= 1 && level <= this.delays.length && typeof value === 'number' && value >= 0) {
        this.#next[level - 1] = value;
        this.#durable[level - 1] = value;
      }
    }
  }

  #persistIfDirty(): void {
    if (!this.#dirty) return;
    this.#dirty = false;
    const offsetTable: Record<string, number> = {};
    this.#durable.forEach((offset, index) => { offsetTable[String(index + 1)] = offset; });
    try {
      writeJsonFileAtomic(this.#path, { offsetTable });
    } catch (error) {
      this.#dirty = true;
      this.#logger.error('persisting delayOffset.json failed', { error: errorMessage(error) });
    }
  }

  #schedule(index: number, delayMs: number): void {
    clearTimeout(this.#timers[index]);
    const timer = setTimeout(() => this.#deliver(index), Math.max(0, delayMs));
    timer.unref();
    this.#timers[index] = timer;
  }

  /** Delivers the due head of a level, then waits for the next due time (or polls if idle). */
  #deliver(index: number): void {
    if (!this.#running) return;
    let wait = IDLE_POLL_MS;
    try {
      wait = this.#deliverDue(index);
    } catch (error) {
      this.#logger.error('delivering delayed messages failed', { level: index + 1, error: errorMessage(error) });
      wait = FAILURE_BACKOFF_MS;
    }
    this.#schedule(index, wait);
  }

  /** Returns how long to wait before the next round. */
  #deliverDue(index: number): number {
    const delay = this.delays[index] as number;
    for (let batch = 0; batch < BATCHES_PER_TURN; batch++) {
      const offset = this.#next[index] as number;
      const result = this.#store.getMessages(SystemTopic.SCHEDULE, index, offset, BATCH, 4 * 1024 * 1024);
      if (result.status === 'OFFSET_TOO_SMALL' || result.status === 'OFFSET_OVERFLOW_BADLY') {
        // Retention removed the head (or the queue is behind the saved offset): start where the queue is.
        this.#logger.warn('delay queue offset out of range, moving', { level: index + 1, from: offset, to: result.nextBeginOffset });
        this.#advance(index, result.nextBeginOffset);
        continue;
      }
      if (result.status !== 'FOUND') return IDLE_POLL_MS;
      for (const buffer of this.#store.messageBuffers(result)) {
        const { message } = decodeStoredMessage(buffer);
        const due = message.storeTimestamp + delay;
        const now = Date.now();
        if (due > now) {
          this.#advance(index, message.queueOffset);
          return due - now;
        }
        const end = this.#deliverOne(message);
        if (end !== undefined) this.#lastEnd[index] = end;
        this.#next[index] = message.queueOffset + 1;
      }
      this.#advance(index, Math.max(this.#next[index] as number, result.nextBeginOffset));
    }
    return 0;
  }

  /** Puts one due message to its real topic; returns the CommitLog end of the copy (undefined if none was put). */
  #deliverOne(message: StoredMessage): number | undefined {
    const properties = { ...message.properties };
    const topic = properties[MessageProperty.REAL_TOPIC];
    const queueId = Number(properties[MessageProperty.REAL_QID] ?? 0);
    if (topic === undefined || !Number.isInteger(queueId) || queueId < 0) {
      this.#logger.warn('delayed message without REAL_TOPIC/REAL_QID dropped', { msgId: message.msgId });
      return undefined;
    }
    if (message.queueOffset < (this.#recheckBelow[message.queueId] ?? 0) && this.#indexEnabled && deliveredBefore(this.#store, message, topic)) {
      return undefined;
    }
    delete properties[MessageProperty.DELAY];
    // A failed put throws: the offset is not advanced and the level retries after a back-off.
    return this.#store.append(copyOf(message, topic, queueId, properties)).endOffset;
  }

  /** Moves a level to `offset`; it becomes durable once the level's last copy is flushed. */
  #advance(index: number, offset: number): void {
    const lastEnd = this.#lastEnd[index] as number;
    this.#next[index] = offset;
    const markDurable = (): void => {
      if (offset > (this.#durable[index] as number)) {
        this.#durable[index] = offset;
        this.#dirty = true;
      }
    };
    if (lastEnd <= this.#store.flushedOffset) {
      markDurable();
      return;
    }
    this.#store.waitFlushed(lastEnd).then(markDurable, () => {
      // Not flushed in time (or the store closed): the offset stays where it was durable; the
      // next flushed delivery of this level, or shutdown, moves it.
    });
  }
}
