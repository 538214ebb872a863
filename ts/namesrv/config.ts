// Name server configuration. Defaults follow the Java name server.

import { ConfigError } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import type { RemotingServerOptions } from '../remoting/server.js';

/** Configuration of a {@link NameServer}. Every field is optional. */
export interface NamesrvConfig {
  /** Listen address. Default `0.0.0.0`. */
  host?: string;
  /** Listen port; 0 picks a free one. Default 9876. */
  port?: number;
  /** A broker not heard from for this long is removed from routes. Default 120 s. */
  brokerExpiryMs?: number;
  /** How often expired brokers are looked for. Default 5 s. */
  scanIntervalMs?: number;
  /**
   * File persisting the KV config (`{"configTable":{namespace:{key:value}}}`), written
   * atomically on every change. Unset (default): KV config lives in memory only.
   */
  kvConfigPath?: string;
  /** Publish `orderTopicConf` from KV namespace ORDER_TOPIC_CONFIG in routes. Default false. */
  orderMessageEnable?: boolean;
  /** Transport limits (connections, in-flight requests, idle timeout...). */
  remoting?: Omit<RemotingServerOptions, 'logger'>;
  logger?: Logger;
}

/** Defaults, exported for documentation and tests. */
export const NAMESRV_DEFAULTS = {
  host: '0.0.0.0',
  port: 9876,
  brokerExpiryMs: 120_000,
  scanIntervalMs: 5_000,
  orderMessageEnable: false,
} as const;

/** Config with defaults applied. */
export interface ResolvedNamesrvConfig {
  host: string;
  port: number;
  brokerExpiryMs: number;
  scanIntervalMs: number;
  kvConfigPath: string | undefined;
  orderMessageEnable: boolean;
  remoting: Omit<RemotingServerOptions, 'logger'>;
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value <= 0) throw new ConfigError(`${name} must be a positive integer, got ${value}`);
  return value;
}

/** Applies defaults and validates. @throws ConfigError */
export function resolveNamesrvConfig(config: NamesrvConfig): ResolvedNamesrvConfig {
  const port = config.port ?? NAMESRV_DEFAULTS.port;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError(`port out of range: ${port}`);
  const resolved: ResolvedNamesrvConfig = {
    host: config.host ?? NAMESRV_DEFAULTS.host,
    port,
    brokerExpiryMs: positiveInteger('brokerExpiryMs', config.brokerExpiryMs ?? NAMESRV_DEFAULTS.brokerExpiryMs),
    scanIntervalMs: positiveInteger('scanIntervalMs', config.scanIntervalMs ?? NAMESRV_DEFAULTS.scanIntervalMs),
    kvConfigPath: config.kvConfigPath,
    orderMessageEnable: config.orderMessageEnable ?? NAMESRV_DEFAULTS.orderMessageEnable,
    remoting: config.remoting ?? {},
  };
  if (resolved.scanIntervalMs > resolved.brokerExpiryMs) {
    throw new ConfigError('scanIntervalMs must not exceed brokerExpiryMs, or brokers would outlive their expiry');
  }
  return resolved;
}
