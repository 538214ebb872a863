// RocketMQ 5.3's recall handle: what a send of a timer message returns so the producer can
// cancel it (RECALL_MESSAGE) before it fires. Version 1 is the UTF-8 text
// "v1 <topic> <brokerName> <deliver time ms> <UNIQ_KEY>" in URL-safe Base64 with padding, as
// Java's Base64.getUrlEncoder writes it; any client that received one can recall with it.

/** A handle that is not a recall handle this broker (or client) understands. */
export class RecallHandleError extends Error {
  readonly code = 'RECALL_HANDLE_INVALID';
}

export interface RecallHandle {
  topic: string;
  brokerName: string;
  /** The timer's delivery time (epoch ms) as the handle carries it. */
  deliverTimeMs: number;
  /** The recalled message's client id (UNIQ_KEY). */
  messageId: string;
}

const VERSION_1 = 'v1';
const BASE64_URL = /^[A-Za-z0-9_-]+={0,2}$/;

export function encodeRecallHandle(handle: RecallHandle): string {
  const text = [VERSION_1, handle.topic, handle.brokerName, String(handle.deliverTimeMs), handle.messageId].join(' ');
  const encoded = Buffer.from(text, 'utf8').toString('base64url');
  return encoded + '='.repeat((4 - (encoded.length % 4)) % 4);
}

/** @throws RecallHandleError for anything but a well-formed version 1 handle. */
export function decodeRecallHandle(encoded: string): RecallHandle {
  if (encoded.length === 0 || encoded.length > 4096 || !BASE64_URL.test(encoded)) {
    throw new RecallHandleError('recall handle is invalid: not URL-safe Base64');
  }
  const items = Buffer.from(encoded, 'base64url').toString('utf8').split(' ');
  if (items[0] !== VERSION_1 || items.length < 5) throw new RecallHandleError('recall handle is invalid: not a version 1 handle');
  const [, topic, brokerName, time, messageId] = items as [string, string, string, string, string];
  const deliverTimeMs = Number(time);
  if (topic === '' || brokerName === '' || messageId === '' || !Number.isSafeInteger(deliverTimeMs)) {
    throw new RecallHandleError('recall handle is invalid: empty field or a time that is not an integer');
  }
  return { topic, brokerName, deliverTimeMs, messageId };
}
