// One remoting connection over a node:net socket, used on both ends (server and client):
// framing, request dispatch with an in-flight bound, request/response matching for requests we
// send, a bounded write queue and idle close.
//
// Write path. Frames normally go straight to the socket. A frame whose body is written
// separately (RawFrameWriter: header now, body chunks later, e.g. zero-copy slices of the
// commit log) must not be interleaved with other frames, so while one is incomplete every
// later frame waits in an ordered queue of write units behind it. "Pending write bytes" is the
// socket's unsent buffer plus that queue; above `writeQueueBytesMax` the peer is not reading
// and the connection is closed (closing is the only bound that holds against a dead reader).

import type { Socket } from 'node:net';
import {
  ConnectionClosedError, LimitExceededError, ProtocolError, TimeoutError, errorMessage,
} from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import {
  FLAG_ONEWAY, FLAG_RESPONSE, isOneway, isResponse, makeResponse,
  type RemotingCommand, type SerializeTypeValue,
} from '../protocol/command.js';
import { ResponseCode, requestCodeName } from '../protocol/codes.js';
import { FrameDecoder, encodeFrameHeader } from '../protocol/frame.js';
import { formatAddress } from './address.js';
import type { HandlerResult, ProcessorTable } from './processor-table.js';
import { RequestContextImpl } from './request-context.js';

/** Why a connection closed. */
export type CloseReason =
  /** `close()` was called by our side. */
  | 'local'
  /** The peer closed the connection. */
  | 'remote'
  /** A socket error (reset, unreachable...). */
  | 'error'
  /** No traffic for `idleTimeoutMs`. */
  | 'idle'
  /** The peer sent a malformed frame. */
  | 'protocol-error'
  /** The peer stopped reading and our write queue exceeded its bound. */
  | 'write-queue-overflow'
  /** The server or client owning the connection shut down. */
  | 'shutdown';

/** Passed to close listeners. */
export interface CloseInfo {
  reason: CloseReason;
  /** The socket or protocol error behind `error` / `protocol-error` closes. */
  error?: Error;
  /** Pending write bytes at the moment of closing (diagnostics and tests). */
  pendingWriteBytes: number;
}

/** Limits and behaviour of one connection (filled in by the server or client). */
export interface ConnectionOptions {
  frameBytesMax: number;
  writeQueueBytesMax: number;
  inflightRequestsMax: number;
  outstandingInvokesMax: number;
  /** 0 disables idle close. */
  idleTimeoutMs: number;
  serializeType: SerializeTypeValue;
  logger: Logger;
}

/**
 * Writes the body of a frame started with {@link RemotingConnection.beginRawFrame}. Exactly
 * `bodyLength` bytes must be written; until then later frames on the connection wait.
 */
export interface RawFrameWriter {
  /** Body bytes still expected. */
  readonly remainingBytes: number;
  /**
   * Writes body bytes (at most `remainingBytes`). Returns false if the connection is closed
   * (including closed now for exceeding the write-queue bound): stop producing.
   */
  write(chunk: Uint8Array): boolean;
  /** Gives up on the body; the frame cannot be completed, so the connection is closed. */
  abort(reason?: string): void;
}

interface PendingInvoke {
  resolve: (response: RemotingCommand) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

/**
 * Sends a frame body from outside JS (sendfile from the CommitLog) to the socket's file
 * descriptor; resolves with the bytes sent. Called only once every earlier byte of the
 * connection has reached the kernel, and nothing else is written until it settles.
 */
export type SocketTransfer = (fd: number) => Promise<number>;

/** One ordered slot of the write queue: complete frames, or a raw frame still being written. */
interface WriteUnit {
  buffers: Uint8Array[];
  remainingBodyBytes: number;
  /** A body sent by a native transfer instead of `buffers`. */
  transfer?: SocketTransfer;
  transferStarted?: boolean;
}

let connectionIds = 0;
let opaqueCounter = 0;

/** Next request id; int32 wrap-around like Java's AtomicInteger. */
function nextOpaque(): number {
  opaqueCounter = (opaqueCounter + 1) | 0;
  return opaqueCounter;
}

/** A remoting connection. Created by RemotingServer and RemotingClient, not directly. */
export class RemotingConnection {
  /** Process-unique id, for maps keyed by connection. */
  readonly id: number;
  /** Peer address as `ip:port` (IPv4-mapped IPv6 unwrapped). */
  readonly remoteAddress: string;
  /** Our end as `ip:port`. */
  readonly localAddress: string;

