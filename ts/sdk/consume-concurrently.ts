// Concurrent consumption: pulled messages are cut into batches of consumeMessageBatchMaxSize and
// handed to the handler in parallel (bounded by the consumer's limiter). A failed message is sent
// back for redelivery through %RETRY%group (CONSUMER_SEND_MSG_BACK, else a re-send by an inner
// producer); only when both fail is it consumed again locally. The committed offset is always
// the lowest one still buffered, so a crash redelivers rather than skips.

import { MessageProperty } from '../protocol/index.js';
import { sendMessageBack } from './consumer-api.js';
import { callHandler, newContext, submit, type ConsumeHost } from './consume-service.js';
import type { MessageExt } from './message.js';
import type { ProcessQueue } from './process-queue.js';
import { Producer, sendForRetry } from './producer.js';
import { retryTopicOf } from './push-consumer-options.js';

const SEND_BACK_RETRY_DELAY_MS = 5000;

export class ConcurrentConsumeService {
  readonly #host: ConsumeHost;
  #retryProducer: Producer | undefined;

  constructor(host: ConsumeHost) {
    this.#host = host;
  }

  /** Schedules the handler calls for messages just added to the queue. */
  submitMessages(pq: ProcessQueue, messages: MessageExt[]): void {
    const batch = this.#host.options.consumeMessageBatchMaxSize ?? 1;
    for (let i = 0; i < messages.length; i += batch) {
      const chunk = messages.slice(i, i + batch);
      submit(this.#host, () => this.#consume(pq, chunk));
    }
  }

  /** Closes the inner producer used for re-sends, if one was started. */
  async shutdown(): Promise<void> {
    await this.#retryProducer?.shutdown();
  }

  async #consume(pq: ProcessQueue, messages: MessageExt[]): Promise<void> {
    const host = this.#host;
    // Shutting down: buffered messages stay uncommitted and are delivered again later.
    if (pq.dropped || !host.running()) return;
    const context = newContext(host, pq);
    const outcome = await callHandler(host, messages, context);
    if (outcome === 'ABANDON' || pq.dropped) return;
    let keep: MessageExt[] = [];
    // Java semantics: a failed call fails the whole batch; a successful one may ack a prefix.
    const failed = outcome === 'FAILED' ? messages : messages.slice(Math.max(0, context.ackIndex + 1));
    if (failed.length > 0) {
      if (host.messageModel === 'BROADCASTING') {
        host.core.logger.warn('broadcast consumption failed; messages dropped', { count: failed.length });
      } else {
        for (const message of failed) {
          if (!(await this.#sendBack(message, context.delayLevelWhenNextConsume))) keep.push(message);
        }
      }
    }
    const done = keep.length === 0 ? messages : messages.filter((message) => !keep.includes(message));
    const offset = pq.remove(done);
    if (offset >= 0 && !pq.dropped) host.offsets.update(pq.queue, offset, true);
    if (keep.length > 0) {
      for (const message of keep) message.reconsumeTimes += 1;
      const retry = keep;
      keep = [];
      host.core.scheduler.once('local reconsume', SEND_BACK_RETRY_DELAY_MS, () => {
        submit(host, () => this.#consume(pq, retry));
      });
    }
  }

  /** Sends a failed message back for redelivery; false if both ways failed. */
  async #sendBack(message: MessageExt, delayLevel: number): Promise<boolean> {
    const host = this.#host;
    const maxReconsumeTimes = host.options.maxReconsumeTimes ?? 16;
    try {
      await sendMessageBack(host.core, message, host.groupName, delayLevel, maxReconsumeTimes);
      return true;
    } catch (error) {
      host.core.logger.warn('send back failed; re-sending to the retry topic', {
        msgId: message.msgId, error: String(error),
      });
    }
    try {
      const producer = await this.#ensureRetryProducer();
      const properties: Record<string, string> = { ...message.properties };
      delete properties[MessageProperty.RECONSUME_TIME];
      delete properties[MessageProperty.MAX_RECONSUME_TIMES];
      delete properties[MessageProperty.DELAY];
      properties[MessageProperty.RETRY_TOPIC] = message.topic;
      properties[MessageProperty.ORIGIN_MESSAGE_ID] ??= message.msgId;
      const retry = {
        topic: retryTopicOf(host.groupName), body: message.body, flag: message.flag,
        delayTimeLevel: 3 + message.reconsumeTimes,
      };
      await producer[sendForRetry](retry, properties, message.reconsumeTimes + 1, maxReconsumeTimes);
      return true;
    } catch (error) {
      host.core.logger.warn('re-send to the retry topic failed; will consume again locally', {
        msgId: message.msgId, error: String(error),
      });
      return false;
    }
  }

  async #ensureRetryProducer(): Promise<Producer> {
    if (this.#retryProducer === undefined) {
      const producer = new Producer({
        ...this.#host.options, groupName: 'CLIENT_INNER_PRODUCER', logger: this.#host.core.logger,
      });
      await producer.start();
      this.#retryProducer = producer;
    }
    return this.#retryProducer;
  }
}
