// SEND_MESSAGE (10) uses long field names, SEND_MESSAGE_V2 (310) and SEND_BATCH_MESSAGE (320)
// the same fields under one-letter names. Brokers handle all three through the long form.

import { ProtocolError } from '../common/errors.js';
import { RequestCode } from './codes.js';
import { decodeHeader, encodeHeader } from './header-schema.js';
import { SendMessageRequestHeader, SendMessageRequestHeaderV2 } from './headers.js';

type NamePair = readonly [keyof SendMessageRequestHeader, keyof SendMessageRequestHeaderV2];

/** The V1 ↔ V2 field-name mapping, as data: `[longName, shortName]`. */
export const SEND_HEADER_V2_NAMES: readonly NamePair[] = [
  ['producerGroup', 'a'],
  ['topic', 'b'],
  ['defaultTopic', 'c'],
  ['defaultTopicQueueNums', 'd'],
  ['queueId', 'e'],
  ['sysFlag', 'f'],
  ['bornTimestamp', 'g'],
  ['flag', 'h'],
  ['properties', 'i'],
  ['reconsumeTimes', 'j'],
  ['unitMode', 'k'],
  ['maxReconsumeTimes', 'l'],
  ['batch', 'm'],
  ['bname', 'n'],
];

function rename(source: Readonly<Record<string, unknown>>, from: 0 | 1): Record<string, unknown> {
  const to = from === 0 ? 1 : 0;
  const out: Record<string, unknown> = {};
  for (const pair of SEND_HEADER_V2_NAMES) {
    const value = source[pair[from]];
    if (value !== undefined) out[pair[to]] = value;
  }
  return out;
}

/** Renames a decoded V2 header to the long (V1) names. */
export function sendHeaderFromV2(header: SendMessageRequestHeaderV2): SendMessageRequestHeader {
  return rename(header, 1) as SendMessageRequestHeader;
}

/** Renames a long-name header to the one-letter V2 names. */
export function sendHeaderToV2(header: SendMessageRequestHeader): SendMessageRequestHeaderV2 {
  return rename(header, 0) as SendMessageRequestHeaderV2;
}

/**
 * Decodes the custom header of a send request, whichever of the three send codes it came
 * with, into the long-name form.
 * @throws ProtocolError for a missing/invalid field, or `HEADER_FIELD_INVALID` for a non-send code.
 */
export function decodeSendMessageHeader(
  code: number,
  extFields: Readonly<Record<string, string>>,
): SendMessageRequestHeader {
  if (code === RequestCode.SEND_MESSAGE) return decodeHeader(SendMessageRequestHeader, extFields);
  if (code === RequestCode.SEND_MESSAGE_V2 || code === RequestCode.SEND_BATCH_MESSAGE) {
    return sendHeaderFromV2(decodeHeader(SendMessageRequestHeaderV2, extFields));
  }
  throw new ProtocolError('HEADER_FIELD_INVALID', `request code ${code} is not a send request`);
}

/** Encodes a send header for `code` (10 → long names, 310/320 → short names). */
export function encodeSendMessageHeader(code: number, header: SendMessageRequestHeader): Record<string, string> {
  if (code === RequestCode.SEND_MESSAGE) return encodeHeader(SendMessageRequestHeader, header);
  if (code === RequestCode.SEND_MESSAGE_V2 || code === RequestCode.SEND_BATCH_MESSAGE) {
    return encodeHeader(SendMessageRequestHeaderV2, sendHeaderToV2(header));
  }
  throw new ProtocolError('ENCODE_INVALID', `request code ${code} is not a send request`);
}
