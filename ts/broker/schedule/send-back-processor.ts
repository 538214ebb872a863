// CONSUMER_SEND_MSG_BACK (36): a consumer gives a message back (RECONSUME_LATER, a handler
// error). The broker re-puts the stored original to `%RETRY%<group>` with delay level
// 3 + reconsumeTimes (or the level asked), counting reconsumeTimes up and recording
// RETRY_TOPIC / ORIGIN_MESSAGE_ID / RECONSUME_TIME; past the group's limit, or with
// delayLevel -1, it goes to `%DLQ%<group>` instead. The retry copy waits in
// SCHEDULE_TOPIC_XXXX like any delayed message. Java's client sends the message itself to the
// retry topic when this request fails; answering it properly keeps the original bytes.
import { decodeHeader } from '../../protocol/header-schema.js';
import { ConsumerSendMsgBackRequestHeader } from '../../protocol/headers.js';
import { RequestCode, ResponseCode } from '../../protocol/codes.js';
import { makeResponse } from '../../protocol/command.js';
import { decodeStoredMessage, type StoredMessage } from '../../protocol/message-record.js';
import { MessageProperty, encodeProperties, type MessageProperties } from '../../protocol/properties.js';
import type { RequestHandler } from '../../remoting/processor-table.js';
import type { AppendMessage } from '../../store/index.js';
import { reply, type BrokerContext } from '../broker-context.js';
import { storeErrorResponse } from '../send-processor.js';
import { deadLetterTopic, delayLevelsOf, maxReconsumeTimesOf } from './send-hooks.js';
import { toScheduledMessage } from './scheduled-message.js';

/** The delay level RocketMQ starts retries at (10 s in the default table). */
const FIRST_RETRY_LEVEL = 3;

/** What a give-back stores, and where. */
export function sendBackMessage(context: BrokerContext, original: StoredMessage, group: string, delayLevel: number,
  requestedMax: number | undefined, originMsgId: string | undefined): AppendMessage {
  const properties: MessageProperties = { ...original.properties };
  // The topic the application subscribed: kept across retries (a retried message shows it).
  properties[MessageProperty.RETRY_TOPIC] ??= original.topic;
  properties[MessageProperty.ORIGIN_MESSAGE_ID] ??= originMsgId ?? properties[MessageProperty.UNIQ_KEY] ?? original.msgId;
  const reconsumeTimes = original.reconsumeTimes + 1;
  properties[MessageProperty.RECONSUME_TIME] = String(reconsumeTimes);
  delete properties[MessageProperty.DELAY];
  const base: AppendMessage = {
    topic: '', queueId: 0, body: original.body, flag: original.flag, sysFlag: original.sysFlag,
    bornTimestamp: original.bornTimestamp, bornHost: original.bornHost.address, bornPort: original.bornHost.port,
    reconsumeTimes, properties: Buffer.alloc(0),
  };
  const max = maxReconsumeTimesOf(context, group, requestedMax);
  if (delayLevel < 0 || original.reconsumeTimes >= max) {
    return { ...base, topic: deadLetterTopic(context, group), properties: Buffer.from(encodeProperties(properties), 'utf8') };
  }
  const levels = delayLevelsOf(context).length;
  const level = Math.min(delayLevel > 0 ? delayLevel : FIRST_RETRY_LEVEL + original.reconsumeTimes, levels);
  const retryTopic = context.topics.createRetryTopic(group).topicName;
  return toScheduledMessage({ ...base, topic: retryTopic, queueId: 0 }, properties, level);
}

export function sendBackProcessor(context: BrokerContext): Array<[number, RequestHandler]> {
  return [[RequestCode.CONSUMER_SEND_MSG_BACK, (request) => {
    const header = decodeHeader(ConsumerSendMsgBackRequestHeader, request.extFields);
    if (context.groups.findOrCreate(header.group) === undefined) {
      return reply(request, ResponseCode.SUBSCRIPTION_GROUP_NOT_EXIST, `subscription group not exist, ${header.group}`);
    }
    let original: StoredMessage;
    try {
      original = decodeStoredMessage(context.store.messageAt(header.offset)).message;
    } catch {
      return reply(request, ResponseCode.SYSTEM_ERROR, `look message by offset failed, ${header.offset}`);
    }
    const message = sendBackMessage(context, original, header.group, header.delayLevel, header.maxReconsumeTimes, header.originMsgId);
    try {
      context.store.append(message);
    } catch (error) {
      return storeErrorResponse(request, error, context);
    }
    context.stats.onPut(1);
    return makeResponse(request, ResponseCode.SUCCESS);
  }]];
}
