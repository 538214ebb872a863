// Public surface of ts/namesrv: the name server.

export { NameServer, startNamesrv } from './name-server.js';
export { NAMESRV_DEFAULTS, resolveNamesrvConfig } from './config.js';
export type { NamesrvConfig, ResolvedNamesrvConfig } from './config.js';
export { RouteInfoManager, MASTER_ID } from './route-info-manager.js';
export type { BrokerLiveInfo, BrokerRegistration, RegistrationResult } from './route-info-manager.js';
export { KvConfigStore, KvConfigFileError } from './kv-config.js';
export { ORDER_TOPIC_CONFIG_NAMESPACE } from './processors.js';
