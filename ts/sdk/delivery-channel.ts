// Bridges the push consumer's handler calls to `for await (const message of consumer)`: each
// message waits here until the iterator yields it, and counts as consumed when the iterator is
// asked for the next one (or the loop ends). Messages still waiting at shutdown are abandoned:
// not acknowledged, not committed, so they are delivered again later.

import type { MessageExt } from './message.js';

export type DeliveryOutcome = 'ACK' | 'ABANDON';

interface Item {
  message: MessageExt;
  settle: (outcome: DeliveryOutcome) => void;
}

export class DeliveryChannel implements AsyncIterableIterator<MessageExt> {
  readonly #items: Item[] = [];
  readonly #readers: Array<(result: IteratorResult<MessageExt>) => void> = [];
  #current: Item | undefined;
  #closed = false;

  /** Called by the consumer's handler; resolves when the application is done with the message. */
  deliver(message: MessageExt): Promise<DeliveryOutcome> {
    if (this.#closed) return Promise.resolve('ABANDON');
    return new Promise((settle) => {
      const item = { message, settle };
      const reader = this.#readers.shift();
      if (reader !== undefined) {
        this.#current = item;
        reader({ value: message, done: false });
      } else this.#items.push(item);
    });
  }

  #ackCurrent(): void {
    const current = this.#current;
    this.#current = undefined;
    current?.settle('ACK');
  }

  next(): Promise<IteratorResult<MessageExt>> {
    this.#ackCurrent();
    const item = this.#items.shift();
    if (item !== undefined) {
      this.#current = item;
      return Promise.resolve({ value: item.message, done: false });
    }
    if (this.#closed) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => this.#readers.push(resolve));
  }

  /** Loop ended (break, return or throw): the message in hand counts as consumed. */
  return(): Promise<IteratorResult<MessageExt>> {
    this.#ackCurrent();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<MessageExt> {
    return this;
  }

  /** True while a yielded message waits for its acknowledgement. */
  get holding(): boolean {
    return this.#current !== undefined;
  }

  /** Abandons waiting messages and ends every iteration (after the message in hand). */
  close(): void {
    this.#closed = true;
    for (const item of this.#items.splice(0)) item.settle('ABANDON');
    for (const reader of this.#readers.splice(0)) reader({ value: undefined, done: true });
  }

  /** Settles the message in hand as abandoned (shutdown deadline passed). */
  abandonCurrent(): void {
    const current = this.#current;
    this.#current = undefined;
    current?.settle('ABANDON');
  }
}
