// Typed errors of the SDK. One class per kind of failure, each with a stable string `code`
// (branch on it, never on message text), `retriable` (would the same call on another broker or
// a little later plausibly succeed?) and the underlying `cause`.

import {
  BolideError, ClosedError as CommonClosedError, ConnectError, ConnectionClosedError, LimitExceededError,
  TimeoutError as CommonTimeoutError,
} from '../common/errors.js';
import { ResponseCode, responseCodeName } from '../protocol/codes.js';

/** Options of every SDK error. */
export interface MQErrorOptions {
  cause?: unknown;
}

/** Base class of every error the SDK raises. */
export abstract class MQError extends BolideError {
  /** True when retrying (another broker, later) may succeed. */
  abstract readonly retriable: boolean;
}

/** A caller error: invalid argument, message or configuration; retrying cannot help. */
export class MQClientError extends MQError {
  declare readonly code: 'CLIENT_ERROR';
  readonly retriable = false;

  constructor(message: string, options?: MQErrorOptions) {
    super('CLIENT_ERROR', message, options);
  }
}

/** A message breaks a limit or rule (empty body, too large, bad topic name...). */
export class InvalidMessageError extends MQError {
  declare readonly code: 'MESSAGE_INVALID';
  readonly retriable = false;

  constructor(message: string, options?: MQErrorOptions) {
    super('MESSAGE_INVALID', message, options);
  }
}

/** Response codes after which the producer retries (on another broker). */
const RETRIABLE_BROKER_CODES: ReadonlySet<number> = new Set([
  ResponseCode.TOPIC_NOT_EXIST, ResponseCode.SERVICE_NOT_AVAILABLE, ResponseCode.SYSTEM_ERROR,
  ResponseCode.SYSTEM_BUSY, ResponseCode.NO_PERMISSION, 204, 205, ResponseCode.GO_AWAY,
]);

/** A broker or name server answered with a non-success response code. */
export class MQBrokerError extends MQError {
  declare readonly code: 'BROKER_ERROR';
  /** The RocketMQ response code (e.g. 17 TOPIC_NOT_EXIST). */
  readonly responseCode: number;
  /** The response's remark, if any. */
  readonly remark: string | undefined;
  /** Address of the server that answered. */
  readonly address: string | undefined;
  readonly retriable: boolean;

  constructor(responseCode: number, remark: string | undefined, address?: string, options?: MQErrorOptions) {
    super('BROKER_ERROR', `${address ?? 'server'} answered ${responseCodeName(responseCode)} (${responseCode})` +
      `${remark === undefined ? '' : `: ${remark}`}`, options);
    this.responseCode = responseCode;
    this.remark = remark;
    this.address = address;
    this.retriable = RETRIABLE_BROKER_CODES.has(responseCode);
  }
}

/** No route (no name server answer or no writable/readable queue) for a topic. */
export class NoRouteError extends MQError {
  declare readonly code: 'NO_ROUTE';
  readonly retriable = true;
  readonly topic: string;

  constructor(topic: string, message: string, options?: MQErrorOptions) {
    super('NO_ROUTE', message, options);
    this.topic = topic;
  }
}

/** A request (or a whole send including retries) did not finish within its timeout. */
export class TimeoutError extends MQError {
  declare readonly code: 'TIMEOUT';
  readonly retriable = true;

  constructor(message: string, options?: MQErrorOptions) {
    super('TIMEOUT', message, options);
  }
}

/** A connection could not be opened, or closed while a request was outstanding. */
export class NetworkError extends MQError {
  declare readonly code: 'NETWORK';
  readonly retriable = true;
  readonly address: string | undefined;

  constructor(message: string, address?: string, options?: MQErrorOptions) {
    super('NETWORK', message, options);
    this.address = address;
  }
}

/** The client is not started, or is shutting down / shut down. */
export class ClientStateError extends MQError {
  declare readonly code: 'CLIENT_STATE';
  readonly retriable = false;

  constructor(message: string, options?: MQErrorOptions) {
    super('CLIENT_STATE', message, options);
  }
}

/**
 * Maps a transport failure (from ts/remoting) to the SDK error kind. SDK errors pass through.
 */
export function toMQError(error: unknown, address: string | undefined): MQError {
  if (error instanceof MQError) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof CommonTimeoutError) return new TimeoutError(message, { cause: error });
  if (error instanceof ConnectError || error instanceof ConnectionClosedError || error instanceof LimitExceededError) {
    return new NetworkError(message, address, { cause: error });
  }
  if (error instanceof CommonClosedError) {
    // A closed RemotingClient means our own shutdown; a closed connection attempt is the network.
    return /client is closed/.test(message)
      ? new ClientStateError(message, { cause: error })
      : new NetworkError(message, address, { cause: error });
  }
  return new MQClientError(message, { cause: error });
}

/**
 * A received message body could not be decompressed: its sysFlag names a codec this client does
 * not know (`codec` is then e.g. `unknown(0x400)`), or the bytes are not valid for the codec.
 */
export class MessageDecodeError extends MQError {
  declare readonly code: 'MESSAGE_DECODE';
  readonly retriable = false;
  /** The codec named by the message's sysFlag: `zlib`, `lz4`, `zstd` or `unknown(0x...)`. */
  readonly codec: string;

  constructor(codec: string, message: string, options?: MQErrorOptions) {
    super('MESSAGE_DECODE', message, options);
    this.codec = codec;
  }
}
