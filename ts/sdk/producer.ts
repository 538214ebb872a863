// Producer: sends messages to the brokers of a topic, choosing queues round robin (or with a
// selector), retrying retriable failures on another broker within `sendMsgTimeout`.
//
// Every send returns a promise; many may be in flight at once and they share one connection
// per broker (requests are pipelined, responses matched by opaque), which is how RocketMQ's
// "async send" maps to JavaScript.

import { deflateSync } from 'node:zlib';
import {
  MessageProperty, MessageSysFlag, RecallMessageRequestHeader, RequestCode, ResponseCode, createUniqIdGenerator, decodeRecallHandle,
  encodeBatch, encodeHeader, encodeProperties, encodeSendMessageHeader, makeRequest, type RemotingCommand, type TopicRouteData,
} from '../protocol/index.js';
import { ClientCore, type ClientOptions } from './client-core.js';
import {
  InvalidMessageError, MQBrokerError, MQClientError, MQError, NoRouteError, TimeoutError, toMQError,
} from './errors.js';
import { LatencyFaultTolerance } from './latency-fault.js';
import { bodyBuffer, type Message, type MessageQueue, type SendResult, type SendStatus } from './message.js';
import type { MessageQueueSelector } from './selector.js';

/** Producer options; defaults are RocketMQ's. */
export interface ProducerOptions extends ClientOptions {
  /** Producer group name. */
  groupName: string;
  /** Deadline of one send including its retries. Default 3000 ms. */
  sendMsgTimeout?: number;
  /** Extra attempts after a retriable failure. Default 2. */
  retryTimesWhenSendFailed?: number;
  /** Bodies of at least this many bytes are zlib-compressed. Default 4096. */
  compressMsgBodyOverHowmuch?: number;
  /** Largest body (before compression) accepted. Default 4 MiB. */
  maxMessageSize?: number;
  /** Avoid slow or failing brokers for a while (RocketMQ's latency fault table). Default false. */
  sendLatencyFaultEnable?: boolean;
  /** Queues per broker of a topic auto-created through TBW102. Default 4. */
  defaultTopicQueueNums?: number;
}

/** Key of the producer's internal accessor of its client machinery (see TransactionProducer). */
export const producerCore = Symbol('bolide.sdk.producerCore');

/** Key of the producer's internal retry-send method (see PushConsumer). */
export const sendForRetry = Symbol('bolide.sdk.sendForRetry');

/** Template topic brokers auto-create new topics from. */
export const AUTO_CREATE_TOPIC_KEY = 'TBW102';
const TOPIC_PATTERN = /^[%|a-zA-Z0-9_-]+$/;
const TOPIC_LENGTH_MAX = 127;
const DEFAULT_MAX_MESSAGE_SIZE = 4 * 1024 * 1024;

interface PublishInfo {
  queues: MessageQueue[];
  /** Derived from TBW102 because the topic does not exist yet. */
  fromDefault: boolean;
  /** The route the queues were computed from (recomputed when the cache holds a newer one). */
  route: TopicRouteData;
  fetchedAtMs: number;
}

/** Checks a topic name as the broker would. @throws InvalidMessageError */
export function validateTopic(topic: string): void {
  if (typeof topic !== 'string' || topic.length === 0) throw new InvalidMessageError('topic is empty');
  if (topic.length > TOPIC_LENGTH_MAX) {
    throw new InvalidMessageError(`topic ${topic} is longer than ${TOPIC_LENGTH_MAX}`);
  }
  if (!TOPIC_PATTERN.test(topic)) {
    throw new InvalidMessageError(`topic ${JSON.stringify(topic)} has characters outside [%|a-zA-Z0-9_-]`);
  }
  if (topic === AUTO_CREATE_TOPIC_KEY) throw new InvalidMessageError(`topic ${topic} is reserved`);
}

