// Stored message record: the CommitLog layout, which is also each element of a pull-response
// body, a VIEW_MESSAGE_BY_ID / QUERY_MESSAGE body and a CHECK_TRANSACTION_STATE body.
// The storage engine writes records natively; this codec is for the SDK (decoding pull bodies)
// and for tests and tools. All integers big-endian.
//
//   offset  size  field
//        0     4  TOTALSIZE                 whole record, this field included
//        4     4  MAGICCODE                 V1 0xDAA320A7 (1-byte topic length), V2 0xDAA320AB (2-byte)
//        8     4  BODYCRC                   CRC-32(body) & 0x7FFFFFFF
//       12     4  QUEUEID
//       16     4  FLAG                      user flag
//       20     8  QUEUEOFFSET               logical offset in the consume queue
//       28     8  PHYSICALOFFSET            CommitLog offset of this record
//       36     4  SYSFLAG                   0x10: born host IPv6, 0x20: store host IPv6
//       40     8  BORNTIMESTAMP
//       48   4+4  BORNHOST                  IP + port (16 + 4 when IPv6)
//        .     8  STORETIMESTAMP
//        .   4+4  STOREHOSTADDRESS          IP + port (16 + 4 when IPv6)
//        .     4  RECONSUMETIMES
//        .     8  PREPARED TRANSACTION OFFSET
//        .   4+n  BODY                      int32 length, bytes
//        .   1+n  TOPIC                     int8 length (V1) / int16 length (V2), bytes
//        .   2+n  PROPERTIES                int16 length, properties string (properties.ts)

import { ProtocolError } from '../common/errors.js';
import { crc32Masked } from './crc32.js';
import { formatIp, parseIp } from './ip-address.js';
import { encodeOffsetMsgId, type HostAddress } from './message-id.js';
import { decodeProperties, encodeProperties, type MessageProperties } from './properties.js';

/** MAGICCODE of a V1 record (1-byte topic length). */
export const MESSAGE_MAGIC_V1 = 0xdaa320a7 | 0;
/** MAGICCODE of a V2 record (2-byte topic length). */
export const MESSAGE_MAGIC_V2 = 0xdaa320ab | 0;

/** Message sysFlag bits. */
export const MessageSysFlag = {
  COMPRESSED: 0x1,
  MULTI_TAGS: 0x2,
  TRANSACTION_PREPARED: 0x4,
  TRANSACTION_COMMIT: 0x8,
  TRANSACTION_ROLLBACK: 0xc,
  BORNHOST_V6: 0x10,
  STOREHOST_V6: 0x20,
  NEED_UNWRAP: 0x40,
  INNER_BATCH: 0x80,
  COMPRESSION_LZ4: 0x100,
  COMPRESSION_ZSTD: 0x200,
  COMPRESSION_ZLIB: 0x300,
} as const;

/** A decoded stored message. The body is as stored: compressed if sysFlag has COMPRESSED. */
export interface StoredMessage {
  storeSize: number;
  bodyCrc: number;
  queueId: number;
  flag: number;
  queueOffset: number;
  commitLogOffset: number;
  sysFlag: number;
  bornTimestamp: number;
  bornHost: HostAddress;
  storeTimestamp: number;
  storeHost: HostAddress;
  reconsumeTimes: number;
  preparedTransactionOffset: number;
  body: Buffer;
  topic: string;
  properties: MessageProperties;
  /** Offset message id, computed from storeHost and commitLogOffset. */
  msgId: string;
}

function invalid(message: string): ProtocolError {
  return new ProtocolError('MESSAGE_INVALID', message);
}

class RecordReader {
  constructor(
    readonly buffer: Buffer,
    public position: number,
    readonly end: number,
  ) {}

  need(bytes: number, what: string): void {
    if (bytes < 0 || this.position + bytes > this.end) {
      throw invalid(`stored message truncated reading ${what} at ${this.position}`);
    }
  }

  int32(what: string): number {
    this.need(4, what);
    const value = this.buffer.readInt32BE(this.position);
    this.position += 4;
    return value;
  }

  long(what: string): number {
    this.need(8, what);
    const value = this.buffer.readBigInt64BE(this.position);
    this.position += 8;
    if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
      throw invalid(`stored message ${what} exceeds ±(2^53 − 1)`);
    }
    return Number(value);
  }

  bytes(length: number, what: string): Buffer {
    this.need(length, what);
    const value = this.buffer.subarray(this.position, this.position + length);
    this.position += length;
    return value;
  }

  host(ipv6: boolean, what: string): HostAddress {
    const ip = this.bytes(ipv6 ? 16 : 4, what);
    return { address: formatIp(ip), port: this.int32(what) };
  }
}

