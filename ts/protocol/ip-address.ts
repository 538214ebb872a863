// IP address text <-> bytes, without node:net (ts/protocol does no I/O and stays portable).
// Stored messages and offset message ids carry hosts as 4 (IPv4) or 16 (IPv6) raw bytes.
// IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`, what a dual-stack Node server reports for
// IPv4 peers) are turned into plain IPv4, because IPv4-only decoders (ali-ons) and offset
// message ids would otherwise break.

import { ProtocolError } from '../common/errors.js';

function invalid(text: string): ProtocolError {
  return new ProtocolError('MESSAGE_INVALID', `not an IP address: ${JSON.stringify(text)}`);
}

function parseIpv4(text: string): Buffer | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  const bytes = Buffer.alloc(4);
  for (let i = 0; i < 4; i += 1) {
    const part = parts[i] as string;
    if (!/^\d{1,3}$/.test(part)) return null;
    const value = Number(part);
    if (value > 255) return null;
    bytes[i] = value;
  }
  return bytes;
}

function parseGroups(text: string): number[] | null {
  if (text.length === 0) return [];
  const groups: number[] = [];
  for (const group of text.split(':')) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(group)) return null;
    groups.push(parseInt(group, 16));
  }
  return groups;
}

function parseIpv6(input: string): Buffer | null {
  let text = input.startsWith('[') && input.endsWith(']') ? input.slice(1, -1) : input;
  const zone = text.indexOf('%');
  if (zone >= 0) text = text.slice(0, zone);
  let tail: Buffer | null = null;
  const lastColon = text.lastIndexOf(':');
  if (lastColon >= 0 && text.includes('.', lastColon)) {
    tail = parseIpv4(text.slice(lastColon + 1));
    if (tail === null) return null;
    text = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const head = parseGroups(halves[0] as string);
  const rest = halves.length === 2 ? parseGroups(halves[1] as string) : [];
  if (head === null || rest === null) return null;
  const missing = 8 - head.length - rest.length;
  if ((halves.length === 2 && missing < 1) || (halves.length === 1 && missing !== 0)) return null;
  const groups = [...head, ...new Array<number>(missing).fill(0), ...rest];
  const bytes = Buffer.alloc(16);
  groups.forEach((group, index) => bytes.writeUInt16BE(group, index * 2));
  if (tail !== null) tail.copy(bytes, 12);
  return bytes;
}

function isIpv4Mapped(bytes: Buffer): boolean {
  for (let i = 0; i < 10; i += 1) if (bytes[i] !== 0) return false;
  return bytes[10] === 0xff && bytes[11] === 0xff;
}

/**
 * Raw bytes of an address: 4 for IPv4 (including IPv4-mapped IPv6), 16 for IPv6.
 * @throws ProtocolError `MESSAGE_INVALID` for text that is not an IP address.
 */
export function parseIp(text: string): Buffer {
  const v4 = parseIpv4(text);
  if (v4 !== null) return v4;
  const v6 = parseIpv6(text);
  if (v6 === null) throw invalid(text);
  return isIpv4Mapped(v6) ? v6.subarray(12) : v6;
}

/** Text of a 4- or 16-byte address (IPv6 in RFC 5952 compressed form). */
export function formatIp(bytes: Uint8Array): string {
  if (bytes.length === 4) return Array.from(bytes).join('.');
  if (bytes.length !== 16) throw new ProtocolError('MESSAGE_INVALID', `IP address of ${bytes.length} bytes`);
  const buffer = Buffer.from(bytes);
  if (isIpv4Mapped(buffer)) return Array.from(buffer.subarray(12)).join('.');
  const groups: number[] = [];
  for (let i = 0; i < 8; i += 1) groups.push(buffer.readUInt16BE(i * 2));
  // Longest run (>= 2) of zero groups becomes "::".
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i += 1;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j += 1;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((group) => group.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

/** Normalizes a host as reported by a socket: IPv4-mapped IPv6 becomes plain IPv4. */
export function normalizeHost(host: string): string {
  const lower = host.toLowerCase();
  if (lower.startsWith('::ffff:') && parseIpv4(host.slice(7)) !== null) return host.slice(7);
  return host;
}
