// The broker's settings: RocketMQ 5.x broker.conf keys and defaults, plus Bolide's own
// (marked). Each entry says what it does; `ignoredBrokerKeys` lists RocketMQ keys that are
// accepted with a warning because Bolide has no equivalent (thread pools, JVM tuning...).
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { ConfigSchema } from './conf-file.js';

export interface BrokerConfig {
  brokerClusterName: string;
  brokerName: string;
  brokerId: number;
  brokerRole: 'ASYNC_MASTER' | 'SYNC_MASTER' | 'SLAVE';
  namesrvAddr: string[];
  brokerIP1: string;
  /** Bolide: the address to listen on (RocketMQ listens on all interfaces). */
  listenHost: string;
  listenPort: number;
  storePathRootDir: string;
  flushDiskType: 'ASYNC_FLUSH' | 'SYNC_FLUSH';
  syncFlushTimeout: number;
  mappedFileSizeCommitLog: number;
  mappedFileSizeConsumeQueue: number;
  flushIntervalCommitLog: number;
  flushCommitLogLeastPages: number;
  flushCommitLogThoroughInterval: number;
  flushIntervalConsumeQueue: number;
  maxMessageSize: number;
  warmMappedFile: boolean;
  fileReservedTime: number;
  deleteWhen: string;
  diskMaxUsedSpaceRatio: number;
  messageIndexEnable: boolean;
  maxHashSlotNum: number;
  maxIndexNum: number;
  accessMessageInMemoryMaxRatio: number;
  /** Bolide: physical memory size behind accessMessageInMemoryMaxRatio; 0 = this machine's. */
  totalPhysicalMemorySize: number;
  /** Bolide: ms between CommitLog page-cache residency samples; 0 = never in the background. */
  pageCacheSampleInterval: number;
  autoCreateTopicEnable: boolean;
  autoCreateSubscriptionGroup: boolean;
  defaultTopicQueueNums: number;
  brokerPermission: number;
  enablePropertyFilter: boolean;
  longPollingEnable: boolean;
  shortPollingTimeMills: number;
  registerNameServerPeriod: number;
  registerBrokerTimeoutMills: number;
  flushConsumerOffsetInterval: number;
  channelExpiredTimeout: number;
  messageDelayLevel: string;
  /** Transactions: half messages younger than this (ms) are not checked yet. */
  transactionTimeOut: number;
  /** Transactions: checks per half message before it is discarded. */
  transactionCheckMax: number;
  /** Transactions: ms between two runs of the transaction checker. */
  transactionCheckInterval: number;
  /** Transactions: refuse half messages (NO_PERMISSION). */
  rejectTransactionMessage: boolean;
  /** Bolide: connection and back-pressure limits. */
  maxConnections: number;
  connectionWriteBufferMax: number;
  maxInFlightRequestsPerConnection: number;
  maxPendingLongPolls: number;
  /** Bolide: pull responses at least this large go out by sendfile, smaller ones by writev. */
  pullSendfileMinBytes: number;
  /** Bolide: producer idempotence (ts/broker/send-dedup.ts). */
  sendDedupEnable: boolean;
  sendDedupWindowSeconds: number;
  sendDedupMaxKeys: number;
  /** Bolide: the HTTP/WebSocket gateway in the broker process (ts/gateway). */
  gatewayEnable: boolean;
  gatewayHost: string;
  gatewayPort: number;
  gatewayMaxBodyBytes: number;
  gatewayWsMaxBufferedBytes: number;
  timerMaxDelaySec: number;
  /** Bolide: timer messages pending at most; beyond, timer sends are refused (flow control). */
  timerMaxPendingMessages: number;
  /** RECALL_MESSAGE (370) accepted (RocketMQ 5.3's key; Apache defaults it to false). */
  recallMessageEnable: boolean;
}

export const DEFAULT_STORE_ROOT = join(homedir(), 'store');

