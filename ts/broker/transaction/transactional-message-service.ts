// Transactional messages (RocketMQ TransactionalMessageServiceImpl + the commit/rollback part
// of EndTransactionProcessor): ending half messages, and knowing which ones are finished.
//
// A transaction is finished by an op record (RMQ_SYS_TRANS_OP_HALF_TOPIC) naming its half
// queue offsets. Finished transactions are remembered in memory (`#ended`, half queue offset ->
// op queue offset); the checker fills the same map from the op queue, so after a restart
// it is rebuilt from the CommitLog, and it forgets entries once its progress passed them.
//
// Where Bolide goes further than RocketMQ: an END_TRANSACTION that arrives twice (a retry, or
// a check-back answer plus the late original, possibly for different copies of the half
// message) stores the committed message once. The op record names the copy ended *and* the
// first copy (property TRAN_PREPARED_QUEUE_OFFSET on copies), any END for a finished
// transaction is acknowledged without storing anything, and before committing, the real
// topic's index is asked whether this message (UNIQ_KEY + born timestamp) was committed
// already, which holds across restarts for as long as the index keeps the key.

import { errorMessage } from '../../common/errors.js';
import { ResponseCode } from '../../protocol/codes.js';
import type { EndTransactionRequestHeader } from '../../protocol/headers.js';
import { decodeStoredMessage, MessageSysFlag, type StoredMessage } from '../../protocol/message-record.js';
import { MessageProperty } from '../../protocol/properties.js';
import { StoreError, type AppendMessage, type AppendResult } from '../../store/index.js';
import type { BrokerContext } from '../broker-context.js';
import { newTopicConfig } from '../topic-config-manager.js';
import {
  CHECK_MAX_TIME_TOPIC, HALF_TOPIC, OP_HALF_TOPIC, originOffset, realDestination, toCommittedMessage, toOpMessage,
  TransactionType,
} from './half-message.js';

/** How an END_TRANSACTION was handled; `code`/`remark` make the (usually ignored) response. */
export interface EndOutcome {
  code: number;
  remark?: string;
  /** What happened, for logs and tests. */
  action: 'committed' | 'rolled-back' | 'duplicate' | 'pending' | 'rejected';
  /** The committed message (action committed). */
  stored?: AppendResult;
}

/** Recently ended transactions by `UNIQ_KEY@bornTimestamp`: covers the index's dispatch lag. */
const RECENT_KEYS_MAX = 100_000;

function transactionKey(half: StoredMessage): string | undefined {
  const uniq = half.properties[MessageProperty.UNIQ_KEY];
  return uniq === undefined || uniq === '' ? undefined : `${uniq}@${half.bornTimestamp}`;
}

export class TransactionalMessageService {
  readonly #context: BrokerContext;
  /** Finished half queue offsets -> the op record's queue offset (−1: not known yet). */
  readonly #ended = new Map<number, number>();
  readonly #recentKeys = new Set<string>();

  constructor(context: BrokerContext) {
    this.#context = context;
  }

  get context(): BrokerContext {
    return this.#context;
  }

