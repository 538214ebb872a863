// Starts a NameServer and a BrokerController in-process on 127.0.0.1 with random ports and a
// temporary store sized for tests (small segments and index), plus request builders for the
// raw remoting tests.
import type { ExecutionContext } from 'ava';
import { silentLogger } from '../../ts/common/index.js';
import { BrokerController, type BrokerOptions } from '../../ts/broker/index.js';
import { NameServer } from '../../ts/namesrv/index.js';
import {
  RequestCode, encodeHeader, encodeProperties, encodeSendMessageHeader, makeRequest, PullMessageRequestHeader,
  type RemotingCommand, type SendMessageRequestHeader,
} from '../../ts/protocol/index.js';
import { RemotingClient } from '../../ts/remoting/index.js';
import { tempDir } from './temp.js';

/** Store settings that keep a test broker's files small. */
export const SMALL_STORE: BrokerOptions = {
  mappedFileSizeCommitLog: 16 * 1024 * 1024,
  mappedFileSizeConsumeQueue: 20 * 10_000,
  maxHashSlotNum: 1000,
  maxIndexNum: 4000,
  diskMaxUsedSpaceRatio: 95,
  // Processor tests talk remoting only; gateway tests turn it on (with gatewayPort 0).
  gatewayEnable: false,
};

export interface TestCluster {
  namesrv: NameServer;
  namesrvAddr: string;
  broker: BrokerController;
  brokerAddr: string;
  client: RemotingClient;
  storeDir: string;
}

export async function startNamesrv(t: ExecutionContext): Promise<{ namesrv: NameServer; namesrvAddr: string }> {
  const namesrv = new NameServer({ logger: silentLogger });
  const { port } = await namesrv.start({ host: '127.0.0.1', port: 0 });
  t.teardown(() => namesrv.stop());
  return { namesrv, namesrvAddr: `127.0.0.1:${port}` };
}

export async function startBroker(t: ExecutionContext, options: BrokerOptions): Promise<BrokerController> {
  const broker = new BrokerController({
    logger: silentLogger, listenHost: '127.0.0.1', listenPort: 0, brokerIP1: '127.0.0.1', ...SMALL_STORE, ...options,
  });
  await broker.start();
  t.teardown(() => broker.shutdown());
  return broker;
}

/** Name server + broker + a client, all torn down with the test. */
export async function startCluster(t: ExecutionContext, options: BrokerOptions = {}): Promise<TestCluster> {
  const { namesrv, namesrvAddr } = await startNamesrv(t);
  const storeDir = options.storePathRootDir ?? tempDir(t, 'bolide-broker-');
  const broker = await startBroker(t, { namesrvAddr: [namesrvAddr], storePathRootDir: storeDir, ...options });
  const client = new RemotingClient({ logger: silentLogger });
  t.teardown(() => client.close());
  return { namesrv, namesrvAddr, broker, brokerAddr: broker.brokerAddr, client, storeDir };
}

export interface SendSpec {
  topic: string;
  queueId?: number;
  body?: Buffer | string;
  properties?: Record<string, string>;
  code?: number;
  producerGroup?: string;
  defaultTopic?: string;
}

export function sendHeader(spec: SendSpec): SendMessageRequestHeader {
  return {
    producerGroup: spec.producerGroup ?? 'test-producer', topic: spec.topic, defaultTopic: spec.defaultTopic ?? 'TBW102',
    defaultTopicQueueNums: 4, queueId: spec.queueId ?? 0, sysFlag: 0, bornTimestamp: Date.now(), flag: 0,
    properties: encodeProperties(spec.properties ?? {}), reconsumeTimes: 0, unitMode: false, batch: false,
  };
}

/** A send request with code 10 (long names), 310 (default) or 320 (body must be a batch). */
export function sendRequest(spec: SendSpec): RemotingCommand {
  const code = spec.code ?? RequestCode.SEND_MESSAGE_V2;
  const body = typeof spec.body === 'string' ? Buffer.from(spec.body) : spec.body ?? Buffer.from('hello');
  return makeRequest(code, { extFields: encodeSendMessageHeader(code, sendHeader(spec)), body });
}

export interface PullSpec {
  topic: string;
  group?: string;
  queueId?: number;
  queueOffset: number;
  maxMsgNums?: number;
  sysFlag?: number;
  subscription?: string;
  suspendTimeoutMillis?: number;
  commitOffset?: number;
  subVersion?: number;
  expressionType?: string;
  code?: number;
}

/** A pull request; by default with the SUBSCRIPTION flag and subscription `*`. */
export function pullRequest(spec: PullSpec): RemotingCommand {
  const code = spec.code ?? RequestCode.PULL_MESSAGE;
  return makeRequest(code, {
    extFields: encodeHeader(PullMessageRequestHeader, {
      consumerGroup: spec.group ?? 'test-group', topic: spec.topic, queueId: spec.queueId ?? 0,
      queueOffset: spec.queueOffset, maxMsgNums: spec.maxMsgNums ?? 32, sysFlag: spec.sysFlag ?? 0x4,
      commitOffset: spec.commitOffset ?? 0, suspendTimeoutMillis: spec.suspendTimeoutMillis ?? 0,
      subscription: spec.subscription ?? '*', subVersion: spec.subVersion ?? 0,
      ...(spec.expressionType === undefined ? {} : { expressionType: spec.expressionType }),
    }),
  });
}
