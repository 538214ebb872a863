// Admin reads as JSON under /api: cluster, topics (paged), one topic, consumer groups (paged)
// with lag, one group, messages by id or key. Reads only: writes stay on the remoting admin
// codes (mqadmin, `bolide admin`), which carry RocketMQ's semantics.
import { inflateSync } from 'node:zlib';
import { consumeStats } from '../broker/admin-stats-processors.js';
import type { BrokerContext } from '../broker/broker-context.js';
import { DLQ_GROUP_TOPIC_PREFIX, RETRY_GROUP_TOPIC_PREFIX, SystemTopic } from '../broker/topic-config-manager.js';
import { decodeOffsetMsgId } from '../protocol/message-id.js';
import { decodeStoredMessage, MessageSysFlag, type StoredMessage } from '../protocol/message-record.js';
import { MessageProperty } from '../protocol/properties.js';
import { GatewayError } from './errors.js';
import { intParam } from './http.js';

const PAGE_MAX = 1000;
const SYSTEM_TOPICS: ReadonlySet<string> = new Set(Object.values(SystemTopic));

function isSystemTopic(topic: string): boolean {
  return SYSTEM_TOPICS.has(topic) || topic.startsWith('rmq_sys_') || topic.startsWith('RMQ_SYS_');
}

interface Page<T> {
  total: number;
  offset: number;
  limit: number;
  items: T[];
}

/** Sorted, filtered by prefix, paged: the shape every list endpoint answers with. */
function page<T>(names: string[], query: URLSearchParams, build: (name: string) => T): Page<T> {
  const prefix = query.get('prefix') ?? '';
  const contains = (query.get('q') ?? '').toLowerCase();
  const offset = intParam(query, 'offset', 0, 0, Number.MAX_SAFE_INTEGER);
  const limit = intParam(query, 'limit', 100, 1, PAGE_MAX);
  const matching = names
    .filter((n) => n.startsWith(prefix) && (contains === '' || n.toLowerCase().includes(contains)))
    .sort();
  return { total: matching.length, offset, limit, items: matching.slice(offset, offset + limit).map(build) };
}

function queueRange(context: BrokerContext, topic: string, queueId: number): { minOffset: number; maxOffset: number } {
  return { minOffset: Math.max(0, context.store.minOffset(topic, queueId)), maxOffset: Math.max(0, context.store.maxOffset(topic, queueId)) };
}

export function clusterInfo(context: BrokerContext, startedAt: number, gatewayAddress: string): Record<string, unknown> {
  const o = context.options;
  const store = context.store;
  return {
    clusterName: o.brokerClusterName, brokerName: o.brokerName, brokerId: o.brokerId, brokerRole: o.brokerRole,
    brokerAddr: context.brokerAddr(), gateway: gatewayAddress, namesrvAddr: o.namesrvAddr,
    flushDiskType: o.flushDiskType, startedAt, uptimeMs: Date.now() - startedAt,
    commitLog: { minOffset: store.commitLogMinOffset, maxOffset: store.commitLogMaxOffset },
    store: store.stats(),
    pageCache: store.pageCache(),
    putTps: context.stats.putTps(), getTps: context.stats.getTps(),
  };
}

export function listTopics(context: BrokerContext, query: URLSearchParams): Page<Record<string, unknown>> {
  const withSystem = query.get('system') === 'true';
  const names = Object.keys(context.topics.snapshot()).filter((t) => withSystem || !isSystemTopic(t));
  return page(names, query, (topic) => {
    const config = context.topics.get(topic);
    let messages = 0;
    for (let queueId = 0; queueId < (config?.writeQueueNums ?? 0); queueId += 1) {
      const { minOffset, maxOffset } = queueRange(context, topic, queueId);
      messages += maxOffset - minOffset;
    }
    return {
      topic, readQueueNums: config?.readQueueNums ?? 0, writeQueueNums: config?.writeQueueNums ?? 0, perm: config?.perm ?? 0,
      messages, kind: topic.startsWith(RETRY_GROUP_TOPIC_PREFIX) ? 'retry' : topic.startsWith(DLQ_GROUP_TOPIC_PREFIX) ? 'dlq' : 'normal',
    };
  });
}

export function topicDetail(context: BrokerContext, topic: string): Record<string, unknown> {
  const config = context.topics.get(topic);
  if (config === undefined) throw new GatewayError('NOT_FOUND', `topic ${topic} does not exist on this broker`);
  const queues = [];
  for (let queueId = 0; queueId < Math.max(config.readQueueNums, config.writeQueueNums); queueId += 1) {
    const { minOffset, maxOffset } = queueRange(context, topic, queueId);
    const lastStoreTime = maxOffset > 0 ? context.store.storeTimeAt(topic, queueId, maxOffset - 1) : null;
    queues.push({ queueId, minOffset, maxOffset, lastStoreTime });
  }
  return { ...config, queues, groups: context.offsets.groupsOf(topic).sort() };
}

function groupSummary(context: BrokerContext, group: string): Record<string, unknown> {
  const online = context.clients.consumerGroup(group);
  const { offsets, consumeTps } = consumeStats(context, group);
  let lag = 0;
  for (const [, wrapper] of offsets) lag += Math.max(0, wrapper.brokerOffset - wrapper.consumerOffset);
  return {
    group, clients: online?.channels.size ?? 0, messageModel: online?.messageModel ?? null, consumeType: online?.consumeType ?? null,
    topics: [...new Set(offsets.map(([queue]) => queue.topic))].sort(), lag, consumeTps,
  };
}

