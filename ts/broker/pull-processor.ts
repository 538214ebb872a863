// PULL_MESSAGE (11) and LITE_PULL_MESSAGE (361).
//
// One pull: check permissions, topic and queue; decide the subscription (the one registered
// by heartbeat, or the one in the request when the SUBSCRIPTION flag is set); read from the
// store with the subscription's tag filter; map the store status to RocketMQ's response code
// and nextBeginOffset. Messages leave as Buffers over the CommitLog mapping, written as the
// frame body in pieces (replyRaw): no copy through JS. A pull that finds nothing and allows
// suspension is parked in the PullHoldService and re-run when its queue grows.

import { Perm, ResponseCode } from '../protocol/codes.js';
import { makeResponse, type RemotingCommand } from '../protocol/command.js';
import { decodeHeader, encodeHeader } from '../protocol/header-schema.js';
import {
  PullMessageRequestHeader, PullMessageResponseHeader, type PullMessageRequestHeader as PullHeader,
} from '../protocol/headers.js';
import type { SubscriptionData } from '../protocol/broker-bodies.js';
import type { RequestHandler } from '../remoting/processor-table.js';
import type { RequestContext } from '../remoting/request-context.js';
import type { GetMessageStatus, PullResult } from '../store/index.js';
import { reply, type BrokerContext } from './broker-context.js';
import { PullHoldService, type ParkedPull } from './pull-hold-service.js';
import { filterOf, subscriptionFromRequest } from './subscription-filter.js';

/** Pull sysFlag bits (PullSysFlag). */
export const PullSysFlag = {
  COMMIT_OFFSET: 0x1,
  SUSPEND: 0x2,
  SUBSCRIPTION: 0x4,
  CLASS_FILTER: 0x8,
  LITE_PULL: 0x10,
} as const;

/**
 * Messages per pull at most (RocketMQ: maxTransferCountOnMessageInMemory). Also keeps one
 * response's Buffer list short.
 */
export const PULL_MESSAGES_MAX = 32;
/** Bytes per pull when the request does not say (RocketMQ: maxTransferBytesOnMessageInMemory). */
export const PULL_BYTES_DEFAULT = 256 * 1024;
/**
 * Bytes per pull at most, whatever the request says: with one maximal 4 MiB message past the
 * limit the frame stays under the 16 MiB frame bound.
 */
export const PULL_BYTES_MAX = 8 * 1024 * 1024;

/** Response code of a store status (PullMessageProcessor's mapping; see the protocol notes §2.4). */
export function pullResponseCode(status: GetMessageStatus, requestOffset: number): number {
  switch (status) {
    case 'FOUND':
      return ResponseCode.SUCCESS;
    case 'NO_MATCHED_MESSAGE':
    case 'MESSAGE_WAS_REMOVING':
      return ResponseCode.PULL_RETRY_IMMEDIATELY;
    case 'NO_MATCHED_LOGIC_QUEUE':
    case 'NO_MESSAGE_IN_QUEUE':
      return requestOffset !== 0 ? ResponseCode.PULL_OFFSET_MOVED : ResponseCode.PULL_NOT_FOUND;
    case 'OFFSET_FOUND_NULL':
    case 'OFFSET_OVERFLOW_ONE':
      return ResponseCode.PULL_NOT_FOUND;
    case 'OFFSET_OVERFLOW_BADLY':
    case 'OFFSET_TOO_SMALL':
      return ResponseCode.PULL_OFFSET_MOVED;
  }
}

type Outcome = RemotingCommand | 'replied' | 'parked';

export class PullMessageProcessor {
  readonly #context: BrokerContext;
  readonly hold: PullHoldService;

  constructor(context: BrokerContext) {
    this.#context = context;
    this.hold = new PullHoldService(context.options.maxPendingLongPolls, (parked) => this.#resume(parked));
  }

  /** The handler for codes 11 and 361. */
  handler(): RequestHandler {
    return (request, requestContext) => {
      const started = performance.now();
      const outcome = this.#process(request, requestContext, true);
      if (outcome === 'replied') this.#context.stats.traffic.pullLatency.observe(performance.now() - started);
      return typeof outcome === 'object' ? outcome : undefined;
    };
  }

  #resume(parked: ParkedPull): void {
    if (parked.context.done || parked.context.connection.closed) return;
    let outcome: Outcome;
    try {
      outcome = this.#process(parked.request, parked.context, false);
    } catch (error) {
      outcome = reply(parked.request, ResponseCode.SYSTEM_ERROR, error instanceof Error ? error.message : String(error));
    }
    if (typeof outcome === 'object') parked.context.reply(outcome);
  }

