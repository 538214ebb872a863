// Custom-header schemas of the name server requests (broker registration, routes, KV config).

import { defineHeader, optional, required, type HeaderOf } from './header-schema.js';

/** REGISTER_BROKER (103). brokerId 0 = master. `compressed` bodies are zlib-framed (see body docs). */
export const RegisterBrokerRequestHeader = defineHeader('RegisterBrokerRequestHeader', {
  brokerName: required('string'),
  brokerAddr: required('string'),
  clusterName: required('string'),
  haServerAddr: required('string'),
  brokerId: required('long'),
  heartbeatTimeoutMillis: optional('long'),
  enableActingMaster: optional('bool'),
  compressed: optional('bool'),
  bodyCrc32: optional('int'),
});
export type RegisterBrokerRequestHeader = HeaderOf<typeof RegisterBrokerRequestHeader>;

/** REGISTER_BROKER response: for a slave, the master's HA address and broker address. */
export const RegisterBrokerResponseHeader = defineHeader('RegisterBrokerResponseHeader', {
  haServerAddr: optional('string'),
  masterAddr: optional('string'),
});
export type RegisterBrokerResponseHeader = HeaderOf<typeof RegisterBrokerResponseHeader>;

/** UNREGISTER_BROKER (104). */
export const UnregisterBrokerRequestHeader = defineHeader('UnregisterBrokerRequestHeader', {
  brokerName: required('string'),
  brokerAddr: required('string'),
  clusterName: required('string'),
  brokerId: required('long'),
});
export type UnregisterBrokerRequestHeader = HeaderOf<typeof UnregisterBrokerRequestHeader>;

/** GET_ROUTEINFO_BY_TOPIC (105). */
export const GetRouteInfoRequestHeader = defineHeader('GetRouteInfoRequestHeader', {
  topic: required('string'),
  acceptStandardJsonOnly: optional('bool'),
});
export type GetRouteInfoRequestHeader = HeaderOf<typeof GetRouteInfoRequestHeader>;

/** QUERY_DATA_VERSION (322); body = the broker's DataVersion JSON. */
export const QueryDataVersionRequestHeader = defineHeader('QueryDataVersionRequestHeader', {
  brokerName: required('string'),
  brokerAddr: required('string'),
  clusterName: required('string'),
  brokerId: required('long'),
});
export type QueryDataVersionRequestHeader = HeaderOf<typeof QueryDataVersionRequestHeader>;

export const QueryDataVersionResponseHeader = defineHeader('QueryDataVersionResponseHeader', {
  changed: required('bool'),
});
export type QueryDataVersionResponseHeader = HeaderOf<typeof QueryDataVersionResponseHeader>;

/** PUT_KV_CONFIG (100). */
export const PutKVConfigRequestHeader = defineHeader('PutKVConfigRequestHeader', {
  namespace: required('string'),
  key: required('string'),
  value: required('string'),
});
export type PutKVConfigRequestHeader = HeaderOf<typeof PutKVConfigRequestHeader>;

/** GET_KV_CONFIG (101). */
export const GetKVConfigRequestHeader = defineHeader('GetKVConfigRequestHeader', {
  namespace: required('string'),
  key: required('string'),
});
export type GetKVConfigRequestHeader = HeaderOf<typeof GetKVConfigRequestHeader>;

export const GetKVConfigResponseHeader = defineHeader('GetKVConfigResponseHeader', {
  value: optional('string'),
});
export type GetKVConfigResponseHeader = HeaderOf<typeof GetKVConfigResponseHeader>;

/** DELETE_KV_CONFIG (102). */
export const DeleteKVConfigRequestHeader = defineHeader('DeleteKVConfigRequestHeader', {
  namespace: required('string'),
  key: required('string'),
});
export type DeleteKVConfigRequestHeader = HeaderOf<typeof DeleteKVConfigRequestHeader>;

/** GET_KVLIST_BY_NAMESPACE (219); response body = KVTable JSON. */
export const GetKVListByNamespaceRequestHeader = defineHeader('GetKVListByNamespaceRequestHeader', {
  namespace: required('string'),
});
export type GetKVListByNamespaceRequestHeader = HeaderOf<typeof GetKVListByNamespaceRequestHeader>;
