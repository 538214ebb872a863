// GatewayClient: produce and subscribe through a Bolide gateway's WebSocket (GET /ws,
// FlatBuffers frames of schema/gateway.fbs). It runs in browsers (their WebSocket) and in Node
// (the `ws` package, loaded only when there is no global WebSocket), so it uses Uint8Array and
// TextEncoder, never Buffer or other Node modules.
//
// Sends resolve with the TCP SDK's SendResult. Subscriptions are POP consumers of the gateway:
// the handler gets each message once per delivery; returning normally acks it, returning
// 'RECONSUME_LATER' or throwing nacks it (redelivered later, to the DLQ after the group's
// retryMaxTimes). Flow control is credit based: at most `window` messages are delivered and not
// yet handled at any time.
import { decodeGatewayFrame, encodeGatewayFrame, type DeliverFrame, type GatewayFrame } from '../protocol/gateway-frames.js';
import { ClientStateError, MQError, NetworkError, TimeoutError, type MQErrorOptions } from './errors.js';
import type { Message, SendResult } from './message.js';

/** The WebSocket surface the client needs (browsers' and the `ws` package's both have it). */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
}

export type WebSocketConstructor = new (url: string) => WebSocketLike;

export interface GatewayClientOptions {
  /** ws://host:port/ws of a Bolide gateway. */
  url: string;
  /** A WebSocket implementation; default the global one, else the `ws` package. */
  WebSocket?: WebSocketConstructor;
  /** Per request (send, subscribe, ack). Default 10 s. */
  requestTimeoutMs?: number;
}

/** A message received through the gateway: MessageExt's fields, the body as bytes. */
export interface GatewayMessage {
  topic: string;
  body: Uint8Array;
  tags: string | undefined;
  keys: string[];
  properties: Record<string, string>;
  msgId: string;
  offsetMsgId: string;
  queueId: number;
  queueOffset: number;
  /** Deliveries before this one (0 on the first), like MessageExt.reconsumeTimes. */
  reconsumeTimes: number;
  bornTimestamp: number;
  storeTimestamp: number;
}

export type GatewayHandlerResult = 'CONSUME_SUCCESS' | 'RECONSUME_LATER' | void;

export interface GatewaySubscribeOptions {
  group: string;
  topic: string;
  /** TAG expression, default `*`. */
  expression?: string;
  /** Where a group new to the topic starts: `first` (default) or `last`. */
  initMode?: 'first' | 'last';
  /** How long a delivered message stays invisible to other consumers of the group. Default 30 s. */
  visibilityMs?: number;
  /** Messages delivered and not yet handled, at most. Default 64. */
  window?: number;
  /** Delay before a nacked message is redelivered. Default 1 s. */
  retryDelayMs?: number;
}

/** The gateway answered a request with an error frame (`code` is the gateway's code, e.g. SEND_REFUSED). */
export class GatewayRequestError extends MQError {
  readonly retriable: boolean;
  /** The gateway's error code. */
  readonly gatewayCode: string;

  constructor(gatewayCode: string, message: string, options?: MQErrorOptions) {
    super('GATEWAY_ERROR', `${gatewayCode}: ${message}`, options);
    this.gatewayCode = gatewayCode;
    // TIMER_FLOW_CONTROL was SEND_REFUSED before the gateway told flow control apart: still retriable.
    this.retriable = gatewayCode === 'SEND_REFUSED' || gatewayCode === 'INTERNAL' || gatewayCode === 'TIMER_FLOW_CONTROL';
  }
}

const OPEN = 1;
const encoder = new TextEncoder();

