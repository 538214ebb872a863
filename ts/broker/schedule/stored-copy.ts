// A stored record turned back into something to append: what the schedule service delivers and
// what CONSUMER_SEND_MSG_BACK re-puts. The copy keeps the born time and host, flag, sysFlag,
// body and properties (so UNIQ_KEY, the client's msgId, survives every re-put).

import { decodeStoredMessage, type StoredMessage } from '../../protocol/message-record.js';
import { encodeProperties, MessageProperty, type MessageProperties } from '../../protocol/properties.js';
import type { AppendMessage, MessageStore } from '../../store/index.js';

/** The record at a CommitLog offset, decoded; undefined if there is none (or it is unreadable). */
export function readStoredMessage(store: MessageStore, physicalOffset: number): StoredMessage | undefined {
  try {
    const buffer = store.messageAt(physicalOffset);
    if (buffer.length === 0) return undefined;
    return decodeStoredMessage(buffer).message;
  } catch {
    return undefined;
  }
}

/** An append of `stored` to another topic/queue with other properties. */
export function copyOf(stored: StoredMessage, topic: string, queueId: number, properties: MessageProperties,
  reconsumeTimes = stored.reconsumeTimes): AppendMessage {
  return {
    topic, queueId, body: stored.body, properties: Buffer.from(encodeProperties(properties), 'utf8'),
    flag: stored.flag, sysFlag: stored.sysFlag, bornTimestamp: stored.bornTimestamp,
    bornHost: stored.bornHost.address, bornPort: stored.bornHost.port, reconsumeTimes,
    preparedTransactionOffset: stored.preparedTransactionOffset,
  };
}

/**
 * After a restart: was this held record (schedule or timer) already delivered to `topic` before
 * the crash? Looks for a copy with its UNIQ_KEY stored later, with the same reconsumeTimes.
 */
export function deliveredBefore(store: MessageStore, held: StoredMessage, topic: string): boolean {
  const uniq = held.properties[MessageProperty.UNIQ_KEY];
  if (uniq === undefined) return false;
  const found = store.queryByKey(topic, uniq, 32, held.storeTimestamp, Number.MAX_SAFE_INTEGER);
  return found.some((physicalOffset) => {
    const copy = readStoredMessage(store, physicalOffset);
    return copy !== undefined && copy.topic === topic && copy.commitLogOffset > held.commitLogOffset
      && copy.reconsumeTimes === held.reconsumeTimes && copy.properties[MessageProperty.UNIQ_KEY] === uniq;
  });
}
