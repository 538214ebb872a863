// JSON bodies of the admin requests that mqadmin and dashboards send to a broker:
// TopicStatsTable (GET_TOPIC_STATS_INFO), ConsumeStats (GET_CONSUME_STATS), ConsumerConnection
// (GET_CONSUMER_CONNECTION_LIST), GroupList (QUERY_TOPIC_CONSUME_BY_WHO), ResetOffsetBody
// (INVOKE_BROKER_TO_RESET_OFFSET, RESET_CONSUMER_CLIENT_OFFSET), SubscriptionGroupWrapper
// (GET_ALL_SUBSCRIPTIONGROUP_CONFIG) and ConsumerOffsetSerializeWrapper (GET_ALL_CONSUMER_OFFSET).
//
// Java peers decode these with fastjson 1.x into classes whose maps are keyed by MessageQueue
// objects. fastjson writes such a key as the object itself, `{{"brokerName":"b","queueId":0,
// "topic":"t"}:{...}}` (not standard JSON), and reads it back the same way, so that is what we
// emit. Fields are in fastjson's order (alphabetical) and Java doubles keep their `.0`.

import { ProtocolError } from '../common/errors.js';
import {
  asArray, asBoolean, asInteger, asObject, asString, entriesOf, optionalField, type JsonObject,
} from './json-shape.js';
import { parseLenientJson } from './lenient-json.js';
import type { MessageQueueRef, SubscriptionData } from './broker-bodies.js';
import type { DataVersion } from './namesrv-bodies.js';

/** A Java double as fastjson prints it: integral values keep `.0`. */
export function javaDouble(value: number): string {
  if (!Number.isFinite(value)) return '0.0';
  return Number.isInteger(value) ? `${value}.0` : String(value);
}

/** A MessageQueue as fastjson prints it (also the form of a map key). */
export function messageQueueJson(queue: MessageQueueRef): string {
  return JSON.stringify({ brokerName: queue.brokerName, queueId: queue.queueId, topic: queue.topic });
}

/** Orders queues as Java's MessageQueue.compareTo does: topic, broker name, queue id. */
export function compareQueues(a: MessageQueueRef, b: MessageQueueRef): number {
  if (a.topic !== b.topic) return a.topic < b.topic ? -1 : 1;
  if (a.brokerName !== b.brokerName) return a.brokerName < b.brokerName ? -1 : 1;
  return a.queueId - b.queueId;
}

/** `{<queue>:<value>,...}` with MessageQueue object keys, sorted. */
function queueKeyedMap<T>(entries: ReadonlyArray<[MessageQueueRef, T]>, value: (entry: T) => string): string {
  const sorted = [...entries].sort(([a], [b]) => compareQueues(a, b));
  return `{${sorted.map(([queue, entry]) => `${messageQueueJson(queue)}:${value(entry)}`).join(',')}}`;
}

/** One queue of a TopicStatsTable (TopicOffset). */
export interface TopicOffset {
  minOffset: number;
  maxOffset: number;
  /** Store time of the newest message, 0 when the queue is empty. */
  lastUpdateTimestamp: number;
}

/** GET_TOPIC_STATS_INFO (202) response body. */
export function encodeTopicStatsTable(offsets: ReadonlyArray<[MessageQueueRef, TopicOffset]>, topicPutTps = 0): Buffer {
  const table = queueKeyedMap(offsets, (o) =>
    `{"lastUpdateTimestamp":${o.lastUpdateTimestamp},"maxOffset":${o.maxOffset},"minOffset":${o.minOffset}}`);
  return Buffer.from(`{"offsetTable":${table},"topicPutTps":${javaDouble(topicPutTps)}}`, 'utf8');
}

/** One queue of a ConsumeStats (OffsetWrapper). */
export interface OffsetWrapper {
  /** The queue's max offset. */
  brokerOffset: number;
  /** The group's committed offset (0 when none). */
  consumerOffset: number;
  /** The furthest offset the group pulled (≥ consumerOffset). */
  pullOffset: number;
  /** Store time of the last consumed message, 0 when none. */
  lastTimestamp: number;
}

/** GET_CONSUME_STATS (208) response body. */
export function encodeConsumeStats(offsets: ReadonlyArray<[MessageQueueRef, OffsetWrapper]>, consumeTps: number): Buffer {
  const table = queueKeyedMap(offsets, (o) =>
    `{"brokerOffset":${o.brokerOffset},"consumerOffset":${o.consumerOffset},"lastTimestamp":${o.lastTimestamp},`
    + `"pullOffset":${o.pullOffset}}`);
  return Buffer.from(`{"consumeTps":${javaDouble(consumeTps)},"offsetTable":${table}}`, 'utf8');
}

/** One client connection of a group (Connection). */
export interface ConnectionInfo {
  clientId: string;
  /** host:port as the broker sees it. */
  clientAddr: string;
  /** LanguageCode name: JAVA, NODE_JS, ... */
  language: string;
  version: number;
}

