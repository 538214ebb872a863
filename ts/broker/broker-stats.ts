// Runtime counters of a broker for the admin calls (GET_BROKER_RUNTIME_INFO, GET_CONSUME_STATS):
// messages put and got since boot, per consumer group, and their rates. Rates come from
// samples taken every SAMPLE_INTERVAL_MS (kept for 10 minutes), as RocketMQ's StoreStatsService
// reports them over 10 s, 1 min and 10 min. "Today" and "yesterday" totals are snapshots taken
// at the first sample after local midnight.

/** How often counters are sampled. */
import { TrafficStats } from './traffic-stats.js';

export const SAMPLE_INTERVAL_MS = 5_000;
const SAMPLES_KEPT = (10 * 60_000) / SAMPLE_INTERVAL_MS + 1;

interface Sample {
  at: number;
  put: number;
  get: number;
  /** `group@topic` → messages got. */
  groups: Map<string, number>;
}

function startOfDay(ms: number): number {
  const date = new Date(ms);
  date.setHours(0, 0, 0, 0);
  return date.getTime();
}

export class BrokerStats {
  readonly bootTimestamp: number;
  /** Per-topic traffic and latency histograms (/metrics). */
  readonly traffic = new TrafficStats();
  #put = 0;
  #get = 0;
  readonly #groupGets = new Map<string, number>();
  /** Highest offset + 1 handed out to a group per `group@topic@queueId` (the pull offset). */
  readonly #pullOffsets = new Map<string, number>();
  readonly #samples: Sample[] = [];
  #day: number;
  #putTodayMorning = 0;
  #getTodayMorning = 0;
  #putYesterdayMorning = 0;
  #getYesterdayMorning = 0;

  constructor(now: number = Date.now()) {
    this.bootTimestamp = now;
    this.#day = startOfDay(now);
    this.sample(now);
  }

  /** `count` messages were stored. */
  onPut(count: number): void {
    this.#put += count;
  }

  /** A pull by `group` returned `count` messages of `topic`/`queueId` up to `nextOffset`. */
  onGet(group: string, topic: string, queueId: number, count: number, nextOffset: number): void {
    this.#get += count;
    const key = `${group}@${topic}`;
    this.#groupGets.set(key, (this.#groupGets.get(key) ?? 0) + count);
    const queueKey = `${key}@${queueId}`;
    if ((this.#pullOffsets.get(queueKey) ?? -1) < nextOffset) this.#pullOffsets.set(queueKey, nextOffset);
  }

  /** An offset reset: the group's pull position on the queue restarts at `offset`. */
  resetPullOffset(group: string, topic: string, queueId: number, offset: number): void {
    this.#pullOffsets.set(`${group}@${topic}@${queueId}`, offset);
  }

  /** The offset after the last message a group pulled from a queue, or −1. */
  pullOffset(group: string, topic: string, queueId: number): number {
    return this.#pullOffsets.get(`${group}@${topic}@${queueId}`) ?? -1;
  }

  get putTotal(): number {
    return this.#put;
  }

  get getTotal(): number {
    return this.#get;
  }

  /** Takes a sample (the controller calls this every SAMPLE_INTERVAL_MS). */
  sample(now: number = Date.now()): void {
    const day = startOfDay(now);
    if (day !== this.#day) {
      this.#putYesterdayMorning = this.#putTodayMorning;
      this.#getYesterdayMorning = this.#getTodayMorning;
      this.#putTodayMorning = this.#put;
      this.#getTodayMorning = this.#get;
      this.#day = day;
    }
    this.#samples.push({ at: now, put: this.#put, get: this.#get, groups: new Map(this.#groupGets) });
    if (this.#samples.length > SAMPLES_KEPT) this.#samples.shift();
  }

  /** The newest sample at least `windowMs` old (or the oldest one). */
  #sampleBefore(now: number, windowMs: number): Sample {
    let chosen = this.#samples[0] as Sample;
    for (const sample of this.#samples) {
      if (now - sample.at >= windowMs) chosen = sample;
      else break;
    }
    return chosen;
  }

  #rate(now: number, windowMs: number, value: (sample: Sample | null) => number): number {
    const then = this.#sampleBefore(now, windowMs);
    const elapsed = (now - then.at) / 1000;
    if (elapsed <= 0) return 0;
    return (value(null) - value(then)) / elapsed;
  }

  /** "tps10s tps1m tps10m" as StoreStatsService prints them. */
  #tpsText(now: number, value: (sample: Sample | null) => number): string {
    return [10_000, 60_000, 600_000].map((w) => this.#rate(now, w, value).toFixed(2)).join(' ');
  }

  putTps(now: number = Date.now()): string {
    return this.#tpsText(now, (s) => (s === null ? this.#put : s.put));
  }

  getTps(now: number = Date.now()): string {
    return this.#tpsText(now, (s) => (s === null ? this.#get : s.get));
  }

  /** Messages per second `group` consumed over the last minute (all topics, or one). */
  consumeTps(group: string, topic?: string, now: number = Date.now()): number {
    const sum = (map: ReadonlyMap<string, number>): number => {
      let total = 0;
      for (const [key, count] of map) {
        const separator = key.indexOf('@');
        if (key.slice(0, separator) !== group) continue;
        if (topic !== undefined && key.slice(separator + 1) !== topic) continue;
        total += count;
      }
      return total;
    };
    return this.#rate(now, 60_000, (s) => sum(s === null ? this.#groupGets : s.groups));
  }

  /** The KVTable entries of the counters (part of GET_BROKER_RUNTIME_INFO). */
  runtimeEntries(now: number = Date.now()): Record<string, string> {
    return {
      bootTimestamp: String(this.bootTimestamp),
      runtime: formatRuntime(now - this.bootTimestamp),
      msgPutTotalTodayNow: String(this.#put),
      msgGetTotalTodayNow: String(this.#get),
      msgPutTotalTodayMorning: String(this.#putTodayMorning),
      msgGetTotalTodayMorning: String(this.#getTodayMorning),
      msgPutTotalYesterdayMorning: String(this.#putYesterdayMorning),
      msgGetTotalYesterdayMorning: String(this.#getYesterdayMorning),
      putMessageTimesTotal: String(this.#put),
      putTps: this.putTps(now),
      getFoundTps: this.getTps(now),
      getTransferredTps: this.getTps(now),
      getTotalTps: this.getTps(now),
      getMissTps: '0.00 0.00 0.00',
    };
  }
}

/** `[ 0 days, 1 hours, 2 minutes, 3 seconds ]`, StoreStatsService's runtime format. */
export function formatRuntime(ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  const days = Math.floor(seconds / 86_400);
  const hours = Math.floor((seconds % 86_400) / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  return `[ ${days} days, ${hours} hours, ${minutes} minutes, ${seconds % 60} seconds ]`;
}
