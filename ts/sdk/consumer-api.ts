// Consumer-side broker requests (pull, offsets, group membership, queue locks, send-back), as
// functions over a ClientCore. Each resolves to plain data or throws an SDK error.

import {
  RequestCode, ResponseCode, decodeStoredMessages, makeRequest, type RemotingCommand,
} from '../protocol/index.js';
import type { ClientCore } from './client-core.js';
import { MessageDecodeError, MQBrokerError, NoRouteError } from './errors.js';
import { toMessageExt, toUndecodedMessageExt, type MessageExt, type MessageQueue } from './message.js';
import type { SubscriptionData } from './subscription.js';

/** Pull sysFlag bits. */
export const PullSysFlag = {
  COMMIT_OFFSET: 0x1, SUSPEND: 0x2, SUBSCRIPTION: 0x4, CLASS_FILTER: 0x8, LITE_PULL: 0x10,
} as const;

/** Outcome of one pull. */
export type PullStatus = 'FOUND' | 'NO_NEW_MSG' | 'NO_MATCHED_MSG' | 'OFFSET_ILLEGAL';

export interface PullResult {
  status: PullStatus;
  nextBeginOffset: number;
  minOffset: number;
  maxOffset: number;
  /** The messages (before the client-side tag re-check), in offset order. */
  messages: MessageExt[];
  /**
   * With `keepUndecodable`: the messages whose body could not be decoded. They are in `messages`
   * too, at their place (offsets must stay contiguous), with the body as stored.
   */
  undecodable: Array<{ message: MessageExt; error: MessageDecodeError }>;
}

export interface PullRequest {
  group: string;
  queue: MessageQueue;
  offset: number;
  maxMessages: number;
  subscription: SubscriptionData;
  /** Piggy-backed commit offset (only when ≥ 0 and `commit`). */
  commitOffset: number;
  commit: boolean;
  /** How long the broker may hold the request (0 = no long polling). */
  suspendTimeoutMs: number;
  /** Client-side timeout of the request. */
  timeoutMs: number;
  lite?: boolean;
  /**
   * Return a message whose body cannot be decoded (unknown codec, corrupt bytes) in
   * `undecodable` instead of failing the whole pull with MessageDecodeError.
   */
  keepUndecodable?: boolean;
}

/** The master address of a queue's broker, refreshing the topic route once if unknown. */
export async function brokerAddressOf(core: ClientCore, queue: MessageQueue): Promise<string> {
  let address = core.masterAddress(queue.brokerName);
  if (address === undefined) {
    await core.updateRoute(queue.topic);
    address = core.masterAddress(queue.brokerName);
  }
  if (address === undefined) throw new NoRouteError(queue.topic, `broker ${queue.brokerName} has no known master`);
  return address;
}

/** PULL_MESSAGE (or LITE_PULL_MESSAGE). */
export async function pullMessages(core: ClientCore, request: PullRequest): Promise<PullResult> {
  const address = await brokerAddressOf(core, request.queue);
  let sysFlag = PullSysFlag.SUBSCRIPTION;
  if (request.commit && request.commitOffset > 0) sysFlag |= PullSysFlag.COMMIT_OFFSET;
  if (request.suspendTimeoutMs > 0) sysFlag |= PullSysFlag.SUSPEND;
  if (request.lite === true) sysFlag |= PullSysFlag.LITE_PULL;
  const command = makeRequest(request.lite === true ? RequestCode.LITE_PULL_MESSAGE : RequestCode.PULL_MESSAGE, {
    extFields: {
      consumerGroup: request.group,
      topic: request.queue.topic,
      queueId: String(request.queue.queueId),
      queueOffset: String(request.offset),
      maxMsgNums: String(request.maxMessages),
      sysFlag: String(sysFlag),
      commitOffset: String(Math.max(0, request.commitOffset)),
      suspendTimeoutMillis: String(request.suspendTimeoutMs),
      subscription: request.subscription.subString,
      subVersion: String(request.subscription.subVersion),
      expressionType: request.subscription.expressionType,
      bname: request.queue.brokerName,
    },
  });
  const response = await core.invoke(address, command, request.timeoutMs);
  return pullResultOf(response, address, request.queue.brokerName, request.keepUndecodable === true);
}

