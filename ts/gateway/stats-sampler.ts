// Per-topic message counts sampled over time, for the dashboard's TPS sparklines and its live
// produce/consume chart (GET /api/stats).
//
// Why event-driven rather than polling the store: with 10,000 topics x 8 queues, reading every
// queue's max offset each interval is 80,000 native calls. The store already reports, per
// dispatch round, which queues grew and their new max offsets (onQueuesGrew); the sampler adds
// the growth to a per-topic pending count and, once per interval, moves the pending counts into
// ring buffers. Idle topics cost nothing.
//
// Memory is bounded: a topic has a ring (SAMPLES numbers) only while it had traffic within the
// window; a ring whose last non-zero sample left the window is dropped. The per-queue last-known
// max offsets are bounded by the queues the store has (a deleted topic's are dropped).

/** What the sampler needs from the store and the broker's counters. */
export interface SampledBroker {
  /** Every (topic, queueId) the store has entries for, with its max offset: the baseline. */
  queues(): Array<[topic: string, queueId: number]>;
  maxOffset(topic: string, queueId: number): number;
  onQueuesGrew(listener: (grown: ReadonlyArray<{ topic: string; queueId: number; maxOffset: number }>) => void): () => void;
  /** A topic was deleted (its queues restart at offset 0 if it is created again). */
  onTopicDeleted(listener: (topic: string) => void): () => void;
  /** Messages stored / handed to consumers since boot. */
  putTotal(): number;
  getTotal(): number;
}

export interface StatsSamplerOptions {
  intervalMs: number;
  /** Samples kept per series (the window is intervalMs * samples). */
  samples: number;
}

export interface StatsSnapshot {
  intervalMs: number;
  /** Time of the newest sample (ms since epoch). */
  sampledAt: number;
  /** Messages stored and consumed per interval, oldest first, `samples` entries. */
  put: number[];
  get: number[];
  /** Messages stored per interval per requested topic, oldest first (zeros for idle topics). */
  topics: Record<string, number[]>;
}

interface Series {
  readonly values: Float64Array;
  /** Tick of the newest value written (older slots up to it are valid). */
  lastTick: number;
}

const queueKey = (topic: string, queueId: number): string => `${topic}\u0000${queueId}`;

export class StatsSampler {
  readonly #broker: SampledBroker;
  readonly #options: StatsSamplerOptions;
  readonly #knownMax = new Map<string, number>();
  readonly #pending = new Map<string, number>();
  readonly #series = new Map<string, Series>();
  readonly #put: Series;
  readonly #get: Series;
  #tick = 0;
  #sampledAt = Date.now();
  #lastPut: number;
  #lastGet: number;
  #timer: NodeJS.Timeout | undefined;
  #unsubscribe: Array<() => void> = [];

  constructor(broker: SampledBroker, options: StatsSamplerOptions) {
    this.#broker = broker;
    this.#options = options;
    this.#put = { values: new Float64Array(options.samples), lastTick: 0 };
    this.#get = { values: new Float64Array(options.samples), lastTick: 0 };
    this.#lastPut = broker.putTotal();
    this.#lastGet = broker.getTotal();
  }

  /** Seeds the per-queue baselines (so history before start is not counted) and starts sampling. */
  start(): void {
    if (this.#timer !== undefined) return;
    for (const [topic, queueId] of this.#broker.queues()) {
      this.#knownMax.set(queueKey(topic, queueId), this.#broker.maxOffset(topic, queueId));
    }
    this.#unsubscribe = [
      this.#broker.onQueuesGrew((grown) => this.onGrowth(grown)),
      this.#broker.onTopicDeleted((topic) => this.#forget(topic)),
    ];
    this.#timer = setInterval(() => this.sample(), this.#options.intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    for (const unsubscribe of this.#unsubscribe) unsubscribe();
    this.#unsubscribe = [];
  }

  /** Drops a deleted topic's queue baselines (its series stays: that traffic happened). Rare: a scan is fine. */
  #forget(topic: string): void {
    const prefix = queueKey(topic, 0).slice(0, -1);
    for (const key of this.#knownMax.keys()) if (key.startsWith(prefix)) this.#knownMax.delete(key);
  }

  /** Growth reported by the store's dispatcher (absolute max offsets per queue). */
  onGrowth(grown: ReadonlyArray<{ topic: string; queueId: number; maxOffset: number }>): void {
    for (const { topic, queueId, maxOffset } of grown) {
      const key = queueKey(topic, queueId);
      // A queue never seen was created after start: it grew from 0.
      const before = this.#knownMax.get(key) ?? 0;
      this.#knownMax.set(key, maxOffset);
      // Deletion clears baselines (onTopicDeleted); a smaller max offset still means the queue restarted.
      const growth = maxOffset >= before ? maxOffset - before : maxOffset;
      if (growth > 0) this.#pending.set(topic, (this.#pending.get(topic) ?? 0) + growth);
    }
  }

  /** Closes the current interval (the timer calls this; tests may too). */
  sample(now: number = Date.now()): void {
    this.#tick += 1;
    this.#sampledAt = now;
    const put = this.#broker.putTotal();
    const get = this.#broker.getTotal();
    this.#write(this.#put, Math.max(0, put - this.#lastPut));
    this.#write(this.#get, Math.max(0, get - this.#lastGet));
    this.#lastPut = put;
    this.#lastGet = get;
    for (const [topic, count] of this.#pending) {
      let series = this.#series.get(topic);
      if (series === undefined) {
        series = { values: new Float64Array(this.#options.samples), lastTick: this.#tick - 1 };
        this.#series.set(topic, series);
      }
      this.#write(series, count);
    }
    this.#pending.clear();
    for (const [topic, series] of this.#series) {
      if (this.#tick - series.lastTick >= this.#options.samples) this.#series.delete(topic);
    }
  }

  /** How many topics currently hold a ring (for tests and /metrics-style introspection). */
  get seriesCount(): number {
    return this.#series.size;
  }

  snapshot(topics: readonly string[]): StatsSnapshot {
    const result: Record<string, number[]> = {};
    for (const topic of topics) result[topic] = this.#read(this.#series.get(topic));
    return {
      intervalMs: this.#options.intervalMs, sampledAt: this.#sampledAt,
      put: this.#read(this.#put), get: this.#read(this.#get), topics: result,
    };
  }

  /** Writes `value` at the current tick, zeroing the slots of the ticks the series skipped. */
  #write(series: Series, value: number): void {
    const n = this.#options.samples;
    const skipped = Math.min(n, this.#tick - series.lastTick - 1);
    for (let i = 1; i <= skipped; i += 1) series.values[(series.lastTick + i) % n] = 0;
    series.values[this.#tick % n] = value;
    series.lastTick = this.#tick;
  }

  /** The window oldest first; slots after the series' last write are zero. */
  #read(series: Series | undefined): number[] {
    const n = this.#options.samples;
    const out = new Array<number>(n).fill(0);
    if (series === undefined) return out;
    for (let age = 0; age < n; age += 1) {
      const tick = this.#tick - age;
      if (tick <= 0) break;
      out[n - 1 - age] = tick > series.lastTick ? 0 : (series.values[tick % n] ?? 0);
    }
    return out;
  }
}
