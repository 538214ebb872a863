// Consumption over HTTP: POP fetch / ack / nack for consumer groups (pop-service.ts), and reads
// by queue and offset for clients that keep their own offsets.
//
//   POST /groups/{group}/topics/{topic}/fetch?max=32&visibilityMs=30000&waitMs=0&expression=*&initMode=first
//   POST /groups/{group}/ack    {"receiptHandles":[...]}
//   POST /groups/{group}/nack   {"receiptHandles":[...], "delayMs": 0}
//   GET  /topics/{topic}/queues/{queueId}/messages?offset=0&max=32
import type { BrokerContext } from '../broker/broker-context.js';
import { decodeStoredMessage } from '../protocol/message-record.js';
import { messageJson } from './admin-routes.js';
import { GatewayError } from './errors.js';
import { intParam, type Exchange } from './http.js';
import { nextOffsetOf, type PopService } from './pop-service.js';

const MAX_FETCH = 1024;

export async function fetchRoute(pop: PopService, exchange: Exchange, group: string, topic: string): Promise<unknown> {
  const q = exchange.query;
  const initMode = q.get('initMode') ?? 'first';
  if (initMode !== 'first' && initMode !== 'last') throw new GatewayError('BAD_REQUEST', 'initMode must be first or last');
  const popped = await pop.fetch({
    group, topic, initMode,
    max: intParam(q, 'max', 32, 1, MAX_FETCH),
    visibilityMs: intParam(q, 'visibilityMs', 30_000, 1_000, 12 * 3_600_000),
    waitMs: intParam(q, 'waitMs', 0, 0, 30_000),
    expression: q.get('expression') ?? '*',
  });
  if (exchange.finished && popped.length > 0) {
    // The client left during the long poll: give the messages back at once.
    pop.nack(group, popped.map((p) => p.receiptHandle), 0);
    return { messages: [] };
  }
  return { messages: popped.map((p) => ({ receiptHandle: p.receiptHandle, deliveryAttempt: p.deliveryAttempt, ...messageJson(p.message) })) };
}

/** `{"receiptHandles": [...], "delayMs"?: n}` from an ack/nack body. */
export function parseSettleBody(body: Buffer): { handles: string[]; delayMs: number } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw new GatewayError('BAD_JSON', 'the body must be JSON: {"receiptHandles": [...]}');
  }
  const value = parsed as { receiptHandles?: unknown; delayMs?: unknown };
  if (typeof parsed !== 'object' || parsed === null || !Array.isArray(value.receiptHandles)
    || !value.receiptHandles.every((h) => typeof h === 'string')) {
    throw new GatewayError('BAD_JSON', 'receiptHandles must be an array of strings');
  }
  const delayMs = value.delayMs ?? 0;
  if (typeof delayMs !== 'number' || !Number.isInteger(delayMs) || delayMs < 0 || delayMs > 12 * 3_600_000) {
    throw new GatewayError('BAD_JSON', 'delayMs must be an integer in [0, 43200000]');
  }
  return { handles: value.receiptHandles as string[], delayMs };
}

/** GET /topics/{topic}/queues/{queueId}/messages: plain reads for clients that keep offsets. */
export function queueMessages(context: BrokerContext, topic: string, queueIdText: string, query: URLSearchParams): unknown {
  const queueId = Number(queueIdText);
  const config = context.topics.get(topic);
  if (config === undefined) throw new GatewayError('NOT_FOUND', `topic ${topic} does not exist on this broker`);
  if (!Number.isInteger(queueId) || queueId < 0 || queueId >= config.readQueueNums) {
    throw new GatewayError('BAD_REQUEST', `queueId must be an integer in [0, ${config.readQueueNums - 1}]`);
  }
  const offset = intParam(query, 'offset', 0, 0, Number.MAX_SAFE_INTEGER);
  const max = intParam(query, 'max', 32, 1, MAX_FETCH);
  const result = context.store.getMessages(topic, queueId, offset, max, 8 * 1024 * 1024);
  const messages = result.status === 'FOUND'
    ? context.store.messageBuffers(result).map((b) => messageJson(decodeStoredMessage(b).message))
    : [];
  const nextOffset = nextOffsetOf(result, offset);
  return { topic, queueId, status: result.status, minOffset: result.minOffset, maxOffset: result.maxOffset, nextOffset, messages };
}
