/**
 * Bolide's RocketMQ client SDK: a Node.js client speaking Apache RocketMQ's remoting protocol
 * (TCP, name servers + brokers), usable against Apache RocketMQ 4.9/5.x and Bolide.
 *
 * ```ts
 * import { Producer, PushConsumer } from 'bolide-client';
 *
 * const producer = new Producer({ groupName: 'pg', namesrvAddr: '127.0.0.1:9876' });
 * await producer.start();
 * const result = await producer.send({ topic: 'Orders', body: 'hello', tags: 'TagA', keys: 'order-1' });
 *
 * const consumer = new PushConsumer({ groupName: 'cg', namesrvAddr: '127.0.0.1:9876' });
 * consumer.subscribe('Orders', 'TagA || TagB');
 * consumer.onMessage(async (messages) => { for (const m of messages) handle(m); });
 * await consumer.start();
 * ...
 * await consumer.shutdown();   // drains running handlers, commits offsets
 * await producer.shutdown();
 * ```
 *
 * Everything exported here is public API; other files under ts/sdk are internal.
 * @module
 */

// ------------------------------------------------------------------ clients

/** Sends messages: `send` (awaited or pipelined), `sendOneway`, `sendBatch`, `send(msg, selector, arg)`. */
export { Producer, AUTO_CREATE_TOPIC_KEY, validateTopic } from './producer.js';
export type { ProducerOptions } from './producer.js';

/** Transactional messages: half message, local transaction, commit / rollback, check-back. */
export { TransactionProducer } from './transaction-producer.js';
export type {
  TransactionProducerOptions, TransactionSendResult, LocalTransactionState, LocalTransactionExecutor,
  LocalTransactionChecker, TransactionalMessage,
} from './transaction-producer.js';

/** Long-polling consumer with a handler (`onMessage`) or `for await` iteration. */
export { PushConsumer, ConsumeStatus, retryTopicOf } from './push-consumer.js';
export type {
  PushConsumerOptions, MessageHandler, ConsumeContext, MessageModel, ConsumeFromWhere,
} from './push-consumer.js';

/** Poll-style consumer: subscribe or assign, `poll`, `seek`, `commit`, auto-commit. */
export { LitePullConsumer } from './lite-pull-consumer.js';
export type { LitePullConsumerOptions } from './lite-pull-consumer.js';

/** `subscribe(topic, MessageSelector.bySql("a > 5"))`: SQL92 on message properties (broker: enablePropertyFilter=true). */
export { MessageSelector } from './subscription.js';
export { FilterParseError } from '../filter/index.js';

/** Topic/group administration: create topics, routes, stats, queries, offset reset. */
export { GatewayClient, GatewaySubscription, GatewayRequestError } from './gateway-client.js';
export type {
  GatewayClientOptions, GatewayMessage, GatewaySubscribeOptions, GatewayHandlerResult, WebSocketLike, WebSocketConstructor,
} from './gateway-client.js';
export { Admin } from './admin.js';
export type {
  CreateTopicOptions, QueueStats, QueueConsumeStats, ConsumeStats, QueryOptions, QueriedMessage, SubscriptionGroupOptions,
} from './admin.js';

/** Options every client accepts (name servers, timeouts, logger, transport). */
export type { ClientOptions } from './client-core.js';
/** The network seam: `ClientOptions.transport` may supply any implementation (tests, embedding). */
export type { Transport } from './transport.js';

// ------------------------------------------------------------------ messages and queues

/** Message shapes: what you send, what you receive, where it lives, what a send returns. */
export type { Message, MessageExt, MessageQueue, SendResult, SendStatus } from './message.js';
export { compareQueues } from './message.js';

/** Queue selectors for ordered messages (`hashSelector`: same argument ⇒ same queue). */
export { hashSelector, randomSelector } from './selector.js';
export type { MessageQueueSelector } from './selector.js';

// ------------------------------------------------------------------ rebalancing

/** Allocation strategies (same assignments as Apache RocketMQ's for the same inputs). */
export {
  allocateAveragely, allocateAveragelyByCircle, allocateConsistentHash, allocateByConfig,
} from './allocate.js';
export type { AllocateStrategy } from './allocate.js';

// ------------------------------------------------------------------ errors

/**
 * Errors: every error the SDK raises is an `MQError` with a stable `code`, `retriable` and
 * `cause`. Branch on `error.code`:
 * `CLIENT_ERROR`, `MESSAGE_INVALID`, `BROKER_ERROR` (with `responseCode`), `NO_ROUTE`,
 * `TIMEOUT`, `NETWORK`, `CLIENT_STATE`, `MESSAGE_DECODE` (a body in an unknown codec).
 */
export {
  MQError, MQClientError, InvalidMessageError, MQBrokerError, NoRouteError, TimeoutError, NetworkError,
  ClientStateError, MessageDecodeError,
} from './errors.js';

// ------------------------------------------------------------------ latency fault tolerance

/** RocketMQ 5.x latency tables used when `sendLatencyFaultEnable` is on. */
export { LATENCY_MAX_MS, NOT_AVAILABLE_MS, notAvailableDuration } from './latency-fault.js';

/** Logger interface accepted in options (`logger`); `silentLogger` drops everything. */
export type { Logger } from '../common/logger.js';
export { silentLogger } from '../common/logger.js';
