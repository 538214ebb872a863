// messageDelayLevel: "1s 5s 10s 30s 1m 2m ... 2h" -> delay in ms per level (level 1 first).
// Units as RocketMQ accepts them (s, m, h, d) plus ms, which short test tables use.
import { BrokerError } from '../errors.js';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses a messageDelayLevel string. @throws BrokerError BROKER_OPTIONS_INVALID */
export function parseDelayLevels(text: string): number[] {
  const levels = text.trim().split(/\s+/).filter((part) => part !== '').map((part) => {
    const match = part.match(/^(\d+)(ms|s|m|h|d)$/);
    if (match === null) {
      throw new BrokerError('BROKER_OPTIONS_INVALID', `messageDelayLevel: ${JSON.stringify(part)} is not a number followed by ms, s, m, h or d`);
    }
    const ms = Number(match[1]) * (UNIT_MS[match[2] as string] as number);
    if (ms <= 0) throw new BrokerError('BROKER_OPTIONS_INVALID', `messageDelayLevel: ${part} is not a positive delay`);
    return ms;
  });
  if (levels.length === 0) throw new BrokerError('BROKER_OPTIONS_INVALID', 'messageDelayLevel has no levels');
  return levels;
}
