// Retry and dead-letter queues (RocketMQ's ConsumerSendMsgBack and handleRetryAndDLQ):
//
//   CONSUMER_SEND_MSG_BACK (36): a consumer that failed a message hands back its CommitLog
//   offset; the broker re-puts the original to %RETRY%<group> with delay level 3 +
//   reconsumeTimes (or the level asked), reconsumeTimes + 1, RETRY_TOPIC (the topic it was
//   first consumed from), ORIGIN_MESSAGE_ID and RECONSUME_TIME, keeping UNIQ_KEY. Past the
//   maximum (header maxReconsumeTimes, else the group's retryMaxTimes) or with delayLevel < 0
//   it goes to %DLQ%<group> instead (1 queue, read + write as in RocketMQ 5).
//
//   A plain send to %RETRY%<group> whose reconsumeTimes exceeds the maximum (the Java client's
//   own fallback when the send-back fails) is stored in the DLQ as well.
//
// The delay itself is the schedule service's: the re-put carries DELAY and is re-addressed to
// SCHEDULE_TOPIC_XXXX by scheduleIfDelayed, exactly as a producer's delayed send is.

import { errorMessage } from '../../common/errors.js';
import { Perm, ResponseCode } from '../../protocol/codes.js';
import { makeResponse, type RemotingCommand } from '../../protocol/command.js';
import { decodeHeader } from '../../protocol/header-schema.js';
import { ConsumerSendMsgBackRequestHeader, type SendMessageRequestHeader } from '../../protocol/headers.js';
import { decodeProperties, encodeProperties, MessageProperty, type MessageProperties } from '../../protocol/properties.js';
import type { RequestHandler } from '../../remoting/processor-table.js';
import type { AppendMessage } from '../../store/index.js';
import { reply, type BrokerContext } from '../broker-context.js';
import { defaultSubscriptionGroup } from '../subscription-group-manager.js';
import { DLQ_GROUP_TOPIC_PREFIX, newTopicConfig, RETRY_GROUP_TOPIC_PREFIX } from '../topic-config-manager.js';
import type { TopicConfig } from '../../protocol/namesrv-bodies.js';
import { delayLevelOf, delayLevelsOf, scheduleIfDelayed } from './delay-levels.js';
import { copyOf, readStoredMessage } from './stored-copy.js';
import { asksForTimer, TimerFlowControlError, timerIfRequested } from './timer-message.js';

/** RocketMQ's DLQ_NUMS_PER_GROUP. */
const DLQ_QUEUES = 1;

/** %DLQ%<group>, created on first use (read + write, as RocketMQ 5 creates it). */
export function dlqTopicOf(context: BrokerContext, group: string): TopicConfig {
  const name = DLQ_GROUP_TOPIC_PREFIX + group;
  const existing = context.topics.get(name);
  if (existing !== undefined) return existing;
  const config = newTopicConfig(name, DLQ_QUEUES, Perm.READ | Perm.WRITE);
  context.topics.put(config);
  return config;
}

function randomQueue(count: number): number {
  return Math.floor(Math.random() * Math.max(1, count));
}

/**
 * Whether routeSentMessage can change a message whose properties are already decoded: only a
 * %RETRY% topic, a DELAY level or a timer delivery time can. Lets the send path skip two byte
 * searches of the properties per plain message.
 */
export function mayBeRerouted(topic: string, properties: Readonly<MessageProperties>): boolean {
  return topic.startsWith(RETRY_GROUP_TOPIC_PREFIX) || delayLevelOf(properties) > 0 || asksForTimer(properties);
}

/**
 * The send-path hook: where a sent message is stored. A %RETRY% message past its group's
 * maximum goes to the DLQ; a message with DELAY goes to SCHEDULE_TOPIC_XXXX, one with a future
 * TIMER_* time to rmq_sys_wheel_timer.
 * @throws TimerMessageError (answered MESSAGE_ILLEGAL) for a delivery time beyond timerMaxDelaySec,
 *   TimerFlowControlError (answered SYSTEM_ERROR, as RocketMQ does) when timerMaxPendingMessages are pending
 */
