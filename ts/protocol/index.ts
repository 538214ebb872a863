// Public surface of ts/protocol: the RocketMQ remoting codec. Pure: no sockets, timers or fs,
// so the broker, the name server and the SDK share it.

export { ProtocolError } from '../common/errors.js';
export type { ProtocolErrorCode } from '../common/errors.js';

export {
  RequestCode, ResponseCode, MQVersion, BOLIDE_VERSION, Perm, requestCodeName, responseCodeName,
} from './codes.js';
export type { RequestCodeName, ResponseCodeName } from './codes.js';
export { LanguageCode, BOLIDE_LANGUAGE, languageFromCode, languageFromJson } from './language.js';
export type { LanguageName } from './language.js';

export {
  FLAG_RESPONSE, FLAG_ONEWAY, SerializeType, isResponse, isOneway, makeRequest, makeResponse,
} from './command.js';
export type { RemotingCommand, SerializeTypeValue, CommandOptions } from './command.js';

export {
  encodeFrame, encodeFrameHeader, decodeFrame, decodeFramePayload, checkFrameLength, FrameDecoder,
} from './frame.js';
export type { FrameOptions } from './frame.js';
export { encodeJsonHeader, decodeJsonHeader } from './header-json.js';
export type { CommandHeader } from './header-json.js';
export { encodeBinaryHeader, decodeBinaryHeader } from './header-binary.js';

export { defineHeader, required, optional, decodeHeader, encodeHeader } from './header-schema.js';
export type {
  HeaderField, HeaderFieldType, HeaderSchema, HeaderValues, HeaderOf, FieldSpec, FieldValue,
} from './header-schema.js';
export * from './headers.js';
export * from './headers-namesrv.js';
export * from './headers-admin.js';
export {
  SEND_HEADER_V2_NAMES, sendHeaderFromV2, sendHeaderToV2, decodeSendMessageHeader, encodeSendMessageHeader,
} from './send-header.js';

export {
  MessageProperty, NAME_VALUE_SEPARATOR, PROPERTY_SEPARATOR, encodeProperties, decodeProperties,
} from './properties.js';
export type { MessageProperties } from './properties.js';
export { encodeBatch, decodeBatch } from './batch.js';
export { encodeRecallHandle, decodeRecallHandle, RecallHandleError } from './recall-handle.js';
export type { RecallHandle } from './recall-handle.js';
export type { BatchMessage } from './batch.js';
export {
  MESSAGE_MAGIC_V1, MESSAGE_MAGIC_V2, MessageSysFlag, decodeStoredMessage, decodeStoredMessages, encodeStoredMessage,
} from './message-record.js';
export type { StoredMessage, StoredMessageInput, DecodeStoredMessageOptions } from './message-record.js';
export { encodeOffsetMsgId, decodeOffsetMsgId, createUniqIdGenerator } from './message-id.js';
export type { HostAddress, OffsetMsgId, UniqIdGeneratorOptions } from './message-id.js';
export { parseIp, formatIp, normalizeHost } from './ip-address.js';
export { crc32, crc32Masked } from './crc32.js';

export { parseLenientJson, quoteBareIntegerKeys } from './lenient-json.js';
export {
  encodeTopicRouteData, decodeTopicRouteData, encodeRegisterBrokerBody, decodeRegisterBrokerBody,
  encodeDataVersion, decodeDataVersion, dataVersionFromJson, dataVersionEquals, encodeClusterInfo, decodeClusterInfo,
  encodeKVTable, decodeKVTable, encodeTopicList, decodeTopicList, topicConfigFromJson, topicConfigToJson,
} from './namesrv-bodies.js';
export type {
  DataVersion, TopicConfig, RegisterBrokerBody, QueueData, BrokerData, TopicRouteData, ClusterInfo,
} from './namesrv-bodies.js';
export {
  decodeHeartbeatData, encodeHeartbeatData, decodeLockBatchRequestBody, encodeLockBatchRequestBody,
  encodeLockBatchResponseBody, decodeLockBatchResponseBody, encodeConsumerIdList, decodeConsumerIdList,
  encodeTopicConfigSerializeWrapper, javaStringHashCode,
} from './broker-bodies.js';
export type {
  SubscriptionData, ConsumerData, HeartbeatData, MessageQueueRef, LockBatchRequestBody,
} from './broker-bodies.js';
export {
  javaDouble, messageQueueJson, compareQueues, encodeTopicStatsTable, encodeConsumeStats, encodeConsumerConnection,
  decodeConsumerConnection, encodeGroupList, decodeGroupList, encodeResetOffsetBody, decodeQueueKeyedMap,
  decodeOffsetTable, encodeSubscriptionGroupWrapper, encodeConsumerOffsetWrapper, decodeSubscriptionGroupBody,
} from './admin-bodies.js';
export type {
  TopicOffset, OffsetWrapper, ConnectionInfo, ConsumerConnection, SubscriptionGroupBody,
} from './admin-bodies.js';
