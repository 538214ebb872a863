// END_TRANSACTION (37): the producer's (or a check-back's) commit / rollback / unknown for a
// half message. Clients send it oneway, so the response is only seen by tools and tests; a
// malformed header is answered with a RocketMQ-style error and never throws further.

import { errorMessage } from '../../common/errors.js';
import { RequestCode, ResponseCode } from '../../protocol/codes.js';
import { decodeHeader } from '../../protocol/header-schema.js';
import { EndTransactionRequestHeader } from '../../protocol/headers.js';
import type { RequestHandler } from '../../remoting/processor-table.js';
import { reply } from '../broker-context.js';
import type { TransactionalMessageService } from './transactional-message-service.js';

export function endTransactionProcessor(service: TransactionalMessageService): Array<[number, RequestHandler]> {
  const handler: RequestHandler = (request, requestContext) => {
    let header: EndTransactionRequestHeader;
    try {
      header = decodeHeader(EndTransactionRequestHeader, request.extFields);
    } catch (error) {
      return reply(request, ResponseCode.INVALID_PARAMETER, `bad END_TRANSACTION header: ${errorMessage(error)}`);
    }
    const outcome = service.end(header, requestContext.connection.remoteAddress);
    if (outcome.action === 'rejected') {
      service.context.logger.warn('end transaction refused', {
        remote: requestContext.connection.remoteAddress, msgId: header.msgId, remark: outcome.remark,
      });
    }
    return reply(request, outcome.code, outcome.remark);
  };
  return [[RequestCode.END_TRANSACTION, handler]];
}
