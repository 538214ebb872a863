// Custom-header schemas of the client <-> broker requests and responses, as data.
// Field names, types and requiredness follow the Java header classes (required = @CFNotNull).
// 5.x adds optional RPC fields to most request headers (ns, nsd, bname, oway, lo); only
// `bname` is listed where a Bolide broker may care about it, the others are ignored.

import { defineHeader, optional, required, type HeaderOf } from './header-schema.js';

/** SEND_MESSAGE (10): long field names. See send-header.ts for the V2 short names. */
export const SendMessageRequestHeader = defineHeader('SendMessageRequestHeader', {
  producerGroup: required('string'),
  topic: required('string'),
  defaultTopic: required('string'),
  defaultTopicQueueNums: required('int'),
  queueId: required('int'),
  sysFlag: required('int'),
  bornTimestamp: required('long'),
  flag: required('int'),
  properties: optional('string'),
  reconsumeTimes: optional('int'),
  unitMode: optional('bool'),
  maxReconsumeTimes: optional('int'),
  batch: optional('bool'),
  bname: optional('string'),
});
export type SendMessageRequestHeader = HeaderOf<typeof SendMessageRequestHeader>;

/** SEND_MESSAGE_V2 (310) and SEND_BATCH_MESSAGE (320): one-letter names a..n. */
export const SendMessageRequestHeaderV2 = defineHeader('SendMessageRequestHeaderV2', {
  a: required('string'),
  b: required('string'),
  c: required('string'),
  d: required('int'),
  e: required('int'),
  f: required('int'),
  g: required('long'),
  h: required('int'),
  i: optional('string'),
  j: optional('int'),
  k: optional('bool'),
  l: optional('int'),
  m: optional('bool'),
  n: optional('string'),
});
export type SendMessageRequestHeaderV2 = HeaderOf<typeof SendMessageRequestHeaderV2>;

/**
 * Send response. The broker also sets `MSG_REGION` and `TRACE_ON`: the Java client reads them
 * from extFields without a null check, so a send response must carry them.
 */
export const SendMessageResponseHeader = defineHeader('SendMessageResponseHeader', {
  msgId: required('string'),
  queueId: required('int'),
  queueOffset: required('long'),
  transactionId: optional('string'),
  batchUniqId: optional('string'),
  recallHandle: optional('string'),
  MSG_REGION: optional('string'),
  TRACE_ON: optional('string'),
});
export type SendMessageResponseHeader = HeaderOf<typeof SendMessageResponseHeader>;

/** RECALL_MESSAGE (370): cancel a timer message by the recallHandle its send returned. */
export const RecallMessageRequestHeader = defineHeader('RecallMessageRequestHeader', {
  producerGroup: optional('string'),
  topic: required('string'),
  recallHandle: required('string'),
  bname: optional('string'),
});
export type RecallMessageRequestHeader = HeaderOf<typeof RecallMessageRequestHeader>;

/** RECALL_MESSAGE's answer: the recalled message's client id (UNIQ_KEY). */
export const RecallMessageResponseHeader = defineHeader('RecallMessageResponseHeader', {
  msgId: required('string'),
});
export type RecallMessageResponseHeader = HeaderOf<typeof RecallMessageResponseHeader>;

/** PULL_MESSAGE (11) and LITE_PULL_MESSAGE (361). */
export const PullMessageRequestHeader = defineHeader('PullMessageRequestHeader', {
  consumerGroup: required('string'),
  topic: required('string'),
  queueId: required('int'),
  queueOffset: required('long'),
  maxMsgNums: required('int'),
  sysFlag: required('int'),
  commitOffset: required('long'),
  suspendTimeoutMillis: required('long'),
  subscription: optional('string'),
  subVersion: required('long'),
  expressionType: optional('string'),
  maxMsgBytes: optional('int'),
  requestSource: optional('int'),
  proxyFrowardClientId: optional('string'),
  bname: optional('string'),
});
export type PullMessageRequestHeader = HeaderOf<typeof PullMessageRequestHeader>;

