// Concurrent consumption: pulled messages are cut into batches of consumeMessageBatchMaxSize and
// handed to the handler in parallel (bounded by the consumer's limiter). A failed message is sent
// back for redelivery through %RETRY%group (CONSUMER_SEND_MSG_BACK, else a re-send by an inner
// producer); only when both fail is it consumed again locally. The committed offset is always
// the lowest one still buffered, so a crash redelivers rather than skips.

import { MessageProperty } from '../protocol/index.js';
import { sendMessageBack } from './consumer-api.js';
import { callHandler, logUndecodable, newContext, submit, type ConsumeHost } from './consume-service.js';
import type { MessageDecodeError } from './errors.js';
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
    const host = this.#host;
    let readable = messages;
    if (messages.some((message) => host.decodeError(message) !== undefined)) {
      readable = [];
      for (const message of messages) {
        const error = host.decodeError(message);
        if (error === undefined) readable.push(message);
        else submit(host, () => this.#failUndecodable(pq, message, error, true));
      }
    }
    const batch = host.options.consumeMessageBatchMaxSize ?? 1;
    for (let i = 0; i < readable.length; i += batch) {
      const chunk = readable.slice(i, i + batch);
      submit(host, () => this.#consume(pq, chunk));
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

  /**
   * Settles a message whose body cannot be decoded as a failed one. Clustering: sent back with
   * CONSUMER_SEND_MSG_BACK, so the broker redelivers it and after maxReconsumeTimes moves it to
   * the DLQ; the re-send fallback is not used, since a re-sent copy would lose the sysFlag that
   * says its body is compressed. Broadcasting: skipped.
   */
  async #failUndecodable(pq: ProcessQueue, message: MessageExt, error: MessageDecodeError, first: boolean): Promise<void> {
    const host = this.#host;
    if (pq.dropped || !host.running()) return;
    const clustering = host.messageModel === 'CLUSTERING';
    if (first) logUndecodable(host, message, error, clustering ? 'send back for redelivery' : 'skipped (broadcasting)');
    if (clustering) {
      try {
        await sendMessageBack(host.core, message, host.groupName, 0, host.options.maxReconsumeTimes ?? 16);
      } catch (sendError) {
        // Its offset stays uncommitted meanwhile, so a restart cannot skip it either.
        host.core.logger.warn('send back of an undecodable message failed; will try again', {
          msgId: message.msgId, error: String(sendError),
        });
        host.core.scheduler.once('undecodable send back', SEND_BACK_RETRY_DELAY_MS, () => {
          submit(host, () => this.#failUndecodable(pq, message, error, false));
        });
        return;
      }
    }
    const offset = pq.remove([message]);
    if (offset >= 0 && !pq.dropped) host.offsets.update(pq.queue, offset, true);
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
