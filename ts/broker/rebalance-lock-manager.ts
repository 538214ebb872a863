// Queue locks of orderly consumers (RocketMQ RebalanceLockManager): a (group, queue) belongs
// to one client id for a 60 s lease, renewed by every LOCK_BATCH_MQ from that client
// (clients re-lock every 20 s and treat their lock as lost after 30 s, so the lease outlives
// them safely). Memory only: after a broker restart clients simply lock again.

import type { MessageQueueRef } from '../protocol/broker-bodies.js';

/** Lease of a queue lock (RocketMQ: rocketmq.broker.rebalance.lockMaxLiveTime). */
export const LOCK_LEASE_MS = 60_000;

interface LockEntry {
  clientId: string;
  lastUpdateMs: number;
}

function queueKey(queue: MessageQueueRef): string {
  return `${queue.topic}\u0000${queue.brokerName}\u0000${queue.queueId}`;
}

export class RebalanceLockManager {
  readonly #groups = new Map<string, Map<string, LockEntry>>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** Locks (or renews) what is free or already ours; returns the queues now held by `clientId`. */
  tryLockBatch(group: string, queues: readonly MessageQueueRef[], clientId: string): MessageQueueRef[] {
    let locks = this.#groups.get(group);
    if (locks === undefined) {
      locks = new Map();
      this.#groups.set(group, locks);
    }
    const now = this.#now();
    const locked: MessageQueueRef[] = [];
    for (const queue of queues) {
      const key = queueKey(queue);
      const entry = locks.get(key);
      if (entry === undefined || entry.clientId === clientId || now - entry.lastUpdateMs > LOCK_LEASE_MS) {
        locks.set(key, { clientId, lastUpdateMs: now });
        locked.push(queue);
      }
    }
    return locked;
  }

  /** Releases the queues `clientId` holds; locks of other clients are left alone. */
  unlockBatch(group: string, queues: readonly MessageQueueRef[], clientId: string): void {
    const locks = this.#groups.get(group);
    if (locks === undefined) return;
    for (const queue of queues) {
      const key = queueKey(queue);
      if (locks.get(key)?.clientId === clientId) locks.delete(key);
    }
    if (locks.size === 0) this.#groups.delete(group);
  }
}
