// Born and store hosts as RocketMQ stores them in a record (IPv4 or IPv6 address, then the port).
import { StoreError } from './errors.js';
import type { AppendMessage } from './index.js';

const LOOPBACK_HOST = packHost('127.0.0.1', 0);

/** The packed born host of a message that did not bring one pre-packed. */
export function bornHostOf(message: Pick<AppendMessage, 'bornHost' | 'bornPort'>): Buffer {
  if (message.bornHost === undefined && message.bornPort === undefined) return LOOPBACK_HOST;
  return cachedPackHost(message.bornHost ?? '127.0.0.1', message.bornPort ?? 0);
}

const packedHosts = new Map<string, Buffer>();

/** packHost with a small cache: senders reuse a handful of addresses. */
function cachedPackHost(host: string, port: number): Buffer {
  const key = `${host}:${port}`;
  let packed = packedHosts.get(key);
  if (packed === undefined) {
    if (packedHosts.size >= 4096) packedHosts.clear();
    packed = packHost(host, port);
    packedHosts.set(key, packed);
  }
  return packed;
}

/**
 * Writes a packed host (`packHost`) into `io[at..at + 6]` as the binding's appendOne reads it:
 * [port, address words (1 or 4), the address as big-endian u32 words]. A packed host of
 * another length gets 0 words, which the engine refuses.
 */
export function hostIntoNumbers(packed: Buffer, io: Float64Array, at: number): void {
  const words = packed.length === 8 ? 1 : packed.length === 20 ? 4 : 0;
  io[at + 1] = words;
  if (words === 0) return;
  io[at] = uint32At(packed, words * 4);
  for (let i = 0; i < words; i++) io[at + 2 + i] = uint32At(packed, i * 4);
}

/** Big-endian u32 by element loads: Buffer#readUInt32BE's loads are megamorphic (perf). */
function uint32At(bytes: Buffer, at: number): number {
  return bytes[at]! * 0x1000000 + ((bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!);
}

/**
 * A host as RocketMQ stores it: IPv4 (4 bytes) or IPv6 (16 bytes) then the port as a
 * big-endian int32. IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`) become IPv4.
 */
export function packHost(host: string, port: number): Buffer {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(host);
  const ip = mapped ? mapped[1]! : host;
  const ipv4 = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(ip);
  if (ipv4) {
    const packed = Buffer.alloc(8);
    for (let i = 0; i < 4; i++) packed[i] = Number(ipv4[i + 1]);
    packed.writeInt32BE(port, 4);
    return packed;
  }
  const packed = Buffer.alloc(20);
  const words = expandIpv6(ip);
  for (let i = 0; i < 8; i++) packed.writeUInt16BE(words[i]!, i * 2);
  packed.writeInt32BE(port, 16);
  return packed;
}

function expandIpv6(ip: string): number[] {
  const [head = '', tail] = ip.split('::') as [string, string | undefined];
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((word) => parseInt(word, 16)));
  const left = parse(head);
  const right = tail === undefined ? [] : parse(tail);
  const words = [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  if (words.length !== 8 || words.some((word) => !Number.isInteger(word) || word < 0 || word > 0xffff)) {
    throw new StoreError('INVALID_ARGUMENT', `${JSON.stringify(ip)} is not an IP address`);
  }
  return words;
}

