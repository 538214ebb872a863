// How a delayed message is stored and delivered (RocketMQ's ScheduleMessageService layout):
// a send with DELAY=L goes to SCHEDULE_TOPIC_XXXX queue L-1 with its real topic and queue in
// REAL_TOPIC / REAL_QID; when due it is re-put to the real queue without DELAY, keeping its
// UNIQ_KEY (the client's msgId), KEYS, TAGS and body.
import type { StoredMessage } from '../../protocol/message-record.js';
import { MessageProperty, encodeProperties, type MessageProperties } from '../../protocol/properties.js';
import type { AppendMessage } from '../../store/index.js';
import { SystemTopic } from '../topic-config-manager.js';

export const SCHEDULE_TOPIC: string = SystemTopic.SCHEDULE;

/** The delay level a send asks for (0: none). Levels above the table are capped, as RocketMQ does. */
export function requestedLevel(properties: MessageProperties, levelCount: number): number {
  const level = Number(properties[MessageProperty.DELAY] ?? '0');
  if (!Number.isInteger(level) || level <= 0) return 0;
  return Math.min(level, levelCount);
}

/** The record a delayed send stores instead of `message` (which targets its real topic). */
export function toScheduledMessage(message: AppendMessage, properties: MessageProperties, level: number): AppendMessage {
  const scheduled: MessageProperties = {
    ...properties,
    [MessageProperty.DELAY]: String(level),
    [MessageProperty.REAL_TOPIC]: message.topic,
    [MessageProperty.REAL_QID]: String(message.queueId),
  };
  return { ...message, topic: SCHEDULE_TOPIC, queueId: level - 1, properties: Buffer.from(encodeProperties(scheduled), 'utf8') };
}

/** The message delivered when `scheduled` is due, or null when its real destination is missing. */
export function toDueMessage(scheduled: StoredMessage): AppendMessage | null {
  const topic = scheduled.properties[MessageProperty.REAL_TOPIC];
  const queueId = Number(scheduled.properties[MessageProperty.REAL_QID]);
  if (topic === undefined || topic === '' || !Number.isInteger(queueId) || queueId < 0) return null;
  const properties: MessageProperties = { ...scheduled.properties };
  delete properties[MessageProperty.DELAY];
  delete properties[MessageProperty.REAL_TOPIC];
  delete properties[MessageProperty.REAL_QID];
  return {
    topic, queueId, body: scheduled.body, flag: scheduled.flag, sysFlag: scheduled.sysFlag,
    bornTimestamp: scheduled.bornTimestamp, bornHost: scheduled.bornHost.address, bornPort: scheduled.bornHost.port,
    reconsumeTimes: scheduled.reconsumeTimes, properties: Buffer.from(encodeProperties(properties), 'utf8'),
  };
}
