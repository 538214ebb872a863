// One WebSocket connection of the gateway (GET /ws): FlatBuffers frames in both directions
// (schema/gateway.fbs, ts/protocol/gateway-frames.ts).
//
// Produce frames go through the broker's send path like HTTP produce. Subscriptions are POP
// consumers (pop-service.ts) pumped by credit: the server delivers at most the credit the
// client granted, and pauses while the socket holds more than `softBufferBytes` unsent (it
// resumes on drain). A client that stops reading therefore stops deliveries; if it keeps
// sending requests whose answers pile up past uWS's maxBackpressure, uWS closes the socket. So
// a slow browser never grows broker memory without bound.
import { errorMessage } from '../common/errors.js';
import { ProtocolError } from '../common/errors.js';
import { decodeGatewayFrame, encodeGatewayFrame, type GatewayFrame } from '../protocol/gateway-frames.js';
import { MessageProperty } from '../protocol/properties.js';
import { describeError } from './http.js';
import type { PopService } from './pop-service.js';
import { DEFAULT_PRODUCER_GROUP, messageProperties, sendMessages, type ProduceTarget } from './produce.js';
import { GatewayError } from './errors.js';

/** The part of a uWS WebSocket a session uses (kept small so tests can reason about it). */
export interface FrameSocket {
  send(message: Uint8Array, isBinary: boolean): number;
  getBufferedAmount(): number;
  end(code?: number, reason?: string): void;
}

export interface WsSessionOptions {
  softBufferBytes: number;
  /** Largest batch a single fetch hands out per subscription. */
  fetchBatch: number;
  /** Long-poll length of a subscription's fetch while it has credit. */
  longPollMs: number;
}

interface Subscription {
  id: number;
  group: string;
  topic: string;
  expression: string;
  initMode: 'first' | 'last';
  visibilityMs: number;
  credit: number;
  pumping: boolean;
  abort: AbortController;
}

/** uWS.send's answer when the message was dropped (over maxBackpressure). */
const SEND_DROPPED = 2;

export class WsSession {
  readonly #socket: FrameSocket;
  readonly #pop: PopService;
  readonly #target: ProduceTarget;
  readonly #options: WsSessionOptions;
  readonly #bornAddress: string;
  readonly #subscriptions = new Map<number, Subscription>();
  /** Receipt handles delivered on this socket and not yet settled: given back when it closes. */
  readonly #outstanding = new Map<string, string>();
  #nextSubscriptionId = 1;
  #closed = false;

  constructor(socket: FrameSocket, pop: PopService, target: ProduceTarget, options: WsSessionOptions, bornAddress: string) {
    this.#socket = socket;
    this.#pop = pop;
    this.#target = target;
    this.#options = options;
    this.#bornAddress = bornAddress;
  }

  #send(frame: GatewayFrame): boolean {
    if (this.#closed) return false;
    return this.#socket.send(encodeGatewayFrame(frame), true) !== SEND_DROPPED;
  }

