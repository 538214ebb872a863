// Orderly consumption: one handler call at a time per queue, in offset order, and (clustering)
// only while this client holds the queue's lock on the broker, so two members never consume the
// same queue at once. A failed call suspends the queue and retries the same messages; past
// maxReconsumeTimes they go to the DLQ and the queue moves on.

import { queueKeySet } from './allocate.js';
import { brokerAddressOf, lockQueues, sendMessageBack, unlockQueues } from './consumer-api.js';
import { callHandler, logUndecodable, newContext, submit, type ConsumeHost } from './consume-service.js';
import { compareQueues, queueKey, type MessageExt, type MessageQueue } from './message.js';
import type { ProcessQueue } from './process-queue.js';

export class OrderlyConsumeService {
  readonly #host: ConsumeHost;

  constructor(host: ConsumeHost) {
    this.#host = host;
  }

  /** Starts consuming a queue unless a step for it is already running or scheduled. */
  kick(pq: ProcessQueue): void {
    if (pq.consumingNow || pq.dropped) return;
    pq.consumingNow = true;
    submit(this.#host, () => this.#step(pq));
  }

  /** One orderly handler call for a queue; schedules the next step itself. */
  async #step(pq: ProcessQueue): Promise<void> {
    const host = this.#host;
    const again = (delayMs: number): void => {
      host.core.scheduler.once('orderly consume', delayMs, () => submit(host, () => this.#step(pq)));
    };
    if (pq.dropped || !host.running()) {
      pq.consumingNow = false;
      return;
    }
    if (host.messageModel === 'CLUSTERING' && (!pq.locked || pq.lockExpired)) {
      if (await this.lockOne(pq.queue)) {
        pq.locked = true;
        pq.lastLockAtMs = Date.now();
      } else {
        pq.locked = false;
        again(100);
        return;
      }
    }
    const messages = pq.take(host.options.consumeMessageBatchMaxSize ?? 1, (message) => host.decodeError(message) !== undefined);
    if (messages.length === 0) {
      pq.consumingNow = false;
      return;
    }
    if (host.decodeError(messages[0]!) !== undefined) {
      again(await this.#settleUndecodable(pq, messages[0]!));
      return;
    }
    const context = newContext(host, pq);
    const outcome = await callHandler(host, messages, context);
    if (outcome === 'ABANDON' || pq.dropped) {
      pq.rollbackTaken();
      pq.consumingNow = false;
      return;
    }
    if (outcome === 'FAILED') {
      const max = host.options.maxReconsumeTimes ?? Infinity;
      if (messages.some((message) => message.reconsumeTimes >= max)) {
        // Past the limit: to the DLQ (delay level −1), then carry on with the next messages.
        const sent = await Promise.all(messages.map((message) => this.#sendBackToDlq(message)));
        if (sent.every((ok) => ok)) {
          host.offsets.update(pq.queue, pq.commitTaken(), false);
          again(0);
          return;
        }
      }
      for (const message of messages) message.reconsumeTimes += 1;
      pq.rollbackTaken();
      again(context.suspendCurrentQueueTimeMillis);
      return;
    }
    const offset = pq.commitTaken();
    if (offset >= 0) host.offsets.update(pq.queue, offset, false);
    if (pq.count > 0) again(0);
    else pq.consumingNow = false;
  }

  /**
   * A taken message whose body cannot be decoded. Orderly retries are local and could never
   * decode it, so clustering sends it straight to the DLQ (as past maxReconsumeTimes) and
   * broadcasting skips it. Returns the delay before the queue's next step.
   */
  async #settleUndecodable(pq: ProcessQueue, message: MessageExt): Promise<number> {
    const host = this.#host;
    const clustering = host.messageModel === 'CLUSTERING';
    logUndecodable(host, message, host.decodeError(message)!, clustering ? 'sent to the DLQ' : 'skipped (broadcasting)');
    if (clustering && !(await this.#sendBackToDlq(message))) {
      message.reconsumeTimes += 1;
      pq.rollbackTaken();
      return host.options.suspendCurrentQueueTimeMillis ?? 1000;
    }
    host.offsets.update(pq.queue, pq.commitTaken(), false);
    return 0;
  }

  async #sendBackToDlq(message: MessageExt): Promise<boolean> {
    const host = this.#host;
    try {
      await sendMessageBack(host.core, message, host.groupName, -1, host.options.maxReconsumeTimes ?? 16);
      return true;
    } catch (error) {
      host.core.logger.warn('send to DLQ failed', { msgId: message.msgId, error: String(error) });
      return false;
    }
  }

  // ---------------------------------------------------------------------------- broker locks

  async lockOne(queue: MessageQueue): Promise<boolean> {
    const host = this.#host;
    try {
      const address = await brokerAddressOf(host.core, queue);
      const locked = await lockQueues(host.core, address, host.groupName, [queue]);
      return locked.some((q) => compareQueues(q, queue) === 0);
    } catch (error) {
      host.core.logger.debug('lock failed', { queue: queueKey(queue), error: String(error) });
      return false;
    }
  }

  /** Renews the locks of every given queue, one request per broker. */
  async lockAll(pqsToLock: Iterable<ProcessQueue>): Promise<void> {
    const host = this.#host;
    const byBroker = new Map<string, ProcessQueue[]>();
    for (const pq of pqsToLock) {
      const list = byBroker.get(pq.queue.brokerName) ?? [];
      list.push(pq);
      byBroker.set(pq.queue.brokerName, list);
    }
    for (const [brokerName, pqs] of byBroker) {
      const address = host.core.masterAddress(brokerName);
      if (address === undefined) continue;
      try {
        const locked = queueKeySet(await lockQueues(host.core, address, host.groupName, pqs.map((pq) => pq.queue)));
        for (const pq of pqs) {
          pq.locked = locked.has(queueKey(pq.queue));
          if (pq.locked) pq.lastLockAtMs = Date.now();
        }
      } catch (error) {
        host.core.logger.warn('lock renewal failed', { brokerName, error: String(error) });
      }
    }
  }

  async unlock(queues: MessageQueue[]): Promise<void> {
    const host = this.#host;
    const byBroker = new Map<string, MessageQueue[]>();
    for (const queue of queues) byBroker.set(queue.brokerName, [...(byBroker.get(queue.brokerName) ?? []), queue]);
    await Promise.all([...byBroker].map(async ([brokerName, list]) => {
      const address = host.core.masterAddress(brokerName);
      if (address === undefined) return;
      await unlockQueues(host.core, address, host.groupName, list).catch((error: unknown) =>
        host.core.logger.debug('unlock failed', { brokerName, error: String(error) }));
    }));
  }
}