export function routeSentMessage(context: BrokerContext, header: SendMessageRequestHeader,
  message: AppendMessage): AppendMessage {
  let routed = message;
  if (message.topic.startsWith(RETRY_GROUP_TOPIC_PREFIX)) {
    const group = message.topic.slice(RETRY_GROUP_TOPIC_PREFIX.length);
    const max = header.maxReconsumeTimes ?? (context.groups.get(group) ?? defaultSubscriptionGroup(group)).retryMaxTimes;
    const reconsumeTimes = header.reconsumeTimes ?? 0;
    if (reconsumeTimes > max) {
      const properties = decodeProperties(message.properties.toString('utf8'));
      markDeadLetter(properties, properties[MessageProperty.RETRY_TOPIC] ?? message.topic, properties[MessageProperty.UNIQ_KEY]);
      const dlq = dlqTopicOf(context, group);
      routed = {
        ...message, topic: dlq.topicName, queueId: randomQueue(dlq.writeQueueNums),
        properties: Buffer.from(encodeProperties(properties), 'utf8'),
      };
      context.logger.info('retry message past its maximum stored in the DLQ', { group, reconsumeTimes, max });
    }
  }
  const scheduled = scheduleIfDelayed(routed, delayLevelsOf(context.options.messageDelayLevel));
  if (scheduled !== routed) return scheduled;
  const timer = timerIfRequested(routed, context.options.timerMaxDelaySec * 1000);
  if (timer !== routed && context.timerBacklog() >= context.options.timerMaxPendingMessages) {
    throw new TimerFlowControlError(`timer message is under flow control: ${context.timerBacklog()} timer messages pending, `
      + `timerMaxPendingMessages is ${context.options.timerMaxPendingMessages}`);
  }
  return timer;
}

/** A dead letter is never delayed and says where it came from (the topic first consumed, the client msgId). */
function markDeadLetter(properties: MessageProperties, fromTopic: string, originId: string | undefined): void {
  delete properties[MessageProperty.DELAY];
  properties[MessageProperty.DLQ_ORIGIN_TOPIC] = fromTopic;
  if (originId !== undefined) properties[MessageProperty.DLQ_ORIGIN_MESSAGE_ID] = originId;
}

async function sendBack(context: BrokerContext, request: RemotingCommand): Promise<RemotingCommand> {
  const header = decodeHeader(ConsumerSendMsgBackRequestHeader, request.extFields);
  const group = context.groups.findOrCreate(header.group);
  if (group === undefined) {
    return reply(request, ResponseCode.SUBSCRIPTION_GROUP_NOT_EXIST, `subscription group not exist, ${header.group}`);
  }
  if ((context.options.brokerPermission & Perm.WRITE) === 0) {
    return reply(request, ResponseCode.NO_PERMISSION, `the broker[${context.options.brokerIP1}] sending message is forbidden`);
  }
  // A group without retry queues has opted out of retries: the message is simply consumed.
  if (group.retryQueueNums <= 0) return makeResponse(request, ResponseCode.SUCCESS);
  const stored = readStoredMessage(context.store, header.offset);
  if (stored === undefined) {
    return reply(request, ResponseCode.SYSTEM_ERROR, `look message by offset failed, ${header.offset}`);
  }
  const properties = { ...stored.properties };
  properties[MessageProperty.RETRY_TOPIC] ??= stored.topic;
  properties[MessageProperty.ORIGIN_MESSAGE_ID] ??= stored.msgId;
  properties[MessageProperty.RECONSUME_TIME] = String(stored.reconsumeTimes + 1);
  const max = header.maxReconsumeTimes ?? group.retryMaxTimes;
  let target: { topic: string; queueId: number };
  if (stored.reconsumeTimes >= max || header.delayLevel < 0) {
    markDeadLetter(properties, properties[MessageProperty.RETRY_TOPIC] ?? stored.topic,
      stored.properties[MessageProperty.UNIQ_KEY] ?? stored.msgId);
    const dlq = dlqTopicOf(context, header.group);
    target = { topic: dlq.topicName, queueId: randomQueue(dlq.writeQueueNums) };
  } else {
    const retry = context.topics.createRetryTopic(header.group, group.retryQueueNums);
    if ((retry.perm & Perm.WRITE) === 0) {
      return reply(request, ResponseCode.NO_PERMISSION, `the topic[${retry.topicName}] sending message is forbidden`);
    }
    properties[MessageProperty.DELAY] = String(header.delayLevel === 0 ? 3 + stored.reconsumeTimes : header.delayLevel);
    target = { topic: retry.topicName, queueId: randomQueue(retry.writeQueueNums) };
  }
  const message = scheduleIfDelayed(copyOf(stored, target.topic, target.queueId, properties, stored.reconsumeTimes + 1),
    delayLevelsOf(context.options.messageDelayLevel));
  try {
    context.store.append(message);
  } catch (error) {
    // RocketMQ answers every failed put of a send-back with SYSTEM_ERROR and the put status.
    context.logger.warn('send back failed', { group: header.group, error: errorMessage(error) });
    return reply(request, ResponseCode.SYSTEM_ERROR, `send back failed: ${errorMessage(error)}`);
  }
  context.stats.onPut(1);
  return makeResponse(request, ResponseCode.SUCCESS);
}

/** CONSUMER_SEND_MSG_BACK (36). */
export function consumerSendMsgBackProcessor(context: BrokerContext): RequestHandler {
  return (request) => sendBack(context, request);
}
