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
// an index of `2 × capacity` (a power of two) Int32 slots holding ring slot + 1 (0 = empty),
// linear probing, deletions by backward shift (no tombstones, so probes stay short forever).
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
    return slot < 0 ? -1 : (this.#positions[(this.#index[slot] as number) - 1] as number);
  }

  /** Adds an entry (the newest for `key`). The caller makes room first when `full`. */
  add(key: number, storedAt: number, position: number): void {
    if (this.#count === this.#capacity) {
      if (this.#capacity >= this.#maxKeys) throw new RangeError('the de-duplication table is full: drop the oldest entry first');
      this.#resize(Math.min(this.#capacity * 2, this.#maxKeys));
    }
    const ringSlot = (this.#head + this.#count) % this.#capacity;
    this.#keys[ringSlot] = key;
    this.#storedAt[ringSlot] = storedAt;
    this.#positions[ringSlot] = position;
    this.#count += 1;
    this.#index[this.#slotFor(key)] = ringSlot + 1; // an older entry of the key stays in the ring, unindexed
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
    if (slot >= 0 && this.#index[slot] === ringSlot + 1) this.#deleteSlot(slot);
    this.#head = (this.#head + 1) % this.#capacity;
    this.#count -= 1;
    return storedAt;
  }

  #home(key: number): number {
    // Keys are well-mixed hashes: their low 32 bits are as good an index as any.
    return (key >>> 0) & this.#mask;
  }

  /** Index slot holding `key`, else the empty slot where it belongs (one probe for both). */
  #slotFor(key: number): number {
    let slot = this.#home(key);
    for (;;) {
      const entry = this.#index[slot] as number;
      if (entry === 0 || this.#keys[entry - 1] === key) return slot;
      slot = (slot + 1) & this.#mask;
    }
  }

  /** Index slot holding `key`, or -1. */
  #find(key: number): number {
    let slot = this.#home(key);
    for (;;) {
      const entry = this.#index[slot] as number;
      if (entry === 0) return -1;
      if (this.#keys[entry - 1] === key) return slot;
      slot = (slot + 1) & this.#mask;
    }
  }

  /** Backward-shift deletion: later entries of the probe run move into the hole. */
  #deleteSlot(slot: number): void {
    let hole = slot;
    let next = (hole + 1) & this.#mask;
    for (;;) {
      const entry = this.#index[next] as number;
      if (entry === 0) break;
      const home = this.#home(this.#keys[entry - 1] as number);
      // Move it back unless its home lies cyclically in (hole, next].
      const distanceToNext = (next - home) & this.#mask;
      const distanceToHole = (hole - home) & this.#mask;
      if (distanceToHole < distanceToNext) {
        this.#index[hole] = entry;
        hole = next;
      }
      next = (next + 1) & this.#mask;
    }
    this.#index[hole] = 0;
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
    this.#index = new Int32Array(indexSize);
    this.#mask = indexSize - 1;
    // Oldest first, so a key present twice ends up indexed by its newest entry.
    for (let ringSlot = 0; ringSlot < this.#count; ringSlot++) this.#index[this.#slotFor(keys[ringSlot] as number)] = ringSlot + 1;
  }
}
