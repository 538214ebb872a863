// Consumer offsets. Clustering groups keep them on the broker (RemoteOffsetStore): updated in
// memory as messages complete, written back every 5 s and at shutdown. Broadcasting consumers
// keep them in a local JSON file (LocalFileOffsetStore), since each one reads everything.

import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { ClientCore } from './client-core.js';
import { queryConsumerOffset, updateConsumerOffset } from './consumer-api.js';
import { queueKey, type MessageQueue } from './message.js';

/** Where a consumer's offsets live. */
export interface OffsetStore {
  load(): Promise<void>;
  /** Sets the in-memory offset (with `increaseOnly`, never moves it back). */
  update(queue: MessageQueue, offset: number, increaseOnly: boolean): void;
  /** The in-memory offset, or −1. */
  readMemory(queue: MessageQueue): number;
  /** The stored offset (broker or file), or −1 when none. Also caches it in memory. */
  readStore(queue: MessageQueue): Promise<number>;
  /**
   * Writes the in-memory offsets of `queues` back to the store. A background persist logs a
   * failed write and goes on; with `throwOnFailure` (an explicit commit) the first failure is
   * thrown once every queue was tried.
   */
  persistAll(queues: readonly MessageQueue[], options?: { throwOnFailure?: boolean }): Promise<void>;
  /** Forgets a queue (no longer assigned). */
  remove(queue: MessageQueue): void;
}

class MemoryOffsets {
  readonly table = new Map<string, { queue: MessageQueue; offset: number }>();
  /** Offsets last written, so unchanged ones are not sent again. */
  readonly persisted = new Map<string, number>();

  update(queue: MessageQueue, offset: number, increaseOnly: boolean): void {
    const key = queueKey(queue);
    const entry = this.table.get(key);
    if (entry === undefined) this.table.set(key, { queue, offset });
    else if (!increaseOnly || offset > entry.offset) entry.offset = offset;
  }

  read(queue: MessageQueue): number {
    return this.table.get(queueKey(queue))?.offset ?? -1;
  }

  remove(queue: MessageQueue): void {
    this.table.delete(queueKey(queue));
    this.persisted.delete(queueKey(queue));
  }
}

/** Offsets committed to the broker of each queue (clustering). */
export class RemoteOffsetStore implements OffsetStore {
  readonly #memory = new MemoryOffsets();

  constructor(readonly core: ClientCore, readonly group: string, readonly zeroIfNotFound = true) {}

  async load(): Promise<void> {}

  update(queue: MessageQueue, offset: number, increaseOnly: boolean): void {
    this.#memory.update(queue, offset, increaseOnly);
  }

  readMemory(queue: MessageQueue): number {
    return this.#memory.read(queue);
  }

  async readStore(queue: MessageQueue): Promise<number> {
    const offset = await queryConsumerOffset(this.core, this.group, queue, this.zeroIfNotFound);
    if (offset >= 0) this.#memory.update(queue, offset, false);
    return offset;
  }

  async persistAll(queues: readonly MessageQueue[], options: { throwOnFailure?: boolean } = {}): Promise<void> {
    const failures: unknown[] = [];
    await Promise.all(queues.map(async (queue) => {
      const key = queueKey(queue);
      const offset = this.#memory.read(queue);
      if (offset < 0 || this.#memory.persisted.get(key) === offset) return;
      try {
        await updateConsumerOffset(this.core, this.group, queue, offset);
        this.#memory.persisted.set(key, offset);
      } catch (error) {
        failures.push(error);
        this.core.logger.warn('offset commit failed', { queue: key, offset, error: String(error) });
      }
    }));
    if (options.throwOnFailure === true && failures.length > 0) throw failures[0];
  }

  remove(queue: MessageQueue): void {
    this.#memory.remove(queue);
  }
}

/** Offsets in `<dir>/<group>/offsets.json` (broadcasting). */
export class LocalFileOffsetStore implements OffsetStore {
  readonly #memory = new MemoryOffsets();
  readonly #file: string;
  readonly #stored = new Map<string, { queue: MessageQueue; offset: number }>();

  constructor(dir: string, group: string) {
    this.#file = `${dir}/${group}/offsets.json`;
  }

  get file(): string {
    return this.#file;
  }

  async load(): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.#file, 'utf8');
    } catch {
      return;
    }
    const parsed = JSON.parse(text) as { offsetTable?: Array<{ queue: MessageQueue; offset: number }> };
    for (const entry of parsed.offsetTable ?? []) this.#stored.set(queueKey(entry.queue), entry);
  }

  update(queue: MessageQueue, offset: number, increaseOnly: boolean): void {
    this.#memory.update(queue, offset, increaseOnly);
  }

  readMemory(queue: MessageQueue): number {
    return this.#memory.read(queue);
  }

  async readStore(queue: MessageQueue): Promise<number> {
    const offset = this.#stored.get(queueKey(queue))?.offset ?? -1;
    if (offset >= 0) this.#memory.update(queue, offset, false);
    return offset;
  }

  async persistAll(queues: readonly MessageQueue[]): Promise<void> {
    // A failed file write always throws: there is nothing to retry against.
    for (const queue of queues) {
      const offset = this.#memory.read(queue);
      if (offset >= 0) this.#stored.set(queueKey(queue), { queue, offset });
    }
    const offsetTable = [...this.#stored.values()];
    await mkdir(dirname(this.#file), { recursive: true });
    const temporary = `${this.#file}.tmp`;
    await writeFile(temporary, JSON.stringify({ offsetTable }, null, 1));
    await rename(temporary, this.#file);
  }

  remove(queue: MessageQueue): void {
    this.#memory.remove(queue);
  }
}
