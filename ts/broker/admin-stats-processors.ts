// Read-only admin requests (what mqadmin's topicStatus, consumerProgress, clusterList,
// brokerStatus, queryMsgById and dashboards ask a broker):
//   GET_BROKER_CONFIG 26, GET_BROKER_RUNTIME_INFO 28, GET_TOPIC_STATS_INFO 202, GET_CONSUMER_CONNECTION_LIST 203,
//   GET_CONSUME_STATS 208, GET_TOPIC_CONFIG 351, QUERY_TOPIC_CONSUME_BY_WHO 300,
//   GET_ALL_CONSUMER_OFFSET 43, GET_ALL_SUBSCRIPTIONGROUP_CONFIG 201.

import { statfsSync } from 'node:fs';
import { errorMessage } from '../common/errors.js';
import {
  encodeConsumeStats, encodeConsumerConnection, encodeConsumerOffsetWrapper, encodeGroupList,
  encodeSubscriptionGroupWrapper, encodeTopicStatsTable, type OffsetWrapper, type TopicOffset,
} from '../protocol/admin-bodies.js';
import type { MessageQueueRef, SubscriptionData } from '../protocol/broker-bodies.js';
import { BOLIDE_VERSION, MQVersion, RequestCode, ResponseCode } from '../protocol/codes.js';
import { makeResponse } from '../protocol/command.js';
import { decodeHeader } from '../protocol/header-schema.js';
import {
  GetConsumeStatsRequestHeader, GetConsumerConnectionListRequestHeader, GetTopicConfigRequestHeader,
  GetTopicStatsInfoRequestHeader, QueryTopicConsumeByWhoRequestHeader,
} from '../protocol/headers-admin.js';
import { decodeStoredMessage } from '../protocol/message-record.js';
import { encodeKVTable, topicConfigToJson } from '../protocol/namesrv-bodies.js';
import type { RequestHandler } from '../remoting/processor-table.js';
import { reply, type BrokerContext } from './broker-context.js';

/** `V4_9_8` for 409: Java's MQVersion.getVersionDesc. */
export function versionDesc(version: number): string {
  for (const [name, value] of Object.entries(MQVersion)) if (value === version) return name;
  return `V_${version}`;
}

/** Used fraction of the file system holding `path` (0..1), or −1 if unknown. */
function diskRatio(path: string): { ratio: number; total: number; free: number } {
  try {
    const fs = statfsSync(path);
    const total = fs.blocks * fs.bsize;
    const free = fs.bavail * fs.bsize;
    return { ratio: total > 0 ? (total - free) / total : -1, total, free };
  } catch {
    return { ratio: -1, total: 0, free: 0 };
  }
}

function humanBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

/** Store time of the oldest message in the CommitLog, −1 when it is empty. */
function earliestMessageTime(context: BrokerContext): number {
  const store = context.store;
  try {
    if (store.commitLogMaxOffset <= store.commitLogMinOffset) return -1;
    return decodeStoredMessage(store.messageAt(store.commitLogMinOffset)).message.storeTimestamp;
  } catch {
    return -1;
  }
}

/** The KVTable of GET_BROKER_RUNTIME_INFO: the keys mqadmin brokerStatus / clusterList read. */
export function brokerRuntimeInfo(context: BrokerContext, now: number = Date.now()): Record<string, string> {
  const store = context.store;
  const storeStats = store.stats();
  const disk = diskRatio(context.options.storePathRootDir);
  const min = store.commitLogMinOffset;
  const max = store.commitLogMaxOffset;
  const ratio = String(disk.ratio);
  const zero = '0';
  const table: Record<string, string> = {
    brokerVersionDesc: versionDesc(BOLIDE_VERSION),
    brokerVersion: String(BOLIDE_VERSION),
    brokerActive: 'true',
    ...context.stats.runtimeEntries(now),
    putMessageSizeTotal: String(storeStats.appendedBytes),
    putMessageAverageSize: String(storeStats.appendedMessages > 0 ? storeStats.appendedBytes / storeStats.appendedMessages : 0),
    earliestMessageTimeStamp: String(earliestMessageTime(context)),
    startAcceptSendRequestTimeStamp: zero,
    commitLogMinOffset: String(min),
    commitLogMaxOffset: String(max),
    commitLogDiskRatio: ratio,
    consumeQueueDiskRatio: ratio,
    commitLogDirCapacity: `Total : ${humanBytes(disk.total)}, Free : ${humanBytes(disk.free)}.`,
    dispatchBehindBytes: String(Math.max(0, max - store.dispatchedOffset)),
    remainHowManyDataToFlush: humanBytes(Math.max(0, max - store.flushedOffset)),
    remainHowManyDataToCommit: humanBytes(0),
    remainTransientStoreBufferNumbs: '-2147483648',
    pageCacheLockTimeMills: zero,
    timerReadBehind: zero,
    timerOffsetBehind: zero,
    timerCongestNum: zero,
    timerEnqueueTps: '0.0',
    timerDequeueTps: '0.0',
    EndTransactionQueueSize: zero,
    EndTransactionThreadPoolQueueCapacity: '100000',
  };
  for (const pool of ['send', 'pull', 'litePull', 'query', 'ack']) {
    table[`${pool}ThreadPoolQueueSize`] = zero;
    table[`${pool}ThreadPoolQueueCapacity`] = String(context.options.maxInFlightRequestsPerConnection);
    table[`${pool}ThreadPoolQueueHeadWaitTimeMills`] = zero;
  }
  return table;
}

