// JSON bodies of client <-> broker requests: HeartbeatData (HEART_BEAT), the lock bodies
// (LOCK_BATCH_MQ / UNLOCK_BATCH_MQ), the consumer id list (GET_CONSUMER_LIST_BY_GROUP) and the
// topic config table (GET_ALL_TOPIC_CONFIG). Java peers send fastjson, ali-ons sends
// JSON.stringify output with the same field names; decoders accept both and fill Java's
// defaults for missing fields, encoders write standard JSON with fastjson's key order.

import {
  asArray, asBoolean, asInteger, asObject, asString, optionalField, type JsonObject,
} from './json-shape.js';
import { parseLenientJson } from './lenient-json.js';
import { ProtocolError } from '../common/errors.js';
import { topicConfigToJson, type DataVersion, type TopicConfig } from './namesrv-bodies.js';

/** One subscription of a consumer group (SubscriptionData). */
export interface SubscriptionData {
  topic: string;
  /** The expression: `*`, `TagA || TagB`, or an SQL92 text. */
  subString: string;
  /** "TAG" (default when absent) or "SQL92". */
  expressionType: string;
  tagsSet: string[];
  codeSet: number[];
  /** Version of the subscription (the client's subscribe time, ms). */
  subVersion: number;
  classFilterMode: boolean;
}

/** A consumer group as a client reports it (ConsumerData). */
export interface ConsumerData {
  groupName: string;
  /** CONSUME_ACTIVELY (pull), CONSUME_PASSIVELY (push), CONSUME_POP. */
  consumeType: string;
  /** CLUSTERING or BROADCASTING. */
  messageModel: string;
  consumeFromWhere: string;
  unitMode: boolean;
  subscriptionDataSet: SubscriptionData[];
}

/** Body of HEART_BEAT. */
export interface HeartbeatData {
  clientID: string;
  producerDataSet: Array<{ groupName: string }>;
  consumerDataSet: ConsumerData[];
  heartbeatFingerprint: number;
  /** Heartbeat V2: subscriptions omitted because they did not change. */
  withoutSub: boolean;
}

/** A message queue as clients name it. */
export interface MessageQueueRef {
  topic: string;
  brokerName: string;
  queueId: number;
}

/** Body of LOCK_BATCH_MQ and UNLOCK_BATCH_MQ. */
export interface LockBatchRequestBody {
  consumerGroup: string;
  clientId: string;
  onlyThisBroker: boolean;
  mqSet: MessageQueueRef[];
}

function parseRoot(body: Buffer | undefined, what: string): JsonObject {
  if (body === undefined || body.length === 0) throw new ProtocolError('BODY_INVALID', `${what}: body is empty`);
  return asObject(parseLenientJson(body.toString('utf8')), what);
}

function stringOr(object: JsonObject, key: string, path: string, fallback: string): string {
  return optionalField(object, key, path, asString, fallback);
}

function subscriptionFromJson(value: unknown, path: string): SubscriptionData {
  const object = asObject(value, path);
  return {
    topic: asString(object['topic'], `${path}.topic`),
    subString: stringOr(object, 'subString', path, '*'),
    expressionType: stringOr(object, 'expressionType', path, 'TAG'),
    tagsSet: optionalField(object, 'tagsSet', path, asArray, []).map((tag, i) => asString(tag, `${path}.tagsSet[${i}]`)),
    codeSet: optionalField(object, 'codeSet', path, asArray, []).map((code, i) => asInteger(code, `${path}.codeSet[${i}]`)),
    subVersion: optionalField(object, 'subVersion', path, asInteger, 0),
    classFilterMode: optionalField(object, 'classFilterMode', path, asBoolean, false),
  };
}

function consumerFromJson(value: unknown, path: string): ConsumerData {
  const object = asObject(value, path);
  const subscriptions = optionalField(object, 'subscriptionDataSet', path, asArray, []);
  return {
    groupName: asString(object['groupName'], `${path}.groupName`),
    consumeType: stringOr(object, 'consumeType', path, 'CONSUME_PASSIVELY'),
    messageModel: stringOr(object, 'messageModel', path, 'CLUSTERING'),
    consumeFromWhere: stringOr(object, 'consumeFromWhere', path, 'CONSUME_FROM_LAST_OFFSET'),
    unitMode: optionalField(object, 'unitMode', path, asBoolean, false),
    subscriptionDataSet: subscriptions.map((entry, i) => subscriptionFromJson(entry, `${path}.subscriptionDataSet[${i}]`)),
  };
}

/**
 * Decodes a HeartbeatData body.
 * @throws ProtocolError `BODY_INVALID` naming the offending path.
 */
export function decodeHeartbeatData(body: Buffer | undefined): HeartbeatData {
  const root = parseRoot(body, 'HeartbeatData');
  const producers = optionalField(root, 'producerDataSet', 'HeartbeatData', asArray, []);
  const consumers = optionalField(root, 'consumerDataSet', 'HeartbeatData', asArray, []);
  return {
    clientID: asString(root['clientID'], 'HeartbeatData.clientID'),
    producerDataSet: producers.map((entry, i) => {
      const path = `HeartbeatData.producerDataSet[${i}]`;
      return { groupName: asString(asObject(entry, path)['groupName'], `${path}.groupName`) };
    }),
    consumerDataSet: consumers.map((entry, i) => consumerFromJson(entry, `HeartbeatData.consumerDataSet[${i}]`)),
    heartbeatFingerprint: optionalField(root, 'heartbeatFingerprint', 'HeartbeatData', asInteger, 0),
    withoutSub: optionalField(root, 'withoutSub', 'HeartbeatData', asBoolean, false),
  };
}