  readonly #socket: Socket;
  readonly #options: ConnectionOptions;
  readonly #processors: ProcessorTable;
  readonly #onClosed: (connection: RemotingConnection, info: CloseInfo) => void;
  readonly #decoder: FrameDecoder;
  readonly #pending = new Map<number, PendingInvoke>();
  readonly #queue: WriteUnit[] = [];
  #queuedBytes = 0;
  #inflight = 0;
  #closed = false;
  #closeInfo: CloseInfo | undefined;
  #socketError: Error | undefined;
  #drainWaiters: Array<() => void> = [];

  /** @internal */
  constructor(
    socket: Socket,
    options: ConnectionOptions,
    processors: ProcessorTable,
    onClosed: (connection: RemotingConnection, info: CloseInfo) => void,
  ) {
    connectionIds += 1;
    this.id = connectionIds;
    this.#socket = socket;
    this.#options = options;
    this.#processors = processors;
    this.#onClosed = onClosed;
    this.#decoder = new FrameDecoder({ frameBytesMax: options.frameBytesMax });
    this.remoteAddress = formatAddress(socket.remoteAddress ?? 'unknown', socket.remotePort ?? 0);
    this.localAddress = formatAddress(socket.localAddress ?? 'unknown', socket.localPort ?? 0);
    socket.setNoDelay(true);
    if (options.idleTimeoutMs > 0) {
      socket.setTimeout(options.idleTimeoutMs, () => this.close('idle'));
    }
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('drain', () => this.#wakeDrainWaiters());
    socket.on('error', (error) => {
      this.#socketError = error;
    });
    socket.on('close', () => this.#finish(this.#socketError === undefined ? 'remote' : 'error', this.#socketError));
  }

  /** True once the connection is closed; it never reopens (clients make a new one). */
  get closed(): boolean {
    return this.#closed;
  }

  /** Why the connection closed, once it has. */
  get closeInfo(): CloseInfo | undefined {
    return this.#closeInfo;
  }

  /** Bytes accepted for writing but not yet handed to the kernel. */
  get pendingWriteBytes(): number {
    return this.#socket.writableLength + this.#queuedBytes;
  }

  /** Requests from the peer being handled or parked on this connection. */
  get inflightRequests(): number {
    return this.#inflight;
  }

  /** Requests we sent on this connection that await a response. */
  get outstandingInvokes(): number {
    return this.#pending.size;
  }

  /**
   * Sends a whole command (request or response) as-is: the caller sets opaque and flags.
   * Returns false if the connection is closed, or was closed because its write queue overflowed.
   * @throws ProtocolError `ENCODE_INVALID` if the command cannot be encoded.
   */
  send(command: RemotingCommand): boolean {
    if (this.#closed) return false;
    const body = command.body;
    const header = encodeFrameHeader(command, body?.length ?? 0, this.#options.serializeType, {
      frameBytesMax: this.#options.frameBytesMax,
    });
    const buffers = body === undefined || body.length === 0 ? [header] : [header, body];
    return this.#write({ buffers, remainingBodyBytes: 0 });
  }

  /**
   * Starts a frame whose `bodyLength` body bytes are written through the returned writer;
   * `command.body` is ignored. Later frames queue behind it until the body is complete.
   * @throws ProtocolError `ENCODE_INVALID` if the frame would exceed the frame limit.
   */
  beginRawFrame(command: RemotingCommand, bodyLength: number): RawFrameWriter {
    const header = encodeFrameHeader(command, bodyLength, this.#options.serializeType, {
      frameBytesMax: this.#options.frameBytesMax,
    });
    const unit: WriteUnit = { buffers: [header], remainingBodyBytes: bodyLength };
    this.#write(unit);
    const connection = this;
    return {
      get remainingBytes() {
        return unit.remainingBodyBytes;
      },
      write(chunk: Uint8Array): boolean {
        if (chunk.length > unit.remainingBodyBytes) {
          const remaining = unit.remainingBodyBytes;
          throw new RangeError(`raw body chunk of ${chunk.length} bytes exceeds the ${remaining} remaining`);
        }
        if (connection.#closed) return false;
        unit.remainingBodyBytes -= chunk.length;
        if (chunk.length > 0) {
          unit.buffers.push(chunk);
          connection.#queuedBytes += chunk.length;
        }
        connection.#flush();
        return connection.#checkWriteQueue();
      },
      abort(reason?: string): void {
        if (unit.remainingBodyBytes === 0 || connection.#closed) return;
        connection.#options.logger.warn('raw frame aborted; closing the connection', {
          remote: connection.remoteAddress,
          reason: reason ?? 'aborted',
        });
        connection.close('local');
      },
    };
  }

  /** The socket's file descriptor, or -1 when it has none (then use `beginRawFrame`). */
  get fd(): number {
    const handle = (this.#socket as unknown as { _handle?: { fd?: number } })._handle;
    return typeof handle?.fd === 'number' ? handle.fd : -1;
  }

  /**
   * Starts a frame whose body of `bodyLength` bytes is sent by `transfer` (sendfile), in
   * order with every other frame: the header and everything before it are flushed to the
   * kernel first, later frames wait until the transfer settles. A failed or short transfer
   * closes the connection (the frame cannot be completed). The bytes count as pending
   * writes until sent, so a reader that stops still trips the write-queue bound.
   */
  beginTransferFrame(command: RemotingCommand, bodyLength: number, transfer: SocketTransfer): boolean {
    const header = encodeFrameHeader(command, bodyLength, this.#options.serializeType, {
      frameBytesMax: this.#options.frameBytesMax,
    });
    if (this.#closed) return false;
    this.#queuedBytes += bodyLength;
    return this.#write({ buffers: [header], remainingBodyBytes: bodyLength, transfer });
  }

  /** Resolves when pending writes fall to zero (or the connection closes). */
  drained(): Promise<void> {
    if (this.#closed || this.pendingWriteBytes === 0) return Promise.resolve();
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  /**
   * Sends a request and resolves with its response. The request object is not modified; a
   * fresh opaque is assigned.
   * @throws TimeoutError after `timeoutMs`; ConnectionClosedError if the connection closes
   *   first; LimitExceededError if too many requests are outstanding.
   */
  invoke(request: RemotingCommand, timeoutMs: number): Promise<RemotingCommand> {
    if (this.#closed) {
      return Promise.reject(new ConnectionClosedError(`connection to ${this.remoteAddress} is closed`));
    }
    if (this.#pending.size >= this.#options.outstandingInvokesMax) {
      return Promise.reject(new LimitExceededError(
        `${this.#pending.size} requests already outstanding on the connection to ${this.remoteAddress}`,
      ));
    }
    const opaque = nextOpaque();
    const command: RemotingCommand = { ...request, opaque, flag: request.flag & ~(FLAG_RESPONSE | FLAG_ONEWAY) };
    return new Promise<RemotingCommand>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(opaque);
        reject(new TimeoutError(
          `${requestCodeName(request.code)} to ${this.remoteAddress} got no response within ${timeoutMs} ms`,
        ));
      }, timeoutMs);
      this.#pending.set(opaque, { resolve, reject, timer });
      try {
        this.send(command);
      } catch (error) {
        clearTimeout(timer);
        this.#pending.delete(opaque);
        reject(error instanceof Error ? error : new Error(String(error)));
      }
      // If the send closed the connection, #finish has already rejected this invoke.
    });
  }

