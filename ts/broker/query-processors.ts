// QUERY_MESSAGE (12, by key or unique key) and VIEW_MESSAGE_BY_ID (33, by CommitLog offset).
// Bodies are raw stored records over the CommitLog mapping, written without a copy.

import { errorMessage } from '../common/errors.js';
import { RequestCode, ResponseCode } from '../protocol/codes.js';
import { makeResponse, type RemotingCommand } from '../protocol/command.js';
import { decodeHeader, encodeHeader } from '../protocol/header-schema.js';
import { QueryMessageRequestHeader, QueryMessageResponseHeader, ViewMessageRequestHeader } from '../protocol/headers.js';
import { decodeStoredMessage } from '../protocol/message-record.js';
import { MessageProperty } from '../protocol/properties.js';
import type { RequestHandler } from '../remoting/processor-table.js';
import type { RequestContext } from '../remoting/request-context.js';
import { reply, type BrokerContext } from './broker-context.js';

/** Records per key query at most (RocketMQ: maxMsgsNumBatch). */
export const QUERY_MESSAGES_MAX = 64;
/** Records per unique-key query (RocketMQ: defaultQueryMaxNum). */
export const UNIQUE_KEY_QUERY_MAX = 32;

function writeRecords(requestContext: RequestContext, response: RemotingCommand, records: Buffer[]): void {
  const total = records.reduce((sum, record) => sum + record.length, 0);
  const writer = requestContext.replyRaw(response, total);
  if (writer === null) return;
  for (const record of records) if (!writer.write(record)) return;
}

/** Does the record really carry `key`? The index hashes keys, and hashes collide. */
function recordMatches(record: Buffer, topic: string, key: string, unique: boolean): { ok: boolean; storeTimestamp: number } {
  const { message } = decodeStoredMessage(record);
  if (message.topic !== topic) return { ok: false, storeTimestamp: 0 };
  const ok = unique
    ? message.properties[MessageProperty.UNIQ_KEY] === key
    : (message.properties[MessageProperty.KEYS] ?? '').split(' ').includes(key);
  return { ok, storeTimestamp: message.storeTimestamp };
}

/**
 * Java clients send Long.MAX_VALUE as an open end time (unique-key queries do); it does not
 * fit a JS number exactly, and any time beyond 2^53 ms means "no end" anyway.
 */
export function clampLongFields(extFields: Record<string, string>, names: readonly string[]): Record<string, string> {
  const out = { ...extFields };
  for (const name of names) {
    const raw = out[name];
    if (raw !== undefined && /^\d+$/.test(raw) && !Number.isSafeInteger(Number(raw))) {
      out[name] = String(Number.MAX_SAFE_INTEGER);
    }
  }
  return out;
}

function queryMessage(context: BrokerContext): RequestHandler {
  return (request, requestContext) => {
    const extFields = clampLongFields(request.extFields, ['beginTimestamp', 'endTimestamp']);
    const header = decodeHeader(QueryMessageRequestHeader, extFields);
    const unique = header._UNIQUE_KEY_QUERY === true;
    const maxNum = unique ? UNIQUE_KEY_QUERY_MAX : Math.max(1, Math.min(header.maxNum, QUERY_MESSAGES_MAX));
    const offsets = context.store.queryByKey(header.topic, header.key, maxNum, header.beginTimestamp, header.endTimestamp);
    const records: Buffer[] = [];
    let lastTimestamp = 0;
    let lastOffset = 0;
    for (const offset of offsets) {
      let record: Buffer;
      try {
        record = context.store.messageAt(offset);
        const match = recordMatches(record, header.topic, header.key, unique);
        if (!match.ok) continue;
        lastTimestamp = Math.max(lastTimestamp, match.storeTimestamp);
      } catch {
        continue; // the segment was deleted by retention after the index was written
      }
      lastOffset = Math.max(lastOffset, offset);
      records.push(record);
    }
    if (records.length === 0) {
      return reply(request, ResponseCode.QUERY_NOT_FOUND, 'can not find message, maybe time range not correct');
    }
    const response = makeResponse(request, ResponseCode.SUCCESS, {
      extFields: encodeHeader(QueryMessageResponseHeader, {
        indexLastUpdateTimestamp: lastTimestamp, indexLastUpdatePhyoffset: lastOffset,
      }),
    });
    writeRecords(requestContext, response, records);
    return undefined;
  };
}

function viewMessageById(context: BrokerContext): RequestHandler {
  return (request, requestContext) => {
    const header = decodeHeader(ViewMessageRequestHeader, request.extFields);
    let record: Buffer;
    try {
      record = context.store.messageAt(header.offset);
    } catch (error) {
      return reply(request, ResponseCode.SYSTEM_ERROR,
        `can not find message by the offset, ${header.offset}: ${errorMessage(error)}`);
    }
    if (record.length === 0) {
      return reply(request, ResponseCode.SYSTEM_ERROR, `can not find message by the offset, ${header.offset}`);
    }
    writeRecords(requestContext, makeResponse(request, ResponseCode.SUCCESS), [record]);
    return undefined;
  };
}

export function queryProcessors(context: BrokerContext): Array<[number, RequestHandler]> {
  return [
    [RequestCode.QUERY_MESSAGE, queryMessage(context)],
    [RequestCode.VIEW_MESSAGE_BY_ID, viewMessageById(context)],
  ];
}