/** Options of the stored-message decoder. */
export interface DecodeStoredMessageOptions {
  /** Verify BODYCRC against the body; default false (clients do not check it either). */
  checkBodyCrc?: boolean;
}

/**
 * Decodes the record starting at `offset` of `buffer`.
 * @returns the message and the record size in bytes.
 * @throws ProtocolError `MESSAGE_INVALID` for a truncated or inconsistent record.
 */
export function decodeStoredMessage(
  buffer: Buffer,
  offset = 0,
  options: DecodeStoredMessageOptions = {},
): { message: StoredMessage; size: number } {
  if (offset + 4 > buffer.length) throw invalid(`stored message truncated reading TOTALSIZE at ${offset}`);
  const storeSize = buffer.readInt32BE(offset);
  if (storeSize < 4 || offset + storeSize > buffer.length) {
    throw invalid(`stored message TOTALSIZE ${storeSize} at ${offset} does not fit in ${buffer.length - offset} bytes`);
  }
  const reader = new RecordReader(buffer, offset + 4, offset + storeSize);
  const magic = reader.int32('MAGICCODE');
  if (magic !== MESSAGE_MAGIC_V1 && magic !== MESSAGE_MAGIC_V2) {
    throw invalid(`stored message at ${offset} has unknown magic 0x${(magic >>> 0).toString(16)}`);
  }
  const bodyCrc = reader.int32('BODYCRC');
  const queueId = reader.int32('QUEUEID');
  const flag = reader.int32('FLAG');
  const queueOffset = reader.long('QUEUEOFFSET');
  const commitLogOffset = reader.long('PHYSICALOFFSET');
  const sysFlag = reader.int32('SYSFLAG');
  const bornTimestamp = reader.long('BORNTIMESTAMP');
  const bornHost = reader.host((sysFlag & MessageSysFlag.BORNHOST_V6) !== 0, 'BORNHOST');
  const storeTimestamp = reader.long('STORETIMESTAMP');
  const storeHost = reader.host((sysFlag & MessageSysFlag.STOREHOST_V6) !== 0, 'STOREHOST');
  const reconsumeTimes = reader.int32('RECONSUMETIMES');
  const preparedTransactionOffset = reader.long('PREPARED TRANSACTION OFFSET');
  const body = reader.bytes(reader.int32('BODY length'), 'BODY');
  const topicLengthBytes = magic === MESSAGE_MAGIC_V1 ? 1 : 2;
  reader.need(topicLengthBytes, 'TOPIC length');
  const topicLength = buffer.readUIntBE(reader.position, topicLengthBytes);
  reader.position += topicLengthBytes;
  const topic = reader.bytes(topicLength, 'TOPIC').toString('utf8');
  reader.need(2, 'PROPERTIES length');
  const propertiesLength = buffer.readUInt16BE(reader.position);
  reader.position += 2;
  const properties = decodeProperties(reader.bytes(propertiesLength, 'PROPERTIES').toString('utf8'));
  if (options.checkBodyCrc === true && crc32Masked(body) !== bodyCrc) {
    throw invalid(`stored message at ${offset} fails its body CRC`);
  }
  const message: StoredMessage = {
    storeSize, bodyCrc, queueId, flag, queueOffset, commitLogOffset, sysFlag, bornTimestamp, bornHost,
    storeTimestamp, storeHost, reconsumeTimes, preparedTransactionOffset, body, topic, properties,
    msgId: encodeOffsetMsgId(storeHost, commitLogOffset),
  };
  return { message, size: storeSize };
}

/** Decodes every record of a buffer (a pull or query response body). */
export function decodeStoredMessages(buffer: Buffer, options: DecodeStoredMessageOptions = {}): StoredMessage[] {
  const messages: StoredMessage[] = [];
  let offset = 0;
  while (offset < buffer.length) {
    const { message, size } = decodeStoredMessage(buffer, offset, options);
    messages.push(message);
    offset += size;
  }
  return messages;
}

/** What {@link encodeStoredMessage} needs; sizes, CRC, host-family bits and msgId are derived. */
export type StoredMessageInput = Omit<StoredMessage, 'storeSize' | 'bodyCrc' | 'msgId'>;

/**
 * Encodes a stored record (V1 magic; V2 when the topic is longer than 127 bytes). The IPv6
 * sysFlag bits are set from the host addresses, whatever `sysFlag` says about them.
 */
