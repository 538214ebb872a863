// POP consumption for stateless HTTP clients (RocketMQ 5's model): a fetch hands out messages
// with a receipt handle and a visibility timeout; an ack settles a message; a nack (or a
// timeout) makes it visible again; after the group's retryMaxTimes deliveries it goes to
// %DLQ%<group>. Any number of HTTP clients can fetch for one group: the broker, not the
// clients, decides who holds which message.
//
// State per (group, topic, queueId): `next` (the next queue offset never handed out) and the
// in-flight messages (handed out, not yet acked). The group's committed offset in
// ConsumerOffsetManager is the lowest in-flight offset (or `next`), so it is persisted with the
// other offsets and survives restarts. The in-flight table itself is memory only: after a
// restart everything from the committed offset is delivered again. That is at-least-once, by
// design: a message is never lost, and may be seen twice after a crash or a visibility timeout.
import { DLQ_GROUP_TOPIC_PREFIX, newTopicConfig } from '../broker/topic-config-manager.js';
import type { BrokerContext } from '../broker/broker-context.js';
import { tagCodesOf } from '../broker/subscription-filter.js';
import { Perm } from '../protocol/codes.js';
import { decodeStoredMessage, type StoredMessage } from '../protocol/message-record.js';
import { encodeProperties, MessageProperty } from '../protocol/properties.js';
import { GatewayError } from './errors.js';

export interface PopOptions {
  /** Messages one group may hold in flight per topic (flow control). */
  maxInflightPerTopic: number;
  /** How long a group counts as a POP group after its last fetch (remoting consumers refused). */
  popGroupTtlMs: number;
}

export interface FetchRequest {
  group: string;
  topic: string;
  max: number;
  /** How long fetched messages stay invisible to other fetches. */
  visibilityMs: number;
  /** Long polling: how long to wait for a message when none is available. */
  waitMs: number;
  /** TAG expression (`*`, `A || B`). */
  expression: string;
  /** Where a group that never consumed this topic starts. */
  initMode: 'first' | 'last';
  /** Ends a long poll early (the WebSocket closed, the subscription ended). */
  signal?: AbortSignal;
}

export interface PoppedMessage {
  receiptHandle: string;
  deliveryAttempt: number;
  message: StoredMessage;
}

interface Inflight {
  visibleAt: number;
  attempts: number;
  /** Changes at every delivery: a handle from an earlier delivery no longer settles it. */
  epoch: number;
}

interface QueueState {
  next: number;
  inflight: Map<number, Inflight>;
}

interface Handle {
  topic: string;
  queueId: number;
  offset: number;
  epoch: number;
}

const MAX_BYTES_PER_FETCH = 8 * 1024 * 1024;

function encodeHandle(h: Handle): string {
  return Buffer.from(JSON.stringify([h.topic, h.queueId, h.offset, h.epoch]), 'utf8').toString('base64url');
}

function decodeHandle(text: string): Handle {
  try {
    const value = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(value) && value.length === 4 && typeof value[0] === 'string'
      && value.slice(1).every((n) => Number.isSafeInteger(n) && (n as number) >= 0)) {
      return { topic: value[0], queueId: value[1] as number, offset: value[2] as number, epoch: value[3] as number };
    }
  } catch {
    // fall through: malformed
  }
  throw new GatewayError('BAD_REQUEST', `receipt handle ${JSON.stringify(text.slice(0, 80))} is malformed`);
}

/** Where reading continues after a getMessages result (an empty or unknown queue keeps its offset). */
export function nextOffsetOf(result: { status: string; nextBeginOffset: number }, offset: number): number {
  return result.status === 'NO_MESSAGE_IN_QUEUE' || result.status === 'NO_MATCHED_LOGIC_QUEUE' ? offset : result.nextBeginOffset;
}

export interface SettleResult {
  settled: number;
  /** Handles whose delivery was superseded (visibility expired and redelivered) or already settled. */
  stale: string[];
}

export class PopService {
  readonly #context: BrokerContext;
  readonly #options: PopOptions;
  /** group → topic → queueId → state */
  readonly #state = new Map<string, Map<string, Map<number, QueueState>>>();
  readonly #waiters = new Set<{ topic: string; wake: () => void }>();
  #epoch = 1;
  #timer: NodeJS.Timeout | undefined;
  readonly #unlisten: () => void;

  constructor(context: BrokerContext, options: PopOptions) {
    this.#context = context;
    this.#options = options;
    this.#unlisten = context.store.onQueuesGrew((grown) => {
      const topics = new Set(grown.map((g) => g.topic));
      for (const waiter of [...this.#waiters]) if (topics.has(waiter.topic)) waiter.wake();
    });
    // Wakes long polls when visibility timeouts expire (messages become fetchable again).
    this.#timer = setInterval(() => {
      for (const waiter of [...this.#waiters]) waiter.wake();
    }, 1000);
    this.#timer.unref();
  }