/** GET_CONSUMER_CONNECTION_LIST (203) response body (ConsumerConnection). */
export interface ConsumerConnection {
  connectionSet: ConnectionInfo[];
  subscriptionTable: Record<string, SubscriptionData>;
  consumeType: string;
  messageModel: string;
  consumeFromWhere: string;
}

function subscriptionJson(s: SubscriptionData): JsonObject {
  return {
    classFilterMode: s.classFilterMode, codeSet: s.codeSet, expressionType: s.expressionType, subString: s.subString,
    subVersion: s.subVersion, tagsSet: s.tagsSet, topic: s.topic,
  };
}

export function encodeConsumerConnection(c: ConsumerConnection): Buffer {
  const subscriptionTable: JsonObject = {};
  for (const topic of Object.keys(c.subscriptionTable).sort()) {
    subscriptionTable[topic] = subscriptionJson(c.subscriptionTable[topic] as SubscriptionData);
  }
  return Buffer.from(JSON.stringify({
    connectionSet: c.connectionSet.map((x) => ({
      clientAddr: x.clientAddr, clientId: x.clientId, language: x.language, version: x.version,
    })),
    consumeFromWhere: c.consumeFromWhere,
    consumeType: c.consumeType,
    messageModel: c.messageModel,
    subscriptionTable,
  }), 'utf8');
}

function parseRoot(body: Buffer | undefined, what: string): JsonObject {
  if (body === undefined || body.length === 0) throw new ProtocolError('BODY_INVALID', `${what}: body is empty`);
  return asObject(parseLenientJson(body.toString('utf8')), what);
}

export function decodeConsumerConnection(body: Buffer | undefined): ConsumerConnection {
  const root = parseRoot(body, 'ConsumerConnection');
  const p = 'ConsumerConnection';
  const subscriptionTable: Record<string, SubscriptionData> = {};
  for (const [topic, value] of entriesOf(optionalField(root, 'subscriptionTable', p, asObject, {}))) {
    const s = asObject(value, `${p}.subscriptionTable.${topic}`);
    subscriptionTable[topic] = {
      topic: asString(s['topic'], `${p}.subscriptionTable.${topic}.topic`),
      subString: optionalField(s, 'subString', p, asString, '*'),
      expressionType: optionalField(s, 'expressionType', p, asString, 'TAG'),
      tagsSet: optionalField(s, 'tagsSet', p, asArray, []).map((x, i) => asString(x, `${p}.tagsSet[${i}]`)),
      codeSet: optionalField(s, 'codeSet', p, asArray, []).map((x, i) => asInteger(x, `${p}.codeSet[${i}]`)),
      subVersion: optionalField(s, 'subVersion', p, asInteger, 0),
      classFilterMode: optionalField(s, 'classFilterMode', p, asBoolean, false),
    };
  }
  return {
    connectionSet: optionalField(root, 'connectionSet', p, asArray, []).map((value, i) => {
      const x = asObject(value, `${p}.connectionSet[${i}]`);
      return {
        clientId: optionalField(x, 'clientId', p, asString, ''),
        clientAddr: optionalField(x, 'clientAddr', p, asString, ''),
        language: optionalField(x, 'language', p, asString, 'JAVA'),
        version: optionalField(x, 'version', p, asInteger, 0),
      };
    }),
    subscriptionTable,
    consumeType: optionalField(root, 'consumeType', p, asString, ''),
    messageModel: optionalField(root, 'messageModel', p, asString, ''),
    consumeFromWhere: optionalField(root, 'consumeFromWhere', p, asString, ''),
  };
}

/** QUERY_TOPIC_CONSUME_BY_WHO (300) response body: `{"groupList":[...]}`. */
export function encodeGroupList(groups: Iterable<string>): Buffer {
  return Buffer.from(JSON.stringify({ groupList: [...groups].sort() }), 'utf8');
}

export function decodeGroupList(body: Buffer | undefined): string[] {
  const root = parseRoot(body, 'GroupList');
  return optionalField(root, 'groupList', 'GroupList', asArray, []).map((g, i) => asString(g, `groupList[${i}]`));
}

/** ResetOffsetBody: new offset per queue (INVOKE_BROKER_TO_RESET_OFFSET reply, RESET_CONSUMER_CLIENT_OFFSET body). */
export function encodeResetOffsetBody(offsets: ReadonlyArray<[MessageQueueRef, number]>): Buffer {
  return Buffer.from(`{"offsetTable":${queueKeyedMap(offsets, (offset) => String(offset))}}`, 'utf8');
}

/**
 * Decodes a fastjson map whose keys are MessageQueue objects (`{{...}:value,...}`) into
 * [queue, value] pairs. Accepts standard JSON objects too (then keys are not queues: empty).
 */