export function encodeStoredMessage(input: StoredMessageInput): Buffer {
  const bornIp = parseIp(input.bornHost.address);
  const storeIp = parseIp(input.storeHost.address);
  let sysFlag = input.sysFlag & ~(MessageSysFlag.BORNHOST_V6 | MessageSysFlag.STOREHOST_V6);
  if (bornIp.length === 16) sysFlag |= MessageSysFlag.BORNHOST_V6;
  if (storeIp.length === 16) sysFlag |= MessageSysFlag.STOREHOST_V6;
  const topic = Buffer.from(input.topic, 'utf8');
  const properties = Buffer.from(encodeProperties(input.properties), 'utf8');
  if (topic.length > 0x7fff) throw invalid(`topic of ${topic.length} bytes is too long`);
  if (properties.length > 0x7fff) throw invalid(`properties of ${properties.length} bytes exceed 32767`);
  // Java reads the V1 topic length as a signed byte, so topics over 127 bytes need V2.
  const v2 = topic.length > 0x7f;
  const size =
    4 + 4 + 4 + 4 + 4 + 8 + 8 + 4 + 8 + (bornIp.length + 4) + 8 + (storeIp.length + 4) + 4 + 8 +
    (4 + input.body.length) + ((v2 ? 2 : 1) + topic.length) + (2 + properties.length);
  const out = Buffer.alloc(size);
  let p = 0;
  p = out.writeInt32BE(size, p);
  p = out.writeInt32BE(v2 ? MESSAGE_MAGIC_V2 : MESSAGE_MAGIC_V1, p);
  p = out.writeInt32BE(crc32Masked(input.body), p);
  p = out.writeInt32BE(input.queueId, p);
  p = out.writeInt32BE(input.flag, p);
  p = out.writeBigInt64BE(BigInt(input.queueOffset), p);
  p = out.writeBigInt64BE(BigInt(input.commitLogOffset), p);
  p = out.writeInt32BE(sysFlag, p);
  p = out.writeBigInt64BE(BigInt(input.bornTimestamp), p);
  p += bornIp.copy(out, p);
  p = out.writeInt32BE(input.bornHost.port, p);
  p = out.writeBigInt64BE(BigInt(input.storeTimestamp), p);
  p += storeIp.copy(out, p);
  p = out.writeInt32BE(input.storeHost.port, p);
  p = out.writeInt32BE(input.reconsumeTimes, p);
  p = out.writeBigInt64BE(BigInt(input.preparedTransactionOffset), p);
  p = out.writeInt32BE(input.body.length, p);
  p += input.body.copy(out, p);
  p = v2 ? out.writeUInt16BE(topic.length, p) : out.writeUInt8(topic.length, p);
  p += topic.copy(out, p);
  p = out.writeUInt16BE(properties.length, p);
  p += properties.copy(out, p);
  if (p !== size) throw new Error(`encodeStoredMessage invariant: wrote ${p} of ${size} bytes`);
  return out;
}

/**
 * The PROPERTIES text of the record at the start of `record`, read by walking the length
 * fields only: nothing but the properties bytes is decoded (the broker's SQL92 filter runs
 * this once per scanned message).
 * @throws ProtocolError `MESSAGE_INVALID` for a truncated record.
 */
export function storedPropertiesText(record: Buffer): string {
  const end = record.length;
  if (end < 40) throw invalid(`stored message of ${end} bytes is truncated`);
  const magic = record.readInt32BE(4);
  const sysFlag = record.readInt32BE(36);
  // 40: BORNTIMESTAMP (8), then born host, STORETIMESTAMP (8), store host, RECONSUMETIMES (4),
  // PREPARED TRANSACTION OFFSET (8).
  let p = 48 + ((sysFlag & MessageSysFlag.BORNHOST_V6) !== 0 ? 20 : 8) + 8
    + ((sysFlag & MessageSysFlag.STOREHOST_V6) !== 0 ? 20 : 8) + 4 + 8;
  if (p + 4 > end) throw invalid('stored message truncated before BODY');
  p += 4 + record.readInt32BE(p);
  const v1 = magic === MESSAGE_MAGIC_V1;
  if (p + (v1 ? 1 : 2) > end || p < 0) throw invalid('stored message truncated before TOPIC');
  p += v1 ? 1 + record.readUInt8(p) : 2 + record.readUInt16BE(p);
  if (p + 2 > end) throw invalid('stored message truncated before PROPERTIES');
  const length = record.readUInt16BE(p);
  if (p + 2 + length > end) throw invalid('stored message PROPERTIES run past the record');
  return record.toString('utf8', p + 2, p + 2 + length);
}
