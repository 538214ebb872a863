// POST /topics/{topic}/messages: HTTP produce through the broker's own send path.
//
// The request becomes a SEND_MESSAGE_V2 (or SEND_BATCH_MESSAGE) command handed to the same
// SendService the remoting port uses, so HTTP sends get identical checks, auto-creation,
// de-duplication and durability (SYNC_FLUSH answers after group commit).
//
// Single message: the body is the message body; metadata from headers:
//   x-bolide-tags, x-bolide-keys (space-separated), x-bolide-delay-level (1..N),
//   x-bolide-deliver-time-ms (epoch ms), x-bolide-delay-ms, x-bolide-queue-id,
//   x-bolide-producer-group, x-bolide-msg-id (32 or 56 hex digits: a client-chosen UNIQ_KEY,
//   so a retried POST is stored once), x-bolide-property-<name> (user property; header names
//   arrive lower-cased: use the batch envelope for case-sensitive names).
// Batch: Content-Type application/vnd.bolide.batch+json, body
//   {"messages":[{"body":"...","bodyEncoding":"utf8"|"base64","tags","keys","properties",
//                 "msgId"}], "queueId"?: n}
// All of a batch goes to one queue (RocketMQ batches are single-queue).
import { encodeBatch, type BatchMessage } from '../protocol/batch.js';
import { RequestCode, ResponseCode } from '../protocol/codes.js';
import { makeRequest, type RemotingCommand } from '../protocol/command.js';
import { createUniqIdGenerator } from '../protocol/message-id.js';
import { encodeProperties, MessageProperty } from '../protocol/properties.js';
import type { SendMessageRequestHeader } from '../protocol/headers.js';
import type { InProcessSend, InProcessStored } from '../broker/send-processor.js';
import { TimerFlowControlError } from '../broker/schedule/timer-message.js';
import { topicNameProblem } from '../broker/topic-config-manager.js';
import { GatewayError } from './errors.js';
import type { Exchange } from './http.js';

export const BATCH_CONTENT_TYPE = 'application/vnd.bolide.batch+json';
const PROPERTY_HEADER_PREFIX = 'x-bolide-property-';
const MSG_ID = /^(?:[0-9A-F]{32}|[0-9A-F]{56})$/i;
export const DEFAULT_PRODUCER_GROUP = 'BOLIDE_HTTP_GATEWAY';

/** What the produce route needs from the broker. */
export interface ProduceTarget {
  send(request: RemotingCommand, bornAddress: string, inProcess?: InProcessSend): RemotingCommand | Promise<RemotingCommand>;
  maxMessageSize: number;
  brokerName: string;
}

export interface ProducedMessage {
  msgId: string;
  offsetMsgId: string;
}

export interface ProduceResult {
  status: 'SEND_OK' | 'FLUSH_DISK_TIMEOUT';
  topic: string;
  brokerName: string;
  queueId: number;
  queueOffset: number;
  messages: ProducedMessage[];
  /** A single timer message's handle for RECALL_MESSAGE (remoting clients can recall with it). */
  recallHandle?: string;
}

const nextUniqId = createUniqIdGenerator();

function badHeader(name: string, value: string, expected: string): GatewayError {
  return new GatewayError('BAD_HEADER', `header ${name}: ${JSON.stringify(value)} is not ${expected}`);
}

function intHeader(exchange: Exchange, name: string, min: number, max: number): number | undefined {
  const text = exchange.header(name);
  if (text === undefined || text === '') return undefined;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < min || value > max) throw badHeader(name, text, `an integer in [${min}, ${max}]`);
  return value;
}

function msgIdOf(value: string | undefined, where: string): string {
  if (value === undefined || value === '') return nextUniqId();
  if (!MSG_ID.test(value)) throw new GatewayError('BAD_HEADER', `${where}: ${JSON.stringify(value)} is not 32 or 56 hex digits`);
  return value.toUpperCase();
}

