// Per-request state handed to a handler: who asked, whether it has been answered, and how to
// answer later. The in-flight slot the request occupies on its connection is released exactly
// once: on the reply, when a oneway handler settles, or when the connection closes.

import { errorMessage } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import { FLAG_ONEWAY, FLAG_RESPONSE, isOneway, makeResponse, type RemotingCommand } from '../protocol/command.js';
import { ResponseCode, requestCodeName } from '../protocol/codes.js';
import type { RawFrameWriter, RemotingConnection, SocketTransfer } from './connection.js';

/** Given to every handler invocation. */
export interface RequestContext {
  /** The connection the request came on (for later replies or server → client requests). */
  readonly connection: RemotingConnection;
  readonly request: RemotingCommand;
  /** True if the request expects no response. */
  readonly oneway: boolean;
  /** True once a reply was written (or the request was oneway and its handler finished). */
  readonly done: boolean;
  /**
   * Sends `response` (opaque and response flag are set from the request). Returns false if it
   * was not sent: already replied, oneway request, or connection closed.
   */
  reply(response: RemotingCommand): boolean;
  /**
   * Starts a response whose body of `bodyLength` bytes the caller writes separately (e.g.
   * zero-copy slices of the commit log) through the returned writer; `response.body` is
   * ignored. Returns null when no reply can be sent (see {@link reply}).
   */
  replyRaw(response: RemotingCommand, bodyLength: number): RawFrameWriter | null;
  /**
   * Replies with a body sent by `transfer` (sendfile from the CommitLog); see
   * {@link RemotingConnection.beginTransferFrame}. Returns false when no reply can be sent.
   */
  replyTransfer(response: RemotingCommand, bodyLength: number, transfer: SocketTransfer): boolean;
}

/** Internal implementation; the connection creates one per request. */
export class RequestContextImpl implements RequestContext {
  readonly oneway: boolean;
  #done = false;

  constructor(
    readonly connection: RemotingConnection,
    readonly request: RemotingCommand,
    private readonly release: () => void,
    private readonly logger: Logger,
  ) {
    this.oneway = isOneway(request);
  }

  get done(): boolean {
    return this.#done;
  }

  #finish(): void {
    if (this.#done) return;
    this.#done = true;
    this.release();
  }

  #prepare(response: RemotingCommand): RemotingCommand | null {
    if (this.#done || this.oneway || this.connection.closed) {
      if (!this.oneway && this.#done) {
        this.logger.warn('second reply to a request ignored', { code: requestCodeName(this.request.code) });
      }
      this.#finish();
      return null;
    }
    this.#finish();
    return { ...response, opaque: this.request.opaque, flag: (response.flag | FLAG_RESPONSE) & ~FLAG_ONEWAY };
  }

  reply(response: RemotingCommand): boolean {
    const prepared = this.#prepare(response);
    if (prepared === null) return false;
    try {
      return this.connection.send(prepared);
    } catch (error) {
      // The response could not be encoded (e.g. body beyond the frame limit): tell the peer.
      this.logger.error('response could not be encoded', { code: requestCodeName(this.request.code), error });
      const remark = `response encoding failed: ${errorMessage(error)}`;
      return this.connection.send(makeResponse(this.request, ResponseCode.SYSTEM_ERROR, { remark }));
    }
  }

  replyRaw(response: RemotingCommand, bodyLength: number): RawFrameWriter | null {
    const prepared = this.#prepare(response);
    if (prepared === null) return null;
    return this.connection.beginRawFrame(prepared, bodyLength);
  }

  replyTransfer(response: RemotingCommand, bodyLength: number, transfer: SocketTransfer): boolean {
    const prepared = this.#prepare(response);
    if (prepared === null) return false;
    return this.connection.beginTransferFrame(prepared, bodyLength, transfer);
  }

  /** Called with the handler's return value. */
  settle(result: RemotingCommand | undefined | void): void {
    if (result !== undefined) {
      if (this.oneway) this.#finish();
      else this.reply(result);
      return;
    }
    // Nothing returned: a oneway request is finished; a normal one is parked until reply().
    if (this.oneway) this.#finish();
  }

  /** Called when the handler threw or rejected. */
  fail(error: unknown): void {
    this.logger.warn('request handler failed', {
      code: requestCodeName(this.request.code),
      remote: this.connection.remoteAddress,
      error: errorMessage(error),
    });
    if (this.#done) return;
    if (this.oneway) {
      this.#finish();
      return;
    }
    this.reply(makeResponse(this.request, ResponseCode.SYSTEM_ERROR, { remark: errorMessage(error) }));
  }
}