  /**
   * Sends a request that expects no response. Returns false if the connection is closed.
   * @throws ProtocolError `ENCODE_INVALID` if the command cannot be encoded.
   */
  invokeOneway(request: RemotingCommand): boolean {
    const flag = (request.flag | FLAG_ONEWAY) & ~FLAG_RESPONSE;
    const command: RemotingCommand = { ...request, opaque: nextOpaque(), flag };
    return this.send(command);
  }

  /** Closes the connection at once (unsent data is dropped) and notifies listeners. */
  close(reason: CloseReason = 'local', error?: Error): void {
    if (this.#closed) return;
    this.#finish(reason, error);
    this.#socket.destroy();
  }

  #finish(reason: CloseReason, error?: Error): void {
    if (this.#closed) return;
    const info: CloseInfo = { reason, pendingWriteBytes: this.pendingWriteBytes };
    if (error !== undefined) info.error = error;
    this.#closed = true;
    this.#closeInfo = info;
    this.#queue.length = 0;
    this.#queuedBytes = 0;
    this.#inflight = 0;
    const closedError = new ConnectionClosedError(`connection to ${this.remoteAddress} closed (${reason})`, {
      cause: error,
    });
    for (const pending of this.#pending.values()) {
      clearTimeout(pending.timer);
      pending.reject(closedError);
    }
    this.#pending.clear();
    this.#wakeDrainWaiters();
    this.#socket.destroy();
    try {
      this.#onClosed(this, info);
    } catch (listenerError) {
      this.#options.logger.error('connection close listener failed', { error: errorMessage(listenerError) });
    }
  }

  #wakeDrainWaiters(): void {
    if (this.#drainWaiters.length === 0 || (!this.#closed && this.pendingWriteBytes > 0)) return;
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const wake of waiters) wake();
  }

