// Request and response codes of the RocketMQ remoting protocol: the one place they are defined.
// Everything else (processors, clients, logs) refers to these names. Values are wire contracts
// with every RocketMQ client and server, so they never change.

/** Request codes (the `code` of a command without the response flag). */
export const RequestCode = {
  SEND_MESSAGE: 10,
  PULL_MESSAGE: 11,
  QUERY_MESSAGE: 12,
  QUERY_CONSUMER_OFFSET: 14,
  UPDATE_CONSUMER_OFFSET: 15,
  UPDATE_AND_CREATE_TOPIC: 17,
  GET_ALL_TOPIC_CONFIG: 21,
  GET_BROKER_CONFIG: 26,
  GET_BROKER_RUNTIME_INFO: 28,
  SEARCH_OFFSET_BY_TIMESTAMP: 29,
  GET_MAX_OFFSET: 30,
  GET_MIN_OFFSET: 31,
  GET_EARLIEST_MSG_STORETIME: 32,
  VIEW_MESSAGE_BY_ID: 33,
  HEART_BEAT: 34,
  UNREGISTER_CLIENT: 35,
  CONSUMER_SEND_MSG_BACK: 36,
  END_TRANSACTION: 37,
  GET_CONSUMER_LIST_BY_GROUP: 38,
  CHECK_TRANSACTION_STATE: 39,
  NOTIFY_CONSUMER_IDS_CHANGED: 40,
  LOCK_BATCH_MQ: 41,
  UNLOCK_BATCH_MQ: 42,
  GET_ALL_CONSUMER_OFFSET: 43,
  GET_ALL_DELAY_OFFSET: 45,
  CHECK_CLIENT_CONFIG: 46,
  PUT_KV_CONFIG: 100,
  GET_KV_CONFIG: 101,
  DELETE_KV_CONFIG: 102,
  REGISTER_BROKER: 103,
  UNREGISTER_BROKER: 104,
  GET_ROUTEINFO_BY_TOPIC: 105,
  GET_BROKER_CLUSTER_INFO: 106,
  UPDATE_AND_CREATE_SUBSCRIPTIONGROUP: 200,
  GET_ALL_SUBSCRIPTIONGROUP_CONFIG: 201,
  GET_TOPIC_STATS_INFO: 202,
  GET_CONSUMER_CONNECTION_LIST: 203,
  WIPE_WRITE_PERM_OF_BROKER: 205,
  GET_ALL_TOPIC_LIST_FROM_NAMESERVER: 206,
  DELETE_SUBSCRIPTIONGROUP: 207,
  GET_CONSUME_STATS: 208,
  DELETE_TOPIC_IN_BROKER: 215,
  DELETE_TOPIC_IN_NAMESRV: 216,
  GET_KVLIST_BY_NAMESPACE: 219,
  RESET_CONSUMER_CLIENT_OFFSET: 220,
  GET_CONSUMER_STATUS_FROM_CLIENT: 221,
  INVOKE_BROKER_TO_RESET_OFFSET: 222,
  GET_TOPICS_BY_CLUSTER: 224,
  QUERY_TOPIC_CONSUME_BY_WHO: 300,
  GET_SYSTEM_TOPIC_LIST_FROM_NS: 304,
  GET_CONSUMER_RUNNING_INFO: 307,
  CONSUME_MESSAGE_DIRECTLY: 309,
  SEND_MESSAGE_V2: 310,
  SEND_BATCH_MESSAGE: 320,
  QUERY_DATA_VERSION: 322,
  SEND_REPLY_MESSAGE: 324,
  SEND_REPLY_MESSAGE_V2: 325,
  PUSH_REPLY_MESSAGE_TO_CLIENT: 326,
  ADD_WRITE_PERM_OF_BROKER: 327,
  GET_TOPIC_CONFIG: 351,
  LITE_PULL_MESSAGE: 361,
  /** RocketMQ 5.3: cancel a timer message before it fires, by the send's recallHandle. */
  RECALL_MESSAGE: 370,
  QUERY_ASSIGNMENT: 400,
} as const;

/** Name of a request code, e.g. `'PULL_MESSAGE'`. */
export type RequestCodeName = keyof typeof RequestCode;