function runtimeInfo(context: BrokerContext): RequestHandler {
  return (request) => {
    try {
      return makeResponse(request, ResponseCode.SUCCESS, { body: encodeKVTable(brokerRuntimeInfo(context)) });
    } catch (error) {
      return reply(request, ResponseCode.SYSTEM_ERROR, `runtime info failed: ${errorMessage(error)}`);
    }
  };
}

/**
 * GET_BROKER_CONFIG body: the effective broker.conf keys as Java properties text (`key=value`
 * lines, sorted); lists are `;`-joined as broker.conf writes them.
 */
export function brokerConfigText(context: BrokerContext): string {
  const lines: string[] = [];
  for (const key of Object.keys(context.options).sort()) {
    const value = (context.options as unknown as Record<string, unknown>)[key];
    if (typeof value === 'function' || (typeof value === 'object' && value !== null && !Array.isArray(value))) continue;
    const text = Array.isArray(value) ? value.join(';') : String(value);
    lines.push(`${key}=${text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`);
  }
  return `${lines.join('\n')}\n`;
}

function brokerConfig(context: BrokerContext): RequestHandler {
  return (request) => {
    const version = JSON.stringify(context.topics.dataVersion);
    return makeResponse(request, ResponseCode.SUCCESS, {
      extFields: { version }, body: Buffer.from(brokerConfigText(context), 'utf8'),
    });
  };
}

/** Store time of the message at `queueOffset`, 0 when unknown. */
function storeTime(context: BrokerContext, topic: string, queueId: number, queueOffset: number): number {
  if (queueOffset < 0) return 0;
  try {
    return context.store.storeTimeAt(topic, queueId, queueOffset) ?? 0;
  } catch {
    return 0;
  }
}

function topicStats(context: BrokerContext): RequestHandler {
  return (request) => {
    const { topic } = decodeHeader(GetTopicStatsInfoRequestHeader, request.extFields);
    const config = context.topics.get(topic);
    if (config === undefined) return reply(request, ResponseCode.TOPIC_NOT_EXIST, `topic[${topic}] not exist`);
    const offsets: Array<[MessageQueueRef, TopicOffset]> = [];
    for (let queueId = 0; queueId < config.writeQueueNums; queueId += 1) {
      const minOffset = Math.max(0, context.store.minOffset(topic, queueId));
      const maxOffset = Math.max(0, context.store.maxOffset(topic, queueId));
      const lastUpdateTimestamp = maxOffset > 0 ? storeTime(context, topic, queueId, maxOffset - 1) : 0;
      offsets.push([{ topic, brokerName: context.options.brokerName, queueId }, { minOffset, maxOffset, lastUpdateTimestamp }]);
    }
    return makeResponse(request, ResponseCode.SUCCESS, { body: encodeTopicStatsTable(offsets) });
  };
}

function consumerConnections(context: BrokerContext): RequestHandler {
  return (request) => {
    const { consumerGroup } = decodeHeader(GetConsumerConnectionListRequestHeader, request.extFields);
    const info = context.clients.consumerGroup(consumerGroup);
    if (info === undefined || info.channels.size === 0) {
      return reply(request, ResponseCode.CONSUMER_NOT_ONLINE, `the consumer group[${consumerGroup}] not online`);
    }
    const subscriptionTable: Record<string, SubscriptionData> = {};
    for (const [topic, subscription] of info.subscriptions) subscriptionTable[topic] = subscription;
    const body = encodeConsumerConnection({
      connectionSet: [...info.channels.values()].map((channel) => ({
        clientId: channel.clientId, clientAddr: channel.connection.remoteAddress, language: channel.language,
        version: channel.version,
      })),
      subscriptionTable, consumeType: info.consumeType, messageModel: info.messageModel,
      consumeFromWhere: info.consumeFromWhere,
    });
    return makeResponse(request, ResponseCode.SUCCESS, { body });
  };
}