function statusOf(code: number): SendStatus | undefined {
  switch (code) {
    case ResponseCode.SUCCESS: return 'SEND_OK';
    case ResponseCode.FLUSH_DISK_TIMEOUT: return 'FLUSH_DISK_TIMEOUT';
    case ResponseCode.FLUSH_SLAVE_TIMEOUT: return 'FLUSH_SLAVE_TIMEOUT';
    case ResponseCode.SLAVE_NOT_AVAILABLE: return 'SLAVE_NOT_AVAILABLE';
    default: return undefined;
  }
}

interface PreparedMessage {
  topic: string;
  body: Buffer;
  sysFlag: number;
  flag: number;
  properties: Record<string, string>;
  uniqId: string;
}

/** An encoded request ready to go to any queue of its topic. */
interface Outgoing {
  topic: string;
  code: number;
  body: Buffer;
  sysFlag: number;
  flag: number;
  properties: string;
  msgId: string;
  batch: boolean;
  reconsumeTimes?: number;
  maxReconsumeTimes?: number;
}

/** A RocketMQ producer. */
export class Producer {
  readonly groupName: string;
  readonly #core: ClientCore;
  readonly #sendTimeoutMs: number;
  readonly #retries: number;
  readonly #compressOver: number;
  readonly #maxMessageSize: number;
  readonly #defaultQueueNums: number;
  readonly #faults: LatencyFaultTolerance | undefined;
  readonly #publish = new Map<string, PublishInfo>();
  readonly #indexes = new Map<string, number>();
  readonly #nextUniqId: () => string;
  #inflight = 0;
  readonly #drainWaiters: Array<() => void> = [];

  constructor(options: ProducerOptions) {
    if (typeof options.groupName !== 'string' || options.groupName.length === 0) {
      throw new MQClientError('groupName is required');
    }
    this.groupName = options.groupName;
    this.#core = new ClientCore(options, `producer:${options.groupName}`);
    this.#sendTimeoutMs = options.sendMsgTimeout ?? 3000;
    this.#retries = options.retryTimesWhenSendFailed ?? 2;
    this.#compressOver = options.compressMsgBodyOverHowmuch ?? 4096;
    this.#maxMessageSize = options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
    this.#defaultQueueNums = options.defaultTopicQueueNums ?? 4;
    this.#faults = options.sendLatencyFaultEnable === true ? new LatencyFaultTolerance() : undefined;
    this.#nextUniqId = createUniqIdGenerator({ ip: this.#core.ip });
    this.#core.addProducerGroup(this.groupName);
    this.#core.addTopicSource(() => this.#publish.keys());
  }

  /** This client's id (`ip@instance`). */
  get clientId(): string {
    return this.#core.clientId;
  }

  /** Starts route polling and heartbeats. Resolves at once: routes are fetched on first use. */
  async start(): Promise<void> {
    this.#core.start();
  }

  /** Waits for in-flight sends, unregisters from brokers, releases every socket and timer. */
  async shutdown(): Promise<void> {
    if (this.#inflight > 0) await new Promise<void>((resolve) => this.#drainWaiters.push(resolve));
    await this.#core.shutdown();
  }

  /** The queues a topic's messages can go to (fetches the route if needed). */
  async fetchPublishQueues(topic: string): Promise<MessageQueue[]> {
    return (await this.#publishInfo(topic)).queues.slice();
  }

  /**
   * Sends a message and resolves when the broker stored it. With a selector, the message goes
   * to `selector(queues, message, arg)` (ordered messages; no retry on another queue).
   * @throws InvalidMessageError, NoRouteError, MQBrokerError, TimeoutError, NetworkError, ClientStateError
   */
  send(message: Message, selector?: MessageQueueSelector, arg?: unknown): Promise<SendResult> {
    return this.#track(async () => {
      const outgoing = this.#prepareSingle(message);
      if (selector === undefined) return this.#sendWithRetries(outgoing);
      const { queues } = await this.#publishInfo(outgoing.topic);
      const queue = selector(queues, message, arg);
      if (queue === undefined || queue.topic !== outgoing.topic) {
        throw new MQClientError('selector returned no queue of the message topic');
      }
      return this.#sendToQueue(outgoing, queue, this.#sendTimeoutMs);
    });
  }

