// Half and op messages of transactions: how a prepared send is turned into a half message,
// how a half message is turned back into the message the producer meant (commit), and the op
// records that say a half message is finished. Pure functions over records and properties;
// the service decides when to apply them.
//
//   send TRAN_MSG=true  ->  RMQ_SYS_TRANS_HALF_TOPIC queue 0, REAL_TOPIC / REAL_QID kept in
//                           properties, transaction bits of sysFlag cleared (so it is dispatched
//                           to the half queue and read by the checker, never by consumers of the
//                           real topic: nobody subscribes to the half topic).
//   commit              ->  the real topic / queue, sysFlag COMMIT, UNIQ_KEY kept, REAL_* and
//                           TRAN_MSG removed, preparedTransactionOffset = the half's CommitLog offset.
//   commit / rollback   ->  an op record in RMQ_SYS_TRANS_OP_HALF_TOPIC queue 0, tag "d", body
//                           "<halfQueueOffset>,..." (RocketMQ's format).

import { MessageSysFlag, type StoredMessage } from '../../protocol/message-record.js';
import { decodeProperties, encodeProperties, MessageProperty, type MessageProperties } from '../../protocol/properties.js';
import type { AppendMessage } from '../../store/index.js';
import { SystemTopic } from '../topic-config-manager.js';

export const HALF_TOPIC = SystemTopic.TRANS_HALF;
export const OP_HALF_TOPIC = SystemTopic.TRANS_OP_HALF;
export const CHECK_MAX_TIME_TOPIC = SystemTopic.TRANS_CHECK_MAX_TIME;
/** The system group whose consumer offsets hold the checker's progress (RocketMQ MixAll.CID_SYS_RMQ_TRANS). */
export const TRANSACTION_GROUP = 'CID_RMQ_SYS_TRANS';
/** Tag of op records ("delete"). */
export const OP_REMOVE_TAG = 'd';
/** RocketMQ's property naming the half queue offset of the first copy of a half message. */
export const PREPARED_QUEUE_OFFSET_PROPERTY = 'TRAN_PREPARED_QUEUE_OFFSET';

const TRANSACTION_BITS = MessageSysFlag.TRANSACTION_ROLLBACK; // 0xC: both bits

/** commitOrRollback values of END_TRANSACTION (RocketMQ MessageSysFlag transaction types). */
export const TransactionType = {
  NOT_TYPE: 0,
  COMMIT: MessageSysFlag.TRANSACTION_COMMIT,
  ROLLBACK: MessageSysFlag.TRANSACTION_ROLLBACK,
} as const;

/** sysFlag with its transaction bits replaced by `type`. */
export function withTransactionType(sysFlag: number, type: number): number {
  return (sysFlag & ~TRANSACTION_BITS) | type;
}

/**
 * Whether a send is a transaction's prepare. RocketMQ decides by the TRAN_MSG property; a
 * prepared sysFlag alone is honoured too. Old (< 4.6.1) clients re-sent consumed messages
 * with their TRAN_MSG property and a delay level: those are not prepares.
 */
export function isPrepareSend(sysFlag: number, properties: MessageProperties, reconsumeTimes: number): boolean {
  const prepared = properties[MessageProperty.TRAN_MSG] === 'true'
    || (sysFlag & TRANSACTION_BITS) === MessageSysFlag.TRANSACTION_PREPARED;
  if (!prepared) return false;
  const delay = Number(properties[MessageProperty.DELAY] ?? '0');
  return !(reconsumeTimes > 0 && delay > 0);
}

/** The half message stored for a prepared send to `message.topic` / `message.queueId`. */
export function toHalfMessage(message: AppendMessage, properties: MessageProperties): AppendMessage {
  const half: MessageProperties = { ...properties };
  const uniq = half[MessageProperty.UNIQ_KEY];
  if (uniq !== undefined && uniq !== '') half[MessageProperty.TRANSACTION_ID] = uniq;
  half[MessageProperty.REAL_TOPIC] = message.topic;
  half[MessageProperty.REAL_QID] = String(message.queueId);
  return {
    ...message,
    topic: HALF_TOPIC,
    queueId: 0,
    sysFlag: withTransactionType(message.sysFlag ?? 0, TransactionType.NOT_TYPE),
    properties: Buffer.from(encodeProperties(half), 'utf8'),
  };
}

/** Where a stored half message belongs, or why it is not a usable half message. */
export function realDestination(half: StoredMessage): { topic: string; queueId: number } | string {
  const topic = half.properties[MessageProperty.REAL_TOPIC];
  const queueId = Number(half.properties[MessageProperty.REAL_QID]);
  if (half.topic !== HALF_TOPIC) return `the message at ${half.commitLogOffset} is not a half message (topic ${half.topic})`;
  if (topic === undefined || topic === '' || !Number.isInteger(queueId) || queueId < 0) {
    return `the half message at ${half.commitLogOffset} has no REAL_TOPIC / REAL_QID`;
  }
  return { topic, queueId };
}

