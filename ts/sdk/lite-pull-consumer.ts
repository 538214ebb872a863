// LitePullConsumer: the application polls. Queues come from a subscription (rebalanced across
// the group like a push consumer) or from assign(); background pull loops per queue fill one
// bounded buffer that poll() drains. Positions advance as poll() returns messages; they are
// committed to the broker by auto-commit (every autoCommitIntervalMs) or by commit().
// A message whose body no codec here decodes is never returned by poll(): it is logged,
// counted in `undecodableMessages` and passed over, so the queue keeps moving.

import { allocateAveragely, queueKeySet, type AllocateStrategy } from './allocate.js';
import { ClientCore, type ClientOptions } from './client-core.js';
import { getConsumerIdList, getMaxOffset, getMinOffset, pullMessages, searchOffset } from './consumer-api.js';
import { ClientStateError, MQClientError, type MessageDecodeError } from './errors.js';
import { compareQueues, queueKey, type MessageExt, type MessageQueue } from './message.js';
import { LocalFileOffsetStore, RemoteOffsetStore, type OffsetStore } from './offset-store.js';
import { ProcessQueue } from './process-queue.js';
import type { ConsumeFromWhere, MessageModel } from './push-consumer-options.js';
import { parseSubscription, tagMatches, type MessageSelector, type SubscriptionData } from './subscription.js';
import { homedir } from 'node:os';

/** LitePullConsumer options; defaults are RocketMQ's DefaultLitePullConsumer's. */
export interface LitePullConsumerOptions extends ClientOptions {
  groupName: string;
  /** Default CLUSTERING (only matters with subscribe()). */
  messageModel?: MessageModel;
  consumeFromWhere?: ConsumeFromWhere;
  consumeTimestamp?: number;
  allocateStrategy?: AllocateStrategy;
  /** Commit polled positions automatically. Default true. */
  autoCommit?: boolean;
  autoCommitIntervalMs?: number;
  /** Messages per pull. Default 10. */
  pullBatchSize?: number;
  /** Buffered messages across all queues before pulling pauses. Default 10 000. */
  pullThresholdForAll?: number;
  /** Buffered messages of one queue before its pulling pauses. Default 1000. */
  pullThresholdForQueue?: number;
  /** Default poll() timeout. Default 5000 ms. */
  pollTimeoutMs?: number;
  brokerSuspendMaxTimeMillis?: number;
  consumerTimeoutMillisWhenSuspend?: number;
  rebalanceIntervalMs?: number;
  offsetStoreDir?: string;
  /**
   * A new group honours consumeFromWhere even while the queue still holds offset 0 in memory.
   * By default (like Java's client) a broker answers offset 0 for such a group, so it starts
   * at the beginning whatever consumeFromWhere says; `true` asks a 5.x broker not to
   * (QUERY_CONSUMER_OFFSET setZeroIfNotFound=false). Default false.
   */
  strictConsumeFromWhere?: boolean;
}

interface Batch {
  pq: ProcessQueue;
  epoch: number;
  /** Possibly empty: a pull of nothing but undecodable messages still moves the position. */
  messages: MessageExt[];
  /** The queue's position once this batch is taken. */
  next: number;
}

/** A pull consumer with a poll() API. */
export class LitePullConsumer {
  readonly groupName: string;
  readonly messageModel: MessageModel;
  readonly #core: ClientCore;
  readonly #options: LitePullConsumerOptions;
  readonly #subscriptions = new Map<string, SubscriptionData>();
  readonly #queues = new Map<string, ProcessQueue>();
  /** Consumed positions (next offset to return) per queue. */
  readonly #positions = new Map<string, number>();
  readonly #offsets: OffsetStore;
  readonly #buffer: Batch[] = [];
  #buffered = 0;
  readonly #waiters = new Set<() => void>();
  readonly #loops = new Set<Promise<void>>();
  readonly #strategy: AllocateStrategy;
  #mode: 'none' | 'subscribe' | 'assign' = 'none';
  #state: 'created' | 'running' | 'stopped' = 'created';
  #undecodable = 0;

