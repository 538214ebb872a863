// Queue selectors for ordered messages: messages with the same sharding argument go to the same
// queue, so one consumer sees them in send order.

import { javaStringHash } from './subscription.js';
import type { Message, MessageQueue } from './message.js';

/** Picks the queue of a message; `arg` is the caller's sharding argument. */
export type MessageQueueSelector = (queues: readonly MessageQueue[], message: Message, arg: unknown) => MessageQueue;

/** Java's hashCode of a selector argument (strings and integers as Java would hash them). */
export function argumentHash(arg: unknown): number {
  if (typeof arg === 'number' && Number.isInteger(arg) && arg >= -0x80000000 && arg <= 0x7fffffff) return arg;
  if (typeof arg === 'bigint') return Number(BigInt.asIntN(32, arg ^ (arg >> 32n)));
  return javaStringHash(String(arg));
}

/**
 * Java's SelectMessageQueueByHash: `|hash(arg) % queues|`. Same argument ⇒ same queue, as
 * long as the topic's queue count does not change.
 */
export const hashSelector: MessageQueueSelector = (queues, _message, arg) => {
  const value = Math.abs(argumentHash(arg) % queues.length);
  return queues[value]!;
};

/** Picks a random queue each time (no ordering). */
export const randomSelector: MessageQueueSelector = (queues) => queues[Math.floor(Math.random() * queues.length)]!;
