// Message ids.
//
// Offset message id (the broker's `msgId`): uppercase hex of
//   storeHost IP (4 or 16 bytes) | store port int32 | commitLogOffset int64
// = 32 hex characters for IPv4, 56 for IPv6. A client decodes it to find the broker address
// and the record's CommitLog offset (VIEW_MESSAGE_BY_ID, END_TRANSACTION).
//
// UNIQ_KEY (the producer's client-side id, property UNIQ_KEY): uppercase hex of
//   ip (4 or 16) | pid int16 | salt int32 | ms since the start of the month int32 | counter int16
// Java uses its class loader's hash as the salt; any per-process constant works.

import { ProtocolError } from '../common/errors.js';
import { formatIp, parseIp } from './ip-address.js';

/** A host address with port, as stored in messages. */
export interface HostAddress {
  /** IPv4 dotted quad or IPv6 text. */
  address: string;
  port: number;
}

function checkPort(port: number): void {
  if (!Number.isInteger(port) || port < 0 || port > 0x7fffffff) {
    throw new ProtocolError('MESSAGE_INVALID', `port out of range: ${port}`);
  }
}

/** Offset message id of the record at `commitLogOffset` on the broker `storeHost`. */
export function encodeOffsetMsgId(storeHost: HostAddress, commitLogOffset: number): string {
  checkPort(storeHost.port);
  if (!Number.isSafeInteger(commitLogOffset) || commitLogOffset < 0) {
    throw new ProtocolError('MESSAGE_INVALID', `commit log offset out of range: ${commitLogOffset}`);
  }
  const ip = parseIp(storeHost.address);
  const bytes = Buffer.alloc(ip.length + 12);
  ip.copy(bytes, 0);
  bytes.writeInt32BE(storeHost.port, ip.length);
  bytes.writeBigInt64BE(BigInt(commitLogOffset), ip.length + 4);
  return bytes.toString('hex').toUpperCase();
}

/** What an offset message id encodes. */
export interface OffsetMsgId {
  storeHost: HostAddress;
  commitLogOffset: number;
}

/**
 * Decodes an offset message id (32 or 56 hex characters, any case).
 * @throws ProtocolError `MESSAGE_INVALID`
 */
export function decodeOffsetMsgId(id: string): OffsetMsgId {
  if ((id.length !== 32 && id.length !== 56) || !/^[0-9a-fA-F]+$/.test(id)) {
    throw new ProtocolError('MESSAGE_INVALID', `not an offset message id: ${JSON.stringify(id)}`);
  }
  const bytes = Buffer.from(id, 'hex');
  const ipLength = id.length === 32 ? 4 : 16;
  const offset = bytes.readBigInt64BE(ipLength + 4);
  if (offset < 0n || offset > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new ProtocolError('MESSAGE_INVALID', `offset message id ${id} has an out-of-range offset`);
  }
  return {
    storeHost: { address: formatIp(bytes.subarray(0, ipLength)), port: bytes.readInt32BE(ipLength) },
    commitLogOffset: Number(offset),
  };
}

/** Inputs of a UNIQ_KEY generator; all optional. */
export interface UniqIdGeneratorOptions {
  /** This host's IP; default 127.0.0.1. */
  ip?: string;
  /** Process id (low 16 bits are used); default `process.pid`. */
  pid?: number;
  /** Per-process 32-bit constant (Java: class loader hash); default random. */
  salt?: number;
  /** Clock in ms since the epoch; default `Date.now`. */
  now?: () => number;
}

/** "00" .. "FF". */
const HEX_BYTES: readonly string[] = Array.from({ length: 256 }, (_, byte) => byte.toString(16).toUpperCase().padStart(2, '0'));

/** Start of the month containing `ms`, in local time, like Java's `Calendar` default. */
function monthStart(ms: number): { start: number; next: number } {
  const date = new Date(ms);
  const start = new Date(date.getFullYear(), date.getMonth(), 1).getTime();
  const next = new Date(date.getFullYear(), date.getMonth() + 1, 1).getTime();
  return { start, next };
}

/**
 * A UNIQ_KEY generator: each call returns a new 32-hex-character id (56 for an IPv6 host).
 * Ids are unique per process as long as fewer than 65536 are made in one millisecond.
 */
export function createUniqIdGenerator(options: UniqIdGeneratorOptions = {}): () => string {
  const ip = parseIp(options.ip ?? '127.0.0.1');
  const now = options.now ?? Date.now;
  const fixed = Buffer.alloc(ip.length + 6);
  ip.copy(fixed, 0);
  fixed.writeUInt16BE((options.pid ?? process.pid) & 0xffff, ip.length);
  fixed.writeInt32BE((options.salt ?? Math.floor(Math.random() * 0x100000000)) | 0, ip.length + 2);
  const prefix = fixed.toString('hex').toUpperCase();
  let month = monthStart(now());
  let counter = 0;
  // The time part changes once a millisecond at most: formatted once per change. The counter
  // goes through a byte-to-hex table (a Buffer's hex form and upper-casing per id showed in
  // HTTP produce profiles).
  let timeOf = Number.NaN;
  let timeHex = '';
  return () => {
    const current = now();
    if (current !== timeOf) {
      if (current >= month.next || current < month.start) month = monthStart(current);
      // A month is up to 2.68e9 ms, more than an int32: wrap like Java's (int) cast.
      const elapsed = ((current - month.start) | 0) >>> 0;
      timeHex = (HEX_BYTES[elapsed >>> 24] as string) + (HEX_BYTES[(elapsed >>> 16) & 0xff] as string)
        + (HEX_BYTES[(elapsed >>> 8) & 0xff] as string) + (HEX_BYTES[elapsed & 0xff] as string);
      timeOf = current;
    }
    const id = prefix + timeHex + (HEX_BYTES[counter >>> 8] as string) + (HEX_BYTES[counter & 0xff] as string);
    counter = (counter + 1) & 0xffff;
    return id;
  };
}
