// The send path's delay and retry rules (RocketMQ's SendMessageProcessor#handleRetryAndDLQ and
// the DELAY rewrite of CommitLog#asyncPutMessage), kept out of send-processor.ts.
import { MessageProperty, encodeProperties, type MessageProperties } from '../../protocol/properties.js';
import type { SendMessageRequestHeader } from '../../protocol/headers.js';
import type { AppendMessage } from '../../store/index.js';
import type { BrokerContext } from '../broker-context.js';
import { DLQ_GROUP_TOPIC_PREFIX, RETRY_GROUP_TOPIC_PREFIX } from '../topic-config-manager.js';
import { parseDelayLevels } from './delay-levels.js';
import { requestedLevel, toScheduledMessage } from './scheduled-message.js';

/** Default for a group without a retryMaxTimes and a request without maxReconsumeTimes. */
export const DEFAULT_MAX_RECONSUME_TIMES = 16;

let parsedText = '';
let parsedLevels: number[] = [];

/** The broker's delay table (parsed once per distinct setting). */
export function delayLevelsOf(context: BrokerContext): number[] {
  const text = context.options.messageDelayLevel;
  if (text !== parsedText) {
    parsedLevels = parseDelayLevels(text);
    parsedText = text;
  }
  return parsedLevels;
}

/** A send with DELAY=L is stored in SCHEDULE_TOPIC_XXXX queue L-1 until due. */
export function scheduleIfDelayed(context: BrokerContext, properties: MessageProperties, message: AppendMessage): AppendMessage {
  if (properties[MessageProperty.DELAY] === undefined) return message;
  const level = requestedLevel(properties, delayLevelsOf(context).length);
  return level === 0 ? message : toScheduledMessage(message, properties, level);
}

/** `%DLQ%<group>`, created on first use (one queue, read + write as in RocketMQ 5). */
export function deadLetterTopic(context: BrokerContext, group: string): string {
  const topic = DLQ_GROUP_TOPIC_PREFIX + group;
  if (context.topics.get(topic) === undefined) context.topics.createDeadLetterTopic(group);
  return topic;
}

/** The group's retry limit: the request's maxReconsumeTimes, else the group's retryMaxTimes, else 16. */
export function maxReconsumeTimesOf(context: BrokerContext, group: string, requested: number | undefined): number {
  if (requested !== undefined && requested >= 0) return requested;
  return context.groups.get(group)?.retryMaxTimes ?? DEFAULT_MAX_RECONSUME_TIMES;
}

/**
 * A send straight to `%RETRY%<group>` whose reconsumeTimes passed the group's limit goes to the
 * group's DLQ instead (as RocketMQ's send processor does); anything else is stored as sent.
 */
export function routeRetrySend(context: BrokerContext, header: SendMessageRequestHeader, message: AppendMessage,
  properties: MessageProperties): AppendMessage {
  if (!header.topic.startsWith(RETRY_GROUP_TOPIC_PREFIX)) return message;
  const group = header.topic.slice(RETRY_GROUP_TOPIC_PREFIX.length);
  const times = header.reconsumeTimes ?? 0;
  if (times <= maxReconsumeTimesOf(context, group, header.maxReconsumeTimes)) return message;
  const dlqProperties: MessageProperties = { ...properties };
  delete dlqProperties[MessageProperty.DELAY];
  return {
    ...message, topic: deadLetterTopic(context, group), queueId: 0,
    properties: Buffer.from(encodeProperties(dlqProperties), 'utf8'),
  };
}