export const brokerConfigSchema: ConfigSchema = {
  brokerClusterName: { type: 'string', default: 'DefaultCluster', description: 'cluster the broker registers under' },
  brokerName: { type: 'string', default: 'broker-a', description: 'name shared by a master and its slaves' },
  brokerId: { type: 'int', default: 0, min: 0, description: '0 = master, >0 = slave' },
  brokerRole: { type: 'enum', default: 'ASYNC_MASTER', values: ['ASYNC_MASTER', 'SYNC_MASTER', 'SLAVE'], description: 'replication role' },
  namesrvAddr: { type: 'list', default: [], description: 'NameServer addresses, host:port separated by ;' },
  brokerIP1: { type: 'string', default: '127.0.0.1', description: 'address published to NameServers and written as STOREHOST' },
  listenHost: { type: 'string', default: '0.0.0.0', description: 'Bolide: interface to listen on' },
  listenPort: { type: 'int', default: 10911, min: 0, max: 65535, description: 'client port (the VIP port is listenPort-2)' },
  storePathRootDir: { type: 'string', default: DEFAULT_STORE_ROOT, description: 'store directory' },
  flushDiskType: { type: 'enum', default: 'ASYNC_FLUSH', values: ['ASYNC_FLUSH', 'SYNC_FLUSH'], description: 'when a send is acknowledged' },
  syncFlushTimeout: { type: 'long', default: 5000, min: 1, description: 'ms a SYNC_FLUSH send waits for its group commit' },
  mappedFileSizeCommitLog: { type: 'long', default: 1024 * 1024 * 1024, min: 65536, description: 'bytes per CommitLog segment' },
  mappedFileSizeConsumeQueue: { type: 'long', default: 300_000 * 20, min: 20, description: 'bytes per ConsumeQueue file (multiple of 20)' },
  flushIntervalCommitLog: { type: 'int', default: 500, min: 1, description: 'ASYNC_FLUSH interval, ms' },
  flushCommitLogLeastPages: { type: 'int', default: 4, min: 0, description: 'dirty pages needed for an ASYNC flush' },
  flushCommitLogThoroughInterval: { type: 'int', default: 10_000, min: 1, description: 'ms between full ASYNC flushes' },
  flushIntervalConsumeQueue: { type: 'int', default: 1000, min: 1, description: 'ms between ConsumeQueue flushes and checkpoints' },
  maxMessageSize: { type: 'int', default: 4 * 1024 * 1024, min: 1024, description: 'largest message body, bytes' },
  warmMappedFile: { type: 'bool', default: false, description: 'pre-touch new CommitLog segments' },
  fileReservedTime: { type: 'int', default: 72, min: 0, description: 'hours CommitLog segments are kept' },
  deleteWhen: { type: 'string', default: '04', description: 'hours (e.g. 04 or 03;04) when expired files are deleted' },
  diskMaxUsedSpaceRatio: { type: 'int', default: 75, min: 10, max: 95, description: 'disk usage % above which expired files go at any hour' },
  messageIndexEnable: { type: 'bool', default: true, description: 'index keys and unique keys' },
  maxHashSlotNum: { type: 'int', default: 5_000_000, min: 1, description: 'IndexFile hash slots' },
  maxIndexNum: { type: 'int', default: 20_000_000, min: 1, description: 'IndexFile entries' },
  accessMessageInMemoryMaxRatio: {
    type: 'int', default: 40, min: 0, max: 100,
    description: 'pulls at most this % of physical memory behind the write head count as served from memory (page-cache hints in /metrics)',
  },
  totalPhysicalMemorySize: { type: 'long', default: 0, min: 0, description: 'Bolide: physical memory bytes for accessMessageInMemoryMaxRatio; 0 = RAM or the cgroup memory limit, whichever is lower' },
  pageCacheSampleInterval: { type: 'int', default: 10_000, min: 0, description: 'Bolide: ms between CommitLog page-cache residency samples (mincore); 0 = off' },
  autoCreateTopicEnable: { type: 'bool', default: true, description: 'create unknown topics on first send (TBW102)' },
  autoCreateSubscriptionGroup: { type: 'bool', default: true, description: 'create unknown consumer groups on heartbeat' },
  defaultTopicQueueNums: { type: 'int', default: 8, min: 1, max: 1024, description: 'queues of an auto-created topic' },
  brokerPermission: { type: 'int', default: 6, min: 0, max: 15, description: 'PermName bits of the broker' },
  enablePropertyFilter: { type: 'bool', default: false, description: 'allow SQL92 subscriptions' },
  longPollingEnable: { type: 'bool', default: true, description: 'park pulls that find nothing' },
  shortPollingTimeMills: { type: 'long', default: 1000, min: 0, description: 'hold time without long polling, ms' },
  registerNameServerPeriod: { type: 'int', default: 30_000, min: 1000, max: 60_000, description: 'ms between registrations' },
  registerBrokerTimeoutMills: { type: 'int', default: 24_000, min: 1, description: 'registration RPC timeout, ms' },
  flushConsumerOffsetInterval: { type: 'int', default: 5000, min: 100, description: 'ms between consumerOffset.json writes' },
  channelExpiredTimeout: { type: 'long', default: 120_000, min: 1000, description: 'ms of client silence before its channel is dropped' },
  messageDelayLevel: { type: 'string', default: '1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h', description: 'delay levels' },
  transactionTimeOut: { type: 'long', default: 6000, min: 0, description: 'ms before a half message is checked with its producer' },
  transactionCheckMax: { type: 'int', default: 15, min: 1, description: 'checks of one half message before it is discarded' },
  transactionCheckInterval: { type: 'long', default: 60_000, min: 100, description: 'ms between runs of the transaction checker' },
  rejectTransactionMessage: { type: 'bool', default: false, description: 'refuse transactional (half) messages' },
  maxConnections: { type: 'int', default: 10_000, min: 1, description: 'Bolide: concurrent client connections' },
  connectionWriteBufferMax: { type: 'int', default: 64 * 1024 * 1024, min: 65536, description: 'Bolide: bytes queued to one slow client before it is disconnected' },
  maxInFlightRequestsPerConnection: { type: 'int', default: 1024, min: 1, description: 'Bolide: requests in progress per connection before SYSTEM_BUSY' },
  maxPendingLongPolls: { type: 'int', default: 100_000, min: 1, description: 'Bolide: parked pulls before new ones are answered at once' },
  pullSendfileMinBytes: {
    type: 'long', default: 256 * 1024, min: 0,
    description: 'Bolide: pull responses of at least this many bytes are sent with sendfile, smaller ones with writev of Buffers over the mapping (see bench/store)',
  },
  sendDedupEnable: { type: 'bool', default: true, description: 'Bolide: a client send whose UNIQ_KEY was stored within the window returns the stored copy' },
  sendDedupWindowSeconds: { type: 'int', default: 300, min: 1, max: 86_400, description: 'Bolide: how long a stored UNIQ_KEY de-duplicates retried sends, seconds' },
  sendDedupMaxKeys: {
    type: 'int', default: 300_000, min: 1,
    description: 'Bolide: UNIQ_KEYs held in memory (32 bytes each); beyond it the oldest leave the window early',
  },
  gatewayEnable: { type: 'bool', default: true, description: 'Bolide: serve the HTTP gateway (produce, admin reads, /metrics) in the broker process' },
  gatewayHost: { type: 'string', default: '127.0.0.1', description: 'Bolide: address the gateway listens on' },
  gatewayPort: { type: 'int', default: 8080, min: 0, max: 65_535, description: 'Bolide: gateway port (0: any free port)' },
  gatewayMaxBodyBytes: {
    type: 'int', default: 16 * 1024 * 1024, min: 1024,
    description: 'Bolide: largest HTTP request body (a JSON batch envelope); single messages are also bound by maxMessageSize',
  },
  gatewayWsMaxBufferedBytes: {
    type: 'int', default: 16 * 1024 * 1024, min: 64 * 1024,
    description: 'Bolide: unsent bytes a WebSocket may hold before it is closed; deliveries pause at 1/16 of it',
  },
  timerMaxDelaySec: { type: 'long', default: 3 * 24 * 3600, min: 1, description: 'latest TIMER_DELIVER_MS / TIMER_DELAY_* accepted, seconds from now' },
  timerMaxPendingMessages: {
    type: 'long', default: 5_000_000, min: 1,
    description: 'Bolide: timer messages pending at most (~28 bytes of broker memory each); timer sends beyond it are refused with SYSTEM_ERROR (flow control, as RocketMQ answers it) until deliveries catch up',
  },
  recallMessageEnable: {
    type: 'bool', default: true,
    description: 'accept RECALL_MESSAGE (cancel a timer message by its recallHandle); Apache RocketMQ 5.3 defaults this to false, Bolide to true',
  },
};