  // ---- write path ------------------------------------------------------------------------

  #write(unit: WriteUnit): boolean {
    if (this.#closed) return false;
    for (const buffer of unit.buffers) this.#queuedBytes += buffer.length;
    this.#queue.push(unit);
    this.#flush();
    return this.#checkWriteQueue();
  }

  /** Hands queued buffers to the socket in order, stopping at an incomplete raw frame. */
  #flush(): void {
    const socket = this.#socket;
    while (this.#queue.length > 0) {
      const unit = this.#queue[0] as WriteUnit;
      if (unit.buffers.length > 0) {
        socket.cork();
        for (const buffer of unit.buffers) {
          this.#queuedBytes -= buffer.length;
          socket.write(buffer);
        }
        socket.uncork();
        unit.buffers = [];
      }
      if (unit.remainingBodyBytes > 0) {
        if (unit.transfer && !unit.transferStarted) this.#startTransfer(unit);
        return;
      }
      this.#queue.shift();
    }
  }

  /** Runs a unit's native transfer once the socket has handed every earlier byte to the kernel. */
  #startTransfer(unit: WriteUnit): void {
    const socket = this.#socket;
    if (socket.writableLength > 0) {
      socket.once('drain', () => {
        if (!this.#closed && !unit.transferStarted) this.#startTransfer(unit);
      });
      return;
    }
    const fd = this.fd;
    const transfer = unit.transfer!;
    unit.transferStarted = true;
    const expected = unit.remainingBodyBytes;
    const fail = (error: Error) => {
      if (this.#closed) return;
      this.#options.logger.warn('zero-copy transfer failed; closing the connection', {
        remote: this.remoteAddress,
        error: error.message,
      });
      this.close('error', error);
    };
    if (fd < 0) {
      fail(new Error('the socket has no file descriptor'));
      return;
    }
    transfer(fd).then(
      (sent) => {
        if (this.#closed) return;
        if (sent !== expected) {
          fail(new Error(`transfer sent ${sent} of ${expected} bytes`));
          return;
        }
        this.#queuedBytes -= expected;
        unit.remainingBodyBytes = 0;
        this.#flush();
        this.#wakeDrainWaiters();
      },
      (error: unknown) => fail(error instanceof Error ? error : new Error(String(error))),
    );
  }

