// BrokerController: owns one broker's parts and their lifecycle (RocketMQ BrokerController).
//
//   start:    load config files -> open the store -> listen (listenPort and the VIP port
//             listenPort-2) -> STOREHOST = brokerIP1 + bound port -> register with the name
//             servers -> periodic tasks (offset flush, client expiry, re-registration).
//   shutdown: unregister from the name servers -> answer parked pulls -> close connections
//             -> persist offsets and config -> close the store (flush + checkpoint).
//
// A broker is started once; a restarted broker is a new BrokerController on the same
// storePathRootDir.

import { join } from 'node:path';
import { errorMessage } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import { RequestCode } from '../protocol/codes.js';
import type { CloseReason } from '../remoting/connection.js';
import { RemotingServer } from '../remoting/server.js';
import type { RequestHandler } from '../remoting/processor-table.js';
import { MessageStore } from '../store/index.js';
import { adminProcessors } from './admin-processors.js';
import type { BrokerContext } from './broker-context.js';
import { parseDeleteWhen, resolveBrokerOptions, type BrokerOptions, type ResolvedBrokerOptions } from './broker-options.js';
import { ClientManager } from './client-manager.js';
import { clientProcessors } from './client-processors.js';
import { ConsumerOffsetManager } from './consumer-offset-manager.js';
import { BrokerError } from './errors.js';
import { BrokerStats, SAMPLE_INTERVAL_MS } from './broker-stats.js';
import { adminStatsProcessors } from './admin-stats-processors.js';
import { adminGroupProcessors } from './admin-group-processors.js';
import { NameServerRegistrar } from './name-server-registrar.js';
import { offsetProcessors } from './offset-processors.js';
import { filterProcessors } from './filter-processors.js';
import { PullMessageProcessor } from './pull-processor.js';
import { queryProcessors } from './query-processors.js';
import { RebalanceLockManager } from './rebalance-lock-manager.js';
import { createSendService, sendProcessor, type SendService } from './send-processor.js';
import { consumerSendMsgBackProcessor } from './schedule/retry-dlq.js';
import { ScheduleMessageService } from './schedule/schedule-message-service.js';
import { TimerMessageService } from './schedule/timer-message-service.js';
import { recallMessageProcessor } from './schedule/recall-processor.js';
import { SubscriptionGroupManager } from './subscription-group-manager.js';
import { TopicConfigManager } from './topic-config-manager.js';
import { TransactionCheckService } from './transaction/transaction-check-service.js';
import { endTransactionProcessor } from './transaction/end-transaction-processor.js';
import { TransactionalMessageService } from './transaction/transactional-message-service.js';

/** How long shutdown waits for answers to parked pulls to reach the kernel. */
const SHUTDOWN_DRAIN_MS = 1000;

/** Where a started broker listens. */
export interface BrokerAddress {
  /** brokerIP1:port: what clients and name servers see, and the STOREHOST. */
  brokerAddr: string;
  port: number;
  /** listenPort − 2; undefined when listenPort is 0 (a random port has no fixed VIP port). */
  vipPort: number | undefined;
}

/** What onConnectionClosed reports. */
export interface ConnectionClosedInfo {
  remoteAddress: string;
  /** Why: `remote`, `idle`, `write-queue-overflow` (the client stopped reading), ... */
  reason: CloseReason;
  /** Bytes still queued for the client when it closed. */
  pendingWriteBytes: number;
}

type State = 'new' | 'starting' | 'running' | 'stopping' | 'stopped';

export class BrokerController {
  readonly options: ResolvedBrokerOptions;
  readonly #logger: Logger;
  readonly topics: TopicConfigManager;
  readonly groups: SubscriptionGroupManager;
  readonly offsets: ConsumerOffsetManager;
  readonly clients: ClientManager;
  readonly #locks = new RebalanceLockManager();
  readonly stats = new BrokerStats();
  readonly #servers: RemotingServer[] = [];
  #store: MessageStore | undefined;
  #pull: PullMessageProcessor | undefined;
  #registrar: NameServerRegistrar | undefined;
  #processorContext: BrokerContext | undefined;
  #sendService: SendService | undefined;
  #startedAt = 0;
  #transactions: TransactionalMessageService | undefined;
  #transactionCheck: TransactionCheckService | undefined;
  #schedule: ScheduleMessageService | undefined;
  #timer: TimerMessageService | undefined;
  readonly #closeListeners = new Set<(info: ConnectionClosedInfo) => void>();
  #timers: NodeJS.Timeout[] = [];
  #port = 0;
  #vipPort: number | undefined;
  #state: State = 'new';

