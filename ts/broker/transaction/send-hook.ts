// The send path's two hooks for transactions (called from send-processor.ts): refuse what
// cannot be a transaction's prepare, and store a prepare as a half message.

import { RequestCode, ResponseCode } from '../../protocol/codes.js';
import type { RemotingCommand } from '../../protocol/command.js';
import type { SendMessageRequestHeader } from '../../protocol/headers.js';
import { MessageProperty, type MessageProperties } from '../../protocol/properties.js';
import type { AppendMessage } from '../../store/index.js';
import { reply, type BrokerContext } from '../broker-context.js';
import { isPrepareSend, sendProperties, toHalfMessage } from './half-message.js';

/** A refusal for a prepare the broker does not take, or null. */
export function transactionSendProblem(context: BrokerContext, request: RemotingCommand,
  header: SendMessageRequestHeader): RemotingCommand | null {
  // The common case costs one substring search, not a properties decode.
  if ((header.sysFlag & 0xc) === 0 && !(header.properties ?? '').includes(MessageProperty.TRAN_MSG)) return null;
  let properties: MessageProperties;
  try {
    properties = sendProperties(header.properties);
  } catch {
    return null; // the send path reports bad properties itself
  }
  if (!isPrepareSend(header.sysFlag, properties, header.reconsumeTimes ?? 0)) return null;
  if (context.options.rejectTransactionMessage) {
    return reply(request, ResponseCode.NO_PERMISSION,
      `the broker[${context.options.brokerIP1}] sending transaction message is forbidden`);
  }
  if (request.code === RequestCode.SEND_BATCH_MESSAGE) {
    return reply(request, ResponseCode.MESSAGE_ILLEGAL, 'a batch cannot be a transactional (half) message');
  }
  return null;
}

/** The message to store for a single send: its half message when it is a prepare. */
export function halfMessageIfPrepared(header: SendMessageRequestHeader, properties: MessageProperties,
  message: AppendMessage): AppendMessage {
  return isPrepareSend(header.sysFlag, properties, header.reconsumeTimes ?? 0) ? toHalfMessage(message, properties) : message;
}
