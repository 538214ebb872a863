// The memory of the send de-duplication window (send-dedup.ts): numeric keys in arrival order,
// each with its arrival time and a CommitLog position, found by key in O(1).
//
// Why typed arrays rather than a Map of entry objects: the window holds up to hundreds of
// thousands of keys for minutes, so every entry object outlived the young generation and was
// promoted; under a steady send load V8 then spent a sixth of the broker's CPU in major GCs
// marking and sweeping them (measured with perf under bench:http). Here an entry is three
// doubles in a ring plus one int in an open-addressing index: nothing is allocated per send and
// the collector has no per-key objects to trace.
//
// Layout: a ring (`#keys`, `#storedAt`, `#positions`) of `capacity` entries, oldest at `#head`;
// an index of `2 × capacity` (a power of two) slots, each two Int32s side by side: ring slot + 1
// (0 = empty) and the key's low 32 bits, linear probing, deletions by backward shift (no
// tombstones, so probes stay short forever). The low bits beside the slot let a probe and a
// backward shift run without reading the ring: with 300,000 keys both arrays are megabytes,
// and every ring read was a cache miss (a tenth of an HTTP produce, perf).
// The ring grows by doubling up to `maxKeys`, then the oldest entry leaves before a new one
// enters.

const INITIAL_CAPACITY = 1024;

export class DedupTable {
  readonly #maxKeys: number;
  #capacity = 0;
  #keys = new Float64Array(0);
  #storedAt = new Float64Array(0);
  #positions = new Float64Array(0);
  #index = new Int32Array(0);
  #mask = 0;
  /** Ring slot of the oldest entry. */
  #head = 0;
  #count = 0;

  constructor(maxKeys: number) {
    if (!Number.isInteger(maxKeys) || maxKeys < 1) throw new RangeError(`maxKeys must be a positive integer, not ${maxKeys}`);
    this.#maxKeys = maxKeys;
    this.#resize(Math.min(INITIAL_CAPACITY, maxKeys));
  }

  /** Entries held (a key stored twice counts twice until its older entry leaves). */
  get size(): number {
    return this.#count;
  }

  get full(): boolean {
    return this.#count === this.#maxKeys;
  }

  /** The position stored with the newest entry of `key`, or -1. */
  position(key: number): number {
    const slot = this.#find(key);
    return slot < 0 ? -1 : (this.#positions[(this.#index[slot * 2] as number) - 1] as number);
  }

  /** Adds an entry (the newest for `key`). The caller makes room first when `full`. */
  add(key: number, storedAt: number, position: number): void {
    if (this.#count === this.#capacity) {
      if (this.#capacity >= this.#maxKeys) throw new RangeError('the de-duplication table is full: drop the oldest entry first');
      this.#resize(Math.min(this.#capacity * 2, this.#maxKeys));
    }
    let ringSlot = this.#head + this.#count;
    if (ringSlot >= this.#capacity) ringSlot -= this.#capacity;
    this.#keys[ringSlot] = key;
    this.#storedAt[ringSlot] = storedAt;
    this.#positions[ringSlot] = position;
    this.#count += 1;
    // An older entry of the key stays in the ring, unindexed.
    const slot = this.#slotFor(key);
    this.#index[slot * 2] = ringSlot + 1;
    this.#index[slot * 2 + 1] = key | 0;
  }

  /** Arrival time of the oldest entry (undefined when empty). */
  oldestStoredAt(): number | undefined {
    return this.#count === 0 ? undefined : this.#storedAt[this.#head];
  }

  /** Removes the oldest entry; returns its arrival time (undefined when empty). */
  dropOldest(): number | undefined {
    if (this.#count === 0) return undefined;
    const ringSlot = this.#head;
    const storedAt = this.#storedAt[ringSlot] as number;
    const slot = this.#find(this.#keys[ringSlot] as number);
    // A key stored again later is indexed by its newer entry: leave that one in place.
    if (slot >= 0 && this.#index[slot * 2] === ringSlot + 1) this.#deleteSlot(slot);
    this.#head = ringSlot + 1 === this.#capacity ? 0 : ringSlot + 1;
    this.#count -= 1;
    return storedAt;
  }

  /** Keys are well-mixed hashes: their low 32 bits are as good an index as any. */
  #home(low: number): number {
    return low & this.#mask;
  }

  /** Index slot holding `key`, else the empty slot where it belongs (one probe for both). */
  #slotFor(key: number): number {
    const low = key | 0;
    let slot = this.#home(low);
    for (;;) {
      const entry = this.#index[slot * 2] as number;
      if (entry === 0 || (this.#index[slot * 2 + 1] === low && this.#keys[entry - 1] === key)) return slot;
      slot = (slot + 1) & this.#mask;
    }
  }

  /** Index slot holding `key`, or -1. */
  #find(key: number): number {
    const low = key | 0;
    let slot = this.#home(low);
    for (;;) {
      const entry = this.#index[slot * 2] as number;
      if (entry === 0) return -1;
      if (this.#index[slot * 2 + 1] === low && this.#keys[entry - 1] === key) return slot;
      slot = (slot + 1) & this.#mask;
    }
  }

  /** Backward-shift deletion: later entries of the probe run move into the hole. */
  #deleteSlot(slot: number): void {
    let hole = slot;
    let next = (hole + 1) & this.#mask;
    for (;;) {
      const entry = this.#index[next * 2] as number;
      if (entry === 0) break;
      const low = this.#index[next * 2 + 1] as number;
      const home = this.#home(low);
      // Move it back unless its home lies cyclically in (hole, next].
      const distanceToNext = (next - home) & this.#mask;
      const distanceToHole = (hole - home) & this.#mask;
      if (distanceToHole < distanceToNext) {
        this.#index[hole * 2] = entry;
        this.#index[hole * 2 + 1] = low;
        hole = next;
      }
      next = (next + 1) & this.#mask;
    }
    this.#index[hole * 2] = 0;
    this.#index[hole * 2 + 1] = 0;
  }

  /** Copies the ring (oldest first) into arrays of `capacity` and rebuilds the index. */
  #resize(capacity: number): void {
    const keys = new Float64Array(capacity);
    const storedAt = new Float64Array(capacity);
    const positions = new Float64Array(capacity);
    for (let i = 0; i < this.#count; i++) {
      const from = (this.#head + i) % this.#capacity;
      keys[i] = this.#keys[from] as number;
      storedAt[i] = this.#storedAt[from] as number;
      positions[i] = this.#positions[from] as number;
    }
    let indexSize = 1;
    while (indexSize < capacity * 2) indexSize *= 2;
    this.#keys = keys;
    this.#storedAt = storedAt;
    this.#positions = positions;
    this.#capacity = capacity;
    this.#head = 0;
    this.#index = new Int32Array(indexSize * 2);
    this.#mask = indexSize - 1;
    // Oldest first, so a key present twice ends up indexed by its newest entry.
    for (let ringSlot = 0; ringSlot < this.#count; ringSlot++) {
      const key = keys[ringSlot] as number;
      const slot = this.#slotFor(key);
      this.#index[slot * 2] = ringSlot + 1;
      this.#index[slot * 2 + 1] = key | 0;
    }
  }
}
