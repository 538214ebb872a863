// PushConsumer: the broker "pushes" by answering long-polling pulls. Per assigned queue one
// pull loop fills a ProcessQueue; messages go to the application's handler (concurrently, up
// to `consumeConcurrency` calls at once, or orderly: one call at a time per queue, holding the
// queue's broker lock), and offsets advance as messages complete.
//
// Assignment: every `rebalanceIntervalMs` (and at once when a broker sends
// NOTIFY_CONSUMER_IDS_CHANGED) each member reads the group's client ids from a broker and runs
// the allocation strategy; broadcasting consumers take every queue.
// Failures: a handler that returns RECONSUME_LATER, throws or times out gets its messages sent
// back (CONSUMER_SEND_MSG_BACK, else re-sent to %RETRY%group); the broker redelivers them later
// with RECONSUME_TIMES + 1. A body the SDK cannot decode (unknown codec) never reaches the
// handler and is settled as such a failure. Nothing in the background ever rejects unobserved.
//
// This file holds the lifecycle, rebalancing, start offsets and the pull loops; handler calls
// live in consume-concurrently.ts and consume-orderly.ts (which also owns the broker locks),
// the public option and status types in push-consumer-options.ts.

import { homedir } from 'node:os';
import { MessageProperty } from '../protocol/index.js';
import { allocateAveragely, queueKeySet, type AllocateStrategy } from './allocate.js';
import { ClientCore } from './client-core.js';
import { getConsumerIdList, getMaxOffset, pullMessages, searchOffset } from './consumer-api.js';
import { ConcurrentConsumeService } from './consume-concurrently.js';
import { OrderlyConsumeService } from './consume-orderly.js';
import { ABANDONED, type ConsumeHost } from './consume-service.js';
import { DeliveryChannel } from './delivery-channel.js';
import { ClientStateError, MQClientError, type MessageDecodeError } from './errors.js';
import { ConcurrencyLimiter } from './limiter.js';
import { compareQueues, queueKey, type MessageExt, type MessageQueue } from './message.js';
import { LocalFileOffsetStore, RemoteOffsetStore, type OffsetStore } from './offset-store.js';
import { ProcessQueue } from './process-queue.js';
import { retryTopicOf, type MessageHandler, type MessageModel, type PushConsumerOptions } from './push-consumer-options.js';
import { parseSubscription, tagMatches, type MessageSelector, type SubscriptionData } from './subscription.js';

export { ConsumeStatus, retryTopicOf } from './push-consumer-options.js';
export type {
  ConsumeContext, ConsumeFromWhere, MessageHandler, MessageModel, PushConsumerOptions,
} from './push-consumer-options.js';

const PULL_DELAY_MAX_MS = 10_000;
const FLOW_CONTROL_DELAY_MS = 50;

/** A push consumer. Subscribe, set a handler (or iterate), then start. */
export class PushConsumer implements AsyncIterable<MessageExt> {
  readonly groupName: string;
  readonly messageModel: MessageModel;
  readonly #core: ClientCore;
  readonly #options: PushConsumerOptions;
  readonly #subscriptions = new Map<string, SubscriptionData>();
  readonly #queues = new Map<string, ProcessQueue>();
  readonly #loops = new Set<Promise<void>>();
  readonly #strategy: AllocateStrategy;
  readonly #offsets: OffsetStore;
  readonly #limiter: ConcurrencyLimiter;
  readonly #orderly: boolean;
  readonly #concurrent: ConcurrentConsumeService;
  readonly #orderlyService: OrderlyConsumeService;
  #handler: MessageHandler | undefined;
  /** Pulled messages whose body could not be decoded, and why (until they are settled). */
  readonly #decodeErrors = new WeakMap<MessageExt, MessageDecodeError>();
  /** No application handler: messages go to the async iterator. */
  #iterating = false;
  #channel: DeliveryChannel | undefined;
  #state: 'created' | 'running' | 'stopping' | 'stopped' = 'created';
  #stopping: Promise<void> | undefined;
  #rebalancing: Promise<void> | undefined;
  #rebalanceAgain = false;
  #missingRouteDelayMs = 0;