/** Properties of a single-message POST, from its headers. */
function headerProperties(exchange: Exchange): Record<string, string> {
  const properties: Record<string, string> = {};
  exchange.forEachHeaderWithPrefix(PROPERTY_HEADER_PREFIX, (name, value) => {
    properties[name] = value;
  });
  const tags = exchange.header('x-bolide-tags');
  if (tags) properties[MessageProperty.TAGS] = tags;
  const keys = exchange.header('x-bolide-keys');
  if (keys) properties[MessageProperty.KEYS] = keys;
  const delayLevel = intHeader(exchange, 'x-bolide-delay-level', 1, 1000);
  if (delayLevel !== undefined) properties[MessageProperty.DELAY] = String(delayLevel);
  const deliverAt = intHeader(exchange, 'x-bolide-deliver-time-ms', 0, Number.MAX_SAFE_INTEGER);
  if (deliverAt !== undefined) properties[MessageProperty.TIMER_DELIVER_MS] = String(deliverAt);
  const delayMs = intHeader(exchange, 'x-bolide-delay-ms', 0, Number.MAX_SAFE_INTEGER);
  if (delayMs !== undefined) properties[MessageProperty.TIMER_DELAY_MS] = String(delayMs);
  properties[MessageProperty.UNIQ_KEY] = msgIdOf(exchange.header('x-bolide-msg-id'), 'header x-bolide-msg-id');
  return properties;
}

/** Whether a message's UNIQ_KEY was generated here rather than chosen by the client. */
function mintedHere(chosen: string | undefined): boolean {
  return chosen === undefined || chosen === '';
}

interface EnvelopeMessage {
  body: Buffer;
  properties: Record<string, string>;
}

function stringField(value: unknown, where: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new GatewayError('BAD_JSON', `${where} must be a string`);
  return value;
}

