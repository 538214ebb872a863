// Latency fault tolerance (sendLatencyFaultEnable): after each send the broker's latency (or
// an isolation penalty on failure) maps to a period during which queue selection avoids it.
// The tables are RocketMQ 5.x's: latency ≥ LATENCY_MAX_MS[i] ⇒ avoid for NOT_AVAILABLE_MS[i],
// scanning from the largest step down.

/** Latency thresholds (ms). */
export const LATENCY_MAX_MS = [50, 100, 550, 1800, 3000, 5000, 15000] as const;
/** Avoidance periods for each threshold (ms). */
export const NOT_AVAILABLE_MS = [0, 0, 2000, 5000, 6000, 10000, 30000] as const;
/** Latency charged for a failed send (isolation). */
export const ISOLATION_LATENCY_MS = 10_000;

/** How long a broker is avoided after a send that took `latencyMs`. */
export function notAvailableDuration(latencyMs: number): number {
  for (let i = LATENCY_MAX_MS.length - 1; i >= 0; i -= 1) {
    if (latencyMs >= LATENCY_MAX_MS[i]!) return NOT_AVAILABLE_MS[i]!;
  }
  return 0;
}

interface FaultItem {
  latencyMs: number;
  availableAtMs: number;
}

/** Per-broker availability computed from send latencies. */
export class LatencyFaultTolerance {
  readonly #items = new Map<string, FaultItem>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** Records a send outcome; `isolation` charges the failure latency. */
  update(brokerName: string, latencyMs: number, isolation: boolean): void {
    const charged = isolation ? ISOLATION_LATENCY_MS : latencyMs;
    this.#items.set(brokerName, { latencyMs: charged, availableAtMs: this.#now() + notAvailableDuration(charged) });
  }

  isAvailable(brokerName: string): boolean {
    const item = this.#items.get(brokerName);
    return item === undefined || this.#now() >= item.availableAtMs;
  }

  /** Among unavailable brokers, the one expected back first (a last resort). */
  pickLeastBad(candidates: Iterable<string>): string | undefined {
    let best: string | undefined;
    let bestAt = Infinity;
    for (const name of candidates) {
      const at = this.#items.get(name)?.availableAtMs ?? 0;
      if (at < bestAt) {
        best = name;
        bestAt = at;
      }
    }
    return best;
  }

  remove(brokerName: string): void {
    this.#items.delete(brokerName);
  }
}
