// The NameServer's settings (RocketMQ namesrv.conf keys) plus Bolide's listen host.
import type { ConfigSchema } from './conf-file.js';

export interface NamesrvConfig {
  listenPort: number;
  /** Bolide: interface to listen on. */
  listenHost: string;
  /** ms without a registration before a broker is dropped. */
  brokerExpiredTimeout: number;
  /** ms between expiry scans (RocketMQ scanNotActiveBrokerInterval). */
  scanNotActiveBrokerInterval: number;
  orderMessageEnable: boolean;
}

export const namesrvConfigSchema: ConfigSchema = {
  listenPort: { type: 'int', default: 9876, min: 0, max: 65535, description: 'port brokers and clients connect to' },
  listenHost: { type: 'string', default: '0.0.0.0', description: 'Bolide: interface to listen on' },
  brokerExpiredTimeout: { type: 'long', default: 120_000, min: 1000, description: 'broker expiry without registration, ms' },
  scanNotActiveBrokerInterval: { type: 'long', default: 5000, min: 100, description: 'expiry scan period, ms' },
  orderMessageEnable: { type: 'bool', default: false, description: 'publish orderTopicConf in routes' },
};

export const ignoredNamesrvKeys: ReadonlySet<string> = new Set([
  'rocketmqHome', 'kvConfigPath', 'configStorePath', 'productEnvName', 'clusterTest', 'serverWorkerThreads',
  'serverCallbackExecutorThreads', 'serverSelectorThreads', 'serverSocketSndBufSize', 'serverSocketRcvBufSize',
  'defaultThreadPoolNums', 'clientRequestThreadPoolNums', 'enableTopicList', 'enableAllTopicList',
  'notifyMinBrokerIdChanged', 'supportActingMaster', 'needWaitForService', 'waitSecondsForService',
]);
