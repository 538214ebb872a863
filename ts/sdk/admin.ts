// Admin: topic and group management over the remoting protocol (what mqadmin does): create
// topics, list topics, routes, cluster info, topic and consumer statistics, query messages by
// key or unique id, view a message by its offset msgId, reset a group's offsets by time.
// A looked-up message whose body cannot be decoded comes back as stored, flagged by
// `bodyDecodeError`, rather than failing the lookup: finding such a message (by the msgId a
// consumer logged) is exactly what an operator uses these calls for.

import {
  RequestCode, ResponseCode, decodeClusterInfo, decodeOffsetMsgId, decodeStoredMessages, decodeTopicList,
  makeRequest, Perm, type ClusterInfo, type StoredMessage, type TopicRouteData,
} from '../protocol/index.js';
import { formatAddress } from '../remoting/index.js';
import { ClientCore, decodeResetOffsetBody, type ClientOptions } from './client-core.js';
import { searchOffset, updateConsumerOffset } from './consumer-api.js';
import { MessageDecodeError, MQBrokerError, MQClientError, NoRouteError } from './errors.js';
import { parseLooseJson, looseEntries } from './loose-json.js';
import { compareQueues, toMessageExt, toUndecodedMessageExt, type MessageExt, type MessageQueue } from './message.js';
import { validateTopic } from './producer.js';

/** Options of createTopic. */
export interface CreateTopicOptions {
  /** Read and write queues per broker. Default 8. */
  queueNums?: number;
  /** Default 6 (read + write). */
  perm?: number;
  /** Ordered topic flag. Default false. */
  order?: boolean;
  /** Brokers to create it on (names). Default every broker of `clusterName` (or of every cluster). */
  brokerNames?: string[];
  clusterName?: string;
  /** 5.x topic attributes, e.g. `{ 'message.type': 'FIFO' }`. */
  attributes?: Record<string, string>;
}

/** min/max offsets of one queue (GET_TOPIC_STATS_INFO). */
export interface QueueStats {
  queue: MessageQueue;
  minOffset: number;
  maxOffset: number;
  lastUpdateTimestamp: number;
}

/** A group's progress on one queue (GET_CONSUME_STATS). */
export interface QueueConsumeStats {
  queue: MessageQueue;
  brokerOffset: number;
  consumerOffset: number;
  pullOffset: number;
  lastTimestamp: number;
}

export interface ConsumeStats {
  consumeTps: number;
  queues: QueueConsumeStats[];
  /** Σ (brokerOffset − consumerOffset): messages not yet consumed. */
  diffTotal: number;
}

/** INVOKE_BROKER_TO_RESET_OFFSET: an admin asks a broker to reset a group's offsets. */
const INVOKE_BROKER_TO_RESET_OFFSET = 222;

/** Settable fields of a subscription group (RocketMQ's SubscriptionGroupConfig). */
export interface SubscriptionGroupOptions {
  consumeEnable?: boolean;
  consumeFromMinEnable?: boolean;
  consumeBroadcastEnable?: boolean;
  retryQueueNums?: number;
  retryMaxTimes?: number;
  brokerId?: number;
  whichBrokerWhenConsumeSlowly?: number;
  notifyConsumerIdsChangedEnable?: boolean;
}

/** A message found by a query or viewMessage. */
export interface QueriedMessage extends MessageExt {
  /**
   * Set when the body could not be decoded (its sysFlag names a codec this client does not
   * know, see `codec`, or the bytes are invalid for it): `body` is then the bytes as stored.
   */
  bodyDecodeError?: MessageDecodeError;
}

function toQueriedMessage(stored: StoredMessage, brokerName: string): QueriedMessage {
  try {
    return toMessageExt(stored, brokerName);
  } catch (error) {
    if (!(error instanceof MessageDecodeError)) throw error;
    return { ...toUndecodedMessageExt(stored, brokerName), bodyDecodeError: error };
  }
}

/** Options of message queries. */
export interface QueryOptions {
  maxNum?: number;
  beginTimestamp?: number;
  endTimestamp?: number;
}

function numberField(value: unknown): number {
  return typeof value === 'number' ? value : Number(value ?? 0);
}

function queueFromJson(value: unknown): MessageQueue {
  const object = (value ?? {}) as Record<string, unknown>;
  return {
    topic: String(object['topic']), brokerName: String(object['brokerName']), queueId: numberField(object['queueId']),
  };
}

/** An admin client. */
export class Admin {
  readonly #core: ClientCore;

  constructor(options: ClientOptions) {
    this.#core = new ClientCore(options, 'admin');
  }

  async start(): Promise<void> {
    this.#core.start();
  }

  async shutdown(): Promise<void> {
    await this.#core.shutdown();
  }