/** Parses and checks the JSON batch envelope. */
function parseEnvelope(body: Buffer): { messages: EnvelopeMessage[]; queueId: number | undefined } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw new GatewayError('BAD_JSON', `the batch envelope is not JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (typeof parsed !== 'object' || parsed === null || !Array.isArray((parsed as { messages?: unknown }).messages)) {
    throw new GatewayError('BAD_JSON', 'the batch envelope must be an object with a "messages" array');
  }
  const envelope = parsed as { messages: unknown[]; queueId?: unknown };
  if (envelope.messages.length === 0) throw new GatewayError('BAD_JSON', 'the batch has no messages');
  let queueId: number | undefined;
  if (envelope.queueId !== undefined) {
    if (!Number.isInteger(envelope.queueId) || (envelope.queueId as number) < 0) {
      throw new GatewayError('BAD_JSON', 'queueId must be a non-negative integer');
    }
    queueId = envelope.queueId as number;
  }
  const messages = envelope.messages.map((raw, index): EnvelopeMessage => {
    const where = `messages[${index}]`;
    if (typeof raw !== 'object' || raw === null) throw new GatewayError('BAD_JSON', `${where} must be an object`);
    const m = raw as Record<string, unknown>;
    const text = stringField(m['body'], `${where}.body`) ?? '';
    const encoding = stringField(m['bodyEncoding'], `${where}.bodyEncoding`) ?? 'utf8';
    if (encoding !== 'utf8' && encoding !== 'base64') throw new GatewayError('BAD_JSON', `${where}.bodyEncoding must be utf8 or base64`);
    const properties: Record<string, string> = {};
    const userProperties = m['properties'];
    if (userProperties !== undefined) {
      if (typeof userProperties !== 'object' || userProperties === null || Array.isArray(userProperties)) {
        throw new GatewayError('BAD_JSON', `${where}.properties must be an object of strings`);
      }
      for (const [key, value] of Object.entries(userProperties)) {
        properties[key] = stringField(value, `${where}.properties.${key}`) ?? '';
      }
    }
    const tags = stringField(m['tags'], `${where}.tags`);
    if (tags) properties[MessageProperty.TAGS] = tags;
    const keys = m['keys'];
    const keyText = Array.isArray(keys) ? keys.map((k, i) => stringField(k, `${where}.keys[${i}]`)).join(' ') : stringField(keys, `${where}.keys`);
    if (keyText) properties[MessageProperty.KEYS] = keyText;
    properties[MessageProperty.UNIQ_KEY] = msgIdOf(stringField(m['msgId'], `${where}.msgId`), `${where}.msgId`);
    return { body: Buffer.from(text, encoding), properties };
  });
  return { messages, queueId };
}

/**
 * A send request with its header already decoded: the broker's send path takes the object as
 * is, so the in-process hop skips encoding the header to strings and parsing it back.
 */
function sendCommand(code: number, topic: string, producerGroup: string, queueId: number, properties: Record<string, string>,
  body: Buffer): { request: RemotingCommand; header: SendMessageRequestHeader } {
  const header: SendMessageRequestHeader = {
    producerGroup, topic, defaultTopic: 'TBW102', defaultTopicQueueNums: 4, queueId, sysFlag: 0,
    bornTimestamp: Date.now(), flag: 0, properties: encodeProperties(properties), reconsumeTimes: 0, unitMode: false,
    batch: code === RequestCode.SEND_BATCH_MESSAGE,
  };
  return { request: makeRequest(code, { body }), header };
}

/** The HTTP status for a send response that is not a success. */
function failureStatus(code: number): number {
  switch (code) {
    case ResponseCode.MESSAGE_ILLEGAL:
      return 400;
    case ResponseCode.NO_PERMISSION:
      return 403;
    case ResponseCode.TOPIC_NOT_EXIST:
      return 404;
    case ResponseCode.SERVICE_NOT_AVAILABLE:
    case ResponseCode.SYSTEM_BUSY:
      return 503;
    default:
      return code === ResponseCode.SYSTEM_ERROR ? 500 : 502;
  }
}

/** One message ready to send: body and the full properties string map (UNIQ_KEY included). */
export interface SendableMessage {
  body: Buffer;
  properties: Record<string, string>;
  /** The UNIQ_KEY was generated by the gateway (the client chose none): it cannot be a retry. */
  uniqKeyMinted?: boolean;
}

/**
 * Sends messages through the broker's send path: one SEND_MESSAGE_V2, or a SEND_BATCH_MESSAGE
 * (one queue) for several. @throws GatewayError BAD_REQUEST, BODY_TOO_LARGE, SEND_REFUSED, TIMER_FLOW_CONTROL
 */
export function sendMessages(target: ProduceTarget, topic: string, producerGroup: string, queueId: number,
  messages: readonly SendableMessage[], bornAddress: string): ProduceResult | Promise<ProduceResult> {
  const topicProblem = topicNameProblem(topic);
  if (topicProblem !== null) throw new GatewayError('BAD_REQUEST', topicProblem);
  if (messages.length === 0) throw new GatewayError('BAD_REQUEST', 'no messages to send');
  for (const m of messages) {
    if (m.body.length > target.maxMessageSize) {
      throw new GatewayError('BODY_TOO_LARGE', `a message body of ${m.body.length} bytes is over maxMessageSize ${target.maxMessageSize}`);
    }
  }
  const { request, header } = messages.length === 1
    ? sendCommand(RequestCode.SEND_MESSAGE_V2, topic, producerGroup, queueId, (messages[0] as SendableMessage).properties, (messages[0] as SendableMessage).body)
    : sendCommand(RequestCode.SEND_BATCH_MESSAGE, topic, producerGroup, queueId, {},
      encodeBatch(messages.map((m): BatchMessage => ({ flag: 0, body: m.body, properties: m.properties }))));
  const single = messages.length === 1 ? messages[0] as SendableMessage : undefined;
  let response: RemotingCommand | Promise<RemotingCommand>;
  const inProcess: InProcessSend = {
    header,
    ...(single === undefined ? {} : { properties: single.properties }),
    uniqKeysMinted: messages.every((m) => m.uniqKeyMinted === true),
    throwFlowControl: true,
  };
  try {
    response = target.send(request, bornAddress, inProcess);
  } catch (error) {
    throw asFlowControlRefusal(error);
  }
  return response instanceof Promise
    ? response.then((r) => produceResult(target, topic, messages, r, inProcess.stored), (error: unknown) => { throw asFlowControlRefusal(error); })
    : produceResult(target, topic, messages, response, inProcess.stored);
}

/** A timer flow-control refusal as the gateway's 503; any other error unchanged. */
function asFlowControlRefusal(error: unknown): unknown {
  if (!(error instanceof TimerFlowControlError)) return error;
  // responseCode: what a remoting client would have been answered for the same send. As a
  // 503 it carries Retry-After (SERVICE_UNAVAILABLE_RETRY_AFTER_S): the backlog drains as
  // timers fire, at no rate the gateway can predict.
  return new GatewayError('TIMER_FLOW_CONTROL', error.message, { responseCode: ResponseCode.SYSTEM_ERROR, cause: error });
}

function produceResult(target: ProduceTarget, topic: string, messages: readonly SendableMessage[], response: RemotingCommand,
  stored: InProcessStored | undefined): ProduceResult {
  if (response.code !== ResponseCode.SUCCESS && response.code !== ResponseCode.FLUSH_DISK_TIMEOUT) {
    throw new GatewayError('SEND_REFUSED', response.remark ?? `send failed with code ${response.code}`, {
      status: failureStatus(response.code), responseCode: response.code,
    });
  }
  if (stored === undefined) {
    throw new GatewayError('SEND_REFUSED', `the send path answered code ${response.code} without its outcome`, { status: 500, responseCode: response.code });
  }
  const produced = new Array<ProducedMessage>(messages.length);
  for (let i = 0; i < messages.length; i++) {
    produced[i] = { msgId: (messages[i] as SendableMessage).properties[MessageProperty.UNIQ_KEY] as string, offsetMsgId: stored.offsetMsgIds[i] ?? '' };
  }
  return {
    ...(stored.recallHandle === undefined ? {} : { recallHandle: stored.recallHandle }),
    status: response.code === ResponseCode.SUCCESS ? 'SEND_OK' : 'FLUSH_DISK_TIMEOUT',
    topic,
    brokerName: target.brokerName,
    queueId: stored.queueId,
    queueOffset: stored.queueOffset,
    messages: produced,
  };
}

let brokerNameJson = { name: '', json: '""' };

/**
 * `JSON.stringify(result)`, written out: produce answers are the gateway's hottest reply and
 * their shape is fixed. Message ids are hex and a stored topic's name is `[%|a-zA-Z0-9_-]+`, so
 * only the broker's name (any string from broker.conf) needs escaping, and it is escaped once.
 */
export function produceResultJson(result: ProduceResult): string {
  let messages = '';
  for (let i = 0; i < result.messages.length; i++) {
    const m = result.messages[i] as ProducedMessage;
    messages += `${i === 0 ? '' : ','}{"msgId":"${m.msgId}","offsetMsgId":"${m.offsetMsgId}"}`;
  }
  if (brokerNameJson.name !== result.brokerName) brokerNameJson = { name: result.brokerName, json: JSON.stringify(result.brokerName) };
  // A recall handle is URL-safe Base64: nothing to escape either.
  return `{${result.recallHandle === undefined ? '' : `"recallHandle":"${result.recallHandle}",`}"status":"${result.status}",`
    + `"topic":"${result.topic}","brokerName":${brokerNameJson.json},`
    + `"queueId":${result.queueId},"queueOffset":${result.queueOffset},"messages":[${messages}]}`;
}

/** Properties of a message described field by field (WebSocket frames, SDK-like shapes). */
export function messageProperties(m: { tags?: string; keys?: readonly string[]; properties?: Record<string, string>;
  delayLevel?: number; deliverTimeMs?: number; msgId?: string }): Record<string, string> {
  const properties: Record<string, string> = { ...(m.properties ?? {}) };
  if (m.tags) properties[MessageProperty.TAGS] = m.tags;
  if (m.keys !== undefined && m.keys.length > 0) properties[MessageProperty.KEYS] = m.keys.join(' ');
  if (m.delayLevel !== undefined && m.delayLevel > 0) properties[MessageProperty.DELAY] = String(m.delayLevel);
  if (m.deliverTimeMs !== undefined && m.deliverTimeMs > 0) properties[MessageProperty.TIMER_DELIVER_MS] = String(m.deliverTimeMs);
  properties[MessageProperty.UNIQ_KEY] = msgIdOf(m.msgId, 'msgId');
  return properties;
}

/** Whether the request carries a batch envelope (by its Content-Type, parameters ignored). */
export function isBatchRequest(exchange: Exchange): boolean {
  const contentType = exchange.header('content-type');
  if (contentType === undefined || contentType.length < BATCH_CONTENT_TYPE.length) return false;
  return contentType.split(';')[0]?.trim().toLowerCase() === BATCH_CONTENT_TYPE;
}

/** Handles one produce exchange end to end (body already read); synchronous unless it waits for a flush. */
export function produce(target: ProduceTarget, exchange: Exchange, topic: string, body: Buffer,
  isBatch = isBatchRequest(exchange)): ProduceResult | Promise<ProduceResult> {
  const producerGroup = exchange.header('x-bolide-producer-group') || DEFAULT_PRODUCER_GROUP;
  if (isBatch) {
    const { messages, queueId } = parseEnvelope(body);
    return sendMessages(target, topic, producerGroup, queueId ?? -1, messages, exchange.remoteAddress());
  }
  const properties = headerProperties(exchange);
  const queueId = intHeader(exchange, 'x-bolide-queue-id', 0, 65_535) ?? -1;
  const uniqKeyMinted = mintedHere(exchange.header('x-bolide-msg-id'));
  return sendMessages(target, topic, producerGroup, queueId, [{ body, properties, uniqKeyMinted }], exchange.remoteAddress());
}