/** RocketMQ broker keys Bolide accepts and ignores (with a warning). */
export const ignoredBrokerKeys: ReadonlySet<string> = new Set([
  'sendMessageThreadPoolNums', 'pullMessageThreadPoolNums', 'queryMessageThreadPoolNums', 'adminBrokerThreadPoolNums',
  'clientManageThreadPoolNums', 'consumerManageThreadPoolNums', 'heartbeatThreadPoolNums', 'endTransactionThreadPoolNums',
  'useReentrantLockWhenPutMessage', 'transientStorePoolEnable', 'transientStorePoolSize', 'fastFailIfNoBufferInStorePool',
  'storePathCommitLog', 'storePathConsumeQueue', 'storePathIndex', 'storeCheckpoint', 'abortFile',
  'brokerIP2', 'haListenPort', 'haSendHeartbeatInterval', 'haHousekeepingInterval', 'haTransferBatchSize',
  'traceTopicEnable', 'msgTraceTopicName', 'aclEnable', 'rocketmqHome', 'namesrvAddrAccessKey',
  'osPageCacheBusyTimeOutMills', 'waitTimeMillsInSendQueue', 'isEnableBatchPush', 'enableCalcFilterBitMap',
  'useEpollNativeSelector', 'serverWorkerThreads', 'serverSelectorThreads', 'serverSocketSndBufSize', 'serverSocketRcvBufSize',
  'clientWorkerThreads', 'duplicationEnable', 'timerWheelEnable', 'enableDLegerCommitLog', 'enableControllerMode',
  'autoDeleteUnusedStats', 'compressedRegister', 'forceRegister', 'slaveReadEnable', 'checkCRCOnRecover', 'cleanFileForciblyEnable',
  'deleteCommitLogFilesInterval', 'deleteConsumeQueueFilesInterval', 'destroyMapedFileIntervalForcibly',
  'redeleteHangedFileInterval', 'maxTransferBytesOnMessageInMemory', 'maxTransferCountOnMessageInMemory',
  'maxMsgsNumBatch', 'fetchNamesrvAddrByAddressServer',
]);
