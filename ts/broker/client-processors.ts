// Client management requests: HEART_BEAT (34), UNREGISTER_CLIENT (35),
// GET_CONSUMER_LIST_BY_GROUP (38), LOCK_BATCH_MQ (41), UNLOCK_BATCH_MQ (42).

import { RequestCode, ResponseCode } from '../protocol/codes.js';
import { makeResponse } from '../protocol/command.js';
import {
  decodeHeartbeatData, decodeLockBatchRequestBody, encodeConsumerIdList, encodeLockBatchResponseBody,
} from '../protocol/broker-bodies.js';
import { decodeHeader } from '../protocol/header-schema.js';
import { GetConsumerListByGroupRequestHeader, UnregisterClientRequestHeader } from '../protocol/headers.js';
import type { RequestHandler } from '../remoting/processor-table.js';
import { reply, type BrokerContext } from './broker-context.js';
import type { ClientChannel } from './client-manager.js';

/**
 * HEART_BEAT: registers the client's producer and consumer groups on this connection. A new
 * consumer group gets its subscription group config and its `%RETRY%<group>` topic (which
 * re-registers with the name servers at once, so the client's retry route exists). The
 * response's version is remembered by clients as the broker version (SQL92 needs ≥ 4.1.0).
 */
function heartbeat(context: BrokerContext): RequestHandler {
  return (request, requestContext) => {
    const data = decodeHeartbeatData(request.body);
    const channel = (): ClientChannel => ({
      clientId: data.clientID, connection: requestContext.connection, language: request.language,
      version: request.version, lastUpdateMs: Date.now(),
    });
    const popGroup = data.consumerDataSet.find((consumer) => context.clients.isPopGroup(consumer.groupName));
    if (popGroup !== undefined) {
      return makeResponse(request, ResponseCode.SYSTEM_ERROR, {
        remark: `consumer group ${popGroup.groupName} is consumed over HTTP (POP fetch/ack); a remoting consumer cannot join it: use another group`,
      });
    }
    for (const consumer of data.consumerDataSet) {
      const group = context.groups.findOrCreate(consumer.groupName);
      if (group !== undefined) context.topics.createRetryTopic(consumer.groupName, group.retryQueueNums);
      context.clients.registerConsumer(consumer, channel(), data.withoutSub);
    }
    for (const producer of data.producerDataSet) context.clients.registerProducer(producer.groupName, channel());
    return makeResponse(request, ResponseCode.SUCCESS, {
      extFields: { IS_SUPPORT_HEART_BEAT_V2: 'true', IS_SUB_CHANGE: 'true' },
    });
  };
}

function unregisterClient(context: BrokerContext): RequestHandler {
  return (request, requestContext) => {
    const header = decodeHeader(UnregisterClientRequestHeader, request.extFields);
    context.clients.unregister(requestContext.connection, header.producerGroup, header.consumerGroup);
    return makeResponse(request, ResponseCode.SUCCESS);
  };
}

function getConsumerListByGroup(context: BrokerContext): RequestHandler {
  return (request) => {
    const { consumerGroup } = decodeHeader(GetConsumerListByGroupRequestHeader, request.extFields);
    const ids = context.clients.consumerIds(consumerGroup);
    if (ids.length === 0) return reply(request, ResponseCode.SYSTEM_ERROR, `no consumer for this group, ${consumerGroup}`);
    return makeResponse(request, ResponseCode.SUCCESS, { body: encodeConsumerIdList(ids) });
  };
}

function lockBatch(context: BrokerContext): RequestHandler {
  return (request) => {
    const body = decodeLockBatchRequestBody(request.body);
    const locked = context.locks.tryLockBatch(body.consumerGroup, body.mqSet, body.clientId);
    return makeResponse(request, ResponseCode.SUCCESS, { body: encodeLockBatchResponseBody(locked) });
  };
}

function unlockBatch(context: BrokerContext): RequestHandler {
  return (request) => {
    const body = decodeLockBatchRequestBody(request.body);
    context.locks.unlockBatch(body.consumerGroup, body.mqSet, body.clientId);
    return makeResponse(request, ResponseCode.SUCCESS);
  };
}

export function clientProcessors(context: BrokerContext): Array<[number, RequestHandler]> {
  return [
    [RequestCode.HEART_BEAT, heartbeat(context)],
    [RequestCode.UNREGISTER_CLIENT, unregisterClient(context)],
    [RequestCode.GET_CONSUMER_LIST_BY_GROUP, getConsumerListByGroup(context)],
    [RequestCode.LOCK_BATCH_MQ, lockBatch(context)],
    [RequestCode.UNLOCK_BATCH_MQ, unlockBatch(context)],
  ];
}
