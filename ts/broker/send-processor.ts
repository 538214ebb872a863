// SEND_MESSAGE (10), SEND_MESSAGE_V2 (310), SEND_BATCH_MESSAGE (320).
//
// Checks follow RocketMQ's msgCheck: broker and topic permissions, topic name, reserved
// topics, auto-creation from the template topic, queue id range, body and properties sizes.
// The append itself is synchronous (a copy into the mapped CommitLog); with SYNC_FLUSH the
// reply waits for the group commit unless the message says WAIT=false. Store errors become
// RocketMQ response codes; nothing a producer sends can throw out of here.

import { errorMessage } from '../common/errors.js';
import { decodeBatch } from '../protocol/batch.js';
import { Perm, RequestCode, ResponseCode } from '../protocol/codes.js';
import { makeResponse, type RemotingCommand } from '../protocol/command.js';
import type { SendMessageRequestHeader } from '../protocol/headers.js';
import { decodeProperties, encodeProperties, MessageProperty, type MessageProperties } from '../protocol/properties.js';
import { decodeSendMessageHeader } from '../protocol/send-header.js';
import type { RequestHandler } from '../remoting/processor-table.js';
import { packHost, StoreError, type AppendMessage, type AppendResult } from '../store/index.js';
import { reply, type BrokerContext } from './broker-context.js';
import { isParkingTopic, SendDeduplicator, type StoredSend } from './send-dedup.js';
import { mayBeRerouted, routeSentMessage } from './schedule/retry-dlq.js';
import { TIMER_OUT_MS, TIMER_TOPIC, TimerFlowControlError } from './schedule/timer-message.js';
import { encodeRecallHandle } from '../protocol/recall-handle.js';
import {
  NOT_ALLOWED_SEND_TOPICS, RETRY_GROUP_TOPIC_PREFIX, SystemTopic, topicNameProblem,
} from './topic-config-manager.js';
import type { TopicConfig } from '../protocol/namesrv-bodies.js';
import { halfMessageIfPrepared, transactionSendProblem } from './transaction/send-hook.js';

/** Properties strings are stored with a 2-byte length (RocketMQ: Short.MAX_VALUE). */
export const PROPERTIES_BYTES_MAX = 32_767;

/** A send that passed the checks: where to store it. */
interface SendTarget {
  topic: TopicConfig;
  queueId: number;
}

/** Splits "ip:port" (IPv6 in brackets or bare) into the born host and port. */
export function splitAddress(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(':');
  let host = colon > 0 ? address.slice(0, colon) : address;
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  if (host.startsWith('::ffff:') && host.includes('.')) host = host.slice(7);
  const port = colon > 0 ? Number(address.slice(colon + 1)) : 0;
  return { host, port: Number.isInteger(port) ? port : 0 };
}

/** A sender's address, split and packed as stored. */
interface BornAddress {
  host: string;
  port: number;
  /** undefined when the host does not pack (the store then reports it). */
  packed: Buffer | undefined;
}

const bornAddresses = new Map<string, BornAddress>();

/**
 * splitAddress and packHost, remembered per address string: a connection (or an HTTP client)
 * sends many messages, and splitting, re-joining and hashing its address for every one of
 * them showed in HTTP produce profiles.
 */
function bornAddressOf(address: string): BornAddress {
  let born = bornAddresses.get(address);
  if (born === undefined) {
    if (bornAddresses.size >= 4096) bornAddresses.clear();
    const { host, port } = splitAddress(address);
    let packed: Buffer | undefined;
    try {
      packed = packHost(host, port);
    } catch {
      packed = undefined;
    }
    born = { host, port, packed };
    bornAddresses.set(address, born);
  }
  return born;
}

