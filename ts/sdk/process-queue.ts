// The client-side buffer of one assigned queue: messages pulled but not yet consumed, in offset
// order. Its lowest offset bounds what may be committed (a message still being handled must not
// be skipped after a restart); its size drives pull flow control.

import type { MessageExt, MessageQueue } from './message.js';

/** Lock lease as seen by the client; the broker's is 60 s. */
export const LOCK_EXPIRED_MS = 30_000;

export class ProcessQueue {
  /** Messages by offset; insertion order is ascending offset (pulls return increasing offsets). */
  #messages = new Map<number, MessageExt>();
  /** Orderly: messages taken for the current handler call. */
  #consuming: MessageExt[] = [];
  #bytes = 0;
  /** Highest offset ever added. */
  maxOffsetSeen = -1;
  /** Next offset to pull. */
  nextOffset = 0;
  dropped = false;
  locked = false;
  lastLockAtMs = 0;
  /** Orderly: a handler call is running for this queue. */
  consumingNow = false;
  /** Bumped by seek(); results of pulls started before are discarded. */
  epoch = 0;

  constructor(readonly queue: MessageQueue) {}

  get count(): number {
    return this.#messages.size + this.#consuming.length;
  }

  get bytes(): number {
    return this.#bytes;
  }

  get lockExpired(): boolean {
    return Date.now() - this.lastLockAtMs > LOCK_EXPIRED_MS;
  }

  /** Distance between the lowest and highest buffered offsets (consumeConcurrentlyMaxSpan). */
  get span(): number {
    const first = this.#messages.keys().next();
    return first.done === true ? 0 : this.maxOffsetSeen - first.value;
  }

  add(messages: readonly MessageExt[]): void {
    for (const message of messages) {
      if (this.#messages.has(message.queueOffset)) continue;
      this.#messages.set(message.queueOffset, message);
      this.#bytes += message.body.length;
      if (message.queueOffset > this.maxOffsetSeen) this.maxOffsetSeen = message.queueOffset;
    }
  }

  /**
   * Removes finished messages; returns the offset that may be committed: the lowest offset
   * still buffered, or one past the highest seen when nothing is left (−1 if never any).
   */
  remove(messages: readonly MessageExt[]): number {
    for (const message of messages) {
      if (this.#messages.delete(message.queueOffset)) this.#bytes -= message.body.length;
    }
    return this.commitableOffset();
  }

  commitableOffset(): number {
    const first = this.#messages.keys().next();
    if (first.done !== true) return first.value;
    if (this.#consuming.length > 0) return this.#consuming[0]!.queueOffset;
    return this.maxOffsetSeen < 0 ? -1 : this.maxOffsetSeen + 1;
  }

  /**
   * Orderly: takes up to `max` lowest messages for consumption. A message `alone` picks is taken
   * by itself (a batch stops before it), so it can be settled apart from the handler's batch.
   */
  take(max: number, alone?: (message: MessageExt) => boolean): MessageExt[] {
    const out: MessageExt[] = [];
    for (const [offset, message] of this.#messages) {
      if (out.length >= max) break;
      if (alone !== undefined && alone(message)) {
        if (out.length > 0) break;
        out.push(message);
        this.#messages.delete(offset);
        break;
      }
      out.push(message);
      this.#messages.delete(offset);
    }
    this.#consuming = out;
    return out;
  }

  /** Orderly: the taken messages were consumed; returns the offset to commit. */
  commitTaken(): number {
    for (const message of this.#consuming) this.#bytes -= message.body.length;
    const last = this.#consuming[this.#consuming.length - 1];
    this.#consuming = [];
    return last === undefined ? -1 : last.queueOffset + 1;
  }

  /** Orderly: puts the taken messages back in front, to be consumed again. */
  rollbackTaken(): void {
    if (this.#consuming.length === 0) return;
    const rest = this.#messages;
    this.#messages = new Map(this.#consuming.map((message) => [message.queueOffset, message]));
    for (const [offset, message] of rest) this.#messages.set(offset, message);
    this.#consuming = [];
  }

  /** Drops everything buffered (seek, reassignment). */
  clear(): void {
    this.#messages.clear();
    this.#consuming = [];
    this.#bytes = 0;
    this.maxOffsetSeen = -1;
  }
}
