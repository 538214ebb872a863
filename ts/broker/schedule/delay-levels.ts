// The delay-level table (`messageDelayLevel`, e.g. "1s 5s 10s 30s 1m ... 2h") and the rewrite of
// a message with DELAY=L into SCHEDULE_TOPIC_XXXX queue L-1, as RocketMQ's CommitLog does on put.

import { decodeProperties, encodeProperties, MessageProperty } from '../../protocol/properties.js';
import { MessageSysFlag } from '../../protocol/message-record.js';
import type { AppendMessage } from '../../store/index.js';
import { BrokerError } from '../errors.js';
import { SystemTopic } from '../topic-config-manager.js';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * Parses `messageDelayLevel` into delays in ms (index 0 = level 1). Units ms, s, m, h, d.
 * @throws BrokerError BROKER_OPTIONS_INVALID on an empty table or a bad entry.
 */
export function parseDelayLevels(text: string): number[] {
  const levels: number[] = [];
  for (const entry of text.trim().split(/\s+/)) {
    if (entry === '') continue;
    const match = /^(\d+)(ms|s|m|h|d)$/.exec(entry);
    if (match === null) {
      throw new BrokerError('BROKER_OPTIONS_INVALID',
        `messageDelayLevel: "${entry}" is not a delay (a number followed by ms, s, m, h or d)`);
    }
    levels.push(Number(match[1]) * (UNIT_MS[match[2]!] as number));
  }
  if (levels.length === 0) throw new BrokerError('BROKER_OPTIONS_INVALID', 'messageDelayLevel has no levels');
  return levels;
}

const parsedTables = new Map<string, number[]>();

/** parseDelayLevels, cached per table text (the send path calls this for every delayed message). */
export function delayLevelsOf(text: string): number[] {
  let levels = parsedTables.get(text);
  if (levels === undefined) {
    levels = parseDelayLevels(text);
    parsedTables.set(text, levels);
  }
  return levels;
}

/** The DELAY property as a level (0 = none); a value that is not an integer counts as none. */
export function delayLevelOf(properties: Readonly<Record<string, string>>): number {
  const raw = properties[MessageProperty.DELAY];
  if (raw === undefined) return 0;
  const level = Number(raw);
  return Number.isInteger(level) ? level : 0;
}

const DELAY_MARK = Buffer.from(`${MessageProperty.DELAY}\u0001`, 'utf8');

/**
 * If `message` asks for a delay level, the same message re-addressed to SCHEDULE_TOPIC_XXXX
 * queue level-1 with REAL_TOPIC / REAL_QID (level capped at the table's last one); otherwise
 * `message` itself. Prepared and rolled-back transaction records are not delayed (RocketMQ
 * delays a transactional message when it is committed).
 */
export function scheduleIfDelayed(message: AppendMessage, levels: readonly number[]): AppendMessage {
  // Cheap check first: most messages have no DELAY property and are not decoded here.
  if (message.properties.indexOf(DELAY_MARK) < 0) return message;
  const txType = (message.sysFlag ?? 0) & MessageSysFlag.TRANSACTION_ROLLBACK;
  if (txType === MessageSysFlag.TRANSACTION_PREPARED || txType === MessageSysFlag.TRANSACTION_ROLLBACK) return message;
  const properties = decodeProperties(message.properties.toString('utf8'));
  let level = delayLevelOf(properties);
  if (level <= 0) return message;
  if (level > levels.length) level = levels.length;
  properties[MessageProperty.DELAY] = String(level);
  properties[MessageProperty.REAL_TOPIC] = message.topic;
  properties[MessageProperty.REAL_QID] = String(message.queueId);
  return {
    ...message, topic: SystemTopic.SCHEDULE, queueId: level - 1,
    properties: Buffer.from(encodeProperties(properties), 'utf8'),
  };
}