/** Encodes a HeartbeatData body (tests and the SDK). */
export function encodeHeartbeatData(data: HeartbeatData): Buffer {
  return Buffer.from(JSON.stringify(data), 'utf8');
}

function queueFromJson(value: unknown, path: string): MessageQueueRef {
  const object = asObject(value, path);
  return {
    topic: asString(object['topic'], `${path}.topic`),
    brokerName: stringOr(object, 'brokerName', path, ''),
    queueId: asInteger(object['queueId'], `${path}.queueId`),
  };
}

function queueJson(queue: MessageQueueRef): JsonObject {
  return { brokerName: queue.brokerName, queueId: queue.queueId, topic: queue.topic };
}

/** Decodes a LOCK_BATCH_MQ / UNLOCK_BATCH_MQ body. */
export function decodeLockBatchRequestBody(body: Buffer | undefined): LockBatchRequestBody {
  const root = parseRoot(body, 'LockBatchRequestBody');
  const path = 'LockBatchRequestBody';
  return {
    consumerGroup: asString(root['consumerGroup'], `${path}.consumerGroup`),
    clientId: asString(root['clientId'], `${path}.clientId`),
    onlyThisBroker: optionalField(root, 'onlyThisBroker', path, asBoolean, false),
    mqSet: optionalField(root, 'mqSet', path, asArray, []).map((entry, i) => queueFromJson(entry, `${path}.mqSet[${i}]`)),
  };
}

export function encodeLockBatchRequestBody(body: LockBatchRequestBody): Buffer {
  return Buffer.from(JSON.stringify({
    clientId: body.clientId,
    consumerGroup: body.consumerGroup,
    mqSet: body.mqSet.map(queueJson),
    onlyThisBroker: body.onlyThisBroker,
  }), 'utf8');
}

/** LOCK_BATCH_MQ response body: `{"lockOKMQSet":[...]}`. */
export function encodeLockBatchResponseBody(locked: readonly MessageQueueRef[]): Buffer {
  return Buffer.from(JSON.stringify({ lockOKMQSet: locked.map(queueJson) }), 'utf8');
}

export function decodeLockBatchResponseBody(body: Buffer | undefined): MessageQueueRef[] {
  const root = parseRoot(body, 'LockBatchResponseBody');
  return optionalField(root, 'lockOKMQSet', 'LockBatchResponseBody', asArray, [])
    .map((entry, i) => queueFromJson(entry, `LockBatchResponseBody.lockOKMQSet[${i}]`));
}

/** GET_CONSUMER_LIST_BY_GROUP response body. */
export function encodeConsumerIdList(ids: readonly string[]): Buffer {
  return Buffer.from(JSON.stringify({ consumerIdList: ids }), 'utf8');
}

export function decodeConsumerIdList(body: Buffer | undefined): string[] {
  const root = parseRoot(body, 'GetConsumerListByGroupResponseBody');
  return optionalField(root, 'consumerIdList', 'GetConsumerListByGroupResponseBody', asArray, [])
    .map((entry, i) => asString(entry, `consumerIdList[${i}]`));
}

/** GET_ALL_TOPIC_CONFIG response body (TopicConfigSerializeWrapper). */
export function encodeTopicConfigSerializeWrapper(
  table: Readonly<Record<string, TopicConfig>>,
  dataVersion: DataVersion,
): Buffer {
  const topicConfigTable: JsonObject = {};
  for (const [name, config] of Object.entries(table)) topicConfigTable[name] = topicConfigToJson(config);
  const version = { counter: dataVersion.counter, stateVersion: dataVersion.stateVersion, timestamp: dataVersion.timestamp };
  return Buffer.from(JSON.stringify({ dataVersion: version, topicConfigTable }), 'utf8');
}

/**
 * Java's `String.hashCode` (UTF-16 code units, int32 wrap-around): the tagsCode RocketMQ
 * stores in ConsumeQueue entries and the codes of a TAG subscription.
 */
export function javaStringHashCode(text: string): number {
  let hash = 0;
  for (let i = 0; i < text.length; i += 1) hash = (Math.imul(hash, 31) + text.charCodeAt(i)) | 0;
  return hash;
}

/** Body of CHECK_CLIENT_CONFIG (CheckClientRequestBody). */
export interface CheckClientRequestBody {
  clientId: string;
  group: string;
  subscriptionData: SubscriptionData | null;
}

/**
 * Decodes a CheckClientRequestBody.
 * @throws ProtocolError `BODY_INVALID` naming the offending path.
 */
export function decodeCheckClientRequestBody(body: Buffer | undefined): CheckClientRequestBody {
  const root = parseRoot(body, 'CheckClientRequestBody');
  const subscription = root['subscriptionData'];
  return {
    clientId: stringOr(root, 'clientId', 'CheckClientRequestBody', ''),
    group: stringOr(root, 'group', 'CheckClientRequestBody', ''),
    subscriptionData: subscription === undefined || subscription === null
      ? null : subscriptionFromJson(subscription, 'CheckClientRequestBody.subscriptionData'),
  };
}