  /** @throws BrokerError BROKER_OPTIONS_INVALID */
  constructor(options: BrokerOptions = {}) {
    this.options = resolveBrokerOptions(options);
    this.#logger = this.options.logger;
    const configDir = join(this.options.storePathRootDir, 'config');
    this.topics = new TopicConfigManager({
      configDir, brokerName: this.options.brokerName, brokerClusterName: this.options.brokerClusterName,
      autoCreateTopicEnable: this.options.autoCreateTopicEnable, defaultTopicQueueNums: this.options.defaultTopicQueueNums,
      logger: this.#logger,
    });
    this.groups = new SubscriptionGroupManager(configDir, this.options.autoCreateSubscriptionGroup);
    this.offsets = new ConsumerOffsetManager(configDir);
    this.clients = new ClientManager({
      channelExpiredTimeoutMs: this.options.channelExpiredTimeout, logger: this.#logger,
      notifyEnabled: (group) => this.groups.get(group)?.notifyConsumerIdsChangedEnable ?? true,
    });
  }

  /** brokerIP1:bound port. */
  get brokerAddr(): string {
    return `${this.options.brokerIP1}:${this.#port}`;
  }

  get port(): number {
    return this.#port;
  }

  /** The open store (tests and tools). @throws BrokerError BROKER_STATE before start. */
  get store(): MessageStore {
    if (this.#store === undefined) throw new BrokerError('BROKER_STATE', 'the broker is not started');
    return this.#store;
  }

  /** The transaction checker (tests run passes by hand). @throws BrokerError BROKER_STATE before start. */
  get transactionCheck(): TransactionCheckService {
    if (this.#transactionCheck === undefined) throw new BrokerError('BROKER_STATE', 'the broker is not started');
    return this.#transactionCheck;
  }

  /** Calls `listener` whenever a client connection closes (monitoring and tests). */
  onConnectionClosed(listener: (info: ConnectionClosedInfo) => void): () => void {
    this.#closeListeners.add(listener);
    return () => this.#closeListeners.delete(listener);
  }

  /** Open client connections on both ports. */
  get connectionCount(): number {
    return this.#servers.reduce((sum, server) => sum + server.connections.size, 0);
  }

  /** Pulls parked by long polling right now. */
  get parkedPulls(): number {
    return this.#pull?.hold.size ?? 0;
  }

  /** Starts the broker; see the module comment for the order. */
  async start(): Promise<BrokerAddress> {
    if (this.#state !== 'new') throw new BrokerError('BROKER_STATE', `cannot start a broker that is ${this.#state}`);
    this.#state = 'starting';
    try {
      this.topics.load();
      this.topics.persist();
      this.groups.load();
      this.offsets.load();
      this.#store = MessageStore.open(this.#storeOptions());
      const context = this.#context(this.#store);
      this.#pull = new PullMessageProcessor(context);
      const pull = this.#pull;
      this.#store.onQueuesGrew((grown) => pull.hold.onQueuesGrew(grown));
      const send = createSendService(context);
      this.#processorContext = context;
      this.#sendService = send;
      this.#transactions = new TransactionalMessageService(context);
      this.#transactions.ensureTopics();
      this.#transactionCheck = new TransactionCheckService(this.#transactions);
      // Created before listening (RECALL_MESSAGE needs it), started once the broker is up.
      this.#timer = new TimerMessageService({
        store: this.#store, configDir: join(this.options.storePathRootDir, 'config'),
        messageIndexEnable: this.options.messageIndexEnable, logger: this.#logger,
      });
      await this.#listen(this.#handlers(context, pull, send, this.#timer));
      this.#store.setStoreHost(this.options.brokerIP1, this.#port);
      this.#startedAt = Date.now();
      this.#startTimers();
      this.#transactionCheck.start();
      this.#schedule = new ScheduleMessageService({
        store: this.#store, configDir: join(this.options.storePathRootDir, 'config'),
        messageDelayLevel: this.options.messageDelayLevel, messageIndexEnable: this.options.messageIndexEnable, logger: this.#logger,
      });
      // As in RocketMQ, only a master delivers due messages (a slave's CommitLog is the master's copy).
      if (this.options.brokerRole !== 'SLAVE') {
        this.#schedule.start();
        this.#timer.start();
      }
      this.#registrar = this.#newRegistrar();
      this.topics.onChange(() => void this.#registrar?.registerNow());
      await this.#registrar.start();
      this.#state = 'running';
      this.#logger.info('broker started', { brokerAddr: this.brokerAddr, vipPort: this.#vipPort, name: this.options.brokerName });
      return { brokerAddr: this.brokerAddr, port: this.#port, vipPort: this.#vipPort };
    } catch (error) {
      await this.#release();
      this.#state = 'stopped';
      throw error;
    }
  }

  #storeOptions(): Parameters<typeof MessageStore.open>[0] {
    const o = this.options;
    return {
      storePathRootDir: o.storePathRootDir, mappedFileSizeCommitLog: o.mappedFileSizeCommitLog,
      consumeQueueEntriesPerFile: o.mappedFileSizeConsumeQueue / 20, flushDiskType: o.flushDiskType,
      flushIntervalCommitLog: o.flushIntervalCommitLog, flushCommitLogLeastPages: o.flushCommitLogLeastPages,
      flushCommitLogThoroughInterval: o.flushCommitLogThoroughInterval, flushIntervalConsumeQueue: o.flushIntervalConsumeQueue,
      syncFlushTimeout: o.syncFlushTimeout, maxMessageSize: o.maxMessageSize, warmMappedFile: o.warmMappedFile,
      fileReservedTime: o.fileReservedTime, deleteWhen: parseDeleteWhen(o.deleteWhen),
      diskMaxUsedSpaceRatio: o.diskMaxUsedSpaceRatio,
      // RocketMQ's fixed levels (85 % clean forcibly, 90 % refuse writes) unless the configured
      // ratio is above them; the engine requires used <= clean-forcibly <= full.
      diskCleanForciblyRatio: Math.max(85, o.diskMaxUsedSpaceRatio),
      diskFullRatio: Math.max(90, o.diskMaxUsedSpaceRatio),
      messageIndexEnable: o.messageIndexEnable,
      maxHashSlotNum: o.maxHashSlotNum, maxIndexNum: o.maxIndexNum,
      accessMessageInMemoryMaxRatio: o.accessMessageInMemoryMaxRatio,
      ...(o.totalPhysicalMemorySize > 0 ? { totalPhysicalMemorySize: o.totalPhysicalMemorySize } : {}),
      pageCacheSampleInterval: o.pageCacheSampleInterval,
    };
  }