function hostOf(message: StoredMessage): { bornHost: string; bornPort: number } {
  return { bornHost: message.bornHost.address, bornPort: message.bornHost.port };
}

/** The message a commit stores: the producer's message in its real topic and queue. */
export function toCommittedMessage(half: StoredMessage, destination: { topic: string; queueId: number }): AppendMessage {
  const properties: MessageProperties = { ...half.properties };
  for (const key of [MessageProperty.REAL_TOPIC, MessageProperty.REAL_QID, MessageProperty.TRAN_MSG,
    PREPARED_QUEUE_OFFSET_PROPERTY]) delete properties[key];
  return {
    topic: destination.topic, queueId: destination.queueId, body: half.body, flag: half.flag,
    sysFlag: withTransactionType(half.sysFlag, TransactionType.COMMIT), bornTimestamp: half.bornTimestamp,
    ...hostOf(half), reconsumeTimes: half.reconsumeTimes, preparedTransactionOffset: half.commitLogOffset,
    properties: Buffer.from(encodeProperties(properties), 'utf8'),
  };
}

/** The half queue offset of the first copy of this half message (copies are made by checks). */
export function originOffset(half: StoredMessage): number {
  const text = half.properties[PREPARED_QUEUE_OFFSET_PROPERTY];
  const value = text === undefined ? NaN : Number(text);
  return Number.isSafeInteger(value) && value >= 0 ? value : half.queueOffset;
}

/** How many checks the half message has had (TRANSACTION_CHECK_TIMES, absent = 0). */
export function checkTimes(half: StoredMessage): number {
  const value = Number(half.properties[MessageProperty.TRANSACTION_CHECK_TIMES] ?? '0');
  return Number.isInteger(value) && value > 0 ? value : 0;
}

/**
 * The copy of a half message appended before each check (RocketMQ's putBackHalfMsgQueue),
 * with the check count raised and the first copy's queue offset remembered, so an END for any
 * copy finishes the transaction.
 */
export function toCheckedCopy(half: StoredMessage, times: number, origin: number): AppendMessage {
  const properties: MessageProperties = {
    ...half.properties,
    [MessageProperty.TRANSACTION_CHECK_TIMES]: String(times),
    [PREPARED_QUEUE_OFFSET_PROPERTY]: String(origin),
  };
  return {
    topic: HALF_TOPIC, queueId: 0, body: half.body, flag: half.flag, sysFlag: half.sysFlag,
    bornTimestamp: half.bornTimestamp, ...hostOf(half), reconsumeTimes: half.reconsumeTimes,
    properties: Buffer.from(encodeProperties(properties), 'utf8'),
  };
}

/** A half message checked transactionCheckMax times, kept in TRANS_CHECK_MAX_TIME_TOPIC (as RocketMQ 5). */
export function toDiscardedMessage(half: StoredMessage): AppendMessage {
  return {
    topic: CHECK_MAX_TIME_TOPIC, queueId: 0, body: half.body, flag: half.flag, sysFlag: half.sysFlag,
    bornTimestamp: half.bornTimestamp, ...hostOf(half), reconsumeTimes: half.reconsumeTimes,
    properties: Buffer.from(encodeProperties(half.properties), 'utf8'),
  };
}

/** An op record finishing the given half queue offsets. */
export function toOpMessage(halfOffsets: readonly number[], host: { host: string; port: number }): AppendMessage {
  return {
    topic: OP_HALF_TOPIC, queueId: 0, body: Buffer.from(halfOffsets.map((offset) => `${offset},`).join(''), 'utf8'),
    sysFlag: 0, bornTimestamp: Date.now(), bornHost: host.host, bornPort: host.port,
    properties: Buffer.from(encodeProperties({ [MessageProperty.TAGS]: OP_REMOVE_TAG, [MessageProperty.WAIT]: 'false' }), 'utf8'),
  };
}

/** The half queue offsets an op record finishes (empty for a record that is not an op). */
export function opOffsets(op: StoredMessage): number[] {
  if (op.properties[MessageProperty.TAGS] !== OP_REMOVE_TAG) return [];
  const offsets: number[] = [];
  for (const part of op.body.toString('utf8').split(',')) {
    if (part.trim() === '') continue;
    const value = Number(part);
    if (Number.isSafeInteger(value) && value >= 0) offsets.push(value);
  }
  return offsets;
}

/**
 * The protection period of a half message: transactionTimeOut, or its own
 * CHECK_IMMUNITY_TIME_IN_SECONDS when that is longer (RocketMQ getImmunityTime).
 */
export function immunityMs(half: StoredMessage, transactionTimeOut: number): number {
  const text = half.properties[MessageProperty.CHECK_IMMUNITY_TIME_IN_SECONDS];
  const seconds = text === undefined ? NaN : Number(text);
  const ms = Number.isFinite(seconds) ? seconds * 1000 : 0;
  return Math.max(ms, transactionTimeOut);
}

/** Properties of a send header as a map (empty when absent). */
export function sendProperties(text: string | undefined): MessageProperties {
  return text === undefined || text === '' ? {} : decodeProperties(text);
}
