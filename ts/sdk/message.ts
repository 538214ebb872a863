// Message shapes of the public API: what an application sends (Message), what it receives
// (MessageExt), where messages live (MessageQueue) and what a send returns (SendResult).

import { MessageProperty, type StoredMessage } from '../protocol/index.js';
import { decompressBody } from './compression.js';

/** A message to send. */
export interface Message {
  topic: string;
  /** Body bytes; a string is sent as UTF-8. */
  body: Buffer | Uint8Array | string;
  /** One tag (RocketMQ filters on it); property TAGS. */
  tags?: string;
  /** Business keys (indexed by the broker for query by key); property KEYS, space-joined. */
  keys?: string | string[];
  /** User properties. Keys must not collide with RocketMQ's system properties. */
  properties?: Record<string, string>;
  /** Delay level 1..18 (1s 5s 10s 30s 1m ... 2h); property DELAY. */
  delayTimeLevel?: number;
  /** Deliver at this epoch time in ms (5.x timer); property TIMER_DELIVER_MS. */
  deliverTimeMs?: number;
  /** User flag (int32) stored with the message. Default 0. */
  flag?: number;
}

/** One queue of a topic on one broker. */
export interface MessageQueue {
  topic: string;
  brokerName: string;
  queueId: number;
}

/** A received message. */
export interface MessageExt {
  /** The topic as the application sees it (a retried message shows its original topic). */
  topic: string;
  body: Buffer;
  tags: string | undefined;
  keys: string[];
  /** Every property, system ones included. */
  properties: Record<string, string>;
  /** Client-side id (UNIQ_KEY) if the producer set one, else the offset msgId. */
  msgId: string;
  /** Broker-side id: store host + commit log offset. */
  offsetMsgId: string;
  brokerName: string;
  queueId: number;
  queueOffset: number;
  commitLogOffset: number;
  /** How many times this message was handed back for redelivery. */
  reconsumeTimes: number;
  bornTimestamp: number;
  storeTimestamp: number;
  bornHost: string;
  storeHost: string;
  sysFlag: number;
  flag: number;
  /** Size of the stored record in bytes. */
  storeSize: number;
}

/** Outcome of a successful send. Anything worse than these statuses is an error. */
export type SendStatus = 'SEND_OK' | 'FLUSH_DISK_TIMEOUT' | 'FLUSH_SLAVE_TIMEOUT' | 'SLAVE_NOT_AVAILABLE';

/** What `send` resolves with. */
export interface SendResult {
  sendStatus: SendStatus;
  /** The client id (UNIQ_KEY); for a batch, the ids comma-joined. */
  msgId: string;
  /** The broker's offset msgId(s). */
  offsetMsgId: string;
  messageQueue: MessageQueue;
  /** Queue offset of the message (first message of a batch). */
  queueOffset: number;
  transactionId?: string;
  regionId?: string;
  /** For a timer message (`deliverTimeMs`): pass to `Producer.recallMessage` to cancel it before it fires. */
  recallHandle?: string;
}

/** Canonical string of a queue, used as a map key. */
export function queueKey(queue: MessageQueue): string {
  return `${queue.topic}\u0000${queue.brokerName}\u0000${queue.queueId}`;
}

/** Java's MessageQueue ordering: topic, then broker name, then queue id. */
export function compareQueues(left: MessageQueue, right: MessageQueue): number {
  if (left.topic !== right.topic) return left.topic < right.topic ? -1 : 1;
  if (left.brokerName !== right.brokerName) return left.brokerName < right.brokerName ? -1 : 1;
  return left.queueId - right.queueId;
}

/** Java's `MessageQueue.toString()` (the consistent-hash key). */
export function queueToJavaString(queue: MessageQueue): string {
  return `MessageQueue [topic=${queue.topic}, brokerName=${queue.brokerName}, queueId=${queue.queueId}]`;
}

/** Converts a body argument to a Buffer without copying where possible. */
export function bodyBuffer(body: Buffer | Uint8Array | string): Buffer {
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  if (Buffer.isBuffer(body)) return body;
  return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

/**
 * Turns a stored record from a pull/query/view body into a MessageExt: decompresses the body
 * (zlib, LZ4 or ZSTD; MessageDecodeError for anything else), adds MIN/MAX offsets when given, picks the visible msgId.
 */
export function toMessageExt(stored: StoredMessage, brokerName: string): MessageExt {
  return messageExtOf(stored, brokerName, decompressBody(stored.sysFlag, stored.body));
}

/**
 * The record with its body as stored (still compressed): for a body toMessageExt cannot decode,
 * so the consumer can still send it back or skip it by its offsets.
 */
export function toUndecodedMessageExt(stored: StoredMessage, brokerName: string): MessageExt {
  return messageExtOf(stored, brokerName, stored.body);
}

function messageExtOf(stored: StoredMessage, brokerName: string, body: Buffer): MessageExt {
  const properties = stored.properties;
  const keys = properties[MessageProperty.KEYS];
  return {
    topic: stored.topic,
    body,
    tags: properties[MessageProperty.TAGS],
    keys: keys === undefined || keys.length === 0 ? [] : keys.split(' ').filter((key) => key.length > 0),
    properties,
    msgId: properties[MessageProperty.UNIQ_KEY] ?? stored.msgId,
    offsetMsgId: stored.msgId,
    brokerName,
    queueId: stored.queueId,
    queueOffset: stored.queueOffset,
    commitLogOffset: stored.commitLogOffset,
    reconsumeTimes: stored.reconsumeTimes,
    bornTimestamp: stored.bornTimestamp,
    storeTimestamp: stored.storeTimestamp,
    bornHost: `${stored.bornHost.address}:${stored.bornHost.port}`,
    storeHost: `${stored.storeHost.address}:${stored.storeHost.port}`,
    sysFlag: stored.sysFlag,
    flag: stored.flag,
    storeSize: stored.storeSize,
  };
}
