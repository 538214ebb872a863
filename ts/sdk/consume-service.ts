// What the concurrent and orderly consume services share: the view of the push consumer they
// work against, and one guarded handler call (timeout, thrown errors, iterator abandonment all
// become an Outcome, so nothing a handler does can reject in the background).

import type { ClientCore } from './client-core.js';
import type { MessageDecodeError } from './errors.js';
import type { ConcurrencyLimiter } from './limiter.js';
import type { MessageExt } from './message.js';
import type { OffsetStore } from './offset-store.js';
import type { ProcessQueue } from './process-queue.js';
import {
  ConsumeStatus, type ConsumeContext, type MessageHandler, type MessageModel, type PushConsumerOptions,
} from './push-consumer-options.js';

export type Outcome = 'SUCCESS' | 'FAILED' | 'ABANDON';

/** Thrown by the iterator's internal handler when the application stopped iterating. */
export const ABANDONED = Symbol('abandoned');

/** The part of a PushConsumer the consume services need; the consumer owns all of it. */
export interface ConsumeHost {
  readonly core: ClientCore;
  readonly options: PushConsumerOptions;
  readonly groupName: string;
  readonly messageModel: MessageModel;
  readonly orderly: boolean;
  readonly offsets: OffsetStore;
  readonly limiter: ConcurrencyLimiter;
  /** False once shutdown began: buffered messages then stay uncommitted. */
  running(): boolean;
  /** The handler in use; set before any message can arrive. */
  handler(): MessageHandler;
  /** Why a pulled message's body could not be decoded; undefined for a normal message. */
  decodeError(message: MessageExt): MessageDecodeError | undefined;
}

/**
 * A body no codec here decodes never reaches the handler (it could not read it, and waiting
 * cannot fix it); the services settle it as a failed message instead, so the queue moves on.
 */
export function logUndecodable(host: ConsumeHost, message: MessageExt, error: MessageDecodeError, action: string): void {
  host.core.logger.error('message body cannot be decoded; handled as a consume failure', {
    msgId: message.msgId, codec: error.codec, topic: message.topic, queueId: message.queueId,
    queueOffset: message.queueOffset, reconsumeTimes: message.reconsumeTimes, action, error: error.message,
  });
}

/** Runs consumption work under the concurrency bound; a failure is logged, never unhandled. */
export function submit(host: ConsumeHost, task: () => Promise<void>): void {
  host.limiter.run(task).catch((error: unknown) =>
    host.core.logger.error('consume task failed', { error: String(error) }));
}

export function newContext(host: ConsumeHost, pq: ProcessQueue): ConsumeContext {
  return {
    messageQueue: pq.queue,
    orderly: host.orderly,
    delayLevelWhenNextConsume: 0,
    suspendCurrentQueueTimeMillis: host.options.suspendCurrentQueueTimeMillis ?? 1000,
    ackIndex: Number.MAX_SAFE_INTEGER,
  };
}

export async function callHandler(host: ConsumeHost, messages: MessageExt[], context: ConsumeContext): Promise<Outcome> {
  const handler = host.handler();
  const timeoutMs = host.options.consumeTimeoutMs ?? 15 * 60_000;
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<'TIMEOUT'>((resolve) => { timer = setTimeout(() => resolve('TIMEOUT'), timeoutMs); });
    const result = await Promise.race([Promise.resolve().then(() => handler(messages, context)), timeout]);
    if (result === 'TIMEOUT') {
      host.core.logger.warn('handler timed out', { timeoutMs, count: messages.length });
      return 'FAILED';
    }
    const success = result === undefined || result === ConsumeStatus.CONSUME_SUCCESS
      || result === ConsumeStatus.SUCCESS;
    if (success) return 'SUCCESS';
    return 'FAILED';
  } catch (error) {
    if (error === ABANDONED) return 'ABANDON';
    host.core.logger.warn('handler threw', { error: String(error), count: messages.length });
    return 'FAILED';
  } finally {
    clearTimeout(timer);
  }
}
