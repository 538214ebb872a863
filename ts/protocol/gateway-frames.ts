// The gateway's WebSocket frames (schema/gateway.fbs) as plain objects: encode builds a
// FlatBuffer with the generated code in gateway-frames/, decode reads one back eagerly.
//
// FlatBuffers' JavaScript runtime has no verifier and reads without bounds checks (an offset
// past the end reads `undefined`, a garbage vector length can be two billion). Frames come
// from the network, so decoding goes through a ByteBuffer whose every read is bounds-checked
// and every vector length is checked against the frame size: a malformed frame becomes a
// ProtocolError, never a hang or a crash.
import * as flatbuffers from 'flatbuffers';
import { ProtocolError } from '../common/errors.js';
import * as G from './gateway-frames/gateway_generated.js';

export interface FrameMessage {
  body: Uint8Array;
  tags?: string;
  keys?: string[];
  properties?: Record<string, string>;
  delayLevel?: number;
  deliverTimeMs?: number;
  /** Client-chosen UNIQ_KEY (32 or 56 hex digits). */
  msgId?: string;
}

export interface DeliverFrame {
  type: 'deliver';
  subscriptionId: number;
  receiptHandle: string;
  deliveryAttempt: number;
  msgId: string;
  offsetMsgId: string;
  topic: string;
  queueId: number;
  queueOffset: number;
  tags: string;
  keys: string[];
  properties: Record<string, string>;
  body: Uint8Array;
  bornTimestamp: number;
  storeTimestamp: number;
}

export type GatewayFrame =
  | { type: 'produce'; requestId: number; topic: string; queueId: number; messages: FrameMessage[] }
  | { type: 'produceAck'; requestId: number; status: string; queueId: number; queueOffset: number; msgIds: string[]; offsetMsgIds: string[] }
  | { type: 'subscribe'; requestId: number; group: string; topic: string; expression: string; initMode: string; visibilityMs: number; credit: number }
  | { type: 'subscribed'; requestId: number; subscriptionId: number }
  | { type: 'unsubscribe'; subscriptionId: number }
  | { type: 'credit'; subscriptionId: number; messages: number }
  | DeliverFrame
  | { type: 'ack'; requestId: number; receiptHandles: string[] }
  | { type: 'nack'; requestId: number; receiptHandles: string[]; delayMs: number }
  | { type: 'settled'; requestId: number; settled: number; stale: string[] }
  | { type: 'error'; requestId: number; code: string; message: string };

// ------------------------------------------------------------------------------------------------ encode

type B = flatbuffers.Builder;

function strings(b: B, values: readonly string[]): flatbuffers.Offset[] {
  return values.map((v) => b.createString(v));
}

function properties(b: B, props: Record<string, string> | undefined): flatbuffers.Offset[] {
  return Object.entries(props ?? {}).map(([key, value]) => G.Property.createProperty(b, b.createString(key), b.createString(value)));
}

function long(value: number): bigint {
  return BigInt(Math.trunc(value));
}

function encodeBody(b: B, frame: GatewayFrame): [G.Body, flatbuffers.Offset] {
  switch (frame.type) {
    case 'produce': {
      const messages = frame.messages.map((m) => {
        const body = G.OutgoingMessage.createBodyVector(b, m.body);
        const keys = G.OutgoingMessage.createKeysVector(b, strings(b, m.keys ?? []));
        const props = G.OutgoingMessage.createPropertiesVector(b, properties(b, m.properties));
        const tags = m.tags === undefined ? 0 : b.createString(m.tags);
        const msgId = m.msgId === undefined ? 0 : b.createString(m.msgId);
        return G.OutgoingMessage.createOutgoingMessage(b, body, tags, keys, props, m.delayLevel ?? 0, long(m.deliverTimeMs ?? 0), msgId);
      });
      const topic = b.createString(frame.topic);
      const vector = G.Produce.createMessagesVector(b, messages);
      return [G.Body.Produce, G.Produce.createProduce(b, long(frame.requestId), topic, frame.queueId, vector)];
    }
    case 'produceAck': {
      const status = b.createString(frame.status);
      const ids = G.ProduceAck.createMsgIdsVector(b, strings(b, frame.msgIds));
      const offsetIds = G.ProduceAck.createOffsetMsgIdsVector(b, strings(b, frame.offsetMsgIds));
      return [G.Body.ProduceAck, G.ProduceAck.createProduceAck(b, long(frame.requestId), status, frame.queueId, long(frame.queueOffset), ids, offsetIds)];
    }
    case 'subscribe': {
      const [group, topic, expression, initMode] = strings(b, [frame.group, frame.topic, frame.expression, frame.initMode]) as number[];
      return [G.Body.Subscribe, G.Subscribe.createSubscribe(b, long(frame.requestId), group!, topic!, expression!, initMode!, frame.visibilityMs, frame.credit)];
    }
    case 'subscribed':
      return [G.Body.Subscribed, G.Subscribed.createSubscribed(b, long(frame.requestId), long(frame.subscriptionId))];
    case 'unsubscribe':
      return [G.Body.Unsubscribe, G.Unsubscribe.createUnsubscribe(b, long(frame.subscriptionId))];
    case 'credit':
      return [G.Body.Credit, G.Credit.createCredit(b, long(frame.subscriptionId), frame.messages)];
    case 'deliver': {
      const [handle, msgId, offsetMsgId, topic, tags] = strings(b, [frame.receiptHandle, frame.msgId, frame.offsetMsgId, frame.topic, frame.tags]) as number[];
      const keys = G.Deliver.createKeysVector(b, strings(b, frame.keys));
      const props = G.Deliver.createPropertiesVector(b, properties(b, frame.properties));
      const body = G.Deliver.createBodyVector(b, frame.body);
      return [G.Body.Deliver, G.Deliver.createDeliver(b, long(frame.subscriptionId), handle!, frame.deliveryAttempt, msgId!, offsetMsgId!, topic!,
        frame.queueId, long(frame.queueOffset), tags!, keys, props, body, long(frame.bornTimestamp), long(frame.storeTimestamp))];
    }
    case 'ack':
      return [G.Body.Ack, G.Ack.createAck(b, long(frame.requestId), G.Ack.createReceiptHandlesVector(b, strings(b, frame.receiptHandles)))];
    case 'nack':
      return [G.Body.Nack, G.Nack.createNack(b, long(frame.requestId), G.Nack.createReceiptHandlesVector(b, strings(b, frame.receiptHandles)), frame.delayMs)];
    case 'settled':
      return [G.Body.Settled, G.Settled.createSettled(b, long(frame.requestId), frame.settled, G.Settled.createStaleVector(b, strings(b, frame.stale)))];
    case 'error': {
      const [code, message] = strings(b, [frame.code, frame.message]) as number[];
      return [G.Body.Error, G.Error.createError(b, long(frame.requestId), code!, message!)];
    }
  }
}