  /** `firstRun`: not resumed from long polling (may park, may store the commit offset). */
  #process(request: RemotingCommand, requestContext: RequestContext, firstRun: boolean): Outcome {
    const context = this.#context;
    const header = decodeHeader(PullMessageRequestHeader, request.extFields);
    const refusal = this.#checkAccess(request, header);
    if (refusal !== null) return refusal;
    const subscription = this.#subscription(request, header);
    if (!('subString' in subscription)) return subscription;
    const filter = filterOf(subscription, context.options.enablePropertyFilter);
    if ('code' in filter) return reply(request, filter.code, filter.remark);
    const maxMessages = Math.max(1, Math.min(header.maxMsgNums, PULL_MESSAGES_MAX));
    const maxBytes = Math.max(1, Math.min(header.maxMsgBytes ?? PULL_BYTES_DEFAULT, PULL_BYTES_MAX));
    const result = context.store.getMessages(header.topic, header.queueId, header.queueOffset, maxMessages, maxBytes,
      filter.tagCodes);
    const code = pullResponseCode(result.status, header.queueOffset);
    if (firstRun && (header.sysFlag & PullSysFlag.COMMIT_OFFSET) !== 0 && header.commitOffset >= 0) {
      context.offsets.commit(header.consumerGroup, header.topic, header.queueId, header.commitOffset);
    }
    if (code === ResponseCode.PULL_NOT_FOUND && firstRun && (header.sysFlag & PullSysFlag.SUSPEND) !== 0) {
      const holdMs = context.options.longPollingEnable ? header.suspendTimeoutMillis : context.options.shortPollingTimeMills;
      if (this.hold.park(header.topic, header.queueId, header.queueOffset, request, requestContext, holdMs)) {
        return 'parked';
      }
    }
    const response = makeResponse(request, code, {
      remark: result.status,
      extFields: encodeHeader(PullMessageResponseHeader, {
        suggestWhichBrokerId: 0,
        nextBeginOffset: result.nextBeginOffset,
        minOffset: result.minOffset,
        maxOffset: result.maxOffset,
      }),
    });
    if (code !== ResponseCode.SUCCESS) return response;
    context.stats.onGet(header.consumerGroup, header.topic, header.queueId, result.messageCount, result.nextBeginOffset);
    context.stats.traffic.onTopicGet(header.topic, result.messageCount, result.totalBytes);
    this.#writeFound(requestContext, response, result);
    return 'replied';
  }

  /**
   * Writes a FOUND response with the records as the body, never copied through JS: large
   * bodies by sendfile from the CommitLog file, small ones as Buffers over the mapping (one
   * writev). bench/store measured sendfile ahead only from ~256 KiB responses on; below that
   * its thread-pool hop costs more than the copy it saves.
   */
  #writeFound(requestContext: RequestContext, response: RemotingCommand, result: PullResult): void {
    const store = this.#context.store;
    if (result.totalBytes >= this.#context.options.pullSendfileMinBytes && requestContext.connection.fd >= 0) {
      requestContext.replyTransfer(response, result.totalBytes, (fd) => store.transfer(fd, result, 30_000));
      return;
    }
    const buffers = store.messageBuffers(result);
    let total = 0;
    for (const buffer of buffers) total += buffer.length;
    const writer = requestContext.replyRaw(response, total);
    if (writer === null) return;
    for (const buffer of buffers) {
      // false: the connection closed (or was closed for not reading); stop writing to it.
      if (!writer.write(buffer)) return;
    }
  }

  #checkAccess(request: RemotingCommand, header: PullHeader): RemotingCommand | null {
    const context = this.#context;
    if ((context.options.brokerPermission & Perm.READ) === 0) {
      return reply(request, ResponseCode.NO_PERMISSION, `the broker[${context.options.brokerIP1}] pulling message is forbidden`);
    }
    const group = context.groups.findOrCreate(header.consumerGroup);
    if (group === undefined) {
      return reply(request, ResponseCode.SUBSCRIPTION_GROUP_NOT_EXIST,
        `subscription group [${header.consumerGroup}] does not exist`);
    }
    if (!group.consumeEnable) {
      return reply(request, ResponseCode.NO_PERMISSION, `subscription group no permission, ${header.consumerGroup}`);
    }
    const topic = context.topics.get(header.topic);
    if (topic === undefined) {
      return reply(request, ResponseCode.TOPIC_NOT_EXIST, `topic[${header.topic}] not exist, apply first please!`);
    }
    if ((topic.perm & Perm.READ) === 0) {
      return reply(request, ResponseCode.NO_PERMISSION, `the topic[${header.topic}] pulling message is forbidden`);
    }
    if (header.queueId < 0 || header.queueId >= topic.readQueueNums) {
      return reply(request, ResponseCode.SYSTEM_ERROR, `queueId[${header.queueId}] is illegal, topic:[${header.topic}] `
        + `topicConfig.readQueueNums:[${topic.readQueueNums}] consumer:[${header.consumerGroup}]`);
    }
    return null;
  }

  #subscription(request: RemotingCommand, header: PullHeader): SubscriptionData | RemotingCommand {
    if ((header.sysFlag & PullSysFlag.SUBSCRIPTION) !== 0) {
      return subscriptionFromRequest(header.topic, header.subscription ?? '*', header.expressionType, header.subVersion);
    }
    const group = this.#context.clients.consumerGroup(header.consumerGroup);
    if (group === undefined) {
      return reply(request, ResponseCode.SUBSCRIPTION_NOT_EXIST,
        `the consumer's group info not exist, group: ${header.consumerGroup}`);
    }
    const subscription = group.subscriptions.get(header.topic);
    if (subscription === undefined) {
      return reply(request, ResponseCode.SUBSCRIPTION_NOT_EXIST,
        `the consumer's subscription not exist, group: ${header.consumerGroup} topic: ${header.topic}`);
    }
    if (subscription.subVersion < header.subVersion) {
      return reply(request, ResponseCode.SUBSCRIPTION_NOT_LATEST,
        `the consumer's subscription not latest, group: ${header.consumerGroup} topic: ${header.topic}`);
    }
    return subscription;
  }
}
