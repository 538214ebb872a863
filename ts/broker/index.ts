// Public surface of ts/broker: the broker controller and its options.

export { BrokerController } from './broker-controller.js';
export type { BrokerAddress, ConnectionClosedInfo } from './broker-controller.js';
export { resolveBrokerOptions } from './broker-options.js';
export type { BrokerOptions, ResolvedBrokerOptions } from './broker-options.js';
export { BrokerError } from './errors.js';
export type { BrokerErrorCode } from './errors.js';
export { PullSysFlag, pullResponseCode } from './pull-processor.js';
export { SystemTopic } from './topic-config-manager.js';
export type { SubscriptionGroupConfig } from './subscription-group-manager.js';