export function decodeQueueKeyedMap(text: string, what: string): Array<[MessageQueueRef, unknown]> {
  // Rewrite `{"brokerName":..,"queueId":..,"topic":..}:` keys into string keys, then parse.
  const keyPattern = /\{"brokerName":("(?:[^"\\]|\\.)*"),"queueId":(-?\d+),"topic":("(?:[^"\\]|\\.)*")\}:/g;
  const rewritten = text.replace(keyPattern, (_m, broker: string, queueId: string, topic: string) =>
    `${JSON.stringify(JSON.stringify([JSON.parse(topic), JSON.parse(broker), Number(queueId)]))}:`);
  const root = asObject(parseLenientJson(rewritten), what);
  const out: Array<[MessageQueueRef, unknown]> = [];
  for (const [key, value] of entriesOf(root)) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(key);
    } catch {
      continue;
    }
    if (!Array.isArray(parsed) || parsed.length !== 3) continue;
    const [topic, brokerName, queueId] = parsed as [string, string, number];
    out.push([{ topic, brokerName, queueId }, value]);
  }
  return out;
}

/** The `offsetTable` of a body written by one of the encoders above, as [queue, entry] pairs. */
export function decodeOffsetTable(body: Buffer | undefined, what: string): Array<[MessageQueueRef, unknown]> {
  if (body === undefined || body.length === 0) throw new ProtocolError('BODY_INVALID', `${what}: body is empty`);
  const text = body.toString('utf8');
  const start = text.indexOf('"offsetTable":');
  if (start < 0) return [];
  // The table is the balanced {...} after the key.
  let depth = 0;
  let inString = false;
  const from = start + '"offsetTable":'.length;
  for (let i = from; i < text.length; i += 1) {
    const ch = text[i];
    if (inString) {
      if (ch === '\\') i += 1;
      else if (ch === '"') inString = false;
      continue;
    }
    if (ch === '"') inString = true;
    else if (ch === '{') depth += 1;
    else if (ch === '}') {
      depth -= 1;
      if (depth === 0) return decodeQueueKeyedMap(text.slice(from, i + 1), `${what}.offsetTable`);
    }
  }
  throw new ProtocolError('BODY_INVALID', `${what}: unbalanced offsetTable`);
}

/** GET_ALL_SUBSCRIPTIONGROUP_CONFIG (201) response body (SubscriptionGroupWrapper). */
export function encodeSubscriptionGroupWrapper(
  table: ReadonlyArray<Readonly<Record<string, unknown> & { groupName: string }>>,
  dataVersion: DataVersion,
): Buffer {
  const subscriptionGroupTable: JsonObject = {};
  for (const config of [...table].sort((a, b) => (a.groupName < b.groupName ? -1 : 1))) {
    subscriptionGroupTable[config.groupName] = config;
  }
  return Buffer.from(JSON.stringify({
    dataVersion: { counter: dataVersion.counter, stateVersion: dataVersion.stateVersion, timestamp: dataVersion.timestamp },
    subscriptionGroupTable,
  }), 'utf8');
}

/** GET_ALL_CONSUMER_OFFSET (43) response body (ConsumerOffsetSerializeWrapper): `topic@group` → queueId → offset. */
export function encodeConsumerOffsetWrapper(
  table: Readonly<Record<string, Readonly<Record<string, number>>>>,
  dataVersion: DataVersion,
): Buffer {
  return Buffer.from(JSON.stringify({
    dataVersion: { counter: dataVersion.counter, stateVersion: dataVersion.stateVersion, timestamp: dataVersion.timestamp },
    offsetTable: table,
  }), 'utf8');
}

/** UPDATE_AND_CREATE_SUBSCRIPTIONGROUP (200) request body, as the fields Bolide keeps. */
export interface SubscriptionGroupBody {
  groupName: string;
  consumeEnable?: boolean;
  consumeFromMinEnable?: boolean;
  consumeBroadcastEnable?: boolean;
  consumeMessageOrderly?: boolean;
  retryQueueNums?: number;
  retryMaxTimes?: number;
  brokerId?: number;
  whichBrokerWhenConsumeSlowly?: number;
  notifyConsumerIdsChangedEnable?: boolean;
}

export function decodeSubscriptionGroupBody(body: Buffer | undefined): SubscriptionGroupBody {
  const root = parseRoot(body, 'SubscriptionGroupConfig');
  const p = 'SubscriptionGroupConfig';
  const out: SubscriptionGroupBody = { groupName: asString(root['groupName'], `${p}.groupName`) };
  for (const key of ['consumeEnable', 'consumeFromMinEnable', 'consumeBroadcastEnable', 'consumeMessageOrderly',
    'notifyConsumerIdsChangedEnable'] as const) {
    if (root[key] !== undefined && root[key] !== null) out[key] = asBoolean(root[key], `${p}.${key}`);
  }
  for (const key of ['retryQueueNums', 'retryMaxTimes', 'brokerId', 'whichBrokerWhenConsumeSlowly'] as const) {
    if (root[key] !== undefined && root[key] !== null) out[key] = asInteger(root[key], `${p}.${key}`);
  }
  return out;
}
