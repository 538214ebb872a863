// TimerMessageService: delivers the messages of rmq_sys_wheel_timer (arbitrary delivery times,
// see timer-message.ts) when due, through a TimingWheel (timing-wheel.ts).
//
// The store is the source of truth; the wheel is an index rebuilt from it. The service reads the
// timer queue in order and puts each record (its due time, CommitLog offset and queue offset)
// into the wheel; every tick (10 ms) fires the due ones, which are read back by CommitLog offset
// and put to their REAL_TOPIC / REAL_QID without TIMER_* properties (UNIQ_KEY kept).
//
// Recall (RECALL_MESSAGE, RocketMQ 5.3): a recall is a marker record in the same timer queue,
// carrying TIMER_DEL_UNIQKEY = the UNIQ_KEY to cancel and a due time just after the message's.
// Reading a marker registers the cancellation; the message, when its tick comes, is skipped; the
// marker's own tick (never earlier: same or later tick, and it was queued after the message)
// removes the entry, so cancellations held in memory are bounded by the markers pending. The
// recall processor also registers the cancellation at once (`recall`), so a message due within
// the next tick cannot slip out before its marker is read. Markers are records below the
// low-water mark like any other: after a restart the rebuild reads them again, and nothing fires
// until the rebuild has read to the end of the queue (so every marker is known first).
//
// Crash story: `config/timerOffset.json` holds the low-water mark: every timer-queue record below
// it has been delivered (and flushed). Records deliver out of order, so the mark stops at the
// oldest pending one; on start the wheel is rebuilt by reading from the mark. Records delivered
// above the mark before a crash are recognised in the index (as in the schedule service) and not
// delivered again, so pending timers survive kill -9 and nothing is dropped.

import { join } from 'node:path';
import { errorMessage } from '../../common/errors.js';
import type { Logger } from '../../common/logger.js';
import { decodeStoredMessage } from '../../protocol/message-record.js';
import { MessageProperty } from '../../protocol/properties.js';
import type { MessageStore } from '../../store/index.js';
import type { TimerStats } from '../broker-context.js';
import { readJsonFile, writeJsonFileAtomic } from '../json-file.js';
import { copyOf, deliveredBefore, readStoredMessage } from './stored-copy.js';
import { TIMER_OUT_MS, TIMER_TOPIC } from './timer-message.js';
import { TimingWheel, type TimerEntry } from './timing-wheel.js';

const TICK_MS = 10;
const READ_BATCH = 256;
// Per tick, so a restart with a million timers due (or pending) keeps the event loop turning:
// the wheel is rebuilt, and a backlog delivered, over many ticks instead of one long stall.
// Both are far above what sends can add in a tick (a million records a second).
const READ_PER_TICK = 64 * READ_BATCH;
const FIRE_PER_TICK = 8192;
const PERSIST_INTERVAL_MS = 1000;
const FAILURE_BACKOFF_MS = 1000;

type PendingTimer = TimerEntry;

export interface TimerMessageServiceOptions {
  store: MessageStore;
  configDir: string;
  messageIndexEnable: boolean;
  logger: Logger;
}

export class TimerMessageService {
  readonly #store: MessageStore;
  readonly #logger: Logger;
  readonly #path: string;
  readonly #indexEnabled: boolean;
  #wheel = new TimingWheel(Date.now(), TICK_MS);
  /** Next timer-queue offset to read into the wheel. */
  #readOffset = 0;
  /** Every record below this has been delivered. */
  #lowWater = 0;
  /** Delivered offsets at or above the low-water mark (out-of-order deliveries). */
  readonly #deliveredAbove = new Set<number>();
  /** Records below this may have been delivered before a restart (look them up first). */
  #recheckBelow = 0;
  #lastEnd = 0;
  #durableLowWater = 0;
  #persisted = -1;
  #tick: NodeJS.Timeout | undefined;
  #persistTimer: NodeJS.Timeout | undefined;
  #retryAt = 0;
  #running = false;
  /** End of the timer queue as the send path last appended to it (ahead of dispatch). */
  #storedEnd = 0;
  /** UNIQ_KEY -> due time of the recall marker cancelling it. */
  readonly #cancelled = new Map<string, number>();
  #recalled = 0;
  /** Timers taken from the wheel whose delivery failed: first to go on the next tick. */
  #unfired: PendingTimer[] = [];

