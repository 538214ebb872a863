// Seeded PRNG for property tests. Every test that uses randomness logs its seed; rerun with
// BOLIDE_TEST_SEED=<seed> to replay a failure exactly.

/** mulberry32: tiny, fast, good enough to drive fuzz inputs. */
export class Prng {
  #state: number;

  constructor(readonly seed: number) {
    this.#state = seed >>> 0;
  }

  /** Uniform float in [0, 1). */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform integer in [min, max] (inclusive). */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  bool(probability = 0.5): boolean {
    return this.next() < probability;
  }

  pick<T>(items: readonly T[]): T {
    const item = items[this.int(0, items.length - 1)];
    if (item === undefined) throw new Error('pick from an empty list');
    return item;
  }

  bytes(length: number): Buffer {
    const out = Buffer.alloc(length);
    for (let i = 0; i < length; i += 1) out[i] = this.int(0, 255);
    return out;
  }

  /** A string of `length` characters drawn from ASCII, a little Latin-1, CJK and emoji. */
  text(length: number): string {
    const alphabet = ['a', 'Z', '0', '_', '%', '@', ' ', '"', '\\', 'é', '中', '😀', '\n', '{', ':'];
    let out = '';
    for (let i = 0; i < length; i += 1) out += this.pick(alphabet);
    return out;
  }
}

/** The seed for this run: BOLIDE_TEST_SEED if set, else `fallback` (fixed, so CI is stable). */
export function testSeed(fallback: number): number {
  const fromEnv = process.env['BOLIDE_TEST_SEED'];
  return fromEnv === undefined ? fallback : Number(fromEnv) >>> 0;
}
