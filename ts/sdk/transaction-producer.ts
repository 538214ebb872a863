// TransactionProducer: RocketMQ's transactional messages (Java TransactionMQProducer).
//
//   sendMessageInTransaction(message, executeLocalTransaction)
//     1. sends the message as a half message (property TRAN_MSG=true, PGROUP, sysFlag
//        PREPARED): the broker stores it where consumers cannot see it;
//     2. runs the application's local transaction;
//     3. tells the broker COMMIT_MESSAGE (deliver), ROLLBACK_MESSAGE (drop) or UNKNOW (ask me
//        later) with END_TRANSACTION, oneway, to the broker that stored the half message.
//   While a transaction is unknown (or its END was lost, or the producer died), the broker
//   asks a live producer of the group with CHECK_TRANSACTION_STATE over that producer's own
//   connection; `checkLocalTransaction` answers and the reply is another END_TRANSACTION
//   (fromTransactionCheck=true) on the same connection.
//
// A local transaction or checker that throws counts as UNKNOW, as in Java: the broker asks
// again later, up to its transactionCheckMax.

import {
  CheckTransactionStateRequestHeader, EndTransactionRequestHeader, RequestCode, decodeHeader, decodeOffsetMsgId,
  decodeStoredMessage, encodeHeader, makeRequest, type RemotingCommand,
} from '../protocol/index.js';
import type { RemotingConnection } from '../remoting/index.js';
import { MQClientError, NoRouteError } from './errors.js';
import { toMessageExt, type Message, type MessageExt, type SendResult } from './message.js';
import { Producer, producerCore, type ProducerOptions } from './producer.js';

/** The outcome of a local transaction, as Java names it. */
export type LocalTransactionState = 'COMMIT_MESSAGE' | 'ROLLBACK_MESSAGE' | 'UNKNOW';

/** The message handed to the local transaction: the half message as sent, with its transaction id. */
export type TransactionalMessage = Message & { transactionId: string };

/** Runs the local transaction of a sent half message. */
export type LocalTransactionExecutor<A = unknown> =
  (message: TransactionalMessage, arg: A) => LocalTransactionState | Promise<LocalTransactionState>;

/** Answers the broker's question about a half message whose outcome it does not know. */
export type LocalTransactionChecker = (message: MessageExt) => LocalTransactionState | Promise<LocalTransactionState>;

export interface TransactionProducerOptions extends ProducerOptions {
  /** Called when a broker checks a transaction back (Java TransactionListener.checkLocalTransaction). */
  checkLocalTransaction: LocalTransactionChecker;
}

/** What sendMessageInTransaction resolves with. */
export interface TransactionSendResult extends SendResult {
  localTransactionState: LocalTransactionState;
}

const END_TYPE: Record<LocalTransactionState, number> = { COMMIT_MESSAGE: 8, ROLLBACK_MESSAGE: 12, UNKNOW: 0 };

