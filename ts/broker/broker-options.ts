// Options of a BrokerController: the RocketMQ broker.conf keys (BrokerConfig, from ts/config)
// with the schema's defaults, plus a logger. The CLI builds a full BrokerConfig with
// loadConfig(); embedders and tests pass only what they change.

import { brokerConfigSchema, type BrokerConfig } from '../config/broker-config.js';
import { createLogger, type Logger } from '../common/logger.js';
import { BrokerError } from './errors.js';

/** What a BrokerController takes: any subset of BrokerConfig, plus a logger. */
export interface BrokerOptions extends Partial<BrokerConfig> {
  logger?: Logger;
  /** How often silent client channels are looked for (RocketMQ: 10 s). */
  clientScanIntervalMs?: number;
}

/** BrokerConfig with every default applied. */
export interface ResolvedBrokerOptions extends BrokerConfig {
  logger: Logger;
  clientScanIntervalMs: number;
}

/** Applies the schema defaults. @throws BrokerError BROKER_OPTIONS_INVALID */
export function resolveBrokerOptions(options: BrokerOptions): ResolvedBrokerOptions {
  const values: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(brokerConfigSchema)) values[key] = spec.default;
  for (const [key, value] of Object.entries(options)) if (value !== undefined) values[key] = value;
  const resolved = values as unknown as ResolvedBrokerOptions;
  resolved.logger = options.logger ?? createLogger('broker');
  resolved.clientScanIntervalMs = options.clientScanIntervalMs ?? 10_000;
  const port = resolved.listenPort;
  if (!Number.isInteger(port) || port < 0 || port > 65535 || (port !== 0 && port < 3)) {
    // listenPort − 2 is the VIP port, so a fixed port must leave room for it.
    throw new BrokerError('BROKER_OPTIONS_INVALID', `listenPort must be 0 or 3..65535, got ${port}`);
  }
  if (resolved.mappedFileSizeConsumeQueue % 20 !== 0) {
    throw new BrokerError('BROKER_OPTIONS_INVALID', 'mappedFileSizeConsumeQueue must be a multiple of 20');
  }
  if (typeof resolved.namesrvAddr === 'string') {
    resolved.namesrvAddr = (resolved.namesrvAddr as string).split(/[;,]/).map((a) => a.trim()).filter((a) => a !== '');
  }
  return resolved;
}

/** deleteWhen "04" / "03;04" → hours [4] / [3, 4]. */
export function parseDeleteWhen(text: string): number[] {
  return text.split(/[;,]/).map((part) => Number(part.trim())).filter((hour) => Number.isInteger(hour) && hour >= 0 && hour < 24);
}