  constructor(options: LitePullConsumerOptions) {
    if (typeof options.groupName !== 'string' || options.groupName.length === 0) {
      throw new MQClientError('groupName is required');
    }
    this.groupName = options.groupName;
    this.messageModel = options.messageModel ?? 'CLUSTERING';
    this.#options = options;
    this.#core = new ClientCore(options, `lite-consumer:${options.groupName}`);
    this.#strategy = options.allocateStrategy ?? allocateAveragely;
    this.#offsets = this.messageModel === 'CLUSTERING'
      ? new RemoteOffsetStore(this.#core, this.groupName, options.strictConsumeFromWhere !== true)
      : new LocalFileOffsetStore(options.offsetStoreDir ?? `${homedir()}/.rocketmq_offsets`, this.groupName);
  }

  get clientId(): string {
    return this.#core.clientId;
  }

  /**
   * Pulled messages whose body could not be decoded (a compression codec this client does not
   * know, or bytes the codec rejects). They were logged at error level and passed over: poll()
   * never returns them, and the positions (so commit()) move past them. Counted per pull, so a
   * seek back over one counts it again.
   */
  get undecodableMessages(): number {
    return this.#undecodable;
  }

  /** Subscribe mode: queues are allocated across the group. */
  subscribe(topic: string, expression: string | MessageSelector = '*'): void {
    if (this.#mode === 'assign') throw new MQClientError('subscribe() and assign() are exclusive');
    this.#mode = 'subscribe';
    this.#subscriptions.set(topic, parseSubscription(topic, expression));
    if (this.#state === 'running') this.#background(this.#rebalance());
  }

  /** Assign mode: exactly these queues, no group coordination. Replaces any earlier assignment. */
  assign(queues: readonly MessageQueue[]): void {
    if (this.#mode === 'subscribe') throw new MQClientError('subscribe() and assign() are exclusive');
    this.#mode = 'assign';
    for (const queue of queues) {
      if (!this.#subscriptions.has(queue.topic)) {
        this.#subscriptions.set(queue.topic, parseSubscription(queue.topic, '*'));
      }
    }
    if (this.#state === 'running') this.#background(this.#setQueues(queues));
    else this.#pendingAssignment = [...queues];
  }

  #pendingAssignment: MessageQueue[] = [];

  #background(work: Promise<void>): void {
    work.catch((error: unknown) => this.#core.logger.warn('background work failed', { error: String(error) }));
  }

  /** Currently owned queues. */
  assignment(): MessageQueue[] {
    return [...this.#queues.values()].map((pq) => pq.queue).sort(compareQueues);
  }

  /** Readable queues of a topic, from its route. */
  async fetchMessageQueues(topic: string): Promise<MessageQueue[]> {
    const route = await this.#core.routeOrFetch(topic);
    return ClientCore.subscribeQueues(topic, route).sort(compareQueues);
  }

  async start(): Promise<void> {
    if (this.#state !== 'created') throw new ClientStateError(`consumer cannot start: it is ${this.#state}`);
    this.#core.registerConsumer({
      groupName: this.groupName, consumeType: 'CONSUME_ACTIVELY', messageModel: this.messageModel,
      consumeFromWhere: this.#options.consumeFromWhere ?? 'CONSUME_FROM_LAST_OFFSET',
      subscriptions: () => [...this.#subscriptions.values()],
      onConsumerIdsChanged: () => { if (this.#mode === 'subscribe') this.#background(this.#rebalance()); },
    });
    this.#core.addTopicSource(() => this.#subscriptions.keys());
    this.#core.start();
    this.#state = 'running';
    await this.#offsets.load();
    await this.#core.refreshRoutes();
    await this.#core.heartbeatAll();
    const scheduler = this.#core.scheduler;
    if (this.#options.autoCommit ?? true) {
      const every = this.#options.autoCommitIntervalMs ?? 5000;
      scheduler.every('auto commit', every, every, () => this.#persist());
    }
    if (this.#mode === 'subscribe') {
      const every = this.#options.rebalanceIntervalMs ?? 20_000;
      scheduler.every('rebalance', every, every, () => this.#rebalance());
      await this.#rebalance();
    } else if (this.#pendingAssignment.length > 0) await this.#setQueues(this.#pendingAssignment);
  }

  /** Commits positions (auto-commit mode), closes connections and timers. */
  async shutdown(): Promise<void> {
    if (this.#state === 'stopped') return;
    const wasRunning = this.#state === 'running';
    this.#state = 'stopped';
    for (const wake of [...this.#waiters]) wake();
    if (wasRunning && (this.#options.autoCommit ?? true)) await this.#persist();
    for (const pq of this.#queues.values()) pq.dropped = true;
    await this.#core.shutdown();
    await Promise.allSettled([...this.#loops]);
  }

  /**
   * Up to one pull batch of messages, waiting up to `timeoutMs` (default pollTimeoutMs) for
   * some to arrive; [] on timeout. Messages of a queue come in offset order.
   */
  async poll(timeoutMs = this.#options.pollTimeoutMs ?? 5000): Promise<MessageExt[]> {
    if (this.#state !== 'running') throw new ClientStateError('consumer is not running');
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const batch = this.#takeBatch();
      if (batch !== undefined) return batch;
      const left = deadline - Date.now();
      if (left <= 0 || this.#state !== 'running') return [];
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          clearTimeout(timer);
          this.#waiters.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, left);
        this.#waiters.add(wake);
      });
    }
  }

  #takeBatch(): MessageExt[] | undefined {
    while (this.#buffer.length > 0) {
      const batch = this.#buffer.shift()!;
      this.#buffered -= batch.messages.length;
      const { pq, next } = batch;
      if (pq.dropped || batch.epoch !== pq.epoch) continue;
      this.#positions.set(queueKey(pq.queue), next);
      pq.remove(batch.messages);
      if (this.#options.autoCommit ?? true) this.#offsets.update(pq.queue, next, false);
      // Only passed-over messages: the position moved, but there is nothing to hand out.
      if (batch.messages.length === 0) continue;
      return batch.messages;
    }
    return undefined;
  }

  /** Moves a queue's position: the next poll returns messages from `offset`. */
  async seek(queue: MessageQueue, offset: number): Promise<void> {
    const pq = this.#queues.get(queueKey(queue));
    if (pq === undefined) {
      throw new MQClientError(`queue ${queue.topic}/${queue.brokerName}/${queue.queueId} is not assigned`);
    }
    const min = await getMinOffset(this.#core, queue);
    const max = await getMaxOffset(this.#core, queue);
    if (offset < min || offset > max) throw new MQClientError(`seek offset ${offset} is outside [${min}, ${max}]`);
    // A pull of the old position may be parked at the broker for seconds: leave it to finish
    // on its own (its result is discarded) and start a fresh loop at the new position.
    pq.dropped = true;
    const fresh = new ProcessQueue(pq.queue);
    fresh.nextOffset = offset;
    this.#queues.set(queueKey(queue), fresh);
    this.#positions.set(queueKey(queue), offset);
    this.#offsets.update(queue, offset, false);
    this.#startLoop(fresh);
  }

  async seekToBegin(queue: MessageQueue): Promise<void> {
    await this.seek(queue, await getMinOffset(this.#core, queue));
  }

  async seekToEnd(queue: MessageQueue): Promise<void> {
    await this.seek(queue, await getMaxOffset(this.#core, queue));
  }

  /** The offset committed on the broker (or file), −1 if none. */
  committed(queue: MessageQueue): Promise<number> {
    return this.#offsets.readStore(queue);
  }

  /**
   * Commits the positions of everything polled so far, or the given offsets, to the broker.
   * Rejects (with the first failure, after trying every queue) when a commit was not stored.
   */
  async commit(offsets?: ReadonlyArray<{ queue: MessageQueue; offset: number }>): Promise<void> {
    if (offsets === undefined) {
      for (const pq of this.#queues.values()) {
        const position = this.#positions.get(queueKey(pq.queue));
        if (position !== undefined) this.#offsets.update(pq.queue, position, false);
      }
      await this.#offsets.persistAll([...this.#queues.values()].map((pq) => pq.queue), { throwOnFailure: true });
      return;
    }
    for (const { queue, offset } of offsets) this.#offsets.update(queue, offset, false);
    await this.#offsets.persistAll(offsets.map(({ queue }) => queue), { throwOnFailure: true });
  }

  async #persist(): Promise<void> {
    await this.#offsets.persistAll([...this.#queues.values()].map((pq) => pq.queue));
  }

  // ---------------------------------------------------------------------------- queues

  async #rebalance(): Promise<void> {
    if (this.#state !== 'running') return;
    const allocated: MessageQueue[] = [];
    for (const topic of this.#subscriptions.keys()) {
      try {
        const route = this.#core.routeOf(topic) ?? (await this.#core.updateRoute(topic));
        if (route === undefined) continue;
        const all = ClientCore.subscribeQueues(topic, route).sort(compareQueues);
        if (this.messageModel === 'BROADCASTING') allocated.push(...all);
        else {
          const ids = (await getConsumerIdList(this.#core, topic, this.groupName)).sort();
          allocated.push(...this.#strategy.allocate(this.groupName, this.#core.clientId, all, ids));
        }
      } catch (error) {
        this.#core.logger.warn('rebalance failed', { topic, error: String(error) });
      }
    }
    await this.#setQueues(allocated);
  }

  async #setQueues(queues: readonly MessageQueue[]): Promise<void> {
    const wanted = queueKeySet(queues);
    for (const [key, pq] of [...this.#queues]) {
      if (wanted.has(key)) continue;
      pq.dropped = true;
      this.#queues.delete(key);
      await this.#offsets.persistAll([pq.queue]);
      this.#offsets.remove(pq.queue);
    }
    for (const queue of queues) {
      const key = queueKey(queue);
      if (this.#queues.has(key)) continue;
      const pq = new ProcessQueue(queue);
      pq.nextOffset = -1;
      this.#queues.set(key, pq);
      this.#startLoop(pq);
    }
  }

  #startLoop(pq: ProcessQueue): void {
    const loop = this.#pullLoop(pq).catch((error: unknown) =>
      this.#core.logger.error('pull loop crashed', { queue: queueKey(pq.queue), error: String(error) }));
    this.#loops.add(loop);
    void loop.finally(() => this.#loops.delete(loop));
  }

  async #startOffset(queue: MessageQueue): Promise<number> {
    const stored = await this.#offsets.readStore(queue);
    if (stored >= 0) return stored;
    switch (this.#options.consumeFromWhere ?? 'CONSUME_FROM_LAST_OFFSET') {
      case 'CONSUME_FROM_FIRST_OFFSET': return getMinOffset(this.#core, queue);
      case 'CONSUME_FROM_TIMESTAMP':
        return searchOffset(this.#core, queue, this.#options.consumeTimestamp ?? Date.now() - 30 * 60_000);
      default: return getMaxOffset(this.#core, queue);
    }
  }

  /**
   * A LitePullConsumer has no send-back (RocketMQ's API has none either), and waiting cannot
   * make a body decodable, so the message is logged for the operator and skipped.
   */
  #passOver(message: MessageExt, error: MessageDecodeError): void {
    this.#undecodable += 1;
    this.#core.logger.error('message body cannot be decoded; skipped, poll() will not return it', {
      msgId: message.msgId, codec: error.codec, topic: message.topic, queueId: message.queueId,
      queueOffset: message.queueOffset, group: this.groupName, error: error.message,
    });
  }

  #active(pq: ProcessQueue): boolean {
    return !pq.dropped && this.#state === 'running';
  }

  async #pullLoop(pq: ProcessQueue): Promise<void> {
    const scheduler = this.#core.scheduler;
    const allMax = this.#options.pullThresholdForAll ?? 10_000;
    const queueMax = this.#options.pullThresholdForQueue ?? 1000;
    let failures = 0;
    while (this.#active(pq)) {
      const epoch = pq.epoch;
      try {
        if (pq.nextOffset < 0) {
          const offset = await this.#startOffset(pq.queue);
          if (pq.epoch === epoch && pq.nextOffset < 0) {
            pq.nextOffset = offset;
            if (!this.#positions.has(queueKey(pq.queue))) this.#positions.set(queueKey(pq.queue), offset);
          }
          continue;
        }
        if (this.#buffered >= allMax || pq.count >= queueMax) {
          await scheduler.sleep(50);
          continue;
        }
        const subscription = this.#subscriptions.get(pq.queue.topic) ?? parseSubscription(pq.queue.topic, '*');
        const result = await pullMessages(this.#core, {
          group: this.groupName, queue: pq.queue, offset: pq.nextOffset, maxMessages: this.#options.pullBatchSize ?? 10,
          subscription, commitOffset: -1, commit: false, lite: true,
          suspendTimeoutMs: this.#options.brokerSuspendMaxTimeMillis ?? 20_000,
          timeoutMs: this.#options.consumerTimeoutMillisWhenSuspend ?? 30_000,
          keepUndecodable: true,
        });
        failures = 0;
        if (!this.#active(pq) || pq.epoch !== epoch) continue;
        pq.nextOffset = result.nextBeginOffset;
        let readable = result.messages;
        let skippedTo = -1;
        if (result.undecodable.length > 0) {
          const undecodable = new Set<MessageExt>();
          for (const { message, error } of result.undecodable) {
            this.#passOver(message, error);
            undecodable.add(message);
            skippedTo = Math.max(skippedTo, message.queueOffset + 1);
          }
          readable = result.messages.filter((message) => !undecodable.has(message));
        }
        const wanted = readable.filter((message) => tagMatches(subscription, message.tags));
        if (wanted.length > 0 || skippedTo >= 0) {
          // Queued like any batch, so the position passes an undecodable message only once
          // everything pulled before it has been polled.
          const next = Math.max(skippedTo, wanted.length > 0 ? wanted[wanted.length - 1]!.queueOffset + 1 : -1);
          pq.add(wanted);
          this.#buffer.push({ pq, epoch, messages: wanted, next });
          this.#buffered += wanted.length;
          for (const wake of [...this.#waiters]) wake();
        }
      } catch (error) {
        if (!this.#active(pq)) break;
        failures += 1;
        const delay = Math.min(1000 * 2 ** (failures - 1), 10_000);
        this.#core.logger.warn('pull failed', { queue: queueKey(pq.queue), delayMs: delay, error: String(error) });
        await scheduler.sleep(delay);
      }
    }
  }
}