  #error(requestId: number, error: unknown): void {
    const { code, message } = error instanceof ProtocolError ? { code: 'BAD_FRAME', message: error.message } : describeError(error);
    this.#send({ type: 'error', requestId, code, message });
  }

  /** A binary message from the client. Never throws: problems become error frames. */
  onMessage(data: ArrayBuffer, isBinary: boolean): void {
    if (!isBinary) {
      this.#error(0, new GatewayError('BAD_REQUEST', 'frames are binary FlatBuffers (schema/gateway.fbs), not text'));
      return;
    }
    let frame: GatewayFrame;
    try {
      // uWS reuses the message memory after this callback: decode copies what it keeps.
      frame = decodeGatewayFrame(new Uint8Array(data));
    } catch (error) {
      this.#error(0, error);
      return;
    }
    switch (frame.type) {
      case 'produce':
        void this.#produce(frame);
        return;
      case 'subscribe':
        this.#subscribe(frame);
        return;
      case 'credit': {
        const sub = this.#subscriptions.get(frame.subscriptionId);
        if (sub === undefined || frame.messages <= 0) {
          this.#error(0, new GatewayError('BAD_REQUEST', `credit for unknown subscription ${frame.subscriptionId} or not positive`));
          return;
        }
        sub.credit += frame.messages;
        this.#pump(sub);
        return;
      }
      case 'unsubscribe': {
        const sub = this.#subscriptions.get(frame.subscriptionId);
        if (sub !== undefined) this.#stop(sub);
        return;
      }
      case 'ack':
      case 'nack':
        this.#settle(frame);
        return;
      default:
        this.#error(0, new GatewayError('BAD_REQUEST', `a client does not send ${frame.type} frames`));
    }
  }

  async #produce(frame: Extract<GatewayFrame, { type: 'produce' }>): Promise<void> {
    try {
      const messages = frame.messages.map((m) => ({ body: Buffer.from(m.body), properties: messageProperties(m), uniqKeyMinted: !m.msgId }));
      const result = await sendMessages(this.#target, frame.topic, DEFAULT_PRODUCER_GROUP, frame.queueId, messages, this.#bornAddress);
      this.#send({
        type: 'produceAck', requestId: frame.requestId, status: result.status, queueId: result.queueId, queueOffset: result.queueOffset,
        msgIds: result.messages.map((m) => m.msgId), offsetMsgIds: result.messages.map((m) => m.offsetMsgId),
      });
    } catch (error) {
      this.#error(frame.requestId, error);
    }
  }

  #subscribe(frame: Extract<GatewayFrame, { type: 'subscribe' }>): void {
    if (frame.group === '' || frame.topic === '') {
      this.#error(frame.requestId, new GatewayError('BAD_REQUEST', 'subscribe needs a group and a topic'));
      return;
    }
    if (frame.initMode !== 'first' && frame.initMode !== 'last') {
      this.#error(frame.requestId, new GatewayError('BAD_REQUEST', 'initMode must be first or last'));
      return;
    }
    if (frame.visibilityMs < 1000 || frame.credit < 0) {
      this.#error(frame.requestId, new GatewayError('BAD_REQUEST', 'visibilityMs must be >= 1000 and credit >= 0'));
      return;
    }
    const sub: Subscription = {
      id: this.#nextSubscriptionId++, group: frame.group, topic: frame.topic, expression: frame.expression || '*',
      initMode: frame.initMode, visibilityMs: frame.visibilityMs, credit: frame.credit, pumping: false, abort: new AbortController(),
    };
    this.#subscriptions.set(sub.id, sub);
    this.#send({ type: 'subscribed', requestId: frame.requestId, subscriptionId: sub.id });
    this.#pump(sub);
  }

  #settle(frame: Extract<GatewayFrame, { type: 'ack' | 'nack' }>): void {
    // Handles carry their topic, not their group: settle per group of the handles' deliveries.
    const byGroup = new Map<string, string[]>();
    for (const handle of frame.receiptHandles) {
      const group = this.#outstanding.get(handle);
      if (group === undefined) continue;
      byGroup.set(group, [...(byGroup.get(group) ?? []), handle]);
    }
    let settled = 0;
    const stale = frame.receiptHandles.filter((h) => !this.#outstanding.has(h));
    try {
      for (const [group, handles] of byGroup) {
        const result = frame.type === 'ack' ? this.#pop.ack(group, handles) : this.#pop.nack(group, handles, frame.delayMs);
        settled += result.settled;
        stale.push(...result.stale);
        for (const handle of handles) this.#outstanding.delete(handle);
      }
    } catch (error) {
      this.#error(frame.requestId, error);
      return;
    }
    this.#send({ type: 'settled', requestId: frame.requestId, settled, stale });
  }

  /** Delivers while the subscription has credit and the socket has room. One fetch at a time. */
  #pump(sub: Subscription): void {
    if (sub.pumping || this.#closed || sub.credit <= 0 || !this.#subscriptions.has(sub.id)) return;
    if (this.#socket.getBufferedAmount() > this.#options.softBufferBytes) return; // drain() resumes
    sub.pumping = true;
    this.#pop.fetch({
      group: sub.group, topic: sub.topic, max: Math.min(sub.credit, this.#options.fetchBatch), visibilityMs: sub.visibilityMs,
      waitMs: this.#options.longPollMs, expression: sub.expression, initMode: sub.initMode, signal: sub.abort.signal,
    }).then((popped) => {
      sub.pumping = false;
      if (this.#closed || !this.#subscriptions.has(sub.id)) {
        if (popped.length > 0) this.#pop.nack(sub.group, popped.map((p) => p.receiptHandle), 0);
        return;
      }
      for (const p of popped) {
        const m = p.message;
        const keys = m.properties[MessageProperty.KEYS];
        this.#outstanding.set(p.receiptHandle, sub.group);
        sub.credit -= 1;
        this.#send({
          type: 'deliver', subscriptionId: sub.id, receiptHandle: p.receiptHandle, deliveryAttempt: p.deliveryAttempt,
          msgId: m.properties[MessageProperty.UNIQ_KEY] ?? m.msgId, offsetMsgId: m.msgId, topic: m.topic, queueId: m.queueId,
          queueOffset: m.queueOffset, tags: m.properties[MessageProperty.TAGS] ?? '', keys: keys ? keys.split(' ') : [],
          properties: m.properties, body: m.body, bornTimestamp: m.bornTimestamp, storeTimestamp: m.storeTimestamp,
        });
      }
      this.#pump(sub);
    }, (error: unknown) => {
      sub.pumping = false;
      // A subscription that cannot fetch (unknown topic, group conflict) ends with an error frame.
      this.#error(0, error);
      this.#stop(sub);
    });
  }

  #stop(sub: Subscription): void {
    this.#subscriptions.delete(sub.id);
    sub.abort.abort();
  }

  /** The socket has room again (uWS drain). */
  onDrain(): void {
    for (const sub of this.#subscriptions.values()) this.#pump(sub);
  }

  /** The socket closed: stop fetching and give back what this client held. */
  onClose(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const sub of [...this.#subscriptions.values()]) this.#stop(sub);
    const byGroup = new Map<string, string[]>();
    for (const [handle, group] of this.#outstanding) byGroup.set(group, [...(byGroup.get(group) ?? []), handle]);
    this.#outstanding.clear();
    for (const [group, handles] of byGroup) {
      try {
        this.#pop.nack(group, handles, 0);
      } catch (error) {
        // malformed handles cannot be here (we made them); keep closing regardless
        void errorMessage(error);
      }
    }
  }
}
