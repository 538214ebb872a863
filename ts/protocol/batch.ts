// Batch body of SEND_BATCH_MESSAGE (320): the messages concatenated, each as
//
//   TOTALSIZE int32 | MAGICCODE int32 (0) | BODYCRC int32 (0) | FLAG int32
//   | BODY (int32 length + bytes) | PROPERTIES (int16 length + properties string)
//
// Topic and queue come from the request header; every inner message has its own properties
// (its own UNIQ_KEY). The broker stores each as a separate record.

import { ProtocolError } from '../common/errors.js';
import { decodeProperties, encodeProperties, type MessageProperties } from './properties.js';

/** One message of a batch. */
export interface BatchMessage {
  flag: number;
  body: Buffer;
  properties: MessageProperties;
}

/** Fixed bytes of a batch entry: TOTALSIZE, MAGICCODE, BODYCRC, FLAG, body length, props length. */
const ENTRY_FIXED_BYTES = 4 + 4 + 4 + 4 + 4 + 2;

function invalid(message: string): ProtocolError {
  return new ProtocolError('MESSAGE_INVALID', message);
}

/** Encodes messages as a batch body. */
export function encodeBatch(messages: readonly BatchMessage[]): Buffer {
  const parts: Buffer[] = [];
  for (const message of messages) {
    const properties = Buffer.from(encodeProperties(message.properties), 'utf8');
    if (properties.length > 0x7fff) {
      throw invalid(`batch message properties of ${properties.length} bytes exceed 32767`);
    }
    const size = ENTRY_FIXED_BYTES + message.body.length + properties.length;
    const head = Buffer.alloc(20);
    head.writeInt32BE(size, 0);
    head.writeInt32BE(0, 4);
    head.writeInt32BE(0, 8);
    head.writeInt32BE(message.flag, 12);
    head.writeInt32BE(message.body.length, 16);
    const tail = Buffer.alloc(2);
    tail.writeInt16BE(properties.length, 0);
    parts.push(head, message.body, tail, properties);
  }
  return Buffer.concat(parts);
}

/**
 * Decodes a batch body. Each entry must be complete and its TOTALSIZE must match its content.
 * @throws ProtocolError `MESSAGE_INVALID`
 */
export function decodeBatch(body: Buffer): BatchMessage[] {
  const messages: BatchMessage[] = [];
  let offset = 0;
  while (offset < body.length) {
    if (offset + ENTRY_FIXED_BYTES > body.length) throw invalid(`batch entry at ${offset} is truncated`);
    const size = body.readInt32BE(offset);
    if (size < ENTRY_FIXED_BYTES || offset + size > body.length) {
      throw invalid(`batch entry at ${offset} has TOTALSIZE ${size}, ${body.length - offset} bytes left`);
    }
    const flag = body.readInt32BE(offset + 12);
    const bodyLength = body.readInt32BE(offset + 16);
    const bodyStart = offset + 20;
    if (bodyLength < 0 || bodyStart + bodyLength + 2 > offset + size) {
      throw invalid(`batch entry at ${offset} has body length ${bodyLength} beyond its TOTALSIZE ${size}`);
    }
    const propertiesLength = body.readInt16BE(bodyStart + bodyLength);
    const propertiesStart = bodyStart + bodyLength + 2;
    if (propertiesLength < 0 || propertiesStart + propertiesLength !== offset + size) {
      throw invalid(
        `batch entry at ${offset} has properties length ${propertiesLength} inconsistent with TOTALSIZE ${size}`,
      );
    }
    messages.push({
      flag,
      body: body.subarray(bodyStart, bodyStart + bodyLength),
      properties: decodeProperties(body.toString('utf8', propertiesStart, propertiesStart + propertiesLength)),
    });
    offset += size;
  }
  return messages;
}