function checkTopic(context: BrokerContext, request: RemotingCommand, header: SendMessageRequestHeader):
  SendTarget | RemotingCommand {
  if ((context.options.brokerPermission & Perm.WRITE) === 0) {
    return reply(request, ResponseCode.NO_PERMISSION, `the broker[${context.options.brokerIP1}] sending message is forbidden`);
  }
  const problem = topicNameProblem(header.topic);
  if (problem !== null) return reply(request, ResponseCode.SYSTEM_ERROR, problem);
  if (header.topic === SystemTopic.AUTO_CREATE) {
    return reply(request, ResponseCode.SYSTEM_ERROR, `the topic[${header.topic}] is conflict with system topic.`);
  }
  if (NOT_ALLOWED_SEND_TOPICS.has(header.topic)) {
    return reply(request, ResponseCode.NO_PERMISSION, `Sending message to topic[${header.topic}] is forbidden.`);
  }
  let topic = context.topics.get(header.topic);
  if (topic === undefined) {
    const isRetry = header.topic.startsWith(RETRY_GROUP_TOPIC_PREFIX);
    topic = isRetry
      ? context.topics.createRetryTopic(header.topic.slice(RETRY_GROUP_TOPIC_PREFIX.length))
      : context.topics.createInSendMessage(header.topic, header.defaultTopic, header.defaultTopicQueueNums);
  }
  if (topic === undefined) {
    return reply(request, ResponseCode.TOPIC_NOT_EXIST, `topic[${header.topic}] not exist, apply first please!`);
  }
  if ((topic.perm & Perm.WRITE) === 0) {
    return reply(request, ResponseCode.NO_PERMISSION, `the topic[${header.topic}] sending message is forbidden`);
  }
  const queueLimit = Math.max(topic.readQueueNums, topic.writeQueueNums);
  let queueId = header.queueId;
  // A negative queue id lets the broker choose (RocketMQ picks a random writable queue).
  if (queueId < 0) queueId = Math.floor(Math.random() * Math.max(1, topic.writeQueueNums));
  if (queueId >= queueLimit) {
    const remark = `request queueId[${queueId}] is illegal, topic:[${header.topic}] `
      + `topicConfig.writeQueueNums:[${topic.writeQueueNums}] producer:[${header.producerGroup}]`;
    return reply(request, ResponseCode.INVALID_PARAMETER, remark);
  }
  return { topic, queueId };
}

/**
 * Where a sent message is stored: a %RETRY% message past its maximum goes to %DLQ%<group>,
 * a delayed one to SCHEDULE_TOPIC_XXXX (see ./schedule/retry-dlq.ts).
 */
export function routeRetryMessage(
  context: BrokerContext,
  header: SendMessageRequestHeader,
  message: AppendMessage,
): AppendMessage {
  return routeSentMessage(context, header, message);
}

/** The response to a failed append or flush: store errors map to RocketMQ's put-status codes. */
export function storeErrorResponse(request: RemotingCommand, error: unknown, context: BrokerContext): RemotingCommand {
  if (error instanceof StoreError) {
    switch (error.code) {
      case 'DISK_FULL':
        return reply(request, ResponseCode.SERVICE_NOT_AVAILABLE,
          `service not available now: the broker's disk is full (${error.message}); free space or add a broker`);
      case 'MESSAGE_TOO_LARGE':
      case 'PROPERTIES_TOO_LARGE':
      case 'TOPIC_TOO_LONG':
      case 'INVALID_ARGUMENT':
        return reply(request, ResponseCode.MESSAGE_ILLEGAL, `the message is illegal: ${error.message}`);
      case 'CLOSED':
        return reply(request, ResponseCode.SERVICE_NOT_AVAILABLE, 'the broker is shutting down');
      default:
        break;
    }
  }
  context.logger.error('append failed', { error: errorMessage(error) });
  return reply(request, ResponseCode.SYSTEM_ERROR, `append failed: ${errorMessage(error)}`);
}

function sizeProblem(context: BrokerContext, body: Buffer, properties: Buffer): string | null {
  if (body.length > context.options.maxMessageSize) {
    return `the message body size ${body.length} is over the limit ${context.options.maxMessageSize}`;
  }
  if (properties.length > PROPERTIES_BYTES_MAX) {
    return `the message properties length ${properties.length} is over the limit ${PROPERTIES_BYTES_MAX}`;
  }
  return null;
}

