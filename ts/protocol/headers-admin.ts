// Custom-header schemas of the admin requests (mqadmin, dashboards) to brokers and name
// servers. Field names, types and requiredness follow the Java header classes.

import { defineHeader, optional, required, type HeaderOf } from './header-schema.js';

/** GET_TOPIC_STATS_INFO (202). */
export const GetTopicStatsInfoRequestHeader = defineHeader('GetTopicStatsInfoRequestHeader', {
  topic: required('string'),
});
export type GetTopicStatsInfoRequestHeader = HeaderOf<typeof GetTopicStatsInfoRequestHeader>;

/** GET_TOPIC_CONFIG (351). */
export const GetTopicConfigRequestHeader = defineHeader('GetTopicConfigRequestHeader', {
  topic: required('string'),
  lo: optional('bool'),
});
export type GetTopicConfigRequestHeader = HeaderOf<typeof GetTopicConfigRequestHeader>;

/** GET_CONSUMER_CONNECTION_LIST (203). */
export const GetConsumerConnectionListRequestHeader = defineHeader('GetConsumerConnectionListRequestHeader', {
  consumerGroup: required('string'),
});
export type GetConsumerConnectionListRequestHeader = HeaderOf<typeof GetConsumerConnectionListRequestHeader>;

/** GET_CONSUME_STATS (208): all topics the group has offsets for, or just `topic`. */
export const GetConsumeStatsRequestHeader = defineHeader('GetConsumeStatsRequestHeader', {
  consumerGroup: required('string'),
  topic: optional('string'),
  topicList: optional('string'),
});
export type GetConsumeStatsRequestHeader = HeaderOf<typeof GetConsumeStatsRequestHeader>;

/** QUERY_TOPIC_CONSUME_BY_WHO (300). */
export const QueryTopicConsumeByWhoRequestHeader = defineHeader('QueryTopicConsumeByWhoRequestHeader', {
  topic: required('string'),
});
export type QueryTopicConsumeByWhoRequestHeader = HeaderOf<typeof QueryTopicConsumeByWhoRequestHeader>;

/** DELETE_TOPIC_IN_BROKER (215). */
export const DeleteTopicRequestHeader = defineHeader('DeleteTopicRequestHeader', {
  topic: required('string'),
});
export type DeleteTopicRequestHeader = HeaderOf<typeof DeleteTopicRequestHeader>;

/** DELETE_SUBSCRIPTIONGROUP (207). */
export const DeleteSubscriptionGroupRequestHeader = defineHeader('DeleteSubscriptionGroupRequestHeader', {
  groupName: required('string'),
  cleanOffset: optional('bool'),
});
export type DeleteSubscriptionGroupRequestHeader = HeaderOf<typeof DeleteSubscriptionGroupRequestHeader>;

/**
 * INVOKE_BROKER_TO_RESET_OFFSET (222) and RESET_CONSUMER_CLIENT_OFFSET (220, broker → client).
 * `queueId` −1 = every queue; `offset` (5.x) resets that one queue to an exact offset.
 */
export const ResetOffsetRequestHeader = defineHeader('ResetOffsetRequestHeader', {
  topic: required('string'),
  group: required('string'),
  queueId: optional('int'),
  offset: optional('long'),
  timestamp: required('long'),
  isForce: required('bool'),
});
export type ResetOffsetRequestHeader = HeaderOf<typeof ResetOffsetRequestHeader>;

/** DELETE_TOPIC_IN_NAMESRV (216). */
export const DeleteTopicFromNamesrvRequestHeader = defineHeader('DeleteTopicFromNamesrvRequestHeader', {
  topic: required('string'),
  clusterName: optional('string'),
});
export type DeleteTopicFromNamesrvRequestHeader = HeaderOf<typeof DeleteTopicFromNamesrvRequestHeader>;

/** GET_TOPICS_BY_CLUSTER (224). */
export const GetTopicsByClusterRequestHeader = defineHeader('GetTopicsByClusterRequestHeader', {
  cluster: required('string'),
});
export type GetTopicsByClusterRequestHeader = HeaderOf<typeof GetTopicsByClusterRequestHeader>;

/** WIPE_WRITE_PERM_OF_BROKER (205) / ADD_WRITE_PERM_OF_BROKER (327). */
export const WipeWritePermOfBrokerRequestHeader = defineHeader('WipeWritePermOfBrokerRequestHeader', {
  brokerName: required('string'),
});
export type WipeWritePermOfBrokerRequestHeader = HeaderOf<typeof WipeWritePermOfBrokerRequestHeader>;

export const WipeWritePermOfBrokerResponseHeader = defineHeader('WipeWritePermOfBrokerResponseHeader', {
  wipeTopicCount: required('int'),
});
export type WipeWritePermOfBrokerResponseHeader = HeaderOf<typeof WipeWritePermOfBrokerResponseHeader>;
