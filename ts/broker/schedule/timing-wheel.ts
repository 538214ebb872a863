// A two-level hashed timing wheel. The fine wheel has `slots` slots of `tickMs` each (default
// 4096 × 10 ms ≈ 41 s); a timer due beyond the fine wheel's span waits in a coarse bucket keyed
// by its revolution number and is cascaded into the fine wheel once, when that revolution
// begins. A tick therefore touches only the timers due in its slot (plus, once per revolution,
// the timers of the bucket being cascaded, each exactly once): its cost does not grow with the
// number of timers pending.
//
// Memory: a timer is three doubles and a link (28 bytes) in a pool of fixed-size typed-array
// chunks (struct of arrays); slots and buckets are singly linked lists through the pool (FIFO:
// timers due in the same tick fire in the order they were added), freed nodes go to a free list
// and are reused first. Chunks are added, never reallocated: growing copies nothing, holds no
// old-and-new pair at once, and leaves at most one partly used chunk (1.75 MiB) of slack. A
// million pending timers take ~28 MiB and nothing for the garbage collector to trace; the
// previous object-per-timer arrays measured ~290 MiB of RssAnon for under half a million.
// The pool keeps its high-water size (bounded by timerMaxPendingMessages upstream).

export interface TimerEntry {
  /** Epoch ms at which the timer fires. */
  dueMs: number;
  /** Where the timer's record is: its CommitLog offset and its offset in the timer queue. */
  physicalOffset: number;
  queueOffset: number;
}

const NONE = -1;
/** 2^16 nodes a chunk: 1.75 MiB, the most a half-used chunk can waste. */
const CHUNK_BITS = 16;
const CHUNK_NODES = 1 << CHUNK_BITS;
const CHUNK_MASK = CHUNK_NODES - 1;
const NODE_BYTES = 3 * Float64Array.BYTES_PER_ELEMENT + Int32Array.BYTES_PER_ELEMENT;

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
  // The pool, chunk by chunk (node n is entry n & CHUNK_MASK of chunk n >> CHUNK_BITS).
  readonly #due: Float64Array[] = [];
  readonly #physical: Float64Array[] = [];
  readonly #queueOffsets: Float64Array[] = [];
  readonly #next: Int32Array[] = [];
  /** Head of the free-node list; nodes never used are at or beyond `#used`. */
  #free = NONE;
  #used = 0;
  /** The next tick to process (absolute tick number = floor(ms / tickMs)). */
  #cursor: number;
  #size = 0;
  /** Timers in the fine wheel. */
  #fine = 0;

  constructor(startMs: number, tickMs = 10, slots = 4096) {
    if (!Number.isInteger(slots) || slots < 1 || !(tickMs > 0)) throw new RangeError(`bad timing wheel shape: ${slots} slots of ${tickMs} ms`);
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
    return this.#due.length * CHUNK_NODES * NODE_BYTES;
  }

  #revolution(tick: number): number {
    return Math.floor(tick / this.#slotCount);
  }

  /** The tick a timer belongs to: the first processed at or after its due time (never early). */
  #tickOf(dueMs: number): number {
    return Math.max(this.#cursor, Math.ceil(dueMs / this.tickMs));
  }

  #nextOf(node: number): number {
    return (this.#next[node >> CHUNK_BITS] as Int32Array)[node & CHUNK_MASK] as number;
  }

  #setNext(node: number, next: number): void {
    (this.#next[node >> CHUNK_BITS] as Int32Array)[node & CHUNK_MASK] = next;
  }

  #dueOf(node: number): number {
    return (this.#due[node >> CHUNK_BITS] as Float64Array)[node & CHUNK_MASK] as number;
  }

  add(entry: TimerEntry): void {
    const node = this.#allocate();
    const chunk = node >> CHUNK_BITS;
    const at = node & CHUNK_MASK;
    (this.#due[chunk] as Float64Array)[at] = entry.dueMs;
    (this.#physical[chunk] as Float64Array)[at] = entry.physicalOffset;
    (this.#queueOffsets[chunk] as Float64Array)[at] = entry.queueOffset;
    this.#size++;
    this.#place(node);
  }

  /**
   * Fires (returns) the timers due at or before `nowMs`, processing each elapsed tick once, at
   * most `limit` of them: the rest of a tick cut short stay first in line for the next call, so a
   * burst (a restart after downtime) is delivered over several calls instead of one huge array.
   */
  advance(nowMs: number, limit = Number.POSITIVE_INFINITY): TimerEntry[] {
    const fired: TimerEntry[] = [];
    const last = Math.floor(nowMs / this.tickMs);
    const slotCount = this.#slotCount;
    while (this.#cursor <= last) {
      const tick = this.#cursor;
      const slot = tick % slotCount;
      // Re-entering a tick cut short finds its bucket already cascaded (a no-op).
      if (slot === 0) this.#cascade(this.#revolution(tick));
      let node = this.#slotHeads[slot] as number;
      while (node !== NONE && fired.length < limit) {
        const chunk = node >> CHUNK_BITS;
        const at = node & CHUNK_MASK;
        const following = (this.#next[chunk] as Int32Array)[at] as number;
        fired.push({
          dueMs: (this.#due[chunk] as Float64Array)[at] as number,
          physicalOffset: (this.#physical[chunk] as Float64Array)[at] as number,
          queueOffset: (this.#queueOffsets[chunk] as Float64Array)[at] as number,
        });
        this.#release(node);
        this.#fine--;
        node = following;
      }
      this.#slotHeads[slot] = node;
      if (node !== NONE) break; // the limit was reached inside this tick
      this.#slotTails[slot] = NONE;
      this.#cursor++;
      // An empty fine wheel after a stall: skip to the next revolution start (where a cascade
      // may refill it) instead of walking empty ticks one by one.
      if (this.#fine === 0 && this.#cursor % slotCount !== 0) {
        this.#cursor = Math.min(last + 1, (this.#revolution(this.#cursor) + 1) * slotCount);
      }
      if (fired.length >= limit) break;
    }
    this.#size -= fired.length;
    return fired;
  }

  /** Puts a node in its fine slot (this revolution) or its revolution's coarse bucket. */
  #place(node: number): void {
    this.#setNext(node, NONE);
    const tick = this.#tickOf(this.#dueOf(node));
    if (this.#revolution(tick) <= this.#revolution(this.#cursor)) {
      const slot = tick % this.#slotCount;
      const tail = this.#slotTails[slot] as number;
      if (tail === NONE) this.#slotHeads[slot] = node;
      else this.#setNext(tail, node);
      this.#slotTails[slot] = node;
      this.#fine++;
      return;
    }
    const revolution = this.#revolution(tick);
    const bucket = this.#coarse.get(revolution);
    if (bucket === undefined) {
      this.#coarse.set(revolution, { head: node, tail: node });
    } else {
      this.#setNext(bucket.tail, node);
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
      const following = this.#nextOf(node);
      this.#place(node);
      node = following;
    }
  }

  #allocate(): number {
    if (this.#free !== NONE) {
      const node = this.#free;
      this.#free = this.#nextOf(node);
      return node;
    }
    if (this.#used === this.#due.length * CHUNK_NODES) {
      this.#due.push(new Float64Array(CHUNK_NODES));
      this.#physical.push(new Float64Array(CHUNK_NODES));
      this.#queueOffsets.push(new Float64Array(CHUNK_NODES));
      this.#next.push(new Int32Array(CHUNK_NODES));
    }
    return this.#used++;
  }

  #release(node: number): void {
    this.#setNext(node, this.#free);
    this.#free = node;
  }
}