/** Builds the records of a request (one, or one per batch entry). Returns a remark on bad input. */
function buildMessages(context: BrokerContext, request: RemotingCommand, header: SendMessageRequestHeader,
  target: SendTarget, born: BornAddress, predecoded: MessageProperties | undefined):
  { messages: AppendMessage[]; uniqKeys: string[]; wait: boolean } | string {
  const base = {
    topic: target.topic.topicName, queueId: target.queueId, sysFlag: header.sysFlag, bornTimestamp: header.bornTimestamp,
    bornHost: born.host, bornPort: born.port, bornHostPacked: born.packed, reconsumeTimes: header.reconsumeTimes ?? 0,
  };
  const body = request.body ?? Buffer.alloc(0);
  if (request.code !== RequestCode.SEND_BATCH_MESSAGE) {
    const propertiesText = header.properties ?? '';
    const properties = Buffer.from(propertiesText, 'utf8');
    const problem = sizeProblem(context, body, properties);
    if (problem !== null) return problem;
    const decoded = predecoded ?? decodeProperties(propertiesText);
    const uniq = decoded[MessageProperty.UNIQ_KEY];
    // Spelled out rather than spread from `base`: the spread's shape never settled and its
    // property definitions took the slow path on every send (perf, HTTP produce load).
    const sent: AppendMessage = {
      topic: base.topic, queueId: base.queueId, sysFlag: base.sysFlag, bornTimestamp: base.bornTimestamp,
      bornHost: base.bornHost, bornPort: base.bornPort, bornHostPacked: base.bornHostPacked, reconsumeTimes: base.reconsumeTimes,
      body, properties, flag: header.flag,
    };
    // A prepared message becomes a half message as sent (its DELAY waits for the commit); any
    // other goes where retry/DLQ and delay rules put it.
    const half = halfMessageIfPrepared(header, decoded, sent);
    const message = half !== sent ? half : mayBeRerouted(sent.topic, decoded) ? routeRetryMessage(context, header, sent) : sent;
    return { messages: [message], uniqKeys: uniq === undefined ? [] : [uniq], wait: decoded[MessageProperty.WAIT] !== 'false' };
  }
  const messages: AppendMessage[] = [];
  const uniqKeys: string[] = [];
  // The batch's own properties (5.x clients put the batch's UNIQ_KEY there) are not copied
  // into the inner messages: each inner message keeps its own UNIQ_KEY, as 4.9 brokers did.
  for (const entry of decodeBatch(body)) {
    const properties = Buffer.from(encodeProperties(entry.properties), 'utf8');
    const problem = sizeProblem(context, entry.body, properties);
    if (problem !== null) return problem;
    const uniq = entry.properties[MessageProperty.UNIQ_KEY];
    if (uniq !== undefined) uniqKeys.push(uniq);
    messages.push(routeRetryMessage(context, header, { ...base, body: entry.body, properties, flag: entry.flag }));
  }
  if (messages.length === 0) return 'the batch is empty';
  return { messages, uniqKeys, wait: decodeProperties(header.properties)[MessageProperty.WAIT] !== 'false' };
}

/**
 * The recallHandle of a single message stored as a timer message (RocketMQ 5.3 attaches one to
 * such sends; not to batches, nor to retry topics): RECALL_MESSAGE cancels it with this.
 */
function recallHandleOf(context: BrokerContext, request: RemotingCommand, stored: AppendMessage): string | undefined {
  if (stored.topic !== TIMER_TOPIC || request.code === RequestCode.SEND_BATCH_MESSAGE) return undefined;
  const properties = decodeProperties(stored.properties.toString('utf8'));
  return recallHandleFor(context, properties[MessageProperty.REAL_TOPIC], properties[MessageProperty.UNIQ_KEY], Number(properties[TIMER_OUT_MS]));
}

function recallHandleFor(context: BrokerContext, realTopic: string | undefined, uniqKey: string | undefined,
  due: number): string | undefined {
  if (realTopic === undefined || uniqKey === undefined || !Number.isSafeInteger(due) || realTopic.startsWith(RETRY_GROUP_TOPIC_PREFIX)) {
    return undefined;
  }
  // One past the due time, as RocketMQ does: the recall marker then fires in the message's tick
  // or the next, never before it.
  return encodeRecallHandle({ topic: realTopic, brokerName: context.options.brokerName, deliverTimeMs: due + 1, messageId: uniqKey });
}

function successResponse(request: RemotingCommand, results: ReadonlyArray<Pick<StoredSend, 'msgId' | 'queueOffset'>>,
  queueId: number, uniqKeys: string[], code: number = ResponseCode.SUCCESS, recallHandle?: string,
  inProcess?: InProcessSend): RemotingCommand {
  const first = results[0] as StoredSend;
  if (inProcess !== undefined) {
    // The in-process caller reads the outcome as values: formatting the header fields to
    // strings only for it to parse them back was a measurable part of an HTTP produce.
    const offsetMsgIds = new Array<string>(results.length);
    for (let i = 0; i < results.length; i++) offsetMsgIds[i] = (results[i] as StoredSend).msgId;
    inProcess.stored = { queueId, queueOffset: first.queueOffset, offsetMsgIds, ...(recallHandle === undefined ? {} : { recallHandle }) };
    return makeResponse(request, code);
  }
  // SendMessageResponseHeader's fields, formatted here rather than through the header schema:
  // this runs once per stored message and the generic encoder was a tenth of a send's cost.
  const extFields: Record<string, string> = {
    msgId: results.length === 1 ? first.msgId : results.map((result) => result.msgId).join(','),
    queueId: String(queueId),
    queueOffset: String(first.queueOffset),
    MSG_REGION: 'DefaultRegion',
    TRACE_ON: 'true',
  };
  if (uniqKeys.length > 0) extFields['transactionId'] = uniqKeys.length === 1 ? uniqKeys[0] as string : uniqKeys.join(',');
  if (recallHandle !== undefined) extFields['recallHandle'] = recallHandle;
  return makeResponse(request, code, { extFields });
}