export const PullMessageResponseHeader = defineHeader('PullMessageResponseHeader', {
  suggestWhichBrokerId: required('long'),
  nextBeginOffset: required('long'),
  minOffset: required('long'),
  maxOffset: required('long'),
  offsetDelta: optional('long'),
  topicSysFlag: optional('int'),
  groupSysFlag: optional('int'),
  forbiddenType: optional('int'),
});
export type PullMessageResponseHeader = HeaderOf<typeof PullMessageResponseHeader>;

/** QUERY_CONSUMER_OFFSET (14). */
export const QueryConsumerOffsetRequestHeader = defineHeader('QueryConsumerOffsetRequestHeader', {
  consumerGroup: required('string'),
  topic: required('string'),
  queueId: required('int'),
  setZeroIfNotFound: optional('bool'),
});
export type QueryConsumerOffsetRequestHeader = HeaderOf<typeof QueryConsumerOffsetRequestHeader>;

/** Response of QUERY_CONSUMER_OFFSET, GET_MAX_OFFSET, GET_MIN_OFFSET, SEARCH_OFFSET_BY_TIMESTAMP. */
export const OffsetResponseHeader = defineHeader('OffsetResponseHeader', {
  offset: required('long'),
});
export type OffsetResponseHeader = HeaderOf<typeof OffsetResponseHeader>;

/** UPDATE_CONSUMER_OFFSET (15); usually sent oneway. */
export const UpdateConsumerOffsetRequestHeader = defineHeader('UpdateConsumerOffsetRequestHeader', {
  consumerGroup: required('string'),
  topic: required('string'),
  queueId: required('int'),
  commitOffset: required('long'),
});
export type UpdateConsumerOffsetRequestHeader = HeaderOf<typeof UpdateConsumerOffsetRequestHeader>;

/** GET_MAX_OFFSET (30). `committed` (5.x) defaults to true. */
export const GetMaxOffsetRequestHeader = defineHeader('GetMaxOffsetRequestHeader', {
  topic: required('string'),
  queueId: required('int'),
  committed: optional('bool'),
});
export type GetMaxOffsetRequestHeader = HeaderOf<typeof GetMaxOffsetRequestHeader>;

/** GET_MIN_OFFSET (31). */
export const GetMinOffsetRequestHeader = defineHeader('GetMinOffsetRequestHeader', {
  topic: required('string'),
  queueId: required('int'),
});
export type GetMinOffsetRequestHeader = HeaderOf<typeof GetMinOffsetRequestHeader>;

/** SEARCH_OFFSET_BY_TIMESTAMP (29). `boundaryType` is "lower" (default) or "upper". */
export const SearchOffsetRequestHeader = defineHeader('SearchOffsetRequestHeader', {
  topic: required('string'),
  queueId: required('int'),
  timestamp: required('long'),
  boundaryType: optional('string'),
});
export type SearchOffsetRequestHeader = HeaderOf<typeof SearchOffsetRequestHeader>;

/** GET_EARLIEST_MSG_STORETIME (32). */
export const GetEarliestMsgStoretimeRequestHeader = defineHeader('GetEarliestMsgStoretimeRequestHeader', {
  topic: required('string'),
  queueId: required('int'),
});
export type GetEarliestMsgStoretimeRequestHeader = HeaderOf<typeof GetEarliestMsgStoretimeRequestHeader>;

export const GetEarliestMsgStoretimeResponseHeader = defineHeader('GetEarliestMsgStoretimeResponseHeader', {
  timestamp: required('long'),
});
export type GetEarliestMsgStoretimeResponseHeader = HeaderOf<typeof GetEarliestMsgStoretimeResponseHeader>;

/** VIEW_MESSAGE_BY_ID (33): `offset` is the CommitLog physical offset. */
export const ViewMessageRequestHeader = defineHeader('ViewMessageRequestHeader', {
  offset: required('long'),
  topic: optional('string'),
});
export type ViewMessageRequestHeader = HeaderOf<typeof ViewMessageRequestHeader>;

/** QUERY_MESSAGE (12). `_UNIQUE_KEY_QUERY` = "true" for UNIQ_KEY lookups. */
export const QueryMessageRequestHeader = defineHeader('QueryMessageRequestHeader', {
  topic: required('string'),
  key: required('string'),
  maxNum: required('int'),
  beginTimestamp: required('long'),
  endTimestamp: required('long'),
  _UNIQUE_KEY_QUERY: optional('bool'),
});
export type QueryMessageRequestHeader = HeaderOf<typeof QueryMessageRequestHeader>;