  /** Sends a message to one given queue (no retry on another queue). */
  sendToQueue(message: Message, queue: MessageQueue): Promise<SendResult> {
    return this.#track(() => this.#sendToQueue(this.#prepareSingle(message), queue, this.#sendTimeoutMs));
  }

  /**
   * Sends without waiting for the broker's answer (SEND_MESSAGE_V2 flagged oneway). Resolves
   * when the request is written; delivery is not confirmed.
   */
  sendOneway(message: Message, selector?: MessageQueueSelector, arg?: unknown): Promise<void> {
    return this.#track(async () => {
      const outgoing = this.#prepareSingle(message);
      const { queues } = await this.#publishInfo(outgoing.topic);
      const queue = selector === undefined
        ? this.#selectQueue(outgoing.topic, queues, undefined)
        : selector(queues, message, arg);
      const address = await this.#brokerAddress(queue.brokerName, outgoing.topic);
      await this.#core.invokeOneway(address, this.#request(outgoing, queue));
    });
  }

  /**
   * Cancels a timer message (sent with `deliverTimeMs`) before it fires, with the
   * `recallHandle` of its SendResult (RocketMQ 5.3's RECALL_MESSAGE; Bolide and Apache 5.3+).
   * Resolves with the message's client id. Recalling a message that already fired is not an
   * error (the broker cannot tell); a handle for a time already past is.
   * @throws MQClientError for a malformed handle, NoRouteError, MQBrokerError (e.g. 604 ILLEGAL_OPERATION), TimeoutError
   */
  recallMessage(topic: string, recallHandle: string): Promise<string> {
    return this.#track(async () => {
      let handle;
      try {
        handle = decodeRecallHandle(recallHandle);
      } catch (error) {
        throw new MQClientError(error instanceof Error ? error.message : String(error));
      }
      if (topic.startsWith('%RETRY%') || topic.startsWith('%DLQ%')) throw new MQClientError('retry and DLQ topics have no timer messages to recall');
      const address = await this.#brokerAddress(handle.brokerName, topic);
      const request = makeRequest(RequestCode.RECALL_MESSAGE, {
        extFields: encodeHeader(RecallMessageRequestHeader, { producerGroup: this.groupName, topic, recallHandle, bname: handle.brokerName }),
      });
      const response = await this.#core.invoke(address, request, this.#sendTimeoutMs);
      if (response.code !== ResponseCode.SUCCESS) throw new MQBrokerError(response.code, response.remark, address);
      return response.extFields['msgId'] ?? handle.messageId;
    });
  }

  /**
   * Sends messages of one topic as one SEND_BATCH_MESSAGE: stored as separate messages with
   * consecutive offsets in one queue. `msgId` of the result is the ids comma-joined.
   */
  sendBatch(messages: readonly Message[]): Promise<SendResult> {
    return this.#track(() => this.#sendWithRetries(this.#prepareBatch(messages)));
  }

  /**
   * Internal (symbol-keyed, not in the public index): the push consumer's re-send of a failed
   * message to %RETRY%group, with extra system properties and the reconsume counters.
   */
  [sendForRetry](message: Message, extra: Record<string, string>, times: number, max: number): Promise<SendResult> {
    return this.#track(() => {
      const outgoing = this.#prepareSingle(message, extra);
      outgoing.reconsumeTimes = times;
      outgoing.maxReconsumeTimes = max;
      return this.#sendWithRetries(outgoing);
    });
  }

  /** Internal (symbol-keyed): the client machinery, for TransactionProducer. */
  [producerCore](): ClientCore {
    return this.#core;
  }

  // ---------------------------------------------------------------------------- preparing

  async #track<T>(work: () => Promise<T>): Promise<T> {
    this.#core.assertRunning();
    this.#inflight += 1;
    try {
      return await work();
    } finally {
      this.#inflight -= 1;
      if (this.#inflight === 0) for (const resolve of this.#drainWaiters.splice(0)) resolve();
    }
  }

  #prepareMessage(message: Message, extra: Record<string, string> = {}): PreparedMessage {
    if (message === null || typeof message !== 'object') throw new InvalidMessageError('message must be an object');
    validateTopic(message.topic);
    if (message.body === undefined || message.body === null) throw new InvalidMessageError('message body is missing');
    const body = bodyBuffer(message.body);
    if (body.length === 0) throw new InvalidMessageError('message body is empty');
    if (body.length > this.#maxMessageSize) {
      throw new InvalidMessageError(
        `message body of ${body.length} bytes exceeds maxMessageSize ${this.#maxMessageSize}`,
      );
    }
    const properties: Record<string, string> = { ...message.properties };
    if (message.tags !== undefined && message.tags.length > 0) properties[MessageProperty.TAGS] = message.tags;
    const keys = Array.isArray(message.keys) ? message.keys.join(' ') : message.keys;
    if (keys !== undefined && keys.length > 0) properties[MessageProperty.KEYS] = keys;
    if (message.delayTimeLevel !== undefined && message.delayTimeLevel > 0) {
      properties[MessageProperty.DELAY] = String(message.delayTimeLevel);
    }
    if (message.deliverTimeMs !== undefined) {
      properties[MessageProperty.TIMER_DELIVER_MS] = String(message.deliverTimeMs);
    }
    Object.assign(properties, extra);
    properties[MessageProperty.WAIT] ??= 'true';
    const uniqId = properties[MessageProperty.UNIQ_KEY] ?? this.#nextUniqId();
    properties[MessageProperty.UNIQ_KEY] = uniqId;
    return { topic: message.topic, body, sysFlag: 0, flag: message.flag ?? 0, properties, uniqId };
  }

  #prepareSingle(message: Message, extra?: Record<string, string>): Outgoing {
    const prepared = this.#prepareMessage(message, extra);
    let body = prepared.body;
    // A transaction's half message says so in its sysFlag too, as Java's producer does.
    let sysFlag = prepared.properties[MessageProperty.TRAN_MSG] === 'true' ? MessageSysFlag.TRANSACTION_PREPARED : 0;
    if (body.length >= this.#compressOver) {
      body = deflateSync(body, { level: 5 });
      sysFlag |= MessageSysFlag.COMPRESSED | MessageSysFlag.COMPRESSION_ZLIB;
    }
    return {
      topic: prepared.topic, code: RequestCode.SEND_MESSAGE_V2, body, sysFlag, flag: prepared.flag,
      properties: encodeProperties(prepared.properties), msgId: prepared.uniqId, batch: false,
    };
  }

  #prepareBatch(messages: readonly Message[]): Outgoing {
    if (!Array.isArray(messages) || messages.length === 0) throw new InvalidMessageError('batch is empty');
    const prepared = messages.map((message) => {
      if (message.delayTimeLevel !== undefined && message.delayTimeLevel > 0) {
        throw new InvalidMessageError('delayed messages cannot be batched');
      }
      return this.#prepareMessage(message);
    });
    const topic = prepared[0]!.topic;
    if (prepared.some((message) => message.topic !== topic)) {
      throw new InvalidMessageError('a batch must have one topic');
    }
    const body = encodeBatch(prepared.map((message) => ({
      flag: message.flag, body: message.body, properties: message.properties,
    })));
    if (body.length > this.#maxMessageSize) {
      throw new InvalidMessageError(`batch of ${body.length} bytes exceeds maxMessageSize ${this.#maxMessageSize}`);
    }
    return {
      topic, code: RequestCode.SEND_BATCH_MESSAGE, body, sysFlag: 0, flag: 0,
      properties: encodeProperties({ [MessageProperty.WAIT]: 'true' }),
      msgId: prepared.map((message) => message.uniqId).join(','), batch: true,
    };
  }

  #request(outgoing: Outgoing, queue: MessageQueue): RemotingCommand {
    const header: Record<string, string | number | boolean> = {
      producerGroup: this.groupName,
      topic: outgoing.topic,
      defaultTopic: AUTO_CREATE_TOPIC_KEY,
      defaultTopicQueueNums: this.#defaultQueueNums,
      queueId: queue.queueId,
      sysFlag: outgoing.sysFlag,
      bornTimestamp: Date.now(),
      flag: outgoing.flag,
      properties: outgoing.properties,
      reconsumeTimes: outgoing.reconsumeTimes ?? 0,
      unitMode: false,
      batch: outgoing.batch,
      bname: queue.brokerName,
    };
    if (outgoing.maxReconsumeTimes !== undefined) header['maxReconsumeTimes'] = outgoing.maxReconsumeTimes;
    const extFields = encodeSendMessageHeader(outgoing.code, header as never);
    return makeRequest(outgoing.code, { extFields, body: outgoing.body });
  }

  // ---------------------------------------------------------------------------- routing

  async #publishInfo(topic: string): Promise<PublishInfo> {
    const cached = this.#publish.get(topic);
    const route = this.#core.routeOf(topic);
    if (cached !== undefined && !cached.fromDefault && route !== undefined) {
      return cached.route === route ? cached : this.#refreshFromCache(topic, route, cached);
    }
    // A topic still on its TBW102-derived route: ask the name server at most once a second.
    if (cached !== undefined && Date.now() - cached.fetchedAtMs < 1000) return cached;
    if (cached !== undefined) cached.fetchedAtMs = Date.now();
    const fresh = await this.#core.updateRoute(topic);
    if (fresh !== undefined) {
      const info: PublishInfo = {
        queues: ClientCore.publishQueues(topic, fresh), fromDefault: false, route: fresh, fetchedAtMs: Date.now(),
      };
      if (info.queues.length > 0) {
        this.#publish.set(topic, info);
        return info;
      }
    }
    if (cached !== undefined) return cached;
    const template = await this.#core.fetchRoute(AUTO_CREATE_TOPIC_KEY);
    if (template === undefined) {
      throw new NoRouteError(topic, `no route for ${topic} and no ${AUTO_CREATE_TOPIC_KEY} to auto-create it`);
    }
    const derived = this.#fromTemplate(template);
    this.#core.setRoute(AUTO_CREATE_TOPIC_KEY, template);
    const info: PublishInfo = {
      queues: ClientCore.publishQueues(topic, derived), fromDefault: true, route: derived, fetchedAtMs: Date.now(),
    };
    if (info.queues.length === 0) throw new NoRouteError(topic, `no writable queue for ${topic}`);
    this.#publish.set(topic, info);
    return info;
  }

  #refreshFromCache(topic: string, route: TopicRouteData, cached: PublishInfo): PublishInfo {
    const queues = ClientCore.publishQueues(topic, route);
    if (queues.length === 0) return cached;
    const info: PublishInfo = { queues, fromDefault: false, route, fetchedAtMs: Date.now() };
    this.#publish.set(topic, info);
    return info;
  }

  /** A route for a new topic: TBW102's brokers with at most defaultTopicQueueNums queues each. */
  #fromTemplate(template: TopicRouteData): TopicRouteData {
    return {
      ...template,
      queueDatas: template.queueDatas.map((data) => {
        const nums = Math.min(this.#defaultQueueNums, data.readQueueNums);
        return { ...data, readQueueNums: nums, writeQueueNums: nums };
      }),
    };
  }

  #selectQueue(topic: string, queues: readonly MessageQueue[], lastBrokerName: string | undefined): MessageQueue {
    const start = this.#indexes.get(topic) ?? Math.floor(Math.random() * 0x7fff);
    this.#indexes.set(topic, (start + 1) & 0x7fffffff);
    const at = (i: number): MessageQueue => queues[(start + i) % queues.length]!;
    const faults = this.#faults;
    const passes: Array<(queue: MessageQueue) => boolean> = [];
    if (faults !== undefined) {
      passes.push((queue) => faults.isAvailable(queue.brokerName) && queue.brokerName !== lastBrokerName);
      passes.push((queue) => faults.isAvailable(queue.brokerName));
    }
    if (lastBrokerName !== undefined) passes.push((queue) => queue.brokerName !== lastBrokerName);
    for (const pass of passes) {
      for (let i = 0; i < queues.length; i += 1) if (pass(at(i))) return at(i);
    }
    return at(0);
  }

  async #brokerAddress(brokerName: string, topic: string): Promise<string> {
    let address = this.#core.masterAddress(brokerName);
    if (address === undefined) {
      await this.#core.updateRoute(topic);
      address = this.#core.masterAddress(brokerName);
    }
    if (address === undefined) throw new NoRouteError(topic, `broker ${brokerName} has no known master address`);
    return address;
  }

  // ---------------------------------------------------------------------------- sending

  async #sendWithRetries(outgoing: Outgoing): Promise<SendResult> {
    const started = Date.now();
    const attempts = 1 + this.#retries;
    let lastBroker: string | undefined;
    let lastError: MQError | undefined;
    for (let attempt = 0; attempt < attempts; attempt += 1) {
      const remaining = this.#sendTimeoutMs - (Date.now() - started);
      if (remaining <= 0) break;
      let queue: MessageQueue | undefined;
      const sentAt = Date.now();
      try {
        const { queues } = await this.#publishInfo(outgoing.topic);
        queue = this.#selectQueue(outgoing.topic, queues, lastBroker);
        const result = await this.#sendToQueue(outgoing, queue, this.#sendTimeoutMs - (Date.now() - started));
        this.#faults?.update(queue.brokerName, Date.now() - sentAt, false);
        return result;
      } catch (error) {
        lastError = toMQError(error, undefined);
        if (queue !== undefined) {
          lastBroker = queue.brokerName;
          this.#faults?.update(queue.brokerName, Date.now() - sentAt, true);
        }
        if (!lastError.retriable) throw lastError;
        this.#core.logger.debug('send failed, retrying', { topic: outgoing.topic, attempt, error: lastError.message });
      }
    }
    if (lastError !== undefined && !(lastError instanceof TimeoutError) && Date.now() - started < this.#sendTimeoutMs) {
      throw lastError;
    }
    throw new TimeoutError(
      `send to ${outgoing.topic} did not succeed within ${this.#sendTimeoutMs} ms`, { cause: lastError },
    );
  }

  async #sendToQueue(outgoing: Outgoing, queue: MessageQueue, timeoutMs: number): Promise<SendResult> {
    if (timeoutMs <= 0) throw new TimeoutError(`send to ${outgoing.topic} timed out before it was sent`);
    const address = await this.#brokerAddress(queue.brokerName, outgoing.topic);
    const response = await this.#core.invoke(address, this.#request(outgoing, queue), timeoutMs);
    const status = statusOf(response.code);
    if (status === undefined) throw new MQBrokerError(response.code, response.remark, address);
    const fields = response.extFields;
    const result: SendResult = {
      sendStatus: status,
      msgId: outgoing.msgId,
      offsetMsgId: fields['msgId'] ?? '',
      messageQueue: {
        topic: queue.topic, brokerName: queue.brokerName, queueId: Number(fields['queueId'] ?? queue.queueId),
      },
      queueOffset: Number(fields['queueOffset'] ?? -1),
    };
    if (fields['transactionId'] !== undefined) result.transactionId = fields['transactionId'];
    if (fields['MSG_REGION'] !== undefined) result.regionId = fields['MSG_REGION'];
    if (fields['recallHandle'] !== undefined && fields['recallHandle'] !== '') result.recallHandle = fields['recallHandle'];
    return result;
  }
}
