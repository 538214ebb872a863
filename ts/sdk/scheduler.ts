// Background timers of a client, in one place so shutdown can stop them all. Each task runs as
// a setTimeout chain (never overlapping itself); a task's failure is logged, never thrown, so no
// timer can raise an unhandled rejection.

import type { Logger } from '../common/logger.js';

/** Owns every timer of one client. */
export class Scheduler {
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #wakers = new Set<() => void>();
  readonly #logger: Logger;
  #stopped = false;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  /** Runs `task` after `delayMs` once. */
  once(name: string, delayMs: number, task: () => unknown): void {
    if (this.#stopped) return;
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      this.#run(name, task);
    }, delayMs);
    this.#timers.add(timer);
  }

  /** Runs `task` after `initialDelayMs`, then `intervalMs` after each run finishes. */
  every(name: string, initialDelayMs: number, intervalMs: number, task: () => unknown): void {
    const loop = (): void => {
      this.once(name, intervalMs, () => this.#chain(name, task, loop));
    };
    this.once(name, initialDelayMs, () => this.#chain(name, task, loop));
  }

  /** A promise resolving after `ms` (or at once when stopped); never rejects. */
  sleep(ms: number): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.#timers.delete(timer);
        this.#wakers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.#timers.add(timer);
      this.#wakers.add(wake);
    });
  }

  /** Cancels every timer; pending sleeps resolve at once. */
  stop(): void {
    this.#stopped = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    for (const wake of [...this.#wakers]) wake();
  }

  async #chain(name: string, task: () => unknown, next: () => void): Promise<void> {
    await this.#run(name, task);
    next();
  }

  async #run(name: string, task: () => unknown): Promise<void> {
    if (this.#stopped) return;
    try {
      await task();
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.#logger.warn('background task failed', { task: name, error: message });
    }
  }
}
