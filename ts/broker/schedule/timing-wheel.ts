// A two-level hashed timing wheel. The fine wheel has `slots` slots of `tickMs` each (default
// 4096 × 10 ms ≈ 41 s); a timer due beyond the fine wheel's span waits in a coarse bucket keyed
// by its revolution number and is cascaded into the fine wheel once, when that revolution
// begins. A tick therefore touches only the timers due in its slot (plus, once per revolution,
// the timers of the bucket being cascaded, each exactly once): its cost does not grow with the
// number of timers pending.

export interface TimerEntry {
  /** Epoch ms at which the timer fires. */
  dueMs: number;
}

export class TimingWheel<T extends TimerEntry> {
  readonly tickMs: number;
  readonly #slots: T[][];
  /** revolution number -> timers due in it, not yet in the fine wheel. */
  readonly #coarse = new Map<number, T[]>();
  /** The next tick to process (absolute tick number = floor(ms / tickMs)). */
  #cursor: number;
  #size = 0;
  /** Timers in the fine wheel. */
  #fine = 0;

  constructor(startMs: number, tickMs = 10, slots = 4096) {
    this.tickMs = tickMs;
    this.#slots = Array.from({ length: slots }, () => []);
    this.#cursor = Math.floor(startMs / tickMs);
  }

  get size(): number {
    return this.#size;
  }

  #revolution(tick: number): number {
    return Math.floor(tick / this.#slots.length);
  }

  add(entry: T): void {
    this.#size++;
    // Tick k is processed at or after k * tickMs, so a timer goes in the tick starting at or
    // after its due time (never early); one already due goes in the next tick processed.
    const tick = Math.max(this.#cursor, Math.ceil(entry.dueMs / this.tickMs));
    if (this.#revolution(tick) <= this.#revolution(this.#cursor)) {
      (this.#slots[tick % this.#slots.length] as T[]).push(entry);
      this.#fine++;
      return;
    }
    const revolution = this.#revolution(tick);
    const bucket = this.#coarse.get(revolution);
    if (bucket === undefined) this.#coarse.set(revolution, [entry]);
    else bucket.push(entry);
  }

  /** Fires (returns) every timer due at or before `nowMs`, processing each elapsed tick once. */
  advance(nowMs: number): T[] {
    const fired: T[] = [];
    const last = Math.floor(nowMs / this.tickMs);
    const slotCount = this.#slots.length;
    while (this.#cursor <= last) {
      const tick = this.#cursor;
      if (tick % slotCount === 0) this.#cascade(this.#revolution(tick));
      const slot = this.#slots[tick % slotCount] as T[];
      if (slot.length > 0) {
        this.#slots[tick % slotCount] = [];
        this.#fine -= slot.length;
        for (const entry of slot) fired.push(entry);
      }
      this.#cursor++;
      // An empty fine wheel after a stall: skip to the next revolution start (where a cascade
      // may refill it) instead of walking empty ticks one by one.
      if (this.#fine === 0 && this.#cursor % slotCount !== 0) {
        this.#cursor = Math.min(last + 1, (this.#revolution(this.#cursor) + 1) * slotCount);
      }
    }
    this.#size -= fired.length;
    return fired;
  }

  /** Moves the timers of `revolution` from their coarse bucket into the fine wheel. */
  #cascade(revolution: number): void {
    const bucket = this.#coarse.get(revolution);
    if (bucket === undefined) return;
    this.#coarse.delete(revolution);
    for (const entry of bucket) {
      const tick = Math.max(this.#cursor, Math.ceil(entry.dueMs / this.tickMs));
      (this.#slots[tick % this.#slots.length] as T[]).push(entry);
    }
    this.#fine += bucket.length;
  }
}