  close(): void {
    this.#unlisten();
    clearInterval(this.#timer);
    this.#timer = undefined;
    for (const waiter of [...this.#waiters]) waiter.wake();
  }

  #checkGroup(group: string): void {
    if ((this.#context.clients.consumerGroup(group)?.channels.size ?? 0) > 0) {
      throw new GatewayError('CONFLICT', `consumer group ${group} has remoting consumers online; POP fetch needs a group of its own`);
    }
    this.#context.clients.markPopGroup(group, Date.now() + this.#options.popGroupTtlMs);
  }

  #queues(group: string, topic: string, initMode: 'first' | 'last'): Map<number, QueueState> {
    const config = this.#context.topics.get(topic);
    if (config === undefined) throw new GatewayError('NOT_FOUND', `topic ${topic} does not exist on this broker`);
    if ((config.perm & Perm.READ) === 0) throw new GatewayError('FORBIDDEN', `topic ${topic} is not readable`);
    let topics = this.#state.get(group);
    if (topics === undefined) this.#state.set(group, (topics = new Map()));
    let queues = topics.get(topic);
    if (queues === undefined) topics.set(topic, (queues = new Map()));
    for (let queueId = 0; queueId < config.readQueueNums; queueId += 1) {
      if (queues.has(queueId)) continue;
      const committed = this.#context.offsets.query(group, topic, queueId);
      const store = this.#context.store;
      const start = committed >= 0 ? committed : initMode === 'last' ? Math.max(0, store.maxOffset(topic, queueId)) : Math.max(0, store.minOffset(topic, queueId));
      queues.set(queueId, { next: start, inflight: new Map() });
      if (committed < 0) this.#context.offsets.commit(group, topic, queueId, start);
    }
    return queues;
  }

  #commit(group: string, topic: string, queueId: number, state: QueueState): void {
    let lowest = state.next;
    for (const offset of state.inflight.keys()) if (offset < lowest) lowest = offset;
    this.#context.offsets.commit(group, topic, queueId, lowest);
  }

  #read(topic: string, queueId: number, offset: number, max: number, tagCodes: number[] | null):
    { messages: StoredMessage[]; nextOffset: number } {
    const result = this.#context.store.getMessages(topic, queueId, offset, max, MAX_BYTES_PER_FETCH, tagCodes);
    const messages = this.#context.store.messageBuffers(result).map((buffer) => decodeStoredMessage(buffer).message);
    return { messages, nextOffset: nextOffsetOf(result, offset) };
  }

  /** Hands out up to `max` messages, waiting up to `waitMs` for the first. */
  async fetch(request: FetchRequest): Promise<PoppedMessage[]> {
    this.#checkGroup(request.group);
    const deadline = Date.now() + request.waitMs;
    const signal = request.signal;
    for (;;) {
      if (signal?.aborted === true) return [];
      const found = this.#fetchNow(request);
      if (found.length > 0 || Date.now() >= deadline) return found;
      await new Promise<void>((resolve) => {
        const waiter = {
          topic: request.topic,
          wake: () => {
            this.#waiters.delete(waiter);
            clearTimeout(timer);
            signal?.removeEventListener('abort', waiter.wake);
            resolve();
          },
        };
        const timer = setTimeout(waiter.wake, Math.max(1, deadline - Date.now()));
        signal?.addEventListener('abort', waiter.wake, { once: true });
        this.#waiters.add(waiter);
      });
    }
  }

  #fetchNow(request: FetchRequest): PoppedMessage[] {
    const { group, topic } = request;
    const queues = this.#queues(group, topic, request.initMode);
    const tagCodes = tagCodesOf(request.expression);
    const now = Date.now();
    const out: PoppedMessage[] = [];
    let inflightTotal = 0;
    for (const state of queues.values()) inflightTotal += state.inflight.size;
    const hand = (queueId: number, state: QueueState, message: StoredMessage, entry: Inflight) => {
      entry.attempts += 1;
      entry.epoch = this.#epoch++;
      entry.visibleAt = now + request.visibilityMs;
      state.inflight.set(message.queueOffset, entry);
      out.push({ receiptHandle: encodeHandle({ topic, queueId, offset: message.queueOffset, epoch: entry.epoch }), deliveryAttempt: entry.attempts, message });
    };
    // Redeliveries first: in-flight messages whose visibility expired (timed out or nacked).
    for (const [queueId, state] of queues) {
      for (const [offset, entry] of state.inflight) {
        if (out.length >= request.max) break;
        if (entry.visibleAt > now) continue;
        const [message] = this.#read(topic, queueId, offset, 1, null).messages;
        if (message === undefined || message.queueOffset !== offset) {
          state.inflight.delete(offset); // removed by retention: nothing left to deliver
          continue;
        }
        if (entry.attempts >= this.#maxDeliveries(group)) {
          this.#toDeadLetter(group, message, entry.attempts);
          state.inflight.delete(offset);
          continue;
        }
        hand(queueId, state, message, entry);
      }
      this.#commit(group, topic, queueId, state);
    }
    // Then new messages, round robin over the queues, within the in-flight bound.
    const order = [...queues.keys()];
    const start = order.length === 0 ? 0 : this.#epoch % order.length;
    for (let i = 0; i < order.length && out.length < request.max; i += 1) {
      const queueId = order[(start + i) % order.length] as number;
      const state = queues.get(queueId) as QueueState;
      const room = Math.min(request.max - out.length, this.#options.maxInflightPerTopic - inflightTotal - out.length);
      if (room <= 0) break;
      const { messages, nextOffset } = this.#read(topic, queueId, state.next, room, tagCodes);
      for (const message of messages) hand(queueId, state, message, { visibleAt: 0, attempts: 0, epoch: 0 });
      state.next = Math.max(state.next, nextOffset);
      this.#commit(group, topic, queueId, state);
    }
    return out;
  }

  #maxDeliveries(group: string): number {
    return 1 + (this.#context.groups.get(group)?.retryMaxTimes ?? 16);
  }

  /** Appends the message to %DLQ%<group> (created on first use), as RocketMQ's DLQ keeps it. */
  #toDeadLetter(group: string, message: StoredMessage, attempts: number): void {
    const dlq = DLQ_GROUP_TOPIC_PREFIX + group;
    if (this.#context.topics.get(dlq) === undefined) this.#context.topics.put(newTopicConfig(dlq, 1, Perm.READ | Perm.WRITE));
    const properties = {
      ...message.properties,
      [MessageProperty.DLQ_ORIGIN_TOPIC]: message.topic,
      [MessageProperty.DLQ_ORIGIN_MESSAGE_ID]: message.properties[MessageProperty.UNIQ_KEY] ?? message.msgId,
      [MessageProperty.RECONSUME_TIME]: String(attempts),
    };
    try {
      this.#context.store.append({
        topic: dlq, queueId: 0, body: message.body, properties: Buffer.from(encodeProperties(properties), 'utf8'),
        flag: message.flag, sysFlag: message.sysFlag, bornTimestamp: message.bornTimestamp,
        bornHost: message.bornHost.address, bornPort: message.bornHost.port, reconsumeTimes: attempts,
      });
    } catch (error) {
      // Keep it in flight rather than lose it: the next expiry tries again.
      throw new GatewayError('DLQ_FAILED', `moving ${message.msgId} to ${dlq} failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  #settle(group: string, handles: readonly string[], apply: (state: QueueState, offset: number, entry: Inflight) => void): SettleResult {
    let settled = 0;
    const stale: string[] = [];
    const touched = new Map<string, Set<number>>();
    for (const text of handles) {
      const handle = decodeHandle(text);
      const state = this.#state.get(group)?.get(handle.topic)?.get(handle.queueId);
      const entry = state?.inflight.get(handle.offset);
      if (state === undefined || entry === undefined || entry.epoch !== handle.epoch) {
        stale.push(text);
        continue;
      }
      apply(state, handle.offset, entry);
      settled += 1;
      let queues = touched.get(handle.topic);
      if (queues === undefined) touched.set(handle.topic, (queues = new Set()));
      queues.add(handle.queueId);
    }
    for (const [topic, queues] of touched) {
      for (const queueId of queues) {
        const state = this.#state.get(group)?.get(topic)?.get(queueId);
        if (state !== undefined) this.#commit(group, topic, queueId, state);
      }
    }
    return { settled, stale };
  }

  /** Settles messages: they are never delivered to this group again. */
  ack(group: string, handles: readonly string[]): SettleResult {
    return this.#settle(group, handles, (state, offset) => state.inflight.delete(offset));
  }

  /**
   * Gives messages back: visible again after `delayMs`; past the group's retryMaxTimes they go
   * to %DLQ%<group> at their next delivery.
   */
  nack(group: string, handles: readonly string[], delayMs: number): SettleResult {
    const result = this.#settle(group, handles, (_state, _offset, entry) => {
      entry.visibleAt = Date.now() + delayMs;
      entry.epoch = this.#epoch++;
    });
    if (delayMs === 0) for (const waiter of [...this.#waiters]) waiter.wake();
    return result;
  }

  /** Messages held by the group on the topic (tests, /api). */
  inflight(group: string, topic: string): number {
    let count = 0;
    for (const state of this.#state.get(group)?.get(topic)?.values() ?? []) count += state.inflight.size;
    return count;
  }
}
