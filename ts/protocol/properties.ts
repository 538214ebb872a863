// Message properties string: `key 0x01 value 0x02` for every pair (each pair, the last one
// included, ends with 0x02), UTF-8. Carried in the send header (`properties` / `i`), in batch
// bodies and in stored records.

import { ProtocolError } from '../common/errors.js';

/** Separator between a key and its value. */
export const NAME_VALUE_SEPARATOR = '\u0001';
/** Terminator after every pair. */
export const PROPERTY_SEPARATOR = '\u0002';

/** Well-known property names (the subset Bolide and its SDK interpret). */
export const MessageProperty = {
  KEYS: 'KEYS',
  TAGS: 'TAGS',
  WAIT: 'WAIT',
  DELAY: 'DELAY',
  RETRY_TOPIC: 'RETRY_TOPIC',
  REAL_TOPIC: 'REAL_TOPIC',
  REAL_QID: 'REAL_QID',
  TRAN_MSG: 'TRAN_MSG',
  PGROUP: 'PGROUP',
  MIN_OFFSET: 'MIN_OFFSET',
  MAX_OFFSET: 'MAX_OFFSET',
  ORIGIN_MESSAGE_ID: 'ORIGIN_MESSAGE_ID',
  RECONSUME_TIME: 'RECONSUME_TIME',
  MAX_RECONSUME_TIMES: 'MAX_RECONSUME_TIMES',
  MSG_REGION: 'MSG_REGION',
  TRACE_ON: 'TRACE_ON',
  UNIQ_KEY: 'UNIQ_KEY',
  TRANSACTION_ID: '__transactionId__',
  TRANSACTION_CHECK_TIMES: 'TRANSACTION_CHECK_TIMES',
  CHECK_IMMUNITY_TIME_IN_SECONDS: 'CHECK_IMMUNITY_TIME_IN_SECONDS',
  CLUSTER: 'CLUSTER',
  TIMER_DELIVER_MS: 'TIMER_DELIVER_MS',
  TIMER_DELAY_SEC: 'TIMER_DELAY_SEC',
  TIMER_DELAY_MS: 'TIMER_DELAY_MS',
  /** On a recall marker in the timer topic: the UNIQ_KEY of the timer message it cancels. */
  TIMER_DEL_UNIQKEY: 'TIMER_DEL_UNIQKEY',
  DLQ_ORIGIN_TOPIC: 'DLQ_ORIGIN_TOPIC',
  DLQ_ORIGIN_MESSAGE_ID: 'DLQ_ORIGIN_MESSAGE_ID',
  SHARDING_KEY: '__SHARDINGKEY',
} as const;

/** Properties as a plain string map. */
export type MessageProperties = Record<string, string>;

function checkText(text: string, what: string): void {
  if (text.includes(NAME_VALUE_SEPARATOR) || text.includes(PROPERTY_SEPARATOR)) {
    throw new ProtocolError('MESSAGE_INVALID', `property ${what} contains a separator character (0x01 or 0x02)`, {
      field: what,
    });
  }
}

/**
 * Encodes properties. Keys and values may not contain 0x01/0x02 (the format has no escaping);
 * an empty key is refused because it cannot be decoded back.
 * @throws ProtocolError `MESSAGE_INVALID`
 */
export function encodeProperties(properties: Readonly<Record<string, string>> | ReadonlyMap<string, string>): string {
  const entries = properties instanceof Map ? properties.entries() : Object.entries(properties);
  let text = '';
  for (const [key, value] of entries) {
    if (value === undefined || value === null) continue;
    if (key.length === 0) throw new ProtocolError('MESSAGE_INVALID', 'property key is empty');
    checkText(key, key);
    checkText(value, key);
    text += key + NAME_VALUE_SEPARATOR + value + PROPERTY_SEPARATOR;
  }
  return text;
}

/**
 * Decodes a properties string. Pieces without a key/value separator or with an empty key are
 * skipped (Java does the same), so decoding never fails.
 */
export function decodeProperties(text: string | undefined): MessageProperties {
  const properties: MessageProperties = {};
  if (text === undefined || text.length === 0) return properties;
  for (const piece of text.split(PROPERTY_SEPARATOR)) {
    const separator = piece.indexOf(NAME_VALUE_SEPARATOR);
    if (separator <= 0) continue;
    const key = piece.slice(0, separator);
    if (key === '__proto__') continue;
    properties[key] = piece.slice(separator + 1);
  }
  return properties;
}
