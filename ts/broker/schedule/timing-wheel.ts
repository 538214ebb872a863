// A two-level hashed timing wheel. The fine wheel has `slots` slots of `tickMs` each (default
// 4096 × 10 ms ≈ 41 s); a timer due beyond the fine wheel's span waits in a coarse bucket keyed
// by its revolution number and is cascaded into the fine wheel once, when that revolution
// begins. A tick therefore touches only the timers due in its slot (plus, once per revolution,
// the timers of the bucket being cascaded, each exactly once): its cost does not grow with the
// number of timers pending.
//
// Memory: a timer is three doubles and a link in pooled typed arrays (28 bytes), slots and
// buckets are singly linked lists through the pool (FIFO: timers due in the same tick fire in
// the order they were added), freed nodes are reused. A million pending timers take ~28 MiB
// (plus the pool's growth slack) and nothing for the garbage collector to trace; the previous
// object-per-timer arrays measured ~290 MiB of RssAnon for under half a million.

export interface TimerEntry {
  /** Epoch ms at which the timer fires. */
  dueMs: number;
  /** Where the timer's record is: its CommitLog offset and its offset in the timer queue. */
  physicalOffset: number;
  queueOffset: number;
}

const NONE = -1;
const INITIAL_CAPACITY = 1024;

/** A FIFO list through the pool: first and last node. */
interface Chain {
  head: number;
  tail: number;
}

export class TimingWheel {
  readonly tickMs: number;
  readonly #slotCount: number;
  readonly #slotHeads: Int32Array;
  readonly #slotTails: Int32Array;
  /** revolution number -> timers due in it, not yet in the fine wheel. */
  readonly #coarse = new Map<number, Chain>();
  #due = new Float64Array(INITIAL_CAPACITY);
  #physical = new Float64Array(INITIAL_CAPACITY);
  #queueOffsets = new Float64Array(INITIAL_CAPACITY);
  #next = new Int32Array(INITIAL_CAPACITY);
  /** Head of the free-node list; nodes never used are beyond `#used`. */
  #free = NONE;
  #used = 0;
  /** The next tick to process (absolute tick number = floor(ms / tickMs)). */
  #cursor: number;
  #size = 0;
  /** Timers in the fine wheel. */
  #fine = 0;

  constructor(startMs: number, tickMs = 10, slots = 4096) {
    this.tickMs = tickMs;
    this.#slotCount = slots;
    this.#slotHeads = new Int32Array(slots).fill(NONE);
    this.#slotTails = new Int32Array(slots).fill(NONE);
    this.#cursor = Math.floor(startMs / tickMs);
  }

  get size(): number {
    return this.#size;
  }

  /** Bytes held by the pool (for metrics and the benchmark). */
  get poolBytes(): number {
    return this.#due.byteLength + this.#physical.byteLength + this.#queueOffsets.byteLength + this.#next.byteLength;
  }

  #revolution(tick: number): number {
    return Math.floor(tick / this.#slotCount);
  }

  /** The tick a timer belongs to: the first processed at or after its due time (never early). */
  #tickOf(dueMs: number): number {
    return Math.max(this.#cursor, Math.ceil(dueMs / this.tickMs));
  }

  add(entry: TimerEntry): void {
    const node = this.#allocate();
    this.#due[node] = entry.dueMs;
    this.#physical[node] = entry.physicalOffset;
    this.#queueOffsets[node] = entry.queueOffset;
    this.#size++;
    this.#place(node);
  }

  /** Fires (returns) every timer due at or before `nowMs`, processing each elapsed tick once. */
  advance(nowMs: number): TimerEntry[] {
    const fired: TimerEntry[] = [];
    const last = Math.floor(nowMs / this.tickMs);
    const slotCount = this.#slotCount;
    while (this.#cursor <= last) {
      const tick = this.#cursor;
      const slot = tick % slotCount;
      if (slot === 0) this.#cascade(this.#revolution(tick));
      let node = this.#slotHeads[slot] as number;
      if (node !== NONE) {
        this.#slotHeads[slot] = NONE;
        this.#slotTails[slot] = NONE;
        while (node !== NONE) {
          const following = this.#next[node] as number;
          fired.push({ dueMs: this.#due[node] as number, physicalOffset: this.#physical[node] as number, queueOffset: this.#queueOffsets[node] as number });
          this.#release(node);
          this.#fine--;
          node = following;
        }
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

  /** Puts a node in its fine slot (this revolution) or its revolution's coarse bucket. */
  #place(node: number): void {
    this.#next[node] = NONE;
    const tick = this.#tickOf(this.#due[node] as number);
    if (this.#revolution(tick) <= this.#revolution(this.#cursor)) {
      const slot = tick % this.#slotCount;
      const tail = this.#slotTails[slot] as number;
      if (tail === NONE) this.#slotHeads[slot] = node;
      else this.#next[tail] = node;
      this.#slotTails[slot] = node;
      this.#fine++;
      return;
    }
    const revolution = this.#revolution(tick);
    const bucket = this.#coarse.get(revolution);
    if (bucket === undefined) {
      this.#coarse.set(revolution, { head: node, tail: node });
    } else {
      this.#next[bucket.tail] = node;
      bucket.tail = node;
    }
  }

  /** Moves the timers of `revolution` from their coarse bucket into the fine wheel. */
  #cascade(revolution: number): void {
    const bucket = this.#coarse.get(revolution);
    if (bucket === undefined) return;
    this.#coarse.delete(revolution);
    let node = bucket.head;
    while (node !== NONE) {
      const following = this.#next[node] as number;
      this.#place(node);
      node = following;
    }
  }

  #allocate(): number {
    if (this.#free !== NONE) {
      const node = this.#free;
      this.#free = this.#next[node] as number;
      return node;
    }
    if (this.#used === this.#due.length) this.#grow();
    return this.#used++;
  }

  #release(node: number): void {
    this.#next[node] = this.#free;
    this.#free = node;
  }

  #grow(): void {
    const capacity = this.#due.length * 2;
    const grown = <T extends Float64Array | Int32Array>(old: T, make: (n: number) => T): T => {
      const bigger = make(capacity);
      bigger.set(old);
      return bigger;
    };
    this.#due = grown(this.#due, (n) => new Float64Array(n));
    this.#physical = grown(this.#physical, (n) => new Float64Array(n));
    this.#queueOffsets = grown(this.#queueOffsets, (n) => new Float64Array(n));
    this.#next = grown(this.#next, (n) => new Int32Array(n));
  }
}
