// "host:port" addresses as RocketMQ writes them (`10.0.0.1:10911`; IPv6 as `[::1]:10911`).

import { ConfigError } from '../common/errors.js';
import { normalizeHost } from '../protocol/ip-address.js';

/** A parsed address. */
export interface SocketAddress {
  host: string;
  port: number;
}

/**
 * Parses `host:port`, `[ipv6]:port` or a bare `ipv6:port` (last colon splits).
 * @throws ConfigError for text without a valid port.
 */
export function parseAddress(address: string): SocketAddress {
  const bracketed = /^\[([^\]]+)\]:(\d+)$/.exec(address);
  const match = bracketed ?? /^(.+):(\d+)$/.exec(address);
  const port = match === null ? NaN : Number(match[2]);
  if (match === null || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new ConfigError(`not a host:port address: ${JSON.stringify(address)}`);
  }
  return { host: match[1] as string, port };
}

/** Formats `host:port`, bracketing IPv6 hosts and unwrapping IPv4-mapped ones. */
export function formatAddress(host: string, port: number): string {
  const normalized = normalizeHost(host);
  return normalized.includes(':') ? `[${normalized}]:${port}` : `${normalized}:${port}`;
}
