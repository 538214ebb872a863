import test from 'ava';
import { DedupTable } from '../../../ts/broker/dedup-table.js';

// A reference model of the same contract: entries in arrival order, lookups answer the newest
// entry of a key, dropping the oldest removes a key only when no newer entry of it exists.
class Model {
  readonly entries: Array<{ key: number; storedAt: number; position: number }> = [];
  add(key: number, storedAt: number, position: number): void {
    this.entries.push({ key, storedAt, position });
  }
  position(key: number): number {
    for (let i = this.entries.length - 1; i >= 0; i--) if (this.entries[i]!.key === key) return this.entries[i]!.position;
    return -1;
  }
  dropOldest(): number | undefined {
    return this.entries.shift()?.storedAt;
  }
}

/** A small deterministic PRNG so a failure can be replayed. */
function xorshift(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 4294967296;
  };
}

for (const [name, keyOf] of [
  ['well-spread keys', (r: number) => Math.floor(r * 5000) * 2654435761 % 2 ** 53],
  // Every key has the same low 32 bits: one long probe run, the worst case for deletions.
  ['keys colliding on their index slot', (r: number) => Math.floor(r * 300) * 4294967296 + 12345],
] as const) {
  test(`random adds, lookups and drops agree with a reference model (${name}), through growth and ring wrap-around`, (t) => {
    const random = xorshift(name.length * 7919);
    const maxKeys = 700;
    const table = new DedupTable(maxKeys);
    const model = new Model();
    for (let step = 0; step < 40_000; step++) {
      const roll = random();
      if (roll < 0.55) {
        if (table.full) t.is(table.dropOldest(), model.dropOldest());
        const key = keyOf(random());
        table.add(key, step, step * 10);
        model.add(key, step, step * 10);
      } else if (roll < 0.7) {
        t.is(table.dropOldest(), model.dropOldest());
      } else {
        const key = keyOf(random());
        t.is(table.position(key), model.position(key), `step ${step}: key ${key}`);
      }
      if (step % 997 === 0) {
        t.is(table.size, model.entries.length);
        t.is(table.oldestStoredAt(), model.entries[0]?.storedAt);
      }
    }
    for (const entry of model.entries) t.is(table.position(entry.key), model.position(entry.key));
  });
}

test('a table at maxKeys refuses an add until the oldest entry is dropped', (t) => {
  const table = new DedupTable(2);
  table.add(1, 0, 100);
  table.add(2, 1, 200);
  t.true(table.full);
  t.throws(() => table.add(3, 2, 300), { instanceOf: RangeError });
  t.is(table.dropOldest(), 0);
  table.add(3, 2, 300);
  t.deepEqual([table.position(1), table.position(2), table.position(3)], [-1, 200, 300]);
});

test('dropping an older entry of a key stored again keeps the newer one findable', (t) => {
  const table = new DedupTable(10);
  table.add(7, 0, 1);
  table.add(7, 5, 2);
  t.is(table.dropOldest(), 0);
  t.is(table.position(7), 2);
  t.is(table.dropOldest(), 5);
  t.is(table.position(7), -1);
  t.is(table.dropOldest(), undefined);
});

test('maxKeys must be a positive integer', (t) => {
  t.throws(() => new DedupTable(0), { instanceOf: RangeError });
  t.throws(() => new DedupTable(1.5), { instanceOf: RangeError });
});