/** A response now, or later when it must wait for the group commit. */
type MaybeAsync<T> = T | Promise<T>;

/** Replies (after the same flush wait as the original would) with what a repeated send stored first. */
function duplicateResponse(context: BrokerContext, request: RemotingCommand, topic: string, stored: StoredSend[],
  uniqKeys: string[], wait: boolean, inProcess: InProcessSend | undefined): MaybeAsync<RemotingCommand> {
  const first = stored[0] as StoredSend;
  const endOffset = Math.max(...stored.map((s) => s.endOffset));
  // A retried timer send (its first answer lost) gets the first answer's recallHandle: made from
  // the stored copy, whose time a relative delay recounted from the retry would not match.
  const recallHandle = request.code === RequestCode.SEND_BATCH_MESSAGE || first.timerOutMs === undefined
    ? undefined : recallHandleFor(context, topic, uniqKeys[0], first.timerOutMs);
  return flushedResponse(context, request, endOffset, wait,
    (code) => successResponse(request, stored, first.queueId, uniqKeys, code, recallHandle, inProcess));
}

/**
 * With SYNC_FLUSH (and WAIT not false) the reply waits until `endOffset` is durable; otherwise it
 * is made at once (no promise: the HTTP gateway can then answer within the same callback).
 */
function flushedResponse(context: BrokerContext, request: RemotingCommand, endOffset: number, wait: boolean,
  success: (code?: number) => RemotingCommand): MaybeAsync<RemotingCommand> {
  if (context.store.flushDiskType !== 'SYNC_FLUSH' || !wait) return success();
  const waitStarted = performance.now();
  return context.store.waitFlushed(endOffset).then(() => {
    context.stats.traffic.flushWaitLatency.observe(performance.now() - waitStarted);
    return success();
  }, (error: unknown) => {
    if (error instanceof StoreError && error.code === 'FLUSH_DISK_TIMEOUT') return success(ResponseCode.FLUSH_DISK_TIMEOUT);
    return storeErrorResponse(request, error, context);
  });
}

function handleSend(context: BrokerContext, dedup: SendDeduplicator, request: RemotingCommand,
  connectionAddress: string, inProcess?: InProcessSend): MaybeAsync<RemotingCommand> {
  const started = performance.now();
  const observe = (): void => context.stats.traffic.sendLatency.observe(performance.now() - started);
  let response: MaybeAsync<RemotingCommand>;
  try {
    response = handleSendInner(context, dedup, request, connectionAddress, inProcess);
  } catch (error) {
    // A refusal thrown to an in-process caller (timer flow control for the gateway) is a send
    // answered all the same, as its remoting twin (a SYSTEM_ERROR reply) is.
    observe();
    throw error;
  }
  if (!(response instanceof Promise)) {
    observe();
    return response;
  }
  return response.finally(observe);
}