export function listGroups(context: BrokerContext, query: URLSearchParams): Page<Record<string, unknown>> {
  const names = new Set([...context.groups.groups(), ...context.clients.consumerGroupNames(), ...context.offsets.groups()]);
  return page([...names], query, (group) => groupSummary(context, group));
}

export function groupDetail(context: BrokerContext, group: string): Record<string, unknown> {
  const online = context.clients.consumerGroup(group);
  if (online === undefined && context.groups.get(group) === undefined && context.offsets.topicsOf(group).length === 0) {
    throw new GatewayError('NOT_FOUND', `consumer group ${group} is not known to this broker`);
  }
  const { offsets, consumeTps } = consumeStats(context, group);
  const queues = offsets.map(([queue, w]) => ({
    topic: queue.topic, queueId: queue.queueId, brokerOffset: w.brokerOffset, consumerOffset: w.consumerOffset,
    lag: Math.max(0, w.brokerOffset - w.consumerOffset), lastTimestamp: w.lastTimestamp,
  }));
  return {
    ...groupSummary(context, group),
    clientIds: online === undefined ? [] : [...online.channels.values()].map((c) => c.clientId).sort(),
    subscriptions: online === undefined ? [] : [...online.subscriptions.values()],
    queues, consumeTps,
  };
}

/** A stored message as JSON; text bodies as utf8, others base64; zlib bodies inflated. */
export function messageJson(message: StoredMessage): Record<string, unknown> {
  let body = message.body;
  let compressed = false;
  if ((message.sysFlag & MessageSysFlag.COMPRESSED) !== 0) {
    compressed = true;
    const type = message.sysFlag & 0x700;
    if (type === 0 || type === MessageSysFlag.COMPRESSION_ZLIB) {
      try {
        body = inflateSync(body);
        compressed = false;
      } catch {
        // left as stored: the JSON says compressed=true
      }
    }
  }
  const text = body.toString('utf8');
  const isText = !compressed && Buffer.from(text, 'utf8').equals(body);
  const properties = message.properties;
  return {
    topic: message.topic, queueId: message.queueId, queueOffset: message.queueOffset,
    msgId: properties[MessageProperty.UNIQ_KEY] ?? message.msgId, offsetMsgId: message.msgId,
    tags: properties[MessageProperty.TAGS] ?? null, keys: properties[MessageProperty.KEYS]?.split(' ') ?? [],
    properties, bornTimestamp: message.bornTimestamp, storeTimestamp: message.storeTimestamp,
    bornHost: `${message.bornHost.address}:${message.bornHost.port}`, storeHost: `${message.storeHost.address}:${message.storeHost.port}`,
    reconsumeTimes: message.reconsumeTimes, storeSize: message.storeSize, compressed,
    body: isText ? text : body.toString('base64'), bodyEncoding: isText ? 'utf8' : 'base64',
  };
}

function readAt(context: BrokerContext, physicalOffset: number): StoredMessage | undefined {
  try {
    return decodeStoredMessage(context.store.messageAt(physicalOffset)).message;
  } catch {
    return undefined;
  }
}

const DAY_MS = 86_400_000;

/** Messages indexed under `topic#key` (a KEYS word or a UNIQ_KEY), re-checked against the record. */
function byKey(context: BrokerContext, topic: string, key: string, max: number, begin: number, end: number): StoredMessage[] {
  const found: StoredMessage[] = [];
  for (const offset of context.store.queryByKey(topic, key, max, begin, end)) {
    const m = readAt(context, offset);
    if (m === undefined || m.topic !== topic) continue;
    const keys = m.properties[MessageProperty.KEYS]?.split(' ') ?? [];
    if (m.properties[MessageProperty.UNIQ_KEY] === key || keys.includes(key)) found.push(m);
  }
  return found;
}

/** GET /api/messages/{id}[?topic=]: by UNIQ_KEY within the topic, or by offset msgId. */
export function messageById(context: BrokerContext, id: string, query: URLSearchParams): Record<string, unknown> {
  const topic = query.get('topic');
  if (topic) {
    const [hit] = byKey(context, topic, id.toUpperCase(), 1, 0, Date.now() + DAY_MS);
    if (hit !== undefined) return messageJson(hit);
  }
  let physicalOffset: number;
  try {
    physicalOffset = decodeOffsetMsgId(id).commitLogOffset;
  } catch {
    throw new GatewayError('NOT_FOUND', topic ? `no message ${id} in topic ${topic}` : `${id} is not an offset msgId (give ?topic= to look up a client msgId)`);
  }
  const m = readAt(context, physicalOffset);
  if (m === undefined || m.commitLogOffset !== physicalOffset) throw new GatewayError('NOT_FOUND', `no message at offset msgId ${id}`);
  return messageJson(m);
}

/** GET /api/messages?topic=&key=[&max=&begin=&end=] */
export function messagesByKey(context: BrokerContext, query: URLSearchParams): Record<string, unknown> {
  const topic = query.get('topic');
  const key = query.get('key');
  if (!topic || !key) throw new GatewayError('BAD_REQUEST', 'query parameters topic and key are required');
  const max = intParam(query, 'max', 32, 1, 64);
  const begin = intParam(query, 'begin', 0, 0, Number.MAX_SAFE_INTEGER);
  const end = intParam(query, 'end', Date.now() + DAY_MS, 0, Number.MAX_SAFE_INTEGER);
  return { topic, key, messages: byKey(context, topic, key, max, begin, end).map(messageJson) };
}
