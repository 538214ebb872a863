import { StoreError } from './errors.js';

interface Waiter {
  endOffset: number;
  deadline: number;
  resolve: () => void;
  reject: (error: StoreError) => void;
}

/**
 * Appends waiting for durability (SYNC_FLUSH). Appends complete in offset order and every
 * waiter has the same timeout, so one FIFO is ordered both by offset and by deadline: a flush
 * event resolves a prefix, the expiry sweep rejects a prefix. No per-message timer.
 */
export class FlushWaiters {
  readonly #waiters: Waiter[] = [];
  #head = 0;
  #flushedOffset = 0;
  #timer: NodeJS.Timeout | undefined;
  readonly #now: () => number;
  readonly #sweepIntervalMs: number;

  constructor(options: { now?: () => number; sweepIntervalMs?: number } = {}) {
    this.#now = options.now ?? (() => performance.now());
    this.#sweepIntervalMs = options.sweepIntervalMs ?? 50;
  }

  get pending(): number {
    return this.#waiters.length - this.#head;
  }

  get flushedOffset(): number {
    return this.#flushedOffset;
  }

  /** Resolves once the flushed offset reaches `endOffset`, rejects after `timeoutMs`. */
  wait(endOffset: number, timeoutMs: number): Promise<void> {
    if (endOffset <= this.#flushedOffset) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.#waiters.push({ endOffset, deadline: this.#now() + timeoutMs, resolve, reject });
      this.#armTimer();
    });
  }

  /** The engine reported a new flushed offset (or a failed flush). */
  flushed(flushedOffset: number, error?: string | null): void {
    if (error) {
      this.#rejectAll(new StoreError('FLUSH_FAILED', `flushing the CommitLog failed: ${error}`));
      return;
    }
    this.#flushedOffset = Math.max(this.#flushedOffset, flushedOffset);
    while (this.#head < this.#waiters.length) {
      const waiter = this.#waiters[this.#head]!;
      if (waiter.endOffset > this.#flushedOffset) break;
      this.#head++;
      waiter.resolve();
    }
    this.#compact();
  }

  /** Reject waiters whose deadline has passed (FLUSH_DISK_TIMEOUT). */
  sweep(): void {
    const now = this.#now();
    while (this.#head < this.#waiters.length) {
      const waiter = this.#waiters[this.#head]!;
      if (waiter.deadline > now) break;
      this.#head++;
      waiter.reject(new StoreError('FLUSH_DISK_TIMEOUT', `not flushed within the syncFlushTimeout (offset ${waiter.endOffset})`));
    }
    this.#compact();
  }

  close(): void {
    this.#rejectAll(new StoreError('CLOSED', 'the store closed before the message was flushed'));
  }

  #rejectAll(error: StoreError): void {
    const waiting = this.#waiters.slice(this.#head);
    this.#waiters.length = 0;
    this.#head = 0;
    for (const waiter of waiting) waiter.reject(error);
    this.#compact();
  }

  #compact(): void {
    if (this.#head === this.#waiters.length) {
      this.#waiters.length = 0;
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#waiters.length) {
      this.#waiters.splice(0, this.#head);
      this.#head = 0;
    }
    if (this.pending === 0 && this.#timer) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }

  #armTimer(): void {
    if (this.#timer) return;
    // Deliberately not unref'd: a pending durability wait is work in progress and must keep
    // the process alive until it resolves or times out. The timer stops when none is left.
    this.#timer = setInterval(() => this.sweep(), this.#sweepIntervalMs);
  }
}
