// Traffic figures for /metrics: messages and bytes in and out per topic, and latency
// histograms of the request paths (cumulative buckets, as Prometheus histograms are). Counting
// is a Map lookup and a few additions per request: cheap enough for every send and pull.

/** Upper bounds of the latency buckets, in milliseconds. */
export const LATENCY_BUCKETS_MS: readonly number[] = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000];

export class LatencyHistogram {
  readonly #counts = new Float64Array(LATENCY_BUCKETS_MS.length + 1);
  #sum = 0;
  #count = 0;

  observe(ms: number): void {
    let i = 0;
    while (i < LATENCY_BUCKETS_MS.length && ms > (LATENCY_BUCKETS_MS[i] as number)) i += 1;
    this.#counts[i] = (this.#counts[i] as number) + 1;
    this.#sum += ms;
    this.#count += 1;
  }

  /** Cumulative counts per bucket bound (the last bound is +Inf), the sum (ms) and the count. */
  snapshot(): { buckets: Array<[number, number]>; sum: number; count: number } {
    const buckets: Array<[number, number]> = [];
    let cumulative = 0;
    for (let i = 0; i <= LATENCY_BUCKETS_MS.length; i += 1) {
      cumulative += this.#counts[i] as number;
      buckets.push([LATENCY_BUCKETS_MS[i] ?? Number.POSITIVE_INFINITY, cumulative]);
    }
    return { buckets, sum: this.#sum, count: this.#count };
  }
}

export interface TopicTraffic {
  messagesIn: number;
  bytesIn: number;
  messagesOut: number;
  bytesOut: number;
}

export class TrafficStats {
  readonly #topics = new Map<string, TopicTraffic>();
  /** A send request from decode to answer, including a SYNC_FLUSH wait. */
  readonly sendLatency = new LatencyHistogram();
  /** The SYNC_FLUSH part of a send: waiting for the group commit. */
  readonly flushWaitLatency = new LatencyHistogram();
  /** A pull that found messages, from decode to answer (long-poll parking excluded). */
  readonly pullLatency = new LatencyHistogram();

  #topic(topic: string): TopicTraffic {
    let traffic = this.#topics.get(topic);
    if (traffic === undefined) {
      traffic = { messagesIn: 0, bytesIn: 0, messagesOut: 0, bytesOut: 0 };
      this.#topics.set(topic, traffic);
    }
    return traffic;
  }

  onTopicPut(topic: string, messages: number, bytes: number): void {
    const traffic = this.#topic(topic);
    traffic.messagesIn += messages;
    traffic.bytesIn += bytes;
  }

  onTopicGet(topic: string, messages: number, bytes: number): void {
    const traffic = this.#topic(topic);
    traffic.messagesOut += messages;
    traffic.bytesOut += bytes;
  }

  /** Forgets a deleted topic. */
  removeTopic(topic: string): void {
    this.#topics.delete(topic);
  }

  topics(): ReadonlyMap<string, TopicTraffic> {
    return this.#topics;
  }
}
