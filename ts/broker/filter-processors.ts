// CHECK_CLIENT_CONFIG (46): a consumer asks whether the broker accepts a subscription before
// it starts (Java's DefaultMQPushConsumer.start() -> checkClientInBroker, for non-TAG
// subscriptions). As ClientManageProcessor.checkClientConfig: no subscription or a TAG one is
// fine; another type needs enablePropertyFilter (else SYSTEM_ERROR); an SQL92 expression must
// compile (else SUBSCRIPTION_PARSE_FAILED, here with the position of the problem).

import { RequestCode, ResponseCode } from '../protocol/codes.js';
import { makeResponse } from '../protocol/command.js';
import { decodeCheckClientRequestBody } from '../protocol/broker-bodies.js';
import type { RequestHandler } from '../remoting/processor-table.js';
import { reply, type BrokerContext } from './broker-context.js';
import type { ConsumerFilterCache } from './consumer-filter-cache.js';
import { filterOf } from './subscription-filter.js';

function checkClientConfig(context: BrokerContext, filters: ConsumerFilterCache): RequestHandler {
  return (request) => {
    const body = decodeCheckClientRequestBody(request.body);
    const subscription = body.subscriptionData;
    if (subscription === null) return makeResponse(request, ResponseCode.SUCCESS);
    const filter = filterOf(subscription, context.options.enablePropertyFilter, body.group, filters);
    if ('code' in filter) {
      const remark = filter.code === ResponseCode.SYSTEM_ERROR
        ? `The broker does not support consumer to filter message by ${subscription.expressionType}` : filter.remark;
      return reply(request, filter.code, remark);
    }
    return makeResponse(request, ResponseCode.SUCCESS);
  };
}

export function filterProcessors(context: BrokerContext, filters: ConsumerFilterCache): Array<[number, RequestHandler]> {
  return [[RequestCode.CHECK_CLIENT_CONFIG, checkClientConfig(context, filters)]];
}