  constructor(options: TimerMessageServiceOptions) {
    this.#store = options.store;
    this.#logger = options.logger;
    this.#path = join(options.configDir, 'timerOffset.json');
    this.#indexEnabled = options.messageIndexEnable;
  }

  /** Timers read into the wheel and not yet delivered. */
  get pending(): number {
    return this.#wheel.size + this.#unfired.length;
  }

  /**
   * Timer messages stored and not yet delivered: in the wheel, plus stored but not read into it
   * yet. What timerMaxPendingMessages bounds (the wheel's memory is ~28 bytes per timer).
   */
  get backlog(): number {
    if (!this.#running) return 0;
    const stored = Math.max(this.#storedEnd, this.#store.maxOffset(TIMER_TOPIC, 0));
    return this.pending + Math.max(0, stored - this.#readOffset);
  }

  /**
   * The send path appended a timer message at `queueOffset`: counted in the backlog at once,
   * before the dispatcher makes it readable (so flow control holds for back-to-back sends).
   */
  noteStored(queueOffset: number): void {
    this.#storedEnd = Math.max(this.#storedEnd, queueOffset + 1);
  }

  stats(): TimerStats {
    return { backlog: this.backlog, wheelBytes: this.#wheel.poolBytes, recalled: this.#recalled, pendingCancellations: this.#cancelled.size };
  }

  /**
   * Cancels the timer message with `uniqKey` if it has not fired yet (the durable part is the
   * marker record the caller stores; this closes the gap until the marker is read).
   */
  recall(uniqKey: string, markerDueMs: number): void {
    this.#cancelled.set(uniqKey, Math.max(markerDueMs, this.#cancelled.get(uniqKey) ?? 0));
  }

  start(): void {
    const json = readJsonFile(this.#path) as { lowWater?: unknown } | undefined;
    const saved = typeof json?.lowWater === 'number' && json.lowWater >= 0 ? json.lowWater : 0;
    this.#lowWater = Math.max(saved, this.#store.minOffset(TIMER_TOPIC, 0));
    this.#readOffset = this.#lowWater;
    this.#durableLowWater = this.#lowWater;
    this.#store.waitDispatched();
    this.#recheckBelow = this.#store.maxOffset(TIMER_TOPIC, 0);
    this.#wheel = new TimingWheel(Date.now(), TICK_MS);
    this.#unfired = [];
    this.#running = true;
    this.#tick = setInterval(() => this.#onTick(), TICK_MS);
    this.#tick.unref();
    this.#persistTimer = setInterval(() => this.#persist(), PERSIST_INTERVAL_MS);
    this.#persistTimer.unref();
    this.#onTick();
  }

  shutdown(): void {
    if (!this.#running) return;
    this.#running = false;
    clearInterval(this.#tick);
    clearInterval(this.#persistTimer);
    try {
      this.#store.flushAll();
      this.#durableLowWater = this.#lowWater;
    } catch (error) {
      this.#logger.error('flushing delivered timer messages failed', { error: errorMessage(error) });
    }
    this.#persist();
  }

  #onTick(): void {
    if (!this.#running || Date.now() < this.#retryAt) return;
    try {
      // A timer fires only once every record stored before it is read: a recall marker (always
      // stored after its message) is then registered before the message's tick is processed.
      if (this.#readNew()) this.#fireDue();
    } catch (error) {
      this.#logger.error('timer delivery failed', { error: errorMessage(error) });
      this.#retryAt = Date.now() + FAILURE_BACKOFF_MS;
    }
  }

  /** Reads new timer-queue records into the wheel, up to READ_PER_TICK; true once it reached the end. */
  #readNew(): boolean {
    for (let read = 0; read < READ_PER_TICK;) {
      const result = this.#store.getMessages(TIMER_TOPIC, 0, this.#readOffset, READ_BATCH, 8 * 1024 * 1024);
      if (result.status === 'OFFSET_TOO_SMALL') {
        this.#readOffset = result.nextBeginOffset;
        continue;
      }
      if (result.status !== 'FOUND') return true;
      const slices = result.slices;
      const buffers = this.#store.messageBuffers(result);
      for (let i = 0; i < buffers.length; i++) {
        const { message } = decodeStoredMessage(buffers[i] as Buffer);
        const due = Number(message.properties[TIMER_OUT_MS]);
        const recalled = message.properties[MessageProperty.TIMER_DEL_UNIQKEY];
        if (recalled !== undefined && Number.isFinite(due)) this.recall(recalled, due);
        this.#wheel.add({ dueMs: Number.isFinite(due) ? due : 0, physicalOffset: message.commitLogOffset,
          queueOffset: slices[i * 4 + 3] as number });
      }
      this.#readOffset = result.nextBeginOffset;
      read += buffers.length;
      if (buffers.length < READ_BATCH) return true;
    }
    return false;
  }

  #fireDue(): void {
    const due = this.#unfired.length > 0 ? this.#unfired : this.#wheel.advance(Date.now(), FIRE_PER_TICK);
    this.#unfired = [];
    for (let i = 0; i < due.length; i++) {
      const timer = due[i] as PendingTimer;
      try {
        this.#deliver(timer);
      } catch (error) {
        // Kept aside, in order, for the next tick after the back-off, not put back in the wheel:
        // there they would queue behind later timers of the current tick, and a recall marker
        // could then fire (and forget its cancellation) before the message it recalls.
        this.#unfired = due.slice(i);
        throw error;
      }
      this.#markDelivered(timer.queueOffset);
    }
    if (due.length > 0) this.#afterDeliveries();
  }

  #deliver(timer: PendingTimer): void {
    const held = readStoredMessage(this.#store, timer.physicalOffset);
    if (held === undefined) {
      this.#logger.warn('timer message unreadable (removed by retention?), skipped', { physicalOffset: timer.physicalOffset });
      return;
    }
    const recalled = held.properties[MessageProperty.TIMER_DEL_UNIQKEY];
    if (recalled !== undefined) {
      // A recall marker: never delivered. Its message's tick has passed (or it was never here).
      if ((this.#cancelled.get(recalled) ?? Infinity) <= timer.dueMs) this.#cancelled.delete(recalled);
      return;
    }
    const uniqKey = held.properties[MessageProperty.UNIQ_KEY];
    if (uniqKey !== undefined && this.#cancelled.has(uniqKey)) {
      this.#recalled++;
      this.#logger.debug('recalled timer message not delivered', { uniqKey });
      return;
    }
    const properties = { ...held.properties };
    const topic = properties[MessageProperty.REAL_TOPIC];
    const queueId = Number(properties[MessageProperty.REAL_QID] ?? 0);
    if (topic === undefined || !Number.isInteger(queueId) || queueId < 0) {
      this.#logger.warn('timer message without REAL_TOPIC/REAL_QID dropped', { msgId: held.msgId });
      return;
    }
    if (timer.queueOffset < this.#recheckBelow && this.#indexEnabled && deliveredBefore(this.#store, held, topic)) return;
    for (const key of [MessageProperty.TIMER_DELIVER_MS, MessageProperty.TIMER_DELAY_SEC, MessageProperty.TIMER_DELAY_MS]) {
      delete properties[key];
    }
    this.#lastEnd = this.#store.append(copyOf(held, topic, queueId, properties)).endOffset;
  }

  #markDelivered(queueOffset: number): void {
    if (queueOffset !== this.#lowWater) {
      this.#deliveredAbove.add(queueOffset);
      return;
    }
    this.#lowWater++;
    while (this.#deliveredAbove.delete(this.#lowWater)) this.#lowWater++;
  }

  /** The low-water mark becomes durable once the copies delivered so far are flushed. */
  #afterDeliveries(): void {
    const mark = this.#lowWater;
    const end = this.#lastEnd;
    if (end <= this.#store.flushedOffset) {
      this.#durableLowWater = Math.max(this.#durableLowWater, mark);
      return;
    }
    this.#store.waitFlushed(end).then(() => {
      this.#durableLowWater = Math.max(this.#durableLowWater, mark);
    }, () => undefined);
  }

  #persist(): void {
    if (this.#durableLowWater === this.#persisted) return;
    try {
      writeJsonFileAtomic(this.#path, { lowWater: this.#durableLowWater });
      this.#persisted = this.#durableLowWater;
    } catch (error) {
      this.#logger.error('persisting timerOffset.json failed', { error: errorMessage(error) });
    }
  }
}
