// Typed errors shared by every layer. Each class carries a stable string `code` so callers
// (and tests) branch on `error.code`, never on message text, which is free to change.

/** Options accepted by every Bolide error; `cause` keeps the underlying error chain. */
export interface BolideErrorOptions {
  cause?: unknown;
}

/** Base class: every operating error raised by Bolide code has a stable `code`. */
export class BolideError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: BolideErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
  }
}

/**
 * Stable codes of {@link ProtocolError}. A peer sent bytes we cannot interpret; the caller
 * decides whether to close the connection (frame-level) or answer with an error (header-level).
 */
export type ProtocolErrorCode =
  /** Frame length prefix is below the minimum (4) or negative. */
  | 'FRAME_LENGTH_INVALID'
  /** Frame length prefix exceeds the configured maximum frame size. */
  | 'FRAME_TOO_LARGE'
  /** Header length in the frame is larger than the frame. */
  | 'HEADER_LENGTH_INVALID'
  /** Serialize-type byte is neither 0 (JSON) nor 1 (ROCKETMQ binary). */
  | 'SERIALIZE_TYPE_UNKNOWN'
  /** JSON header is not valid JSON or not an object, or a field has the wrong type. */
  | 'HEADER_JSON_INVALID'
  /** ROCKETMQ binary header ends before a declared field does. */
  | 'HEADER_BINARY_TRUNCATED'
  /** A command cannot be encoded (value out of range, header too large...). */
  | 'ENCODE_INVALID'
  /** A required custom-header field (extFields) is absent. */
  | 'HEADER_FIELD_MISSING'
  /** A custom-header field is present but cannot be parsed as its declared type. */
  | 'HEADER_FIELD_INVALID'
  /** A message-level structure (properties, batch, stored record, message id) is malformed. */
  | 'MESSAGE_INVALID'
  /** A JSON body (route data, register body...) is malformed or has the wrong shape. */
  | 'BODY_INVALID';

/** A peer sent (or a caller asked us to send) bytes that violate the remoting protocol. */
export class ProtocolError extends BolideError {
  declare readonly code: ProtocolErrorCode;
  /** Header field or body path the error is about, when there is one. */
  readonly field: string | undefined;

  constructor(code: ProtocolErrorCode, message: string, options?: BolideErrorOptions & { field?: string }) {
    super(code, message, options);
    this.field = options?.field;
  }
}

/** A request got no response within its deadline. */
export class TimeoutError extends BolideError {
  declare readonly code: 'TIMEOUT';

  constructor(message: string, options?: BolideErrorOptions) {
    super('TIMEOUT', message, options);
  }
}

/** The connection a request was sent on closed before the response arrived. */
export class ConnectionClosedError extends BolideError {
  declare readonly code: 'CONNECTION_CLOSED';

  constructor(message: string, options?: BolideErrorOptions) {
    super('CONNECTION_CLOSED', message, options);
  }
}

/** A TCP connection could not be established. */
export class ConnectError extends BolideError {
  declare readonly code: 'CONNECT_FAILED';

  constructor(message: string, options?: BolideErrorOptions) {
    super('CONNECT_FAILED', message, options);
  }
}

/** A bounded queue or counter is full; the operation was refused rather than queued. */
export class LimitExceededError extends BolideError {
  declare readonly code: 'LIMIT_EXCEEDED';

  constructor(message: string, options?: BolideErrorOptions) {
    super('LIMIT_EXCEEDED', message, options);
  }
}

/** The object (client, server) was closed; no new work is accepted. */
export class ClosedError extends BolideError {
  declare readonly code: 'CLOSED';

  constructor(message: string, options?: BolideErrorOptions) {
    super('CLOSED', message, options);
  }
}

/** Configuration value out of range or inconsistent; raised at construction time. */
export class ConfigError extends BolideError {
  declare readonly code: 'CONFIG_INVALID';

  constructor(message: string, options?: BolideErrorOptions) {
    super('CONFIG_INVALID', message, options);
  }
}

/** Message of any thrown value, for logs and error remarks. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
