// RECALL_MESSAGE (370, RocketMQ 5.3): cancel a timer message before it fires, by the
// recallHandle its send returned. The checks and their answers follow RocketMQ's
// RecallMessageProcessor; the cancellation itself is a marker record in the timer queue (see
// timer-message-service.ts), so it survives restarts and crashes like the timers do.
// Recalling a message that already fired, or that never existed, is answered SUCCESS (best
// effort, as RocketMQ does): the handle alone cannot tell.

import { errorMessage } from '../../common/errors.js';
import { Perm, RequestCode, ResponseCode } from '../../protocol/codes.js';
import { makeResponse, type RemotingCommand } from '../../protocol/command.js';
import { decodeHeader } from '../../protocol/header-schema.js';
import { RecallMessageRequestHeader } from '../../protocol/headers.js';
import { encodeProperties, MessageProperty } from '../../protocol/properties.js';
import { decodeRecallHandle, RecallHandleError, type RecallHandle } from '../../protocol/recall-handle.js';
import type { RequestHandler } from '../../remoting/processor-table.js';
import { StoreError, type AppendMessage } from '../../store/index.js';
import { reply, type BrokerContext } from '../broker-context.js';
import { splitAddress } from '../send-processor.js';
import { TIMER_TOPIC, timerIfRequested } from './timer-message.js';
import type { TimerMessageService } from './timer-message-service.js';

/** RocketMQ's tag on recall markers. */
export const RECALL_MESSAGE_TAG = '_RECALL_TAG_';

/** The marker record that cancels `handle`'s message when the timer service reads it. */
function recallMarker(context: BrokerContext, handle: RecallHandle, producerGroup: string | undefined, bornAddress: string,
  now: number): AppendMessage {
  const properties: Record<string, string> = {
    [MessageProperty.TAGS]: RECALL_MESSAGE_TAG,
    [MessageProperty.TIMER_DEL_UNIQKEY]: handle.messageId,
    [MessageProperty.UNIQ_KEY]: handle.messageId,
    [MessageProperty.TIMER_DELIVER_MS]: String(handle.deliverTimeMs),
  };
  if (producerGroup !== undefined && producerGroup !== '') properties[MessageProperty.PGROUP] = producerGroup;
  const born = splitAddress(bornAddress);
  const message: AppendMessage = {
    topic: handle.topic, queueId: 0, body: Buffer.from('0'), properties: Buffer.from(encodeProperties(properties), 'utf8'),
    bornTimestamp: now, bornHost: born.host, bornPort: born.port,
  };
  return timerIfRequested(message, context.options.timerMaxDelaySec * 1000, now);
}

function recalled(request: RemotingCommand, msgId: string, region: string): RemotingCommand {
  return makeResponse(request, ResponseCode.SUCCESS, { extFields: { msgId, MSG_REGION: region } });
}

async function recall(context: BrokerContext, timers: TimerMessageService, request: RemotingCommand,
  bornAddress: string): Promise<RemotingCommand> {
  let header: RecallMessageRequestHeader;
  try {
    header = decodeHeader(RecallMessageRequestHeader, request.extFields);
  } catch (error) {
    return reply(request, ResponseCode.INVALID_PARAMETER, `bad RECALL_MESSAGE header: ${errorMessage(error)}`);
  }
  const o = context.options;
  if (!o.recallMessageEnable) return reply(request, ResponseCode.NO_PERMISSION, 'recall failed, operation is forbidden (recallMessageEnable=false)');
  if (o.brokerRole === 'SLAVE') return reply(request, ResponseCode.SLAVE_NOT_AVAILABLE, 'recall failed, broker service not available');
  if ((o.brokerPermission & Perm.WRITE) === 0) {
    return reply(request, ResponseCode.SERVICE_NOT_AVAILABLE, 'recall failed, broker service not available');
  }
  if (context.topics.get(header.topic) === undefined) {
    return reply(request, ResponseCode.TOPIC_NOT_EXIST, `recall failed, the topic[${header.topic}] not exist`);
  }
  let handle: RecallHandle;
  try {
    handle = decodeRecallHandle(header.recallHandle);
  } catch (error) {
    if (error instanceof RecallHandleError) return reply(request, ResponseCode.ILLEGAL_OPERATION, error.message);
    throw error;
  }
  if (handle.topic !== header.topic) return reply(request, ResponseCode.ILLEGAL_OPERATION, 'recall failed, topic not match');
  if (handle.brokerName !== o.brokerName) {
    return reply(request, ResponseCode.ILLEGAL_OPERATION, `recall failed, the handle is for broker ${handle.brokerName}, not ${o.brokerName}`);
  }
  const now = Date.now();
  const timeLeft = handle.deliverTimeMs - now;
  if (timeLeft <= 0 || timeLeft >= o.timerMaxDelaySec * 1000) {
    return reply(request, ResponseCode.ILLEGAL_OPERATION, 'recall failed, timestamp invalid (the message is due already, or the time is beyond timerMaxDelaySec)');
  }
  const marker = recallMarker(context, handle, header.producerGroup, bornAddress, now);
  if (marker.topic !== TIMER_TOPIC) return reply(request, ResponseCode.ILLEGAL_OPERATION, 'recall failed, timestamp invalid');
  let endOffset: number;
  try {
    const stored = context.store.append(marker);
    context.timerStored(stored.queueOffset);
    endOffset = stored.endOffset;
  } catch (error) {
    if (error instanceof StoreError && error.code === 'DISK_FULL') {
      return reply(request, ResponseCode.SERVICE_NOT_AVAILABLE, `recall failed, the broker's disk is full (${error.message})`);
    }
    context.logger.error('storing a recall marker failed', { error: errorMessage(error) });
    return reply(request, ResponseCode.SYSTEM_ERROR, `recall failed, execute error: ${errorMessage(error)}`);
  }
  timers.recall(handle.messageId, handle.deliverTimeMs);
  context.logger.info('timer message recalled', { topic: handle.topic, uniqKey: handle.messageId, producerGroup: header.producerGroup });
  if (context.store.flushDiskType === 'SYNC_FLUSH') {
    // Answered SUCCESS even on a flush timeout, as RocketMQ does: the marker is stored.
    await context.store.waitFlushed(endOffset).catch(() => undefined);
  }
  return recalled(request, handle.messageId, 'DefaultRegion');
}

export function recallMessageProcessor(context: BrokerContext, timers: TimerMessageService): Array<[number, RequestHandler]> {
  return [[RequestCode.RECALL_MESSAGE, (request, requestContext) => recall(context, timers, request, requestContext.connection.remoteAddress)]];
}
