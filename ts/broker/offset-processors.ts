// Offset requests: QUERY_CONSUMER_OFFSET (14), UPDATE_CONSUMER_OFFSET (15, usually oneway),
// SEARCH_OFFSET_BY_TIMESTAMP (29), GET_MAX_OFFSET (30), GET_MIN_OFFSET (31),
// GET_EARLIEST_MSG_STORETIME (32).

import { RequestCode, ResponseCode } from '../protocol/codes.js';
import { makeResponse, type RemotingCommand } from '../protocol/command.js';
import { decodeHeader, encodeHeader } from '../protocol/header-schema.js';
import {
  GetEarliestMsgStoretimeRequestHeader, GetEarliestMsgStoretimeResponseHeader, GetMaxOffsetRequestHeader,
  GetMinOffsetRequestHeader, OffsetResponseHeader, QueryConsumerOffsetRequestHeader, SearchOffsetRequestHeader,
  UpdateConsumerOffsetRequestHeader,
} from '../protocol/headers.js';
import type { RequestHandler } from '../remoting/processor-table.js';
import { reply, type BrokerContext } from './broker-context.js';
import { clampLongFields } from './query-processors.js';

function offsetResponse(request: RemotingCommand, offset: number): RemotingCommand {
  return makeResponse(request, ResponseCode.SUCCESS, { extFields: encodeHeader(OffsetResponseHeader, { offset }) });
}

/**
 * QUERY_CONSUMER_OFFSET. A group with no committed offset on a queue whose first message is
 * still offset 0 gets SUCCESS 0 (so a new group starts at the beginning, as RocketMQ does
 * while offset 0 is in memory); otherwise QUERY_NOT_FOUND, which clients read as "first
 * start" and resolve by their consumeFromWhere. A client that sends setZeroIfNotFound=false
 * (strict consumeFromWhere, 5.x) always gets QUERY_NOT_FOUND for an uncommitted queue.
 */
function queryConsumerOffset(context: BrokerContext): RequestHandler {
  return (request) => {
    const header = decodeHeader(QueryConsumerOffsetRequestHeader, request.extFields);
    const offset = context.offsets.query(header.consumerGroup, header.topic, header.queueId);
    if (offset >= 0) return offsetResponse(request, offset);
    const notFound = 'Not found, do not set to zero, maybe this group boot first';
    if (header.setZeroIfNotFound === false) return reply(request, ResponseCode.QUERY_NOT_FOUND, notFound);
    const minOffset = context.store.minOffset(header.topic, header.queueId);
    if (minOffset <= 0 || header.setZeroIfNotFound === true) return offsetResponse(request, 0);
    return reply(request, ResponseCode.QUERY_NOT_FOUND, notFound);
  };
}

function updateConsumerOffset(context: BrokerContext): RequestHandler {
  return (request) => {
    const header = decodeHeader(UpdateConsumerOffsetRequestHeader, request.extFields);
    context.offsets.commit(header.consumerGroup, header.topic, header.queueId, header.commitOffset);
    return makeResponse(request, ResponseCode.SUCCESS);
  };
}

function searchOffset(context: BrokerContext): RequestHandler {
  return (request) => {
    const header = decodeHeader(SearchOffsetRequestHeader, clampLongFields(request.extFields, ['timestamp']));
    const boundary = header.boundaryType?.toLowerCase() === 'upper' ? 'upper' : 'lower';
    return offsetResponse(request, context.store.offsetByTime(header.topic, header.queueId, header.timestamp, boundary));
  };
}

function getMaxOffset(context: BrokerContext): RequestHandler {
  return (request) => {
    const header = decodeHeader(GetMaxOffsetRequestHeader, request.extFields);
    return offsetResponse(request, context.store.maxOffset(header.topic, header.queueId));
  };
}

function getMinOffset(context: BrokerContext): RequestHandler {
  return (request) => {
    const header = decodeHeader(GetMinOffsetRequestHeader, request.extFields);
    return offsetResponse(request, context.store.minOffset(header.topic, header.queueId));
  };
}

/** GET_EARLIEST_MSG_STORETIME: store time of the queue's first message; −1 when it has none. */
function getEarliestMsgStoretime(context: BrokerContext): RequestHandler {
  return (request) => {
    const header = decodeHeader(GetEarliestMsgStoretimeRequestHeader, request.extFields);
    const minOffset = context.store.minOffset(header.topic, header.queueId);
    const timestamp = context.store.storeTimeAt(header.topic, header.queueId, minOffset) ?? -1;
    return makeResponse(request, ResponseCode.SUCCESS, {
      extFields: encodeHeader(GetEarliestMsgStoretimeResponseHeader, { timestamp }),
    });
  };
}

export function offsetProcessors(context: BrokerContext): Array<[number, RequestHandler]> {
  return [
    [RequestCode.QUERY_CONSUMER_OFFSET, queryConsumerOffset(context)],
    [RequestCode.UPDATE_CONSUMER_OFFSET, updateConsumerOffset(context)],
    [RequestCode.SEARCH_OFFSET_BY_TIMESTAMP, searchOffset(context)],
    [RequestCode.GET_MAX_OFFSET, getMaxOffset(context)],
    [RequestCode.GET_MIN_OFFSET, getMinOffset(context)],
    [RequestCode.GET_EARLIEST_MSG_STORETIME, getEarliestMsgStoretime(context)],
  ];
}