  /** The system topics of transactions exist (RocketMQ creates them on first use, 1 queue). */
  ensureTopics(): void {
    for (const topic of [HALF_TOPIC, OP_HALF_TOPIC, CHECK_MAX_TIME_TOPIC]) {
      if (this.#context.topics.get(topic) === undefined) this.#context.topics.put(newTopicConfig(topic, 1));
    }
  }

  /** The stored message at a CommitLog offset, or why it cannot be read. */
  readAt(commitLogOffset: number): StoredMessage | string {
    try {
      const record = this.#context.store.messageAt(commitLogOffset);
      if (record.length === 0) return `no message at CommitLog offset ${commitLogOffset}`;
      return decodeStoredMessage(record).message;
    } catch (error) {
      return `no message at CommitLog offset ${commitLogOffset}: ${errorMessage(error)}`;
    }
  }

  /** Whether the transaction of this half message (any of its copies) is finished. */
  isEnded(half: StoredMessage): boolean {
    if (this.#ended.has(half.queueOffset) || this.#ended.has(originOffset(half))) return true;
    const key = transactionKey(half);
    return key !== undefined && this.#recentKeys.has(key);
  }

  /** The checker saw an op record: these half offsets are finished. */
  noteOp(halfOffsets: readonly number[], opQueueOffset: number): void {
    for (const offset of halfOffsets) this.#ended.set(offset, opQueueOffset);
  }

  /** The checker's progress passed these half offsets: forget them. */
  forget(halfOffsets: readonly number[]): void {
    for (const offset of halfOffsets) this.#ended.delete(offset);
  }

  /** Finished half offsets held in memory (tests, stats). */
  get endedCount(): number {
    return this.#ended.size;
  }

  /**
   * Whether the real topic already holds this transaction's committed message: a COMMIT record
   * with the same UNIQ_KEY and born timestamp, found through the index.
   */
  committedInStore(half: StoredMessage): boolean {
    const uniq = half.properties[MessageProperty.UNIQ_KEY];
    const destination = realDestination(half);
    if (uniq === undefined || uniq === '' || typeof destination === 'string') return false;
    if (!this.#context.options.messageIndexEnable) return false;
    let offsets: number[];
    try {
      offsets = this.#context.store.queryByKey(destination.topic, uniq, 64, 0, Number.MAX_SAFE_INTEGER);
    } catch {
      return false;
    }
    return offsets.some((offset) => {
      const stored = this.readAt(offset);
      return typeof stored !== 'string' && stored.topic === destination.topic
        && stored.properties[MessageProperty.UNIQ_KEY] === uniq && stored.bornTimestamp === half.bornTimestamp
        && (stored.sysFlag & MessageSysFlag.TRANSACTION_ROLLBACK) === MessageSysFlag.TRANSACTION_COMMIT;
    });
  }

  /** Appends an op record finishing `half` (and its first copy) and remembers it. */
  finish(half: StoredMessage): void {
    const offsets = [...new Set([half.queueOffset, originOffset(half)])];
    const { host, port } = this.#storeHost();
    const op = this.#context.store.append(toOpMessage(offsets, { host, port }));
    this.noteOp(offsets, op.queueOffset);
    const key = transactionKey(half);
    if (key !== undefined) {
      this.#recentKeys.add(key);
      if (this.#recentKeys.size > RECENT_KEYS_MAX) {
        const oldest = this.#recentKeys.values().next().value;
        if (oldest !== undefined) this.#recentKeys.delete(oldest);
      }
    }
  }

  /** Appends a message for the transaction machinery (store errors are the caller's). */
  append(message: AppendMessage): AppendResult {
    return this.#context.store.append(message);
  }

  #storeHost(): { host: string; port: number } {
    const address = this.#context.brokerAddr();
    const colon = address.lastIndexOf(':');
    return { host: address.slice(0, colon), port: Number(address.slice(colon + 1)) || 0 };
  }

  /** END_TRANSACTION (37): commit, rollback or nothing, as RocketMQ's EndTransactionProcessor decides. */
  end(header: EndTransactionRequestHeader, remote: string): EndOutcome {
    const { logger, options } = this.#context;
    if (options.brokerRole === 'SLAVE') {
      return { code: ResponseCode.SLAVE_NOT_AVAILABLE, remark: 'the broker is a slave: end transaction is forbidden', action: 'rejected' };
    }
    const type = header.commitOrRollback;
    if (type !== TransactionType.COMMIT && type !== TransactionType.ROLLBACK) {
      // UNKNOW: the producer does not know yet; the checker will ask again later.
      if (type === TransactionType.NOT_TYPE) {
        logger.info('end transaction with unknown state: left to the checker', {
          remote, msgId: header.msgId, fromTransactionCheck: header.fromTransactionCheck === true,
        });
      }
      return { code: ResponseCode.SUCCESS, action: 'pending' };
    }
    const half = this.readAt(header.commitLogOffset);
    if (typeof half === 'string') {
      return { code: ResponseCode.SYSTEM_ERROR, remark: `Find prepared transaction message failed: ${half}`, action: 'rejected' };
    }
    const problem = this.#checkPrepareMessage(half, header);
    if (problem !== null) return { code: ResponseCode.SYSTEM_ERROR, remark: problem, action: 'rejected' };
    if (this.#tooLateWithoutCheck(half, header)) {
      logger.warn('end transaction after the check immunity time: left to the checker', { remote, msgId: header.msgId });
      return { code: ResponseCode.ILLEGAL_OPERATION, remark: 'the transaction is past its check immunity time: wait for the check', action: 'rejected' };
    }
    if (this.isEnded(half) || (type === TransactionType.COMMIT && this.committedInStore(half))) {
      logger.info('end transaction for a finished transaction: nothing stored', { remote, msgId: header.msgId, type });
      return { code: ResponseCode.SUCCESS, action: 'duplicate' };
    }
    const destination = realDestination(half);
    if (typeof destination === 'string') return { code: ResponseCode.SYSTEM_ERROR, remark: destination, action: 'rejected' };
    try {
      if (type === TransactionType.ROLLBACK) {
        this.finish(half);
        return { code: ResponseCode.SUCCESS, action: 'rolled-back' };
      }
      const stored = this.#context.store.append(toCommittedMessage(half, destination));
      this.#context.stats.onPut(1);
      this.finish(half);
      return { code: ResponseCode.SUCCESS, action: 'committed', stored };
    } catch (error) {
      logger.error('end transaction failed', { msgId: header.msgId, error: errorMessage(error) });
      const unavailable = error instanceof StoreError && (error.code === 'DISK_FULL' || error.code === 'CLOSED');
      return {
        code: unavailable ? ResponseCode.SERVICE_NOT_AVAILABLE : ResponseCode.SYSTEM_ERROR,
        remark: `end transaction failed: ${errorMessage(error)}`, action: 'rejected',
      };
    }
  }

  /** RocketMQ checkPrepareMessage: the request must name this half message exactly. */
  #checkPrepareMessage(half: StoredMessage, header: EndTransactionRequestHeader): string | null {
    if (half.topic !== HALF_TOPIC) return 'Find prepared transaction message failed: not a half message';
    if (half.properties[MessageProperty.PGROUP] !== header.producerGroup) return 'The producer group wrong';
    if (half.queueOffset !== header.tranStateTableOffset) return 'The transaction state table offset wrong';
    if (half.commitLogOffset !== header.commitLogOffset) return 'The commit log offset wrong';
    return null;
  }

  /**
   * RocketMQ rejectCommitOrRollback: with CHECK_IMMUNITY_TIME_IN_SECONDS set, a producer's own
   * END that comes after that time is refused; the check decides instead.
   */
  #tooLateWithoutCheck(half: StoredMessage, header: EndTransactionRequestHeader): boolean {
    if (header.fromTransactionCheck === true) return false;
    const text = half.properties[MessageProperty.CHECK_IMMUNITY_TIME_IN_SECONDS];
    if (text === undefined || text === '') return false;
    const seconds = Number(text);
    const immunity = Math.max(Number.isFinite(seconds) ? seconds * 1000 : 0, this.#context.options.transactionTimeOut);
    return Date.now() - half.bornTimestamp > immunity;
  }
}
