// The transaction checker (RocketMQ TransactionalMessageCheckService + the check loop of
// TransactionalMessageServiceImpl): every `transactionCheckInterval` it walks the half queue
// from its progress and asks a live producer of the message's group about each unfinished
// half message older than its protection time (CHECK_TRANSACTION_STATE, oneway, on the
// producer's own connection).
//
// Progress is RocketMQ's: the consumer offsets of the system group CID_RMQ_SYS_TRANS on
// RMQ_SYS_TRANS_HALF_TOPIC (next half to look at) and RMQ_SYS_TRANS_OP_HALF_TOPIC (first op
// record still needed), persisted with consumerOffset.json. Everything else is rebuilt from the
// CommitLog: op records from the op progress on are read again after a restart.
//
// Per half message, in queue order:
//   finished (op record for it or its first copy)  -> skip
//   stored during this pass (a copy just made)      -> stop: next pass
//   younger than its protection time               -> stop (or, with its own
//                                                      CHECK_IMMUNITY_TIME_IN_SECONDS, copy it
//                                                      forward so it does not block the queue)
//   its commit is already in the real topic        -> finish it (op record), skip
//   checked transactionCheckMax times (or older    -> discard: copy to TRANS_CHECK_MAX_TIME_TOPIC,
//   than fileReservedTime)                             op record, log
//   otherwise                                       -> append a copy with TRANSACTION_CHECK_TIMES+1
//                                                      and ask a producer about the copy
// A copy appended at the end of the queue is what keeps the count and the protection time
// across passes and restarts, as in RocketMQ.

import { errorMessage } from '../../common/errors.js';
import { RequestCode } from '../../protocol/codes.js';
import { makeRequest } from '../../protocol/command.js';
import { encodeHeader } from '../../protocol/header-schema.js';
import { CheckTransactionStateRequestHeader } from '../../protocol/headers.js';
import { decodeStoredMessage, encodeStoredMessage, type StoredMessage } from '../../protocol/message-record.js';
import { MessageProperty } from '../../protocol/properties.js';
import {
  checkTimes, HALF_TOPIC, immunityMs, OP_HALF_TOPIC, opOffsets, originOffset, realDestination, toCheckedCopy,
  toDiscardedMessage, TRANSACTION_GROUP,
} from './half-message.js';
import type { TransactionalMessageService } from './transactional-message-service.js';

const READ_BATCH = 32;
const READ_BYTES = 16 * 1024 * 1024;

/** What one check pass did (logs and tests). */
export interface CheckReport {
  /** CHECK_TRANSACTION_STATE requests sent (or attempted without a live producer). */
  checked: number;
  /** Checks that found no live producer of the group. */
  noProducer: number;
  discarded: number;
  /** Half messages found finished by an earlier commit in the real topic. */
  alreadyCommitted: number;
  halfProgress: number;
  opProgress: number;
}

export class TransactionCheckService {
  readonly #service: TransactionalMessageService;
  /** Op records read but not passed by the op progress: op queue offset -> half offsets. */
  readonly #ops = new Map<number, number[]>();
  /** Next op queue offset to read. */
  #opCursor = -1;
  #timer: NodeJS.Timeout | undefined;
  #running = false;

  constructor(service: TransactionalMessageService) {
    this.#service = service;
  }