  constructor(options: PushConsumerOptions) {
    if (typeof options.groupName !== 'string' || options.groupName.length === 0) {
      throw new MQClientError('groupName is required');
    }
    this.groupName = options.groupName;
    this.messageModel = options.messageModel ?? 'CLUSTERING';
    this.#options = options;
    this.#orderly = options.orderly === true;
    this.#core = new ClientCore(options, `consumer:${options.groupName}`);
    this.#strategy = options.allocateStrategy ?? allocateAveragely;
    this.#limiter = new ConcurrencyLimiter(options.consumeConcurrency ?? 20);
    this.#offsets = this.messageModel === 'CLUSTERING'
      ? new RemoteOffsetStore(this.#core, this.groupName, options.strictConsumeFromWhere !== true)
      : new LocalFileOffsetStore(options.offsetStoreDir ?? `${homedir()}/.rocketmq_offsets`, this.groupName);
    const host: ConsumeHost = {
      core: this.#core, options, groupName: this.groupName, messageModel: this.messageModel,
      orderly: this.#orderly, offsets: this.#offsets, limiter: this.#limiter,
      running: () => this.#state === 'running',
      handler: () => this.#handler!,
      decodeError: (message) => this.#decodeErrors.get(message),
    };
    this.#concurrent = new ConcurrentConsumeService(host);
    this.#orderlyService = new OrderlyConsumeService(host);
  }

  get clientId(): string {
    return this.#core.clientId;
  }

  /** Subscribes to a topic with a tag expression (`*` or `TagA || TagB`). */
  subscribe(topic: string, expression: string | MessageSelector = '*'): void {
    if (typeof topic !== 'string' || topic.length === 0) throw new MQClientError('topic is empty');
    this.#subscriptions.set(topic, parseSubscription(topic, expression));
    if (this.#state === 'running') {
      void this.#core.heartbeatAll();
      this.#triggerRebalance();
    }
  }

  unsubscribe(topic: string): void {
    this.#subscriptions.delete(topic);
    if (this.#state === 'running') this.#triggerRebalance();
  }

  /** Sets the handler; call before start(). Without one, iterate the consumer instead. */
  onMessage(handler: MessageHandler): void {
    if (this.#state !== 'created') throw new ClientStateError('onMessage must be called before start()');
    this.#handler = handler;
  }

  /** Messages one by one (each acknowledged when the next is requested). Without onMessage only. */
  [Symbol.asyncIterator](): AsyncIterator<MessageExt> {
    if (this.#handler !== undefined && !this.#iterating) {
      throw new MQClientError('this consumer has a handler; it cannot also be iterated');
    }
    this.#channel ??= new DeliveryChannel();
    return this.#channel;
  }

  /** The queues currently assigned to this consumer, sorted. */
  assignedQueues(): MessageQueue[] {
    return [...this.#queues.values()].map((pq) => pq.queue).sort(compareQueues);
  }

  /** Starts: heartbeats, first rebalance, pulls. */
  async start(): Promise<void> {
    if (this.#state !== 'created') throw new ClientStateError(`consumer cannot start: it is ${this.#state}`);
    if (this.#subscriptions.size === 0) throw new MQClientError('subscribe to at least one topic before start()');
    if (this.#handler === undefined) {
      const channel = (this.#channel ??= new DeliveryChannel());
      this.#iterating = true;
      this.#handler = async (messages) => {
        for (const message of messages) {
          if ((await channel.deliver(message)) === 'ABANDON') throw ABANDONED;
        }
      };
    }
    if (this.messageModel === 'CLUSTERING') {
      const retryTopic = retryTopicOf(this.groupName);
      this.#subscriptions.set(retryTopic, parseSubscription(retryTopic, '*'));
    }
    this.#core.registerConsumer({
      groupName: this.groupName,
      consumeType: 'CONSUME_PASSIVELY',
      messageModel: this.messageModel,
      consumeFromWhere: this.#options.consumeFromWhere ?? 'CONSUME_FROM_LAST_OFFSET',
      subscriptions: () => [...this.#subscriptions.values()],
      onConsumerIdsChanged: () => this.#triggerRebalance(),
      onResetOffset: (topic, offsets) => {
        this.#resetOffsets(topic, offsets).catch((error: unknown) =>
          this.#core.logger.warn('offset reset failed', { topic, error: String(error) }));
      },
    });
    this.#core.addTopicSource(() => this.#subscriptions.keys());
    this.#core.start();
    this.#state = 'running';
    await this.#offsets.load();
    await this.#core.refreshRoutes();
    await this.#core.heartbeatAll();
    const scheduler = this.#core.scheduler;
    const rebalanceMs = this.#options.rebalanceIntervalMs ?? 20_000;
    scheduler.every('rebalance', rebalanceMs, rebalanceMs, () => this.#rebalance());
    const persistMs = this.#options.persistConsumerOffsetIntervalMs ?? 5000;
    scheduler.every('persist offsets', persistMs, persistMs, () => this.#persistOffsets());
    if (this.#orderly && this.messageModel === 'CLUSTERING') {
      scheduler.every('lock queues', rebalanceMs, rebalanceMs, () => this.#orderlyService.lockAll(this.#queues.values()));
    }
    await this.#rebalance();
  }

  /**
   * Stops pulling, lets running handlers finish (up to shutdownTimeoutMs), commits offsets,
   * unlocks orderly queues, unregisters and closes every connection and timer.
   */
  shutdown(): Promise<void> {
    if (this.#state === 'created') {
      this.#state = 'stopped';
      return this.#core.shutdown();
    }
    this.#stopping ??= this.#shutdown();
    return this.#stopping;
  }

  async #shutdown(): Promise<void> {
    this.#state = 'stopping';
    this.#channel?.close();
    const timeoutMs = this.#options.shutdownTimeoutMs ?? 30_000;
    const drained = await this.#limiter.idle(timeoutMs);
    if (!drained) {
      this.#core.logger.warn('shutdown: handlers still running after the timeout', { timeoutMs });
      this.#channel?.abandonCurrent();
    }
    const queues = [...this.#queues.values()];
    await this.#offsets.persistAll(queues.map((pq) => pq.queue)).catch((error: unknown) =>
      this.#core.logger.warn('final offset commit failed', { error: String(error) }));
    if (this.#orderly && this.messageModel === 'CLUSTERING') await this.#orderlyService.unlock(queues.map((pq) => pq.queue));
    for (const pq of queues) pq.dropped = true;
    this.#queues.clear();
    await this.#core.shutdown();
    await Promise.allSettled([...this.#loops]);
    await this.#concurrent.shutdown();
    this.#state = 'stopped';
  }

  // ---------------------------------------------------------------------------- rebalance

  #triggerRebalance(): void {
    if (this.#state !== 'running') return;
    void this.#rebalance();
  }

  /** Runs a rebalance; if one is running, it runs another round and this resolves after it. */
  #rebalance(): Promise<void> {
    if (this.#rebalancing !== undefined) {
      this.#rebalanceAgain = true;
      return this.#rebalancing;
    }
    const round = this.#rebalanceRounds().finally(() => { this.#rebalancing = undefined; });
    this.#rebalancing = round;
    return round;
  }

  async #rebalanceRounds(): Promise<void> {
    let missingRoute = false;
    try {
      do {
        this.#rebalanceAgain = false;
        for (const topic of [...this.#subscriptions.keys()]) {
          if (this.#state !== 'running') return;
          try {
            if (!(await this.#rebalanceTopic(topic))) missingRoute = true;
          } catch (error) {
            this.#core.logger.warn('rebalance failed', { topic, error: String(error) });
          }
        }
        for (const pq of [...this.#queues.values()]) {
          if (!this.#subscriptions.has(pq.queue.topic)) await this.#dropQueue(pq);
        }
      } while (this.#rebalanceAgain && this.#state === 'running');
    } catch (error) {
      this.#core.logger.warn('rebalance failed', { error: String(error) });
    }
    // A topic without a route yet (e.g. %RETRY%group right after the first heartbeat): look again soon.
    // Doubling from 1 s up to the rebalance interval, so a topic that never appears costs little.
    if (!missingRoute) this.#missingRouteDelayMs = 0;
    else if (this.#state === 'running') {
      const ceiling = this.#options.rebalanceIntervalMs ?? 20_000;
      this.#missingRouteDelayMs = Math.min(Math.max(1000, this.#missingRouteDelayMs * 2), ceiling);
      if (this.#missingRouteDelayMs < ceiling) {
        this.#core.scheduler.once('rebalance retry', this.#missingRouteDelayMs, () => this.#rebalance());
      }
    }
  }

  /** Returns false when the topic has no route yet. */
  async #rebalanceTopic(topic: string): Promise<boolean> {
    const route = this.#core.routeOf(topic) ?? (await this.#core.updateRoute(topic));
    if (route === undefined) return false;
    const all = ClientCore.subscribeQueues(topic, route).sort(compareQueues);
    let allocated: MessageQueue[];
    if (this.messageModel === 'BROADCASTING') allocated = all;
    else {
      const ids = (await getConsumerIdList(this.#core, topic, this.groupName)).sort();
      if (ids.length === 0) return true;
      allocated = this.#strategy.allocate(this.groupName, this.#core.clientId, all, ids);
    }
    await this.#updateQueues(topic, allocated);
    return true;
  }

  async #updateQueues(topic: string, allocated: MessageQueue[]): Promise<void> {
    const wanted = queueKeySet(allocated);
    for (const pq of [...this.#queues.values()]) {
      if (pq.queue.topic === topic && !wanted.has(queueKey(pq.queue))) await this.#dropQueue(pq);
    }
    for (const queue of allocated) {
      const key = queueKey(queue);
      if (this.#queues.has(key) || this.#state !== 'running') continue;
      if (this.#orderly && this.messageModel === 'CLUSTERING' && !(await this.#orderlyService.lockOne(queue))) continue;
      let offset: number;
      try {
        offset = await this.#startOffset(queue);
      } catch (error) {
        this.#core.logger.warn('cannot compute start offset; queue skipped this round', {
          queue: key, error: String(error),
        });
        continue;
      }
      if (this.#state !== 'running' || this.#queues.has(key)) continue;
      const pq = new ProcessQueue(queue);
      pq.nextOffset = offset;
      if (this.#orderly) {
        pq.locked = true;
        pq.lastLockAtMs = Date.now();
      }
      this.#queues.set(key, pq);
      this.#core.logger.debug('queue assigned', { queue: key, offset });
      this.#startLoop(pq);
    }
  }

  async #dropQueue(pq: ProcessQueue): Promise<void> {
    pq.dropped = true;
    this.#queues.delete(queueKey(pq.queue));
    await this.#offsets.persistAll([pq.queue]);
    this.#offsets.remove(pq.queue);
    if (this.#orderly && this.messageModel === 'CLUSTERING') {
      for (let waited = 0; pq.consumingNow && waited < 1000; waited += 50) await this.#core.scheduler.sleep(50);
      await this.#orderlyService.unlock([pq.queue]);
    }
    this.#core.logger.debug('queue released', { queue: queueKey(pq.queue) });
  }

  async #startOffset(queue: MessageQueue): Promise<number> {
    const stored = await this.#offsets.readStore(queue);
    if (stored >= 0) return stored;
    const isRetry = queue.topic.startsWith('%RETRY%');
    switch (this.#options.consumeFromWhere ?? 'CONSUME_FROM_LAST_OFFSET') {
      case 'CONSUME_FROM_FIRST_OFFSET':
        return 0;
      case 'CONSUME_FROM_TIMESTAMP':
        if (isRetry) return getMaxOffset(this.#core, queue);
        return searchOffset(this.#core, queue, this.#options.consumeTimestamp ?? Date.now() - 30 * 60_000);
      default:
        return isRetry ? 0 : getMaxOffset(this.#core, queue);
    }
  }

  /**
   * An admin reset the group's offsets (relayed by the broker): drop the queues, store the new
   * offsets, and let a rebalance pick the queues up again from there.
   */
  async #resetOffsets(topic: string, offsets: Array<{ queue: MessageQueue; offset: number }>): Promise<void> {
    if (this.#state !== 'running') return;
    this.#core.logger.info('resetting offsets', { topic, queues: offsets.length });
    const queues: MessageQueue[] = [];
    for (const { queue, offset } of offsets) {
      if (queue.topic !== topic) continue;
      const pq = this.#queues.get(queueKey(queue));
      if (pq !== undefined) {
        pq.dropped = true;
        this.#queues.delete(queueKey(queue));
      }
      this.#offsets.update(queue, offset, false);
      queues.push(queue);
    }
    await this.#offsets.persistAll(queues);
    for (const queue of queues) this.#offsets.remove(queue);
    if (this.#orderly && this.messageModel === 'CLUSTERING') await this.#orderlyService.unlock(queues);
    await this.#rebalance();
  }

  // ---------------------------------------------------------------------------- pulling

  #startLoop(pq: ProcessQueue): void {
    const loop = this.#pullLoop(pq).catch((error: unknown) =>
      this.#core.logger.error('pull loop crashed', { queue: queueKey(pq.queue), error: String(error) }));
    this.#loops.add(loop);
    void loop.finally(() => this.#loops.delete(loop));
  }

  #active(pq: ProcessQueue): boolean {
    return !pq.dropped && this.#state === 'running';
  }

  async #pullLoop(pq: ProcessQueue): Promise<void> {
    const options = this.#options;
    const countMax = options.pullThresholdForQueue ?? 1000;
    const bytesMax = (options.pullThresholdSizeForQueue ?? 100) * 1024 * 1024;
    const spanMax = options.consumeConcurrentlyMaxSpan ?? 2000;
    const scheduler = this.#core.scheduler;
    let failures = 0;
    while (this.#active(pq)) {
      if (pq.count >= countMax || pq.bytes >= bytesMax || (!this.#orderly && pq.span > spanMax)) {
        await scheduler.sleep(FLOW_CONTROL_DELAY_MS);
        continue;
      }
      if (this.#orderly && this.messageModel === 'CLUSTERING' && !pq.locked) {
        await scheduler.sleep(1000);
        continue;
      }
      const subscription = this.#subscriptions.get(pq.queue.topic);
      if (subscription === undefined) {
        await scheduler.sleep(1000);
        continue;
      }
      try {
        const result = await pullMessages(this.#core, {
          group: this.groupName, queue: pq.queue, offset: pq.nextOffset, maxMessages: options.pullBatchSize ?? 32,
          subscription, commitOffset: this.#offsets.readMemory(pq.queue), commit: this.messageModel === 'CLUSTERING',
          suspendTimeoutMs: options.brokerSuspendMaxTimeMillis ?? 15_000,
          timeoutMs: options.consumerTimeoutMillisWhenSuspend ?? 30_000,
          keepUndecodable: true,
        });
        for (const { message, error } of result.undecodable) this.#decodeErrors.set(message, error);
        failures = 0;
        if (!this.#active(pq)) break;
        this.#onPullResult(pq, result.status, result.nextBeginOffset, result.messages, subscription);
      } catch (error) {
        if (!this.#active(pq)) break;
        failures += 1;
        const firstDelay = options.pullTimeDelayMillsWhenException ?? 1000;
        const delay = Math.min(firstDelay * 2 ** (failures - 1), PULL_DELAY_MAX_MS);
        this.#core.logger.warn('pull failed', { queue: queueKey(pq.queue), delayMs: delay, error: String(error) });
        await scheduler.sleep(delay);
      }
    }
  }

  #onPullResult(
    pq: ProcessQueue, status: string, nextOffset: number, messages: MessageExt[], subscription: SubscriptionData,
  ): void {
    if (status === 'OFFSET_ILLEGAL') {
      this.#core.logger.warn('pull offset illegal; moving on', {
        queue: queueKey(pq.queue), from: pq.nextOffset, to: nextOffset,
      });
      pq.nextOffset = nextOffset;
      this.#offsets.update(pq.queue, nextOffset, false);
      return;
    }
    pq.nextOffset = nextOffset;
    const wanted = messages.filter((message) => tagMatches(subscription, message.tags));
    for (const message of wanted) this.#restoreRetryTopic(message);
    if (wanted.length === 0) {
      if (pq.count === 0) this.#offsets.update(pq.queue, nextOffset, true);
      return;
    }
    pq.add(wanted);
    if (this.#orderly) this.#orderlyService.kick(pq);
    else this.#concurrent.submitMessages(pq, wanted);
  }

  /** A message redelivered through %RETRY%group shows its original topic. */
  #restoreRetryTopic(message: MessageExt): void {
    const original = message.properties[MessageProperty.RETRY_TOPIC];
    if (original !== undefined && message.topic === retryTopicOf(this.groupName)) message.topic = original;
  }

  async #persistOffsets(): Promise<void> {
    if (this.#state !== 'running') return;
    await this.#offsets.persistAll([...this.#queues.values()].map((pq) => pq.queue));
  }
}