  #context(store: MessageStore): BrokerContext {
    return {
      options: this.options, store, topics: this.topics, groups: this.groups, offsets: this.offsets,
      clients: this.clients, locks: this.#locks, stats: this.stats, logger: this.#logger, brokerAddr: () => this.brokerAddr,
      timerBacklog: () => this.#timer?.backlog ?? 0,
      timerStored: (queueOffset) => this.#timer?.noteStored(queueOffset),
      timerStats: () => this.#timer?.stats() ?? { backlog: 0, wheelBytes: 0, recalled: 0, pendingCancellations: 0 },
    };
  }

  /**
   * What front ends in the same process (the HTTP gateway) build on: the processors' context
   * and the send path. @throws BrokerError BROKER_STATE before start.
   */
  frontEnd(): { context: BrokerContext; send: SendService; startedAt: number } {
    if (this.#processorContext === undefined || this.#sendService === undefined) {
      throw new BrokerError('BROKER_STATE', 'the broker is not started');
    }
    return { context: this.#processorContext, send: this.#sendService, startedAt: this.#startedAt };
  }

  #handlers(context: BrokerContext, pull: PullMessageProcessor, sendService: SendService,
    timers: TimerMessageService): Array<[number, RequestHandler]> {
    const send = sendProcessor(sendService);
    const pullHandler = pull.handler();
    return [
      [RequestCode.SEND_MESSAGE, send],
      [RequestCode.SEND_MESSAGE_V2, send],
      [RequestCode.SEND_BATCH_MESSAGE, send],
      [RequestCode.PULL_MESSAGE, pullHandler],
      [RequestCode.LITE_PULL_MESSAGE, pullHandler],
      ...offsetProcessors(context),
      ...queryProcessors(context),
      ...clientProcessors(context),
      ...filterProcessors(context, pull.filters),
      ...adminProcessors(context),
      ...adminStatsProcessors(context),
      ...adminGroupProcessors(context),
      ...(this.#transactions === undefined ? [] : endTransactionProcessor(this.#transactions)),
      [RequestCode.CONSUMER_SEND_MSG_BACK, consumerSendMsgBackProcessor(context)],
      ...recallMessageProcessor(context, timers),
    ];
  }

  async #listen(handlers: Array<[number, RequestHandler]>): Promise<void> {
    const o = this.options;
    const ports = o.listenPort === 0 ? [0] : [o.listenPort, o.listenPort - 2];
    for (const [index, port] of ports.entries()) {
      const server = new RemotingServer({
        connectionsMax: o.maxConnections, writeQueueBytesMax: o.connectionWriteBufferMax,
        inflightRequestsMax: o.maxInFlightRequestsPerConnection, logger: this.#logger,
      });
      for (const [code, handler] of handlers) server.registerProcessor(code, handler);
      server.onClose((connection, info) => {
        this.#pull?.hold.dropConnection(connection.id);
        this.clients.connectionClosed(connection);
        const closed = { remoteAddress: connection.remoteAddress, reason: info.reason, pendingWriteBytes: info.pendingWriteBytes };
        for (const listener of this.#closeListeners) listener(closed);
      });
      this.#servers.push(server);
      const bound = await server.listen(o.listenHost, port);
      if (index === 0) this.#port = bound.port;
      else this.#vipPort = bound.port;
    }
  }

  #startTimers(): void {
    const flushOffsets = setInterval(() => this.#persistOffsets(), this.options.flushConsumerOffsetInterval);
    const scanClients = setInterval(() => this.clients.scanExpired(Date.now()), this.options.clientScanIntervalMs);
    const sampleStats = setInterval(() => this.stats.sample(), SAMPLE_INTERVAL_MS);
    for (const timer of [flushOffsets, scanClients, sampleStats]) timer.unref();
    this.#timers = [flushOffsets, scanClients, sampleStats];
  }

  #persistOffsets(force = false): void {
    try {
      this.offsets.persist(force);
    } catch (error) {
      this.#logger.error('persisting consumer offsets failed', { error: errorMessage(error) });
    }
  }

  #newRegistrar(): NameServerRegistrar {
    return new NameServerRegistrar({
      namesrvAddrs: this.options.namesrvAddr, clusterName: this.options.brokerClusterName,
      brokerName: this.options.brokerName, brokerId: this.options.brokerId,
      brokerAddr: () => this.brokerAddr, haServerAddr: () => `${this.options.brokerIP1}:${this.#port + 1}`,
      periodMs: this.options.registerNameServerPeriod, timeoutMs: this.options.registerBrokerTimeoutMills,
      topics: () => ({ table: this.topics.snapshot(), dataVersion: this.topics.dataVersion }), logger: this.#logger,
    });
  }

  /** Stops the broker cleanly; see the module comment for the order. Idempotent. */
  async shutdown(): Promise<void> {
    if (this.#state === 'stopped' || this.#state === 'stopping') return;
    if (this.#state === 'new') {
      this.#state = 'stopped';
      return;
    }
    this.#state = 'stopping';
    await this.#release();
    this.#state = 'stopped';
    this.#logger.info('broker stopped', { brokerAddr: this.brokerAddr });
  }

  async #release(): Promise<void> {
    await this.#registrar?.stop().catch((error: unknown) =>
      this.#logger.warn('name server unregistration failed', { error: errorMessage(error) }));
    for (const timer of this.#timers) clearInterval(timer);
    this.#transactionCheck?.stop();
    this.#timers = [];
    if (this.#pull !== undefined) {
      this.#pull.hold.close();
      this.#pull.hold.wakeAll();
    }
    const connections = this.#servers.flatMap((server) => [...server.connections]);
    const drained = Promise.all(connections.map((connection) => connection.drained()));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([drained, new Promise((resolve) => { timer = setTimeout(resolve, SHUTDOWN_DRAIN_MS); })]);
    clearTimeout(timer);
    await Promise.all(this.#servers.map((server) => server.close()));
    this.#persistOffsets(true);
    try {
      this.topics.persist();
      this.groups.persist();
    } catch (error) {
      this.#logger.error('persisting config failed', { error: errorMessage(error) });
    }
    this.#schedule?.shutdown();
    this.#timer?.shutdown();
    this.#store?.close();
  }
}
