// Request handlers by request code. A handler receives the request and a RequestContext and
//   - returns a response (sync or async): it is sent at once (never for a oneway request);
//   - returns nothing: the request is parked (long polling) until `context.reply(...)`;
//   - throws / rejects: the peer gets SYSTEM_ERROR with the error message as remark.
// For oneway requests the return value is ignored.

import type { RemotingCommand } from '../protocol/command.js';
import { makeResponse } from '../protocol/command.js';
import { ResponseCode } from '../protocol/codes.js';
import type { RequestContext } from './request-context.js';

/** What a handler may return: a response, or nothing (parked or oneway). */
export type HandlerResult = RemotingCommand | undefined | void;

/** A request processor. See the module comment for the reply contract. */
export type RequestHandler = (
  request: RemotingCommand,
  context: RequestContext,
) => HandlerResult | Promise<HandlerResult>;

/** Answers requests nobody registered a handler for, as Java does. */
export const requestCodeNotSupported: RequestHandler = (request) =>
  makeResponse(request, ResponseCode.REQUEST_CODE_NOT_SUPPORTED, {
    remark: ` request type ${request.code} not supported`,
  });

/** Maps request codes to handlers, with a fallback for unknown codes. */
export class ProcessorTable {
  readonly #handlers = new Map<number, RequestHandler>();
  #fallback: RequestHandler = requestCodeNotSupported;

  /** Registers (or replaces) the handler of `code`. */
  register(code: number, handler: RequestHandler): void {
    this.#handlers.set(code, handler);
  }

  /** Replaces the handler used for unregistered codes (default: REQUEST_CODE_NOT_SUPPORTED). */
  setFallback(handler: RequestHandler): void {
    this.#fallback = handler;
  }

  /** Handler for `code` (the fallback if none is registered). */
  get(code: number): RequestHandler {
    return this.#handlers.get(code) ?? this.#fallback;
  }
}
