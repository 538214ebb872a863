// Compiled SQL92 selectors, one per (group, topic, subscription version, expression): a pull
// never re-parses its expression (RocketMQ keeps the same in ConsumerFilterManager). A
// selector that does not compile is cached as its error, so a consumer retrying a bad
// expression costs one parse per subscription version, not one per pull. Bounded: the oldest
// entry leaves when the cache is full (a new subscription version replaces the old anyway).

import { FilterParseError, SqlFilter } from '../filter/index.js';
import type { SubscriptionData } from '../protocol/broker-bodies.js';

/** Entries kept at most. */
export const CONSUMER_FILTER_CACHE_MAX = 4096;

export class ConsumerFilterCache {
  readonly #entries = new Map<string, SqlFilter | FilterParseError>();
  readonly #max: number;
  #compilations = 0;

  constructor(max = CONSUMER_FILTER_CACHE_MAX) {
    this.#max = Math.max(1, max);
  }

  /** How many times an expression was compiled (tests check that pulls reuse the result). */
  get compilations(): number {
    return this.#compilations;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The compiled selector of a subscription, or why it does not compile. */
  get(group: string, subscription: SubscriptionData): SqlFilter | FilterParseError {
    const key = `${group}\u0001${subscription.topic}\u0001${subscription.subVersion}\u0001${subscription.subString}`;
    const cached = this.#entries.get(key);
    if (cached !== undefined) return cached;
    let compiled: SqlFilter | FilterParseError;
    this.#compilations += 1;
    try {
      compiled = SqlFilter.compile(subscription.subString);
    } catch (error) {
      if (!(error instanceof FilterParseError)) throw error;
      compiled = error;
    }
    if (this.#entries.size >= this.#max) {
      const oldest = this.#entries.keys().next();
      if (oldest.done !== true) this.#entries.delete(oldest.value);
    }
    this.#entries.set(key, compiled);
    return compiled;
  }
}