  /** GET_BROKER_CLUSTER_INFO. */
  async clusterInfo(): Promise<ClusterInfo> {
    const response = await this.#core.invokeNamesrv(makeRequest(RequestCode.GET_BROKER_CLUSTER_INFO));
    if (response.code !== ResponseCode.SUCCESS || response.body === undefined) {
      throw new MQBrokerError(response.code, response.remark, 'name server');
    }
    return decodeClusterInfo(response.body);
  }

  /** GET_ALL_TOPIC_LIST_FROM_NAMESERVER. */
  async topicList(): Promise<string[]> {
    const response = await this.#core.invokeNamesrv(makeRequest(RequestCode.GET_ALL_TOPIC_LIST_FROM_NAMESERVER));
    if (response.code !== ResponseCode.SUCCESS || response.body === undefined) {
      throw new MQBrokerError(response.code, response.remark, 'name server');
    }
    return decodeTopicList(response.body).sort();
  }

  /** GET_ROUTEINFO_BY_TOPIC. @throws NoRouteError for an unknown topic */
  async topicRoute(topic: string): Promise<TopicRouteData> {
    const route = await this.#core.updateRoute(topic);
    if (route === undefined) throw new NoRouteError(topic, `topic ${topic} does not exist`);
    return route;
  }

  async #brokerTargets(options: CreateTopicOptions): Promise<Array<{ brokerName: string; address: string }>> {
    const info = await this.clusterInfo();
    let names = options.brokerNames;
    if (names === undefined) {
      const clusters = options.clusterName === undefined ? Object.keys(info.clusterAddrTable) : [options.clusterName];
      names = clusters.flatMap((cluster) => info.clusterAddrTable[cluster] ?? []);
    }
    const targets = names.flatMap((brokerName) => {
      const address = info.brokerAddrTable[brokerName]?.brokerAddrs['0'];
      return address === undefined ? [] : [{ brokerName, address }];
    });
    if (targets.length === 0) throw new MQClientError('no master broker matches the request');
    return targets;
  }

  /** UPDATE_AND_CREATE_TOPIC on every target broker (they register it with the name servers). */
  async createTopic(topic: string, options: CreateTopicOptions = {}): Promise<void> {
    validateTopic(topic);
    const queueNums = String(options.queueNums ?? 8);
    const extFields: Record<string, string> = {
      topic, defaultTopic: 'TBW102', readQueueNums: queueNums, writeQueueNums: queueNums,
      perm: String(options.perm ?? Perm.READ | Perm.WRITE), topicFilterType: 'SINGLE_TAG', topicSysFlag: '0',
      order: String(options.order ?? false),
    };
    if (options.attributes !== undefined) {
      extFields['attributes'] = Object.entries(options.attributes).map(([k, v]) => `+${k}=${v}`).join(',');
    }
    for (const target of await this.#brokerTargets(options)) {
      const request = makeRequest(RequestCode.UPDATE_AND_CREATE_TOPIC, { extFields });
      await this.#core.invokeOk(target.address, request, 10_000);
    }
  }

  /** Polls the name servers until the topic routes `queueNums` write queues per broker (or the timeout). */
  async waitForRoute(topic: string, timeoutMs = 10_000): Promise<TopicRouteData> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const route = await this.#core.fetchRoute(topic).catch(() => undefined);
      if (route !== undefined && route.queueDatas.length > 0) return route;
      if (Date.now() > deadline) throw new NoRouteError(topic, `no route for ${topic} after ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  #routeBrokers(route: TopicRouteData): Array<{ brokerName: string; address: string }> {
    return route.brokerDatas.flatMap((broker) => {
      const address = broker.brokerAddrs['0'] ?? Object.values(broker.brokerAddrs)[0];
      return address === undefined ? [] : [{ brokerName: broker.brokerName, address }];
    });
  }

  /** GET_TOPIC_STATS_INFO from every broker of the topic: min/max offset per queue. */
  async topicStats(topic: string): Promise<QueueStats[]> {
    const out: QueueStats[] = [];
    for (const { address } of this.#routeBrokers(await this.topicRoute(topic))) {
      const request = makeRequest(RequestCode.GET_TOPIC_STATS_INFO, { extFields: { topic } });
      const response = await this.#core.invokeOk(address, request);
      const root = parseLooseJson(response.body?.toString('utf8') ?? '{}') as Record<string, unknown>;
      for (const [key, value] of looseEntries(root['offsetTable'])) {
        const stats = (value ?? {}) as Record<string, unknown>;
        out.push({
          queue: queueFromJson(key),
          minOffset: numberField(stats['minOffset']),
          maxOffset: numberField(stats['maxOffset']),
          lastUpdateTimestamp: numberField(stats['lastUpdateTimestamp']),
        });
      }
    }
    return out.sort((a, b) => compareQueues(a.queue, b.queue));
  }

  /** GET_CONSUME_STATS: a group's offsets against the brokers' (optionally for one topic). */
  async consumeStats(group: string, topic?: string): Promise<ConsumeStats> {
    const brokers = topic !== undefined
      ? this.#routeBrokers(await this.topicRoute(topic))
      : (await this.#brokerTargets({})).map((target) => target);
    const stats: ConsumeStats = { consumeTps: 0, queues: [], diffTotal: 0 };
    for (const { address } of brokers) {
      const extFields: Record<string, string> = { consumerGroup: group };
      if (topic !== undefined) extFields['topic'] = topic;
      const response = await this.#core.invokeOk(address, makeRequest(RequestCode.GET_CONSUME_STATS, { extFields }));
      const root = parseLooseJson(response.body?.toString('utf8') ?? '{}') as Record<string, unknown>;
      stats.consumeTps += numberField(root['consumeTps']);
      for (const [key, value] of looseEntries(root['offsetTable'])) {
        const wrapper = (value ?? {}) as Record<string, unknown>;
        const entry: QueueConsumeStats = {
          queue: queueFromJson(key), brokerOffset: numberField(wrapper['brokerOffset']),
          consumerOffset: numberField(wrapper['consumerOffset']), pullOffset: numberField(wrapper['pullOffset']),
          lastTimestamp: numberField(wrapper['lastTimestamp']),
        };
        stats.queues.push(entry);
        stats.diffTotal += Math.max(0, entry.brokerOffset - entry.consumerOffset);
      }
    }
    stats.queues.sort((a, b) => compareQueues(a.queue, b.queue));
    return stats;
  }

  async #query(topic: string, key: string, unique: boolean, options: QueryOptions): Promise<QueriedMessage[]> {
    const out: QueriedMessage[] = [];
    for (const { brokerName, address } of this.#routeBrokers(await this.topicRoute(topic))) {
      const extFields: Record<string, string> = {
        topic, key, maxNum: String(options.maxNum ?? 64), beginTimestamp: String(options.beginTimestamp ?? 0),
        endTimestamp: String(options.endTimestamp ?? Date.now() + 60_000),
      };
      if (unique) extFields['_UNIQUE_KEY_QUERY'] = 'true';
      const response = await this.#core.invoke(address, makeRequest(RequestCode.QUERY_MESSAGE, { extFields }), 10_000);
      if (response.code === ResponseCode.QUERY_NOT_FOUND) continue;
      if (response.code !== ResponseCode.SUCCESS) throw new MQBrokerError(response.code, response.remark, address);
      if (response.body === undefined) continue;
      for (const stored of decodeStoredMessages(response.body)) out.push(toQueriedMessage(stored, brokerName));
    }
    return out;
  }

  /** Messages of `topic` whose KEYS include `key` (the broker's index, then an exact check). */
  async queryMessageByKey(topic: string, key: string, options: QueryOptions = {}): Promise<QueriedMessage[]> {
    const found = await this.#query(topic, key, false, options);
    return found.filter((message) => message.topic === topic && message.keys.includes(key));
  }

  /** The message(s) with this client msgId (UNIQ_KEY). */
  async queryMessageByUniqKey(topic: string, msgId: string, options: QueryOptions = {}): Promise<QueriedMessage[]> {
    const found = await this.#query(topic, msgId, true, options);
    return found.filter((message) => message.msgId === msgId);
  }

  /** VIEW_MESSAGE_BY_ID: decodes the offset msgId and reads the record from that broker. */
  async viewMessage(offsetMsgId: string): Promise<QueriedMessage> {
    const { storeHost, commitLogOffset } = decodeOffsetMsgId(offsetMsgId);
    const address = formatAddress(storeHost.address, storeHost.port);
    const response = await this.#core.invokeOk(address, makeRequest(RequestCode.VIEW_MESSAGE_BY_ID, {
      extFields: { offset: String(commitLogOffset) },
    }));
    const stored = response.body === undefined ? [] : decodeStoredMessages(response.body);
    if (stored[0] === undefined) throw new MQBrokerError(ResponseCode.QUERY_NOT_FOUND, 'empty body', address);
    const brokerName = [...this.#core.masterAddresses()].find(([, a]) => a === address)?.[0] ?? '';
    return toQueriedMessage(stored[0], brokerName);
  }

  /** Undefined when the group has no online consumer (CONSUMER_NOT_ONLINE). */
  async #resetThroughBrokers(
    group: string, topic: string, timestampMs: number, route: TopicRouteData,
  ): Promise<Array<{ queue: MessageQueue; offset: number }> | undefined> {
    const out: Array<{ queue: MessageQueue; offset: number }> = [];
    for (const { address } of this.#routeBrokers(route)) {
      const response = await this.#core.invoke(address, makeRequest(INVOKE_BROKER_TO_RESET_OFFSET, {
        extFields: { topic, group, timestamp: String(timestampMs), isForce: 'true', queueId: '-1', offset: '-1' },
      }), 10_000);
      if (response.code === ResponseCode.CONSUMER_NOT_ONLINE) return undefined;
      if (response.code !== ResponseCode.SUCCESS) throw new MQBrokerError(response.code, response.remark, address);
      out.push(...decodeResetOffsetBody(response.body));
    }
    return out.sort((a, b) => compareQueues(a.queue, b.queue));
  }

  /**
   * Sets a group's committed offset of every queue of `topic` to the first message stored at
   * or after `timestampMs`. With consumers online the brokers relay the reset to them (they
   * drop their queues and continue from the new offsets); otherwise the offsets are written
   * directly, as mqadmin does for offline groups.
   */
  async resetOffsetByTimestamp(
    group: string, topic: string, timestampMs: number,
  ): Promise<Array<{ queue: MessageQueue; offset: number }>> {
    const route = await this.topicRoute(topic);
    // Online consumers: the brokers compute the offsets and tell every member to jump there
    // (INVOKE_BROKER_TO_RESET_OFFSET → RESET_CONSUMER_CLIENT_OFFSET). Offline: write them here.
    const online = await this.#resetThroughBrokers(group, topic, timestampMs, route);
    if (online !== undefined) return online;
    const queues = ClientCore.subscribeQueues(topic, route).sort(compareQueues);
    const out: Array<{ queue: MessageQueue; offset: number }> = [];
    for (const queue of queues) {
      const offset = await searchOffset(this.#core, queue, timestampMs);
      await updateConsumerOffset(this.#core, group, queue, offset);
      out.push({ queue, offset });
    }
    return out;
  }

  /**
   * Deletes a topic: DELETE_TOPIC_IN_BROKER on every broker of its route (config, offsets,
   * ConsumeQueues), then DELETE_TOPIC_IN_NAMESRV so clients stop routing to it.
   */
  async deleteTopic(topic: string, options: { clusterName?: string } = {}): Promise<void> {
    const route = await this.topicRoute(topic);
    for (const { address } of this.#routeBrokers(route)) {
      await this.#core.invokeOk(address, makeRequest(RequestCode.DELETE_TOPIC_IN_BROKER, { extFields: { topic } }), 10_000);
    }
    const extFields: Record<string, string> = { topic };
    if (options.clusterName !== undefined) extFields['clusterName'] = options.clusterName;
    const response = await this.#core.invokeNamesrv(makeRequest(RequestCode.DELETE_TOPIC_IN_NAMESRV, { extFields }));
    if (response.code !== ResponseCode.SUCCESS) throw new MQBrokerError(response.code, response.remark, 'name server');
  }

  /** GET_BROKER_RUNTIME_INFO: the broker's key/value status table (what mqadmin brokerStatus prints). */
  async brokerRuntimeInfo(brokerAddr: string): Promise<Record<string, string>> {
    const response = await this.#core.invokeOk(brokerAddr, makeRequest(RequestCode.GET_BROKER_RUNTIME_INFO));
    const root = parseLooseJson(response.body?.toString('utf8') ?? '{}') as Record<string, unknown>;
    return Object.fromEntries(looseEntries(root['table']).map(([key, value]) => [String(key), String(value)]));
  }

  /**
   * UPDATE_AND_CREATE_SUBSCRIPTIONGROUP on every master of the cluster (or the named brokers).
   * `config` overrides RocketMQ's group defaults (consumeEnable, retryMaxTimes, ...).
   */
  async updateSubscriptionGroup(group: string, config: SubscriptionGroupOptions = {}, target: { clusterName?: string; brokerNames?: string[] } = {}): Promise<void> {
    if (group.length === 0) throw new MQClientError('the group name is empty');
    const body = Buffer.from(JSON.stringify({
      groupName: group, consumeEnable: true, consumeFromMinEnable: true, consumeBroadcastEnable: true,
      retryQueueNums: 1, retryMaxTimes: 16, brokerId: 0, whichBrokerWhenConsumeSlowly: 1, notifyConsumerIdsChangedEnable: true,
      ...config,
    }));
    for (const { address } of await this.#brokerTargets(target)) {
      await this.#core.invokeOk(address, makeRequest(RequestCode.UPDATE_AND_CREATE_SUBSCRIPTIONGROUP, { body }), 10_000);
    }
  }
}