/** The per-queue progress of a group on this broker (the body of GET_CONSUME_STATS). */
export function consumeStats(context: BrokerContext, group: string, onlyTopic?: string):
  { offsets: Array<[MessageQueueRef, OffsetWrapper]>; consumeTps: number } {
  const topics = onlyTopic !== undefined && onlyTopic !== '' ? [onlyTopic] : context.offsets.topicsOf(group);
  const online = context.clients.consumerGroup(group);
  const offsets: Array<[MessageQueueRef, OffsetWrapper]> = [];
  let consumeTps = 0;
  for (const topic of topics) {
    const config = context.topics.get(topic);
    if (config === undefined) continue;
    // A group that is online but no longer subscribes the topic has stale offsets: skip them.
    if (online !== undefined && online.subscriptions.size > 0 && !online.subscriptions.has(topic)) continue;
    for (let queueId = 0; queueId < config.readQueueNums; queueId += 1) {
      const brokerOffset = Math.max(0, context.store.maxOffset(topic, queueId));
      const consumerOffset = Math.max(0, context.offsets.query(group, topic, queueId));
      const pullOffset = Math.max(consumerOffset, context.stats.pullOffset(group, topic, queueId));
      const lastTimestamp = storeTime(context, topic, queueId, consumerOffset - 1);
      offsets.push([{ topic, brokerName: context.options.brokerName, queueId },
        { brokerOffset, consumerOffset, pullOffset, lastTimestamp }]);
    }
    consumeTps += context.stats.consumeTps(group, topic);
  }
  return { offsets, consumeTps };
}

function getConsumeStats(context: BrokerContext): RequestHandler {
  return (request) => {
    const header = decodeHeader(GetConsumeStatsRequestHeader, request.extFields);
    const { offsets, consumeTps } = consumeStats(context, header.consumerGroup, header.topic);
    return makeResponse(request, ResponseCode.SUCCESS, { body: encodeConsumeStats(offsets, consumeTps) });
  };
}

function getTopicConfig(context: BrokerContext): RequestHandler {
  return (request) => {
    const { topic } = decodeHeader(GetTopicConfigRequestHeader, request.extFields);
    const config = context.topics.get(topic);
    if (config === undefined) return reply(request, ResponseCode.TOPIC_NOT_EXIST, `No topic in this broker. topic: ${topic}`);
    return makeResponse(request, ResponseCode.SUCCESS, { body: Buffer.from(JSON.stringify(topicConfigToJson(config)), 'utf8') });
  };
}

/** Groups consuming a topic: online subscribers plus groups holding offsets for it. */
export function groupsConsuming(context: BrokerContext, topic: string): string[] {
  const groups = new Set(context.offsets.groupsOf(topic));
  for (const group of context.clients.consumerGroupNames()) {
    if (context.clients.consumerGroup(group)?.subscriptions.has(topic) === true) groups.add(group);
  }
  return [...groups].sort();
}

function queryTopicConsumeByWho(context: BrokerContext): RequestHandler {
  return (request) => {
    const { topic } = decodeHeader(QueryTopicConsumeByWhoRequestHeader, request.extFields);
    return makeResponse(request, ResponseCode.SUCCESS, { body: encodeGroupList(groupsConsuming(context, topic)) });
  };
}

export function adminStatsProcessors(context: BrokerContext): Array<[number, RequestHandler]> {
  return [
    [RequestCode.GET_BROKER_CONFIG, brokerConfig(context)],
    [RequestCode.GET_BROKER_RUNTIME_INFO, runtimeInfo(context)],
    [RequestCode.GET_TOPIC_STATS_INFO, topicStats(context)],
    [RequestCode.GET_CONSUMER_CONNECTION_LIST, consumerConnections(context)],
    [RequestCode.GET_CONSUME_STATS, getConsumeStats(context)],
    [RequestCode.GET_TOPIC_CONFIG, getTopicConfig(context)],
    [RequestCode.QUERY_TOPIC_CONSUME_BY_WHO, queryTopicConsumeByWho(context)],
    [RequestCode.GET_ALL_CONSUMER_OFFSET, (request) => makeResponse(request, ResponseCode.SUCCESS, {
      body: encodeConsumerOffsetWrapper(context.offsets.snapshot(), context.offsets.dataVersion),
    })],
    [RequestCode.GET_ALL_SUBSCRIPTIONGROUP_CONFIG, (request) => makeResponse(request, ResponseCode.SUCCESS, {
      body: encodeSubscriptionGroupWrapper(context.groups.snapshot() as unknown as Array<Record<string, unknown> & { groupName: string }>,
        context.groups.dataVersion),
    })],
  ];
}
