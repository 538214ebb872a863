// The push consumer's public vocabulary: options, handler signature, statuses, and the retry
// topic's name. Kept apart from the consumer so the consume services can share it without an
// import cycle; push-consumer.ts re-exports all of it (the SDK's index imports from there).

import type { AllocateStrategy } from './allocate.js';
import type { ClientOptions } from './client-core.js';
import type { MessageExt, MessageQueue } from './message.js';

/** Clustering: each message to one member of the group. Broadcasting: to every member. */
export type MessageModel = 'CLUSTERING' | 'BROADCASTING';

/** Where a group without a committed offset starts. */
export type ConsumeFromWhere = 'CONSUME_FROM_LAST_OFFSET' | 'CONSUME_FROM_FIRST_OFFSET' | 'CONSUME_FROM_TIMESTAMP';

/** Handler results (Java's ConsumeConcurrentlyStatus and ConsumeOrderlyStatus). */
export const ConsumeStatus = {
  /** Concurrent: done. */
  CONSUME_SUCCESS: 'CONSUME_SUCCESS',
  /** Concurrent: send back, redeliver later. */
  RECONSUME_LATER: 'RECONSUME_LATER',
  /** Orderly: done. */
  SUCCESS: 'SUCCESS',
  /** Orderly: retry the same messages after `suspendCurrentQueueTimeMillis`. */
  SUSPEND_CURRENT_QUEUE_A_MOMENT: 'SUSPEND_CURRENT_QUEUE_A_MOMENT',
} as const;
export type ConsumeStatus = (typeof ConsumeStatus)[keyof typeof ConsumeStatus];

/** Passed to each handler call; the handler may change the retry settings. */
export interface ConsumeContext {
  readonly messageQueue: MessageQueue;
  readonly orderly: boolean;
  /** Concurrent: delay level of the redelivery (0 = broker decides: 3 + reconsumeTimes). */
  delayLevelWhenNextConsume: number;
  /** Orderly: pause before retrying after a failure. */
  suspendCurrentQueueTimeMillis: number;
  /**
   * Concurrent, on success: messages after this index are treated as failed (partial success
   * of a batch). Default: the whole batch.
   */
  ackIndex: number;
}

/** Consumes a batch (≤ consumeMessageBatchMaxSize). Returning nothing means success. */
export type MessageHandler = (
  messages: MessageExt[],
  context: ConsumeContext,
) => ConsumeStatus | void | Promise<ConsumeStatus | void>;

/** PushConsumer options; defaults are RocketMQ's. */
export interface PushConsumerOptions extends ClientOptions {
  groupName: string;
  /** Default CLUSTERING. */
  messageModel?: MessageModel;
  /** Default CONSUME_FROM_LAST_OFFSET. */
  consumeFromWhere?: ConsumeFromWhere;
  /** Start time for CONSUME_FROM_TIMESTAMP, epoch ms. Default 30 minutes ago. */
  consumeTimestamp?: number;
  /** Default allocateAveragely. */
  allocateStrategy?: AllocateStrategy;
  /** Orderly consumption (per-queue serial, broker-locked). Default false. */
  orderly?: boolean;
  /** Handler calls running at once (Java's consumeThreadMax). Default 20. */
  consumeConcurrency?: number;
  /** Messages per handler call. Default 1. */
  consumeMessageBatchMaxSize?: number;
  /** Messages per pull. Default 32. */
  pullBatchSize?: number;
  /** Stop pulling a queue holding this many messages. Default 1000. */
  pullThresholdForQueue?: number;
  /** Stop pulling a queue holding this many MiB of bodies. Default 100. */
  pullThresholdSizeForQueue?: number;
  /** Stop pulling when buffered offsets span more than this. Default 2000. */
  consumeConcurrentlyMaxSpan?: number;
  /** Redeliveries before the broker moves a message to the DLQ. Default 16 (orderly: unlimited). */
  maxReconsumeTimes?: number;
  /** A handler call running longer counts as failed. Default 15 min. */
  consumeTimeoutMs?: number;
  /** Orderly: pause after a failed call. Default 1000 ms. */
  suspendCurrentQueueTimeMillis?: number;
  /** First pause after a failed pull (doubles up to 10 s). Default 1000 ms. */
  pullTimeDelayMillsWhenException?: number;
  /** Default 20 000 ms. */
  rebalanceIntervalMs?: number;
  /** Offset commit period. Default 5000 ms. */
  persistConsumerOffsetIntervalMs?: number;
  /** Broker long-poll hold. Default 15 000 ms. */
  brokerSuspendMaxTimeMillis?: number;
  /** Client timeout of a long poll. Default 30 000 ms. */
  consumerTimeoutMillisWhenSuspend?: number;
  /** Broadcasting offsets directory. Default ~/.rocketmq_offsets. */
  offsetStoreDir?: string;
  /**
   * A new group honours consumeFromWhere even while the queue still holds offset 0 in memory.
   * By default (like Java's client) a broker answers offset 0 for such a group, so it starts
   * at the beginning whatever consumeFromWhere says; `true` asks a 5.x broker not to
   * (QUERY_CONSUMER_OFFSET setZeroIfNotFound=false). Default false.
   */
  strictConsumeFromWhere?: boolean;
  /** How long shutdown waits for running handlers. Default 30 000 ms. */
  shutdownTimeoutMs?: number;
}

/** Name of a group's retry topic. */
export function retryTopicOf(group: string): string {
  return `%RETRY%${group}`;
}
