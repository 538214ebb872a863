// Long polling (RocketMQ PullRequestHoldService). A pull that finds nothing new and carries
// the SUSPEND flag is parked here instead of being answered; it is re-run, and answered, as
// soon as the store reports that its queue grew past the offset it asked for, or when its
// hold time ends (then with whatever is there, usually PULL_NOT_FOUND).
//
// Wake-ups cannot be lost: the store publishes a queue's new max offset before it reports the
// growth, and both the pull's read and the growth callback run on the JS thread, so a growth
// published after the read is reported after the pull is parked.
//
// Bounds: at most `pendingMax` pulls are parked (beyond that a pull is answered at once);
// every parked pull has its own timer (Node keeps timers of equal duration in one list, so
// this is cheap) and is dropped when its connection closes.

import type { RemotingCommand } from '../protocol/command.js';
import type { RequestContext } from '../remoting/request-context.js';
import type { QueueGrowth } from '../store/index.js';

/** A pull waiting for messages. */
export interface ParkedPull {
  readonly key: string;
  readonly request: RemotingCommand;
  readonly context: RequestContext;
  /** The offset the pull asked for: a queue growing beyond it wakes the pull. */
  readonly queueOffset: number;
  timer: NodeJS.Timeout | undefined;
}

export function holdKey(topic: string, queueId: number): string {
  return `${topic}@${queueId}`;
}

export class PullHoldService {
  readonly #pendingMax: number;
  readonly #resume: (parked: ParkedPull) => void;
  readonly #byKey = new Map<string, Set<ParkedPull>>();
  readonly #byConnection = new Map<number, Set<ParkedPull>>();
  #size = 0;
  #closed = false;

  /** `resume` re-runs a woken pull and answers it (it must not park it again). */
  constructor(pendingMax: number, resume: (parked: ParkedPull) => void) {
    this.#pendingMax = pendingMax;
    this.#resume = resume;
  }

  /** Parked pulls right now. */
  get size(): number {
    return this.#size;
  }

  /** Parks a pull for `holdMs`; false (not parked) when the bound is reached. */
  park(topic: string, queueId: number, queueOffset: number, request: RemotingCommand, context: RequestContext,
    holdMs: number): boolean {
    if (this.#closed || this.#size >= this.#pendingMax || context.connection.closed) return false;
    const key = holdKey(topic, queueId);
    const parked: ParkedPull = { key, request, context, queueOffset, timer: undefined };
    parked.timer = setTimeout(() => this.#wake(parked), Math.max(0, holdMs));
    let forKey = this.#byKey.get(key);
    if (forKey === undefined) {
      forKey = new Set();
      this.#byKey.set(key, forKey);
    }
    forKey.add(parked);
    const connectionId = context.connection.id;
    let forConnection = this.#byConnection.get(connectionId);
    if (forConnection === undefined) {
      forConnection = new Set();
      this.#byConnection.set(connectionId, forConnection);
    }
    forConnection.add(parked);
    this.#size += 1;
    return true;
  }

  /** The store's dispatch report: wake pulls whose queue now holds what they asked for. */
  onQueuesGrew(grown: readonly QueueGrowth[]): void {
    for (const growth of grown) {
      const parked = this.#byKey.get(holdKey(growth.topic, growth.queueId));
      if (parked === undefined) continue;
      for (const pull of [...parked]) {
        if (growth.maxOffset > pull.queueOffset) this.#wake(pull);
      }
    }
  }

  /** The connection closed: its parked pulls can never be answered; forget them. */
  dropConnection(connectionId: number): void {
    const parked = this.#byConnection.get(connectionId);
    if (parked === undefined) return;
    for (const pull of [...parked]) this.#remove(pull);
  }

  /** Shutdown: park nothing more (pulls are answered at once from now on). */
  close(): void {
    this.#closed = true;
  }

  /** Shutdown: answer every parked pull now (with whatever the store has). */
  wakeAll(): void {
    for (const parked of [...this.#byKey.values()]) {
      for (const pull of [...parked]) this.#wake(pull);
    }
  }

  #wake(pull: ParkedPull): void {
    if (!this.#remove(pull)) return;
    this.#resume(pull);
  }

  /** Unlinks a parked pull; false if it was not parked any more. */
  #remove(pull: ParkedPull): boolean {
    const forKey = this.#byKey.get(pull.key);
    if (forKey === undefined || !forKey.delete(pull)) return false;
    if (forKey.size === 0) this.#byKey.delete(pull.key);
    clearTimeout(pull.timer);
    const connectionId = pull.context.connection.id;
    const forConnection = this.#byConnection.get(connectionId);
    forConnection?.delete(pull);
    if (forConnection?.size === 0) this.#byConnection.delete(connectionId);
    this.#size -= 1;
    return true;
  }
}
