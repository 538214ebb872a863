// Admin requests that change topics, groups and offsets (mqadmin updateSubGroup, deleteSubGroup,
// deleteTopic, resetOffsetByTime):
//   UPDATE_AND_CREATE_SUBSCRIPTIONGROUP 200, DELETE_SUBSCRIPTIONGROUP 207,
//   DELETE_TOPIC_IN_BROKER 215, INVOKE_BROKER_TO_RESET_OFFSET 222 (which notifies running
//   consumers with RESET_CONSUMER_CLIENT_OFFSET 220).

import { errorMessage } from '../common/errors.js';
import { decodeSubscriptionGroupBody, encodeResetOffsetBody } from '../protocol/admin-bodies.js';
import type { MessageQueueRef } from '../protocol/broker-bodies.js';
import { RequestCode, ResponseCode } from '../protocol/codes.js';
import { makeRequest, makeResponse } from '../protocol/command.js';
import { decodeHeader, encodeHeader } from '../protocol/header-schema.js';
import {
  DeleteSubscriptionGroupRequestHeader, DeleteTopicRequestHeader, ResetOffsetRequestHeader,
} from '../protocol/headers-admin.js';
import type { RequestHandler } from '../remoting/processor-table.js';
import { reply, type BrokerContext } from './broker-context.js';
import { defaultSubscriptionGroup, type SubscriptionGroupConfig } from './subscription-group-manager.js';
import { SystemTopic, topicNameProblem } from './topic-config-manager.js';

function updateSubscriptionGroup(context: BrokerContext): RequestHandler {
  return (request) => {
    let body;
    try {
      body = decodeSubscriptionGroupBody(request.body);
    } catch (error) {
      return reply(request, ResponseCode.SYSTEM_ERROR, `bad SubscriptionGroupConfig: ${errorMessage(error)}`);
    }
    if (!/^[%|a-zA-Z0-9_-]+$/.test(body.groupName) || body.groupName.length > 255) {
      return reply(request, ResponseCode.SYSTEM_ERROR, `the group name[${body.groupName}] is illegal`);
    }
    const base = context.groups.get(body.groupName) ?? defaultSubscriptionGroup(body.groupName);
    const config: SubscriptionGroupConfig = { ...base };
    for (const key of Object.keys(base) as Array<keyof SubscriptionGroupConfig>) {
      const value = (body as unknown as Record<string, unknown>)[key];
      if (value !== undefined && key !== 'groupName') (config as unknown as Record<string, unknown>)[key] = value;
    }
    context.groups.put(config);
    context.logger.info('subscription group updated', { group: config.groupName });
    return makeResponse(request, ResponseCode.SUCCESS);
  };
}

function deleteSubscriptionGroup(context: BrokerContext): RequestHandler {
  return (request) => {
    const { groupName, cleanOffset } = decodeHeader(DeleteSubscriptionGroupRequestHeader, request.extFields);
    context.groups.remove(groupName);
    if (cleanOffset === true) context.offsets.removeGroup(groupName);
    context.logger.info('subscription group deleted', { group: groupName, cleanOffset: cleanOffset === true });
    return makeResponse(request, ResponseCode.SUCCESS);
  };
}

/** Topics the broker creates itself and an admin may not delete. */
function isProtectedTopic(context: BrokerContext, topic: string): boolean {
  return (Object.values(SystemTopic) as string[]).includes(topic)
    || topic === context.options.brokerClusterName || topic === context.options.brokerName;
}

function deleteTopic(context: BrokerContext): RequestHandler {
  return (request) => {
    const { topic } = decodeHeader(DeleteTopicRequestHeader, request.extFields);
    const problem = topicNameProblem(topic);
    if (problem !== null) return reply(request, ResponseCode.SYSTEM_ERROR, problem);
    if (isProtectedTopic(context, topic)) {
      return reply(request, ResponseCode.SYSTEM_ERROR, `the topic[${topic}] is a system topic and cannot be deleted`);
    }
    context.topics.remove(topic);
    context.offsets.removeTopic(topic);
    try {
      context.store.deleteTopic(topic);
      context.stats.traffic.removeTopic(topic);
    } catch (error) {
      context.logger.warn('deleting the topic\'s consume queues failed', { topic, error: errorMessage(error) });
    }
    return makeResponse(request, ResponseCode.SUCCESS);
  };
}