function handleSendInner(context: BrokerContext, dedup: SendDeduplicator, request: RemotingCommand,
  connectionAddress: string, inProcess?: InProcessSend): MaybeAsync<RemotingCommand> {
  const header = inProcess?.header ?? decodeSendMessageHeader(request.code, request.extFields);
  const target = checkTopic(context, request, header);
  if (!('topic' in target && 'queueId' in target)) return target;
  const refused = transactionSendProblem(context, request, header);
  if (refused !== null) return refused;
  let built;
  try {
    built = buildMessages(context, request, header, target, bornAddressOf(connectionAddress), inProcess?.properties);
  } catch (error) {
    if (error instanceof TimerFlowControlError) {
      if (inProcess?.throwFlowControl === true) throw error;
      return reply(request, ResponseCode.SYSTEM_ERROR, error.message);
    }
    return reply(request, ResponseCode.MESSAGE_ILLEGAL, `the message is illegal: ${errorMessage(error)}`);
  }
  if (typeof built === 'string') return reply(request, ResponseCode.MESSAGE_ILLEGAL, built);
  const wait = built.wait;
  // A UNIQ_KEY minted for this very send cannot have been stored before: no lookup.
  const storedIn = (built.messages[0] as AppendMessage).topic;
  const duplicate = inProcess?.uniqKeysMinted === true ? null
    : dedup.lookup(header.topic, built.uniqKeys, Date.now(), isParkingTopic(storedIn) ? storedIn : undefined);
  if (duplicate !== null) return duplicateResponse(context, request, header.topic, duplicate, built.uniqKeys, wait, inProcess);
  let results: AppendResult[];
  try {
    results = built.messages.length === 1
      ? [context.store.append(built.messages[0] as AppendMessage)]
      : context.store.appendBatch(built.messages);
  } catch (error) {
    return storeErrorResponse(request, error, context);
  }
  context.stats.onPut(results.length);
  for (let i = 0; i < results.length; i++) {
    if ((built.messages[i] as AppendMessage).topic === TIMER_TOPIC) context.timerStored((results[i] as AppendResult).queueOffset);
  }
  let bytes = 0;
  for (const result of results) bytes += result.size;
  context.stats.traffic.onTopicPut(header.topic, results.length, bytes);
  // Remembered before the flush wait: a retry arriving meanwhile must find it.
  if (built.uniqKeys.length === results.length) {
    const now = Date.now();
    for (let i = 0; i < results.length; i++) dedup.remember(header.topic, built.uniqKeys[i] as string, results[i] as AppendResult, now);
  }
  const last = results[results.length - 1] as AppendResult;
  const recallHandle = recallHandleOf(context, request, built.messages[0] as AppendMessage);
  return flushedResponse(context, request, last.endOffset, wait,
    (code) => successResponse(request, results, target.queueId, built.uniqKeys, code, recallHandle, inProcess));
}

/**
 * The send path as a service: the remoting handler and the HTTP gateway share it (and with it
 * the de-duplication window). `bornAddress` is the client's "ip:port".
 */
export interface SendService {
  /**
   * Handles one send. The answer comes at once unless it waits for a SYNC_FLUSH group commit.
   * `inProcess`: what an in-process caller (the gateway) already knows, to skip re-deriving it.
   * @throws TimerFlowControlError only when `inProcess.throwFlowControl` asks for it.
   */
  send(request: RemotingCommand, bornAddress: string, inProcess?: InProcessSend): RemotingCommand | Promise<RemotingCommand>;
}

/** A send made inside the broker process (HTTP and WebSocket gateway), with what it already knows. */
export interface InProcessSend {
  /** The request's header, not encoded to strings and parsed back. */
  header: SendMessageRequestHeader;
  /** `header.properties` decoded (single-message sends only). */
  properties?: MessageProperties;
  /** Every UNIQ_KEY was generated for this send (none was chosen by the client): no duplicate is possible. */
  uniqKeysMinted?: boolean;
  /**
   * Throw TimerFlowControlError instead of answering SYSTEM_ERROR when timerMaxPendingMessages
   * is reached: RocketMQ's answer cannot be told apart from a real internal error, while an HTTP
   * caller can say "busy, retry later" (503 + Retry-After).
   */
  throwFlowControl?: boolean;
  /**
   * Filled by the send path when it answers SUCCESS or FLUSH_DISK_TIMEOUT: what a remoting
   * client reads from the response header (which in-process answers leave empty).
   */
  stored?: InProcessStored;
}

/** A stored send's outcome as values (SendMessageResponseHeader's fields). */
export interface InProcessStored {
  queueId: number;
  /** Queue offset of the first message. */
  queueOffset: number;
  /** Offset message id of each message, in order. */
  offsetMsgIds: string[];
  /** A single timer message's handle for RECALL_MESSAGE. */
  recallHandle?: string;
}

export function createSendService(context: BrokerContext): SendService {
  const o = context.options;
  const dedup = new SendDeduplicator({
    enabled: o.sendDedupEnable, windowMs: o.sendDedupWindowSeconds * 1000, maxKeys: o.sendDedupMaxKeys,
  }, context.store);
  return { send: (request, bornAddress, inProcess) => handleSend(context, dedup, request, bornAddress, inProcess) };
}

/** The send handler (all three codes). */
export function sendProcessor(service: SendService): RequestHandler {
  return (request, requestContext) => service.send(request, requestContext.connection.remoteAddress);
}