  /** Closes the connection if the peer lets our writes pile up; returns false if closed. */
  #checkWriteQueue(): boolean {
    if (this.#closed) return false;
    const pending = this.pendingWriteBytes;
    if (pending <= this.#options.writeQueueBytesMax) return true;
    this.#options.logger.warn('peer is not reading; closing the connection', {
      remote: this.remoteAddress,
      pendingWriteBytes: pending,
      writeQueueBytesMax: this.#options.writeQueueBytesMax,
    });
    this.close('write-queue-overflow');
    return false;
  }

  // ---- read path -------------------------------------------------------------------------

  #onData(chunk: Buffer): void {
    if (this.#closed) return;
    try {
      this.#decoder.push(chunk);
      for (let command = this.#decoder.next(); command !== null; command = this.#decoder.next()) {
        if (isResponse(command)) this.#onResponse(command);
        else this.#onRequest(command);
        if (this.#closed) return;
      }
    } catch (error) {
      if (error instanceof ProtocolError) {
        this.#options.logger.warn('malformed frame; closing the connection', {
          remote: this.remoteAddress,
          code: error.code,
          error: error.message,
        });
        this.close('protocol-error', error);
        return;
      }
      // Not expected (handlers are isolated in RequestContext): keep the process alive anyway.
      this.#options.logger.error('unexpected error on the read path; closing the connection', {
        remote: this.remoteAddress,
        error: errorMessage(error),
      });
      this.close('error', error instanceof Error ? error : new Error(String(error)));
    }
  }

  #onResponse(response: RemotingCommand): void {
    const pending = this.#pending.get(response.opaque);
    if (pending === undefined) {
      this.#options.logger.debug('response without a waiting request dropped (timed out?)', {
        remote: this.remoteAddress,
        opaque: response.opaque,
      });
      return;
    }
    this.#pending.delete(response.opaque);
    clearTimeout(pending.timer);
    pending.resolve(response);
  }

  #onRequest(request: RemotingCommand): void {
    if (this.#inflight >= this.#options.inflightRequestsMax) {
      if (!isOneway(request)) {
        this.send(makeResponse(request, ResponseCode.SYSTEM_BUSY, {
          remark: `[OVERLOAD] ${this.#inflight} requests in flight on this connection, try again later`,
        }));
      }
      return;
    }
    this.#inflight += 1;
    let released = false;
    const release = (): void => {
      if (released || this.#closed) return;
      released = true;
      this.#inflight -= 1;
    };
    const context = new RequestContextImpl(this, request, release, this.#options.logger);
    let result: HandlerResult | PromiseLike<HandlerResult>;
    try {
      result = this.#processors.get(request.code)(request, context);
    } catch (error) {
      this.#guard(() => context.fail(error));
      return;
    }
    if (isPromiseLike(result)) {
      result.then(
        (value) => this.#guard(() => context.settle(value)),
        (error: unknown) => this.#guard(() => context.fail(error)),
      );
    } else {
      this.#guard(() => context.settle(result));
    }
  }

  /** Runs reply bookkeeping so that nothing escapes as an uncaught exception or rejection. */
  #guard(run: () => void): void {
    try {
      run();
    } catch (error) {
      this.#options.logger.error('replying failed', { remote: this.remoteAddress, error: errorMessage(error) });
    }
  }
}

function isPromiseLike(value: unknown): value is PromiseLike<HandlerResult> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}