export const QueryMessageResponseHeader = defineHeader('QueryMessageResponseHeader', {
  indexLastUpdateTimestamp: required('long'),
  indexLastUpdatePhyoffset: required('long'),
});
export type QueryMessageResponseHeader = HeaderOf<typeof QueryMessageResponseHeader>;

/** HEART_BEAT (34): no header fields; the body is HeartbeatData JSON. */
export const HeartbeatRequestHeader = defineHeader('HeartbeatRequestHeader', {});
export type HeartbeatRequestHeader = HeaderOf<typeof HeartbeatRequestHeader>;

/** UNREGISTER_CLIENT (35). */
export const UnregisterClientRequestHeader = defineHeader('UnregisterClientRequestHeader', {
  clientID: required('string'),
  producerGroup: optional('string'),
  consumerGroup: optional('string'),
});
export type UnregisterClientRequestHeader = HeaderOf<typeof UnregisterClientRequestHeader>;

/** CONSUMER_SEND_MSG_BACK (36). delayLevel 0 = broker picks, −1 = straight to DLQ. */
export const ConsumerSendMsgBackRequestHeader = defineHeader('ConsumerSendMsgBackRequestHeader', {
  offset: required('long'),
  group: required('string'),
  delayLevel: required('int'),
  originMsgId: optional('string'),
  originTopic: optional('string'),
  unitMode: optional('bool'),
  maxReconsumeTimes: optional('int'),
});
export type ConsumerSendMsgBackRequestHeader = HeaderOf<typeof ConsumerSendMsgBackRequestHeader>;

/** END_TRANSACTION (37). commitOrRollback: 0 unknown, 8 commit, 12 rollback. */
export const EndTransactionRequestHeader = defineHeader('EndTransactionRequestHeader', {
  producerGroup: required('string'),
  tranStateTableOffset: required('long'),
  commitLogOffset: required('long'),
  commitOrRollback: required('int'),
  fromTransactionCheck: optional('bool'),
  msgId: required('string'),
  transactionId: optional('string'),
  topic: optional('string'),
});
export type EndTransactionRequestHeader = HeaderOf<typeof EndTransactionRequestHeader>;

/** CHECK_TRANSACTION_STATE (39), broker → producer, oneway; body = the half message record. */
export const CheckTransactionStateRequestHeader = defineHeader('CheckTransactionStateRequestHeader', {
  topic: optional('string'),
  tranStateTableOffset: required('long'),
  commitLogOffset: required('long'),
  msgId: optional('string'),
  transactionId: optional('string'),
  offsetMsgId: optional('string'),
});
export type CheckTransactionStateRequestHeader = HeaderOf<typeof CheckTransactionStateRequestHeader>;

/** NOTIFY_CONSUMER_IDS_CHANGED (40), broker → consumer, oneway. */
export const NotifyConsumerIdsChangedRequestHeader = defineHeader('NotifyConsumerIdsChangedRequestHeader', {
  consumerGroup: required('string'),
});
export type NotifyConsumerIdsChangedRequestHeader = HeaderOf<typeof NotifyConsumerIdsChangedRequestHeader>;

/** GET_CONSUMER_LIST_BY_GROUP (38); response body `{"consumerIdList":[...]}`. */
export const GetConsumerListByGroupRequestHeader = defineHeader('GetConsumerListByGroupRequestHeader', {
  consumerGroup: required('string'),
});
export type GetConsumerListByGroupRequestHeader = HeaderOf<typeof GetConsumerListByGroupRequestHeader>;

/** UPDATE_AND_CREATE_TOPIC (17). `attributes` is "+k=v,..." (5.x). */
export const CreateTopicRequestHeader = defineHeader('CreateTopicRequestHeader', {
  topic: required('string'),
  defaultTopic: required('string'),
  readQueueNums: required('int'),
  writeQueueNums: required('int'),
  perm: required('int'),
  topicFilterType: required('string'),
  topicSysFlag: optional('int'),
  order: required('bool'),
  attributes: optional('string'),
  force: optional('bool'),
});
export type CreateTopicRequestHeader = HeaderOf<typeof CreateTopicRequestHeader>;
