// Admin requests: UPDATE_AND_CREATE_TOPIC (17) and GET_ALL_TOPIC_CONFIG (21).

import { Perm, RequestCode, ResponseCode } from '../protocol/codes.js';
import { makeResponse } from '../protocol/command.js';
import { encodeTopicConfigSerializeWrapper } from '../protocol/broker-bodies.js';
import { decodeHeader } from '../protocol/header-schema.js';
import { CreateTopicRequestHeader } from '../protocol/headers.js';
import type { RequestHandler } from '../remoting/processor-table.js';
import { reply, type BrokerContext } from './broker-context.js';
import { SystemTopic, topicNameProblem } from './topic-config-manager.js';

/** Most queues a topic may have (RocketMQ refuses more than 1024 per broker). */
export const TOPIC_QUEUES_MAX = 1024;

/** `+k=v,+k2=v2` (5.x attribute syntax) → map; `-k` deletions are ignored for a create. */
export function parseTopicAttributes(text: string | undefined): Record<string, string> {
  const attributes: Record<string, string> = {};
  if (text === undefined || text.trim() === '') return attributes;
  for (const part of text.split(',')) {
    const match = /^\+([^=]+)=(.*)$/.exec(part.trim());
    if (match !== null) attributes[match[1] as string] = match[2] as string;
  }
  return attributes;
}

function createTopic(context: BrokerContext): RequestHandler {
  return (request) => {
    const header = decodeHeader(CreateTopicRequestHeader, request.extFields);
    const problem = topicNameProblem(header.topic);
    if (problem !== null) return reply(request, ResponseCode.SYSTEM_ERROR, problem);
    if (header.topic === SystemTopic.AUTO_CREATE || header.topic === context.options.brokerClusterName) {
      return reply(request, ResponseCode.SYSTEM_ERROR, `the topic[${header.topic}] is conflict with system topic.`);
    }
    const queuesValid = (n: number): boolean => Number.isInteger(n) && n >= 0 && n <= TOPIC_QUEUES_MAX;
    if (!queuesValid(header.readQueueNums) || !queuesValid(header.writeQueueNums)) {
      return reply(request, ResponseCode.INVALID_PARAMETER, `queue numbers must be 0..${TOPIC_QUEUES_MAX}`);
    }
    context.topics.put({
      topicName: header.topic,
      readQueueNums: header.readQueueNums,
      writeQueueNums: header.writeQueueNums,
      perm: header.perm & (Perm.READ | Perm.WRITE | Perm.INHERIT | Perm.PRIORITY),
      topicFilterType: header.topicFilterType,
      topicSysFlag: header.topicSysFlag ?? 0,
      order: header.order,
      attributes: parseTopicAttributes(header.attributes),
    });
    return makeResponse(request, ResponseCode.SUCCESS);
  };
}

function getAllTopicConfig(context: BrokerContext): RequestHandler {
  return (request) => makeResponse(request, ResponseCode.SUCCESS, {
    body: encodeTopicConfigSerializeWrapper(context.topics.snapshot(), context.topics.dataVersion),
  });
}

export function adminProcessors(context: BrokerContext): Array<[number, RequestHandler]> {
  return [
    [RequestCode.UPDATE_AND_CREATE_TOPIC, createTopic(context)],
    [RequestCode.GET_ALL_TOPIC_CONFIG, getAllTopicConfig(context)],
  ];
}