/** Response codes (the `code` of a command with the response flag set). */
export const ResponseCode = {
  SUCCESS: 0,
  SYSTEM_ERROR: 1,
  SYSTEM_BUSY: 2,
  REQUEST_CODE_NOT_SUPPORTED: 3,
  TRANSACTION_FAILED: 4,
  FLUSH_DISK_TIMEOUT: 10,
  SLAVE_NOT_AVAILABLE: 11,
  FLUSH_SLAVE_TIMEOUT: 12,
  MESSAGE_ILLEGAL: 13,
  SERVICE_NOT_AVAILABLE: 14,
  VERSION_NOT_SUPPORTED: 15,
  NO_PERMISSION: 16,
  TOPIC_NOT_EXIST: 17,
  TOPIC_EXIST_ALREADY: 18,
  PULL_NOT_FOUND: 19,
  PULL_RETRY_IMMEDIATELY: 20,
  PULL_OFFSET_MOVED: 21,
  QUERY_NOT_FOUND: 22,
  SUBSCRIPTION_PARSE_FAILED: 23,
  SUBSCRIPTION_NOT_EXIST: 24,
  SUBSCRIPTION_NOT_LATEST: 25,
  SUBSCRIPTION_GROUP_NOT_EXIST: 26,
  FILTER_DATA_NOT_EXIST: 27,
  FILTER_DATA_NOT_LATEST: 28,
  INVALID_PARAMETER: 29,
  TRANSACTION_SHOULD_COMMIT: 200,
  TRANSACTION_SHOULD_ROLLBACK: 201,
  TRANSACTION_STATE_UNKNOW: 202,
  CONSUMER_NOT_ONLINE: 206,
  NO_MESSAGE: 208,
  POLLING_FULL: 209,
  POLLING_TIMEOUT: 210,
  FLOW_CONTROL: 215,
  NOT_LEADER_FOR_QUEUE: 501,
  ILLEGAL_OPERATION: 604,
  GO_AWAY: 1500,
} as const;

/** Name of a response code, e.g. `'TOPIC_NOT_EXIST'`. */
export type ResponseCodeName = keyof typeof ResponseCode;

function invert(table: Readonly<Record<string, number>>): ReadonlyMap<number, string> {
  const inverse = new Map<number, string>();
  for (const [name, code] of Object.entries(table)) inverse.set(code, name);
  return inverse;
}

const requestNames = invert(RequestCode);
const responseNames = invert(ResponseCode);

/** Name of a request code for logs; `UNKNOWN(<code>)` for codes we do not know. */
export function requestCodeName(code: number): string {
  return requestNames.get(code) ?? `UNKNOWN(${code})`;
}

/** Name of a response code for logs; `UNKNOWN(<code>)` for codes we do not know. */
export function responseCodeName(code: number): string {
  return responseNames.get(code) ?? `UNKNOWN(${code})`;
}

/**
 * `version` field values (ordinals of Java's `MQVersion.Version`). Name servers quote
 * `brokerAddrs` keys for clients at V4_9_4 or later; brokers remember a heartbeat response's
 * version as the broker version and refuse SQL92 filtering below V4_1_0.
 */
export const MQVersion = {
  V3_4_9: 121,
  V4_0_0: 213,
  V4_5_0: 313,
  V4_8_0: 373,
  V4_9_0: 393,
  V4_9_4: 401,
  V4_9_8: 409,
  V5_0_0: 413,
  V5_1_0: 433,
  V5_2_0: 453,
  V5_3_0: 473,
  V5_3_3: 479,
} as const;

/**
 * The version Bolide puts in the commands it sends. We implement the 4.9 feature set over
 * the classic remoting protocol, so we claim 4.9.8: new enough for SQL92 and quoted route
 * keys, without advertising 5.x-only features (pop, static topics, GO_AWAY).
 */
export const BOLIDE_VERSION: number = MQVersion.V4_9_8;

/** Permission bits of a topic or queue (`PermName`). */
export const Perm = {
  PRIORITY: 8,
  READ: 4,
  WRITE: 2,
  INHERIT: 1,
} as const;