/** One frame as FlatBuffers bytes (a view into the builder's buffer). */
export function encodeGatewayFrame(frame: GatewayFrame): Uint8Array {
  const b = new flatbuffers.Builder(frame.type === 'deliver' ? frame.body.length + 512 : 256);
  const [type, body] = encodeBody(b, frame);
  b.finish(G.Frame.createFrame(b, type, body));
  return b.asUint8Array();
}

// ------------------------------------------------------------------------------------------------ decode

function malformed(detail: string): ProtocolError {
  return new ProtocolError('MESSAGE_INVALID', `malformed gateway frame: ${detail}`);
}

/** A ByteBuffer that refuses to read outside the frame (the stock one returns undefined). */
class CheckedByteBuffer extends flatbuffers.ByteBuffer {
  readonly #size: number;

  constructor(bytes: Uint8Array) {
    super(bytes);
    this.#size = bytes.length;
  }

  #check(offset: number, width: number): void {
    if (!Number.isInteger(offset) || offset < 0 || offset + width > this.#size) throw malformed(`read of ${width} bytes at ${offset} outside ${this.#size}`);
  }

  override readInt8(offset: number): number { this.#check(offset, 1); return super.readInt8(offset); }
  override readUint8(offset: number): number { this.#check(offset, 1); return super.readUint8(offset); }
  override readInt16(offset: number): number { this.#check(offset, 2); return super.readInt16(offset); }
  override readUint16(offset: number): number { this.#check(offset, 2); return super.readUint16(offset); }
  override readInt32(offset: number): number { this.#check(offset, 4); return super.readInt32(offset); }
  override readUint32(offset: number): number { this.#check(offset, 4); return super.readUint32(offset); }
  override readInt64(offset: number): bigint { this.#check(offset, 8); return super.readInt64(offset); }
  override readUint64(offset: number): bigint { this.#check(offset, 8); return super.readUint64(offset); }

  override __vector_len(offset: number): number {
    const length = super.__vector_len(offset);
    if (length < 0 || length > this.#size) throw malformed(`vector length ${length} in a ${this.#size}-byte frame`);
    return length;
  }

  override __string(offset: number, encoding?: flatbuffers.Encoding): string | Uint8Array {
    const start = offset + this.readInt32(offset);
    const length = this.readInt32(start);
    if (length < 0 || start + 4 + length > this.#size) throw malformed(`string of ${length} bytes at ${start} outside the frame`);
    return super.__string(offset, encoding);
  }
}

function num(value: bigint): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) throw malformed(`integer ${value} out of range`);
  return Number(value);
}

function list(length: number, at: (i: number) => string | null): string[] {
  const out: string[] = [];
  for (let i = 0; i < length; i += 1) out.push(at(i) ?? '');
  return out;
}

function props(length: number, at: (i: number) => G.Property | null): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < length; i += 1) {
    const p = at(i);
    const key = p?.key();
    if (key) out[key] = p?.value() ?? '';
  }
  return out;
}

function bytes(array: Uint8Array | null): Uint8Array {
  return array === null ? new Uint8Array(0) : array.slice();
}

function decodeOutgoing(m: G.OutgoingMessage): FrameMessage {
  const out: FrameMessage = { body: bytes(m.bodyArray()), keys: list(m.keysLength(), (i) => m.keys(i)), properties: props(m.propertiesLength(), (i) => m.properties(i)) };
  const tags = m.tags();
  if (tags !== null) out.tags = tags;
  if (m.delayLevel() !== 0) out.delayLevel = m.delayLevel();
  const deliverAt = num(m.deliverTimeMs());
  if (deliverAt !== 0) out.deliverTimeMs = deliverAt;
  const msgId = m.msgId();
  if (msgId !== null) out.msgId = msgId;
  return out;
}

function decodeFrame(frame: G.Frame): GatewayFrame {
  switch (frame.bodyType()) {
    case G.Body.Produce: {
      const p = frame.body(new G.Produce()) as G.Produce;
      const messages: FrameMessage[] = [];
      for (let i = 0; i < p.messagesLength(); i += 1) {
        const m = p.messages(i);
        if (m === null) throw malformed(`message ${i} missing`);
        messages.push(decodeOutgoing(m));
      }
      return { type: 'produce', requestId: num(p.requestId()), topic: p.topic() ?? '', queueId: p.queueId(), messages };
    }
    case G.Body.ProduceAck: {
      const a = frame.body(new G.ProduceAck()) as G.ProduceAck;
      return {
        type: 'produceAck', requestId: num(a.requestId()), status: a.status() ?? '', queueId: a.queueId(), queueOffset: num(a.queueOffset()),
        msgIds: list(a.msgIdsLength(), (i) => a.msgIds(i)), offsetMsgIds: list(a.offsetMsgIdsLength(), (i) => a.offsetMsgIds(i)),
      };
    }
    case G.Body.Subscribe: {
      const s = frame.body(new G.Subscribe()) as G.Subscribe;
      return {
        type: 'subscribe', requestId: num(s.requestId()), group: s.group() ?? '', topic: s.topic() ?? '', expression: s.expression() ?? '*',
        initMode: s.initMode() ?? 'first', visibilityMs: s.visibilityMs(), credit: s.credit(),
      };
    }
    case G.Body.Subscribed: {
      const s = frame.body(new G.Subscribed()) as G.Subscribed;
      return { type: 'subscribed', requestId: num(s.requestId()), subscriptionId: num(s.subscriptionId()) };
    }
    case G.Body.Unsubscribe: {
      const u = frame.body(new G.Unsubscribe()) as G.Unsubscribe;
      return { type: 'unsubscribe', subscriptionId: num(u.subscriptionId()) };
    }
    case G.Body.Credit: {
      const c = frame.body(new G.Credit()) as G.Credit;
      return { type: 'credit', subscriptionId: num(c.subscriptionId()), messages: c.messages() };
    }
    case G.Body.Deliver: {
      const d = frame.body(new G.Deliver()) as G.Deliver;
      return {
        type: 'deliver', subscriptionId: num(d.subscriptionId()), receiptHandle: d.receiptHandle() ?? '', deliveryAttempt: d.deliveryAttempt(),
        msgId: d.msgId() ?? '', offsetMsgId: d.offsetMsgId() ?? '', topic: d.topic() ?? '', queueId: d.queueId(), queueOffset: num(d.queueOffset()),
        tags: d.tags() ?? '', keys: list(d.keysLength(), (i) => d.keys(i)), properties: props(d.propertiesLength(), (i) => d.properties(i)),
        body: bytes(d.bodyArray()), bornTimestamp: num(d.bornTimestamp()), storeTimestamp: num(d.storeTimestamp()),
      };
    }
    case G.Body.Ack: {
      const a = frame.body(new G.Ack()) as G.Ack;
      return { type: 'ack', requestId: num(a.requestId()), receiptHandles: list(a.receiptHandlesLength(), (i) => a.receiptHandles(i)) };
    }
    case G.Body.Nack: {
      const n = frame.body(new G.Nack()) as G.Nack;
      return { type: 'nack', requestId: num(n.requestId()), receiptHandles: list(n.receiptHandlesLength(), (i) => n.receiptHandles(i)), delayMs: n.delayMs() };
    }
    case G.Body.Settled: {
      const s = frame.body(new G.Settled()) as G.Settled;
      return { type: 'settled', requestId: num(s.requestId()), settled: s.settled(), stale: list(s.staleLength(), (i) => s.stale(i)) };
    }
    case G.Body.Error: {
      const e = frame.body(new G.Error()) as G.Error;
      return { type: 'error', requestId: num(e.requestId()), code: e.code() ?? '', message: e.message() ?? '' };
    }
    default:
      throw malformed(`unknown body type ${frame.bodyType()}`);
  }
}

/** Decodes one frame. @throws ProtocolError MESSAGE_INVALID for anything malformed */
export function decodeGatewayFrame(data: Uint8Array): GatewayFrame {
  if (data.length < 8) throw malformed(`${data.length} bytes is too short`);
  try {
    return decodeFrame(G.Frame.getRootAsFrame(new CheckedByteBuffer(data)));
  } catch (error) {
    if (error instanceof ProtocolError) throw error;
    throw malformed(error instanceof Error ? error.message : String(error));
  }
}