interface Pending {
  resolve: (frame: GatewayFrame) => void;
  reject: (error: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

async function defaultWebSocket(): Promise<WebSocketConstructor> {
  const global = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (global !== undefined) return global;
  const module = (await import('ws')) as unknown as { WebSocket: WebSocketConstructor };
  return module.WebSocket;
}

function toBytes(body: Message['body']): Uint8Array {
  return typeof body === 'string' ? encoder.encode(body) : body;
}

export class GatewayClient {
  readonly #socket: WebSocketLike;
  readonly #timeoutMs: number;
  readonly #pending = new Map<number, Pending>();
  readonly #subscriptions = new Map<number, GatewaySubscription>();
  // Deliveries can arrive in the same read as the Subscribed answer, before subscribe() has
  // registered the subscription: they wait here (only while a subscribe is in flight).
  readonly #early = new Map<number, DeliverFrame[]>();
  #subscribing = 0;
  #nextRequestId = 1;
  #closed = false;

  private constructor(socket: WebSocketLike, timeoutMs: number) {
    this.#socket = socket;
    this.#timeoutMs = timeoutMs;
    socket.onmessage = (event) => this.#onMessage(event.data);
    socket.onclose = (event) => this.#onClose(`closed by the gateway (${event.code}${event.reason ? ` ${event.reason}` : ''})`);
  }

  /** Opens the WebSocket. @throws NetworkError when the gateway cannot be reached */
  static async connect(options: GatewayClientOptions): Promise<GatewayClient> {
    const Impl = options.WebSocket ?? (await defaultWebSocket());
    const socket = new Impl(options.url);
    socket.binaryType = 'arraybuffer';
    await new Promise<void>((resolve, reject) => {
      socket.onopen = () => resolve();
      socket.onerror = () => reject(new NetworkError(`cannot open ${options.url}`, options.url));
      socket.onclose = (event) => reject(new NetworkError(`${options.url} closed before opening (${event.code})`, options.url));
    });
    socket.onerror = null;
    return new GatewayClient(socket, options.requestTimeoutMs ?? 10_000);
  }

  #write(frame: GatewayFrame): void {
    if (this.#closed || this.#socket.readyState !== OPEN) throw new ClientStateError('the gateway connection is closed');
    this.#socket.send(encodeGatewayFrame(frame));
  }

  #request(frame: GatewayFrame & { requestId: number }): Promise<GatewayFrame> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(frame.requestId);
        reject(new TimeoutError(`gateway request ${frame.type} got no answer within ${this.#timeoutMs} ms`));
      }, this.#timeoutMs);
      this.#pending.set(frame.requestId, { resolve, reject, timer });
      try {
        this.#write(frame);
      } catch (error) {
        clearTimeout(timer);
        this.#pending.delete(frame.requestId);
        reject(error as Error);
      }
    });
  }

  /** Sends one message, or a batch (one queue). Resolves after the broker stored it. */
  async send(messages: Message | Message[], options: { queueId?: number } = {}): Promise<SendResult> {
    const list = Array.isArray(messages) ? messages : [messages];
    const topic = list[0]?.topic;
    if (topic === undefined || list.some((m) => m.topic !== topic)) throw new ClientStateError('a send needs messages of one topic');
    const requestId = this.#nextRequestId++;
    const answer = await this.#request({
      type: 'produce', requestId, topic, queueId: options.queueId ?? -1,
      messages: list.map((m) => ({
        body: toBytes(m.body),
        ...(m.tags === undefined ? {} : { tags: m.tags }),
        keys: m.keys === undefined ? [] : Array.isArray(m.keys) ? m.keys : m.keys.split(' '),
        properties: m.properties ?? {},
        ...(m.delayTimeLevel === undefined ? {} : { delayLevel: m.delayTimeLevel }),
        ...(m.deliverTimeMs === undefined ? {} : { deliverTimeMs: m.deliverTimeMs }),
      })),
    });
    if (answer.type !== 'produceAck') throw new GatewayRequestError('BAD_FRAME', `unexpected ${answer.type} answer to produce`);
    return {
      sendStatus: answer.status === 'FLUSH_DISK_TIMEOUT' ? 'FLUSH_DISK_TIMEOUT' : 'SEND_OK',
      msgId: answer.msgIds.join(','), offsetMsgId: answer.offsetMsgIds.join(','),
      messageQueue: { topic, brokerName: '', queueId: answer.queueId }, queueOffset: answer.queueOffset,
    };
  }

  /** Starts a POP subscription; the handler runs for each delivered message. */
  async subscribe(options: GatewaySubscribeOptions, handler: (message: GatewayMessage) => GatewayHandlerResult | Promise<GatewayHandlerResult>): Promise<GatewaySubscription> {
    const window = options.window ?? 64;
    const requestId = this.#nextRequestId++;
    this.#subscribing += 1;
    let answer: GatewayFrame;
    try {
      answer = await this.#request({
        type: 'subscribe', requestId, group: options.group, topic: options.topic, expression: options.expression ?? '*',
        initMode: options.initMode ?? 'first', visibilityMs: options.visibilityMs ?? 30_000, credit: window,
      });
    } finally {
      this.#subscribing -= 1;
    }
    if (answer.type !== 'subscribed') throw new GatewayRequestError('BAD_FRAME', `unexpected ${answer.type} answer to subscribe`);
    const subscription = new GatewaySubscription(answer.subscriptionId, handler, options.retryDelayMs ?? 1000, {
      write: (frame) => this.#write(frame),
      nextRequestId: () => this.#nextRequestId++,
      forget: (id) => this.#subscriptions.delete(id),
    });
    this.#subscriptions.set(answer.subscriptionId, subscription);
    for (const frame of this.#early.get(answer.subscriptionId) ?? []) subscription.deliver(frame);
    this.#early.delete(answer.subscriptionId);
    if (this.#subscribing === 0) this.#early.clear();
    return subscription;
  }

  #onMessage(data: unknown): void {
    let frame: GatewayFrame;
    try {
      frame = decodeGatewayFrame(new Uint8Array(data as ArrayBuffer));
    } catch {
      return; // a frame we cannot read: nothing to route it to
    }
    if (frame.type === 'deliver') {
      const subscription = this.#subscriptions.get(frame.subscriptionId);
      if (subscription !== undefined) subscription.deliver(frame);
      else if (this.#subscribing > 0) this.#early.set(frame.subscriptionId, [...(this.#early.get(frame.subscriptionId) ?? []), frame]);
      return;
    }
    const requestId = 'requestId' in frame ? frame.requestId : 0;
    const pending = this.#pending.get(requestId);
    if (pending === undefined) return; // settled frames and errors for fire-and-forget requests
    this.#pending.delete(requestId);
    clearTimeout(pending.timer);
    if (frame.type === 'error') pending.reject(new GatewayRequestError(frame.code, frame.message));
    else pending.resolve(frame);
  }

  #onClose(reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const pending of this.#pending.values()) {
      clearTimeout(pending.timer);
      pending.reject(new NetworkError(`gateway connection ${reason}`));
    }
    this.#pending.clear();
    for (const subscription of this.#subscriptions.values()) subscription.stopLocally();
  }

  /** Closes the connection; messages delivered and not yet acked are given back by the gateway. */
  async close(): Promise<void> {
    if (this.#closed) return;
    await Promise.all([...this.#subscriptions.values()].map((s) => s.drain()));
    this.#onClose('closed by the client');
    this.#socket.close(1000, 'bye');
  }
}

interface SubscriptionLink {
  write(frame: GatewayFrame): void;
  nextRequestId(): number;
  forget(id: number): void;
}

/** A running subscription: `close()` stops deliveries after the handlers in progress finish. */
export class GatewaySubscription {
  readonly #handler: (message: GatewayMessage) => GatewayHandlerResult | Promise<GatewayHandlerResult>;
  readonly #retryDelayMs: number;
  readonly #link: SubscriptionLink;
  readonly #running = new Set<Promise<void>>();
  #stopped = false;

  constructor(readonly id: number, handler: (message: GatewayMessage) => GatewayHandlerResult | Promise<GatewayHandlerResult>,
    retryDelayMs: number, link: SubscriptionLink) {
    this.#handler = handler;
    this.#retryDelayMs = retryDelayMs;
    this.#link = link;
  }

  /** Messages handed to the handler and not finished. */
  get inProgress(): number {
    return this.#running.size;
  }

  deliver(frame: DeliverFrame): void {
    if (this.#stopped) return;
    const message: GatewayMessage = {
      topic: frame.topic, body: frame.body, tags: frame.tags === '' ? undefined : frame.tags, keys: frame.keys, properties: frame.properties,
      msgId: frame.msgId, offsetMsgId: frame.offsetMsgId, queueId: frame.queueId, queueOffset: frame.queueOffset,
      reconsumeTimes: Math.max(0, frame.deliveryAttempt - 1), bornTimestamp: frame.bornTimestamp, storeTimestamp: frame.storeTimestamp,
    };
    const run = (async () => {
      let ok = false;
      try {
        ok = (await this.#handler(message)) !== 'RECONSUME_LATER';
      } catch {
        ok = false; // a throwing handler is a failed delivery, never a crashed process
      }
      try {
        const requestId = this.#link.nextRequestId();
        this.#link.write(ok
          ? { type: 'ack', requestId, receiptHandles: [frame.receiptHandle] }
          : { type: 'nack', requestId, receiptHandles: [frame.receiptHandle], delayMs: this.#retryDelayMs });
        if (!this.#stopped) this.#link.write({ type: 'credit', subscriptionId: this.id, messages: 1 });
      } catch {
        // the connection closed meanwhile: the gateway gives the message back itself
      }
    })();
    this.#running.add(run);
    void run.finally(() => this.#running.delete(run));
  }

  /** Waits for the handlers in progress. */
  async drain(): Promise<void> {
    while (this.#running.size > 0) await Promise.all([...this.#running]);
  }

  stopLocally(): void {
    this.#stopped = true;
  }

  /** Stops deliveries (unsubscribe) and waits for the handlers in progress. */
  async close(): Promise<void> {
    if (!this.#stopped) {
      this.#stopped = true;
      try {
        this.#link.write({ type: 'unsubscribe', subscriptionId: this.id });
      } catch {
        // already closed
      }
      this.#link.forget(this.id);
    }
    await this.drain();
  }
}