  /** Starts the periodic checks. */
  start(): void {
    const interval = this.#service.context.options.transactionCheckInterval;
    this.#timer = setInterval(() => {
      try {
        this.check();
      } catch (error) {
        this.#service.context.logger.error('transaction check failed', { error: errorMessage(error) });
      }
    }, interval);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #progress(topic: string): number {
    const { offsets, store } = this.#service.context;
    const committed = offsets.query(TRANSACTION_GROUP, topic, 0);
    const min = store.minOffset(topic, 0);
    return committed < 0 ? min : Math.max(committed, min);
  }

  /** One pass over the half queue (synchronous: it only reads and appends). */
  check(now = Date.now()): CheckReport {
    const report: CheckReport = { checked: 0, noProducer: 0, discarded: 0, alreadyCommitted: 0, halfProgress: 0, opProgress: 0 };
    // Only a master checks (RocketMQ starts the check service on becoming master).
    if (this.#running || this.#service.context.options.brokerRole === 'SLAVE') return report;
    this.#running = true;
    try {
      const { offsets } = this.#service.context;
      const opProgress = this.#progress(OP_HALF_TOPIC);
      this.#readOps(opProgress);
      const halfProgress = this.#scanHalves(this.#progress(HALF_TOPIC), now, report);
      offsets.commit(TRANSACTION_GROUP, HALF_TOPIC, 0, halfProgress);
      const newOpProgress = this.#advanceOps(opProgress, halfProgress);
      offsets.commit(TRANSACTION_GROUP, OP_HALF_TOPIC, 0, newOpProgress);
      report.halfProgress = halfProgress;
      report.opProgress = newOpProgress;
      return report;
    } finally {
      this.#running = false;
    }
  }

  /** Reads op records not seen yet into the finished map. */
  #readOps(opProgress: number): void {
    const { store } = this.#service.context;
    if (this.#opCursor < opProgress) this.#opCursor = opProgress;
    const max = store.maxOffset(OP_HALF_TOPIC, 0);
    while (this.#opCursor < max) {
      const batch = this.#read(OP_HALF_TOPIC, this.#opCursor);
      if (batch.messages.length === 0) {
        if (batch.next <= this.#opCursor) break;
        this.#opCursor = batch.next;
        continue;
      }
      for (const op of batch.messages) {
        const halves = opOffsets(op);
        this.#ops.set(op.queueOffset, halves);
        this.#service.noteOp(halves, op.queueOffset);
        this.#opCursor = op.queueOffset + 1;
      }
    }
  }

  /** Op progress moves over op records whose half offsets are all behind the half progress. */
  #advanceOps(opProgress: number, halfProgress: number): number {
    let progress = opProgress;
    for (;;) {
      if (progress >= this.#opCursor) break;
      const halves = this.#ops.get(progress);
      if (halves !== undefined && halves.some((offset) => offset >= halfProgress)) break;
      if (halves !== undefined) this.#service.forget(halves);
      this.#ops.delete(progress);
      progress += 1;
    }
    return progress;
  }

  #read(topic: string, offset: number): { messages: StoredMessage[]; next: number } {
    const { store } = this.#service.context;
    const result = store.getMessages(topic, 0, offset, READ_BATCH, READ_BYTES);
    if (result.status !== 'FOUND') {
      // A queue cut by retention: continue where the store says messages are.
      const next = result.status === 'OFFSET_TOO_SMALL' || result.status === 'OFFSET_FOUND_NULL'
        || result.status === 'MESSAGE_WAS_REMOVING' ? result.nextBeginOffset : offset;
      return { messages: [], next };
    }
    const messages = store.messageBuffers(result).map((record) => decodeStoredMessage(record).message);
    return { messages, next: result.nextBeginOffset };
  }

  /** Walks the half queue from `from`; returns the new half progress. */
  #scanHalves(from: number, now: number, report: CheckReport): number {
    const { store } = this.#service.context;
    const max = store.maxOffset(HALF_TOPIC, 0);
    let offset = from;
    while (offset < max) {
      const batch = this.#read(HALF_TOPIC, offset);
      if (batch.messages.length === 0) {
        if (batch.next <= offset) return offset;
        offset = batch.next;
        continue;
      }
      for (const half of batch.messages) {
        // Copies appended by this pass may already be dispatched: they wait for the next one.
        if (half.queueOffset >= max || !this.#visit(half, now, report)) return half.queueOffset;
        offset = half.queueOffset + 1;
      }
    }
    return offset;
  }

  /** Handles one half message; false = stop the pass here. */
  #visit(half: StoredMessage, now: number, report: CheckReport): boolean {
    const service = this.#service;
    const { options, logger } = service.context;
    if (service.isEnded(half)) return true;
    if (half.storeTimestamp >= now) return false;
    const age = now - half.bornTimestamp;
    const protectedFor = immunityMs(half, options.transactionTimeOut);
    if (age >= 0 && age <= protectedFor) {
      if (half.properties[MessageProperty.CHECK_IMMUNITY_TIME_IN_SECONDS] === undefined) return false;
      // A long personal protection time must not hold back the halves behind it.
      service.append(toCheckedCopy(half, checkTimes(half), originOffset(half)));
      return true;
    }
    if (service.committedInStore(half)) {
      service.finish(half);
      report.alreadyCommitted += 1;
      return true;
    }
    const times = checkTimes(half);
    // Older than the CommitLog keeps files (fileReservedTime): RocketMQ's needSkip discards it too.
    const expired = options.fileReservedTime > 0 && age > options.fileReservedTime * 3_600_000;
    if (times >= options.transactionCheckMax || expired) {
      service.append(toDiscardedMessage(half));
      service.finish(half);
      report.discarded += 1;
      logger.warn(`half message ${expired ? 'older than fileReservedTime' : 'checked too many times'}: discarded to TRANS_CHECK_MAX_TIME_TOPIC`, {
        msgId: half.properties[MessageProperty.UNIQ_KEY], realTopic: half.properties[MessageProperty.REAL_TOPIC],
        producerGroup: half.properties[MessageProperty.PGROUP], checks: times,
      });
      return true;
    }
    const stored = service.append(toCheckedCopy(half, times + 1, originOffset(half)));
    const copy = service.readAt(stored.physicalOffset);
    if (typeof copy === 'string') {
      logger.error('transaction check: the copy of a half message cannot be read', { error: copy });
      return true;
    }
    report.checked += 1;
    if (!this.#sendCheck(copy)) report.noProducer += 1;
    return true;
  }

  /** CHECK_TRANSACTION_STATE about `copy` to a live producer of its group; false if there is none. */
  #sendCheck(copy: StoredMessage): boolean {
    const { clients, options, logger } = this.#service.context;
    const group = copy.properties[MessageProperty.PGROUP] ?? '';
    const channel = clients.producerChannel(group);
    const uniq = copy.properties[MessageProperty.UNIQ_KEY];
    if (channel === undefined) {
      logger.warn('transaction check: no live producer of the group', { producerGroup: group, msgId: uniq });
      return false;
    }
    const destination = realDestination(copy);
    if (typeof destination === 'string') {
      logger.error('transaction check: bad half message', { error: destination });
      return false;
    }
    const extFields = {
      ...encodeHeader(CheckTransactionStateRequestHeader, {
        topic: copy.topic, tranStateTableOffset: copy.queueOffset, commitLogOffset: copy.commitLogOffset,
        ...(uniq === undefined ? {} : { msgId: uniq, transactionId: uniq }), offsetMsgId: copy.msgId,
      }),
      brokerName: options.brokerName,
    };
    // The body is the copy as the producer will see it: in its real topic and queue.
    const body = encodeStoredMessage({ ...copy, topic: destination.topic, queueId: destination.queueId });
    try {
      channel.connection.invokeOneway(makeRequest(RequestCode.CHECK_TRANSACTION_STATE, { extFields, body }));
      logger.info('transaction check sent', {
        producerGroup: group, clientId: channel.clientId, msgId: uniq, checks: copy.properties[MessageProperty.TRANSACTION_CHECK_TIMES],
      });
      return true;
    } catch (error) {
      logger.warn('transaction check could not be sent', { producerGroup: group, error: errorMessage(error) });
      return false;
    }
  }
}