/**
 * The offsets a reset moves `group` to on `topic`: per queue, the first offset stored at or after
 * `timestamp` (−1: the max offset). Unless `isForce`, a queue never moves forward.
 */
export function resetOffsets(
  context: BrokerContext,
  header: ResetOffsetRequestHeader,
): { offsets: Array<[MessageQueueRef, number]> } | { code: number; remark: string } {
  const { topic, group, timestamp, isForce } = header;
  const config = context.topics.get(topic);
  if (config === undefined) {
    return { code: ResponseCode.SYSTEM_ERROR, remark: `[reset-offset] reset offset failed, no topic in this broker. topic=${topic}` };
  }
  const single = header.queueId !== undefined && header.queueId >= 0 ? header.queueId : undefined;
  const offsets: Array<[MessageQueueRef, number]> = [];
  for (let queueId = 0; queueId < config.writeQueueNums; queueId += 1) {
    if (single !== undefined && queueId !== single) continue;
    const consumerOffset = context.offsets.query(group, topic, queueId);
    let target: number;
    if (single !== undefined && header.offset !== undefined && header.offset >= 0) {
      target = Math.min(header.offset, context.store.maxOffset(topic, queueId));
    } else {
      target = timestamp === -1 ? context.store.maxOffset(topic, queueId) : context.store.offsetByTime(topic, queueId, timestamp);
      target = Math.max(0, target);
      if (!isForce && consumerOffset >= 0 && target > consumerOffset) target = consumerOffset;
    }
    offsets.push([{ topic, brokerName: context.options.brokerName, queueId }, Math.max(0, target)]);
  }
  const known = offsets.some(([queue]) => context.offsets.query(group, topic, queue.queueId) >= 0);
  const online = (context.clients.consumerGroup(group)?.channels.size ?? 0) > 0;
  // A group created by UPDATE_AND_CREATE_SUBSCRIPTIONGROUP exists before it ever commits (as in Apache).
  const configured = context.groups.get(group) !== undefined;
  if (!known && !online && !configured) return { code: ResponseCode.SYSTEM_ERROR, remark: `THe consumer group <${group}> not exist` };
  return { offsets };
}

function invokeResetOffset(context: BrokerContext): RequestHandler {
  return (request) => {
    const header = decodeHeader(ResetOffsetRequestHeader, request.extFields);
    const result = resetOffsets(context, header);
    if ('code' in result) return reply(request, result.code, result.remark);
    // Server-side reset: the committed offsets move now, so offline groups are reset too...
    for (const [queue, offset] of result.offsets) {
      context.offsets.commit(header.group, header.topic, queue.queueId, offset);
      context.stats.resetPullOffset(header.group, header.topic, queue.queueId, offset);
    }
    // ...and running consumers drop what they hold and continue from the new offsets.
    const body = encodeResetOffsetBody(result.offsets);
    const info = context.clients.consumerGroup(header.group);
    let notified = 0;
    for (const channel of info?.channels.values() ?? []) {
      const notify = makeRequest(RequestCode.RESET_CONSUMER_CLIENT_OFFSET, {
        extFields: encodeHeader(ResetOffsetRequestHeader, {
          topic: header.topic, group: header.group, timestamp: header.timestamp, isForce: header.isForce,
        }),
        body,
      });
      try {
        if (channel.connection.invokeOneway(notify)) notified += 1;
      } catch (error) {
        context.logger.warn('RESET_CONSUMER_CLIENT_OFFSET failed', { group: header.group, error: errorMessage(error) });
      }
    }
    context.logger.info('consumer offsets reset', {
      group: header.group, topic: header.topic, timestamp: header.timestamp, queues: result.offsets.length, notified,
    });
    return makeResponse(request, ResponseCode.SUCCESS, { body });
  };
}

export function adminGroupProcessors(context: BrokerContext): Array<[number, RequestHandler]> {
  return [
    [RequestCode.UPDATE_AND_CREATE_SUBSCRIPTIONGROUP, updateSubscriptionGroup(context)],
    [RequestCode.DELETE_SUBSCRIPTIONGROUP, deleteSubscriptionGroup(context)],
    [RequestCode.DELETE_TOPIC_IN_BROKER, deleteTopic(context)],
    [RequestCode.INVOKE_BROKER_TO_RESET_OFFSET, invokeResetOffset(context)],
  ];
}