function stateOf(value: unknown): LocalTransactionState {
  return value === 'COMMIT_MESSAGE' || value === 'ROLLBACK_MESSAGE' ? value : 'UNKNOW';
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** A producer of transactional messages. */
export class TransactionProducer extends Producer {
  readonly #checker: LocalTransactionChecker;

  constructor(options: TransactionProducerOptions) {
    super(options);
    if (typeof options.checkLocalTransaction !== 'function') {
      throw new MQClientError('checkLocalTransaction is required for a TransactionProducer');
    }
    this.#checker = options.checkLocalTransaction;
    this[producerCore]().remoting.registerProcessor(RequestCode.CHECK_TRANSACTION_STATE, (request, context) => {
      void this.#onCheck(request, context.connection);
      return undefined;
    });
  }

  /**
   * Sends `message` as a half message, runs `executeLocalTransaction`, then commits or rolls
   * back. A send that fails throws (nothing was stored); a failing local transaction does not:
   * its state is UNKNOW and the broker will check it.
   * @throws InvalidMessageError, NoRouteError, MQBrokerError, TimeoutError, NetworkError, ClientStateError
   */
  async sendMessageInTransaction<A = unknown>(message: Message, executeLocalTransaction: LocalTransactionExecutor<A>,
    arg?: A): Promise<TransactionSendResult> {
    if (typeof executeLocalTransaction !== 'function') throw new MQClientError('executeLocalTransaction must be a function');
    // Delays do not apply to transactional messages (Java clears them too).
    const { delayTimeLevel: _delay, deliverTimeMs: _deliver, ...plain } = message;
    const half: Message = { ...plain, properties: { ...message.properties, TRAN_MSG: 'true', PGROUP: this.groupName } };
    const result = await this.send(half);
    let state: LocalTransactionState = 'ROLLBACK_MESSAGE';
    let failure: unknown;
    if (result.sendStatus === 'SEND_OK') {
      try {
        state = stateOf(await executeLocalTransaction({ ...half, transactionId: result.transactionId ?? result.msgId }, arg as A));
      } catch (error) {
        state = 'UNKNOW';
        failure = error;
        this[producerCore]().logger.warn('local transaction failed: its state is unknown', { msgId: result.msgId, error: describe(error) });
      }
    }
    await this.#endTransaction(result, state, failure);
    return { ...result, localTransactionState: state };
  }

  async #endTransaction(result: SendResult, state: LocalTransactionState, failure: unknown): Promise<void> {
    const core = this[producerCore]();
    try {
      const address = core.masterAddress(result.messageQueue.brokerName);
      if (address === undefined) throw new NoRouteError(result.messageQueue.topic, `broker ${result.messageQueue.brokerName} has no known master`);
      const request = this.#endRequest({
        commitLogOffset: decodeOffsetMsgId(result.offsetMsgId).commitLogOffset, tranStateTableOffset: result.queueOffset,
        msgId: result.msgId, transactionId: result.transactionId ?? result.msgId, type: END_TYPE[state], fromCheck: false,
        brokerName: result.messageQueue.brokerName,
      }, failure === undefined ? undefined : `executeLocalTransactionBranch exception: ${describe(failure)}`);
      await core.invokeOneway(address, request);
    } catch (error) {
      // The half message stays; the broker's check will settle it.
      core.logger.warn('END_TRANSACTION could not be sent: the broker will check back', { msgId: result.msgId, error: describe(error) });
    }
  }

  #endRequest(fields: {
    commitLogOffset: number; tranStateTableOffset: number; msgId: string; transactionId: string; type: number;
    fromCheck: boolean; brokerName: string | undefined;
  }, remark: string | undefined): RemotingCommand {
    const extFields = {
      ...encodeHeader(EndTransactionRequestHeader, {
        producerGroup: this.groupName, tranStateTableOffset: fields.tranStateTableOffset,
        commitLogOffset: fields.commitLogOffset, commitOrRollback: fields.type, fromTransactionCheck: fields.fromCheck,
        msgId: fields.msgId, transactionId: fields.transactionId,
      }),
      ...(fields.brokerName === undefined ? {} : { brokerName: fields.brokerName }),
    };
    return makeRequest(RequestCode.END_TRANSACTION, { extFields, ...(remark === undefined ? {} : { remark }) });
  }

  /** CHECK_TRANSACTION_STATE from a broker: ask the checker, answer on the same connection. */
  async #onCheck(request: RemotingCommand, connection: RemotingConnection): Promise<void> {
    const logger = this[producerCore]().logger;
    let header: CheckTransactionStateRequestHeader;
    let message: MessageExt;
    try {
      header = decodeHeader(CheckTransactionStateRequestHeader, request.extFields);
      const brokerName = request.extFields['brokerName'] ?? '';
      message = toMessageExt(decodeStoredMessage(request.body ?? Buffer.alloc(0)).message, brokerName);
    } catch (error) {
      logger.warn('bad CHECK_TRANSACTION_STATE request ignored', { error: describe(error) });
      return;
    }
    const group = message.properties['PGROUP'];
    if (group !== undefined && group !== this.groupName) {
      logger.warn('CHECK_TRANSACTION_STATE for another producer group ignored', { group });
      return;
    }
    let state: LocalTransactionState = 'UNKNOW';
    let failure: unknown;
    try {
      state = stateOf(await this.#checker(message));
    } catch (error) {
      failure = error;
      logger.warn('transaction checker failed: the state stays unknown', { msgId: message.msgId, error: describe(error) });
    }
    const end = this.#endRequest({
      commitLogOffset: header.commitLogOffset, tranStateTableOffset: header.tranStateTableOffset,
      msgId: message.properties['UNIQ_KEY'] ?? message.offsetMsgId, transactionId: header.transactionId ?? message.msgId,
      type: END_TYPE[state], fromCheck: true, brokerName: request.extFields['brokerName'],
    }, failure === undefined ? undefined : `checkLocalTransactionState exception: ${describe(failure)}`);
    try {
      if (!connection.invokeOneway(end)) logger.warn('the check answer could not be sent: connection closed', { msgId: message.msgId });
    } catch (error) {
      logger.warn('the check answer could not be sent', { msgId: message.msgId, error: describe(error) });
    }
  }
}