function pullResultOf(response: RemotingCommand, address: string, brokerName: string, keepUndecodable: boolean): PullResult {
  const status = ((): PullStatus | undefined => {
    switch (response.code) {
      case ResponseCode.SUCCESS: return 'FOUND';
      case ResponseCode.PULL_NOT_FOUND: return 'NO_NEW_MSG';
      case ResponseCode.PULL_RETRY_IMMEDIATELY: return 'NO_MATCHED_MSG';
      case ResponseCode.PULL_OFFSET_MOVED: return 'OFFSET_ILLEGAL';
      default: return undefined;
    }
  })();
  if (status === undefined) throw new MQBrokerError(response.code, response.remark, address);
  const fields = response.extFields;
  const result: PullResult = {
    status,
    nextBeginOffset: Number(fields['nextBeginOffset'] ?? 0),
    minOffset: Number(fields['minOffset'] ?? 0),
    maxOffset: Number(fields['maxOffset'] ?? 0),
    messages: [],
    undecodable: [],
  };
  if (status === 'FOUND' && response.body !== undefined && response.body.length > 0) {
    result.messages = decodeStoredMessages(response.body).map((stored) => {
      let message: MessageExt;
      try {
        message = toMessageExt(stored, brokerName);
      } catch (error) {
        if (!keepUndecodable || !(error instanceof MessageDecodeError)) throw error;
        message = toUndecodedMessageExt(stored, brokerName);
        result.undecodable.push({ message, error });
      }
      message.properties['MIN_OFFSET'] = String(result.minOffset);
      message.properties['MAX_OFFSET'] = String(result.maxOffset);
      return message;
    });
  }
  return result;
}

function offsetOf(response: RemotingCommand): number {
  return Number(response.extFields['offset'] ?? -1);
}

/** QUERY_CONSUMER_OFFSET: the group's committed offset, or −1 if it has none. */
export async function queryConsumerOffset(
  core: ClientCore, group: string, queue: MessageQueue, zeroIfNotFound = true,
): Promise<number> {
  const address = await brokerAddressOf(core, queue);
  const extFields: Record<string, string> = {
    consumerGroup: group, topic: queue.topic, queueId: String(queue.queueId), bname: queue.brokerName,
  };
  // Brokers answer 0 for a group without an offset while offset 0 is still in memory (Java's
  // clients live with that); 5.x brokers skip it when asked, so consumeFromWhere is honoured.
  if (!zeroIfNotFound) extFields['setZeroIfNotFound'] = 'false';
  const response = await core.invoke(address, makeRequest(RequestCode.QUERY_CONSUMER_OFFSET, { extFields }));
  if (response.code === ResponseCode.QUERY_NOT_FOUND) return -1;
  if (response.code !== ResponseCode.SUCCESS) throw new MQBrokerError(response.code, response.remark, address);
  return offsetOf(response);
}

/** UPDATE_CONSUMER_OFFSET, waiting for the broker's answer (so shutdown cannot lose it). */
export async function updateConsumerOffset(
  core: ClientCore, group: string, queue: MessageQueue, offset: number,
): Promise<void> {
  const address = await brokerAddressOf(core, queue);
  await core.invokeOk(address, makeRequest(RequestCode.UPDATE_CONSUMER_OFFSET, {
    extFields: {
      consumerGroup: group, topic: queue.topic, queueId: String(queue.queueId), commitOffset: String(offset),
      bname: queue.brokerName,
    },
  }));
}

async function offsetRequest(
  core: ClientCore, code: number, queue: MessageQueue, extra: Record<string, string> = {},
): Promise<number> {
  const address = await brokerAddressOf(core, queue);
  const response = await core.invokeOk(address, makeRequest(code, {
    extFields: { topic: queue.topic, queueId: String(queue.queueId), bname: queue.brokerName, ...extra },
  }));
  return offsetOf(response);
}

/** GET_MAX_OFFSET: the next offset to be written. */
export function getMaxOffset(core: ClientCore, queue: MessageQueue): Promise<number> {
  return offsetRequest(core, RequestCode.GET_MAX_OFFSET, queue);
}

/** GET_MIN_OFFSET. */
export function getMinOffset(core: ClientCore, queue: MessageQueue): Promise<number> {
  return offsetRequest(core, RequestCode.GET_MIN_OFFSET, queue);
}

/** SEARCH_OFFSET_BY_TIMESTAMP: first offset stored at or after `timestampMs`. */
export function searchOffset(core: ClientCore, queue: MessageQueue, timestampMs: number): Promise<number> {
  return offsetRequest(core, RequestCode.SEARCH_OFFSET_BY_TIMESTAMP, queue, { timestamp: String(timestampMs) });
}

/** GET_CONSUMER_LIST_BY_GROUP from one broker of the topic. */
export async function getConsumerIdList(core: ClientCore, topic: string, group: string): Promise<string[]> {
  const route = core.routeOf(topic) ?? (await core.routeOrFetch(topic));
  const brokers = route.brokerDatas
    .map((broker) => broker.brokerAddrs['0'])
    .filter((a): a is string => a !== undefined);
  if (brokers.length === 0) throw new NoRouteError(topic, `topic ${topic} has no broker to ask for group members`);
  const address = brokers[Math.floor(Math.random() * brokers.length)]!;
  const response = await core.invokeOk(address, makeRequest(RequestCode.GET_CONSUMER_LIST_BY_GROUP, {
    extFields: { consumerGroup: group },
  }));
  if (response.body === undefined) return [];
  const body = JSON.parse(response.body.toString('utf8')) as { consumerIdList?: unknown };
  if (!Array.isArray(body.consumerIdList)) return [];
  return body.consumerIdList.filter((id): id is string => typeof id === 'string');
}

function lockBody(group: string, clientId: string, queues: readonly MessageQueue[]): Buffer {
  return Buffer.from(JSON.stringify({
    consumerGroup: group, clientId, onlyThisBroker: false,
    mqSet: queues.map((queue) => ({ brokerName: queue.brokerName, queueId: queue.queueId, topic: queue.topic })),
  }), 'utf8');
}

/** LOCK_BATCH_MQ on one broker: the queues it locked for us. */
export async function lockQueues(
  core: ClientCore, address: string, group: string, queues: readonly MessageQueue[],
): Promise<MessageQueue[]> {
  const response = await core.invokeOk(address, makeRequest(RequestCode.LOCK_BATCH_MQ, {
    body: lockBody(group, core.clientId, queues),
  }));
  if (response.body === undefined) return [];
  const body = JSON.parse(response.body.toString('utf8')) as { lockOKMQSet?: MessageQueue[] };
  return (body.lockOKMQSet ?? []).map((queue) => ({
    topic: queue.topic, brokerName: queue.brokerName, queueId: queue.queueId,
  }));
}

/** UNLOCK_BATCH_MQ on one broker. */
export async function unlockQueues(
  core: ClientCore, address: string, group: string, queues: readonly MessageQueue[],
): Promise<void> {
  const body = lockBody(group, core.clientId, queues);
  await core.invokeOk(address, makeRequest(RequestCode.UNLOCK_BATCH_MQ, { body }));
}

/** CONSUMER_SEND_MSG_BACK: the broker re-delivers the message later through %RETRY%group (or DLQ). */
export async function sendMessageBack(
  core: ClientCore, message: MessageExt, group: string, delayLevel: number, maxReconsumeTimes: number,
): Promise<void> {
  const queue = { topic: message.topic, brokerName: message.brokerName, queueId: message.queueId };
  const address = core.masterAddress(message.brokerName)
    ?? (await brokerAddressOf(core, queue).catch(() => message.storeHost));
  await core.invokeOk(address, makeRequest(RequestCode.CONSUMER_SEND_MSG_BACK, {
    extFields: {
      offset: String(message.commitLogOffset),
      group,
      delayLevel: String(delayLevel),
      originMsgId: message.properties['ORIGIN_MESSAGE_ID'] ?? message.msgId,
      originTopic: message.topic,
      unitMode: 'false',
      maxReconsumeTimes: String(maxReconsumeTimes),
      bname: message.brokerName,
    },
  }), 5000);
}
