// Gateway errors: a stable code and the HTTP status it answers with.
import { BolideError } from '../common/errors.js';

export type GatewayErrorCode =
  | 'UWS_NATIVE_UNAVAILABLE'
  | 'LISTEN_FAILED'
  | 'BAD_REQUEST'
  | 'BAD_HEADER'
  | 'BAD_JSON'
  | 'BODY_TOO_LARGE'
  | 'NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'CONFLICT'
  | 'FORBIDDEN'
  | 'DLQ_FAILED'
  /** A timer message refused while timerMaxPendingMessages are pending; retry after a pause. */
  | 'TIMER_FLOW_CONTROL'
  /** The broker refused a send (status from its response code; `responseCode` has it). */
  | 'SEND_REFUSED';

const STATUS: Record<GatewayErrorCode, number> = {
  UWS_NATIVE_UNAVAILABLE: 500,
  LISTEN_FAILED: 500,
  BAD_REQUEST: 400,
  BAD_HEADER: 400,
  BAD_JSON: 400,
  BODY_TOO_LARGE: 413,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  UNSUPPORTED_MEDIA_TYPE: 415,
  SEND_REFUSED: 500,
  CONFLICT: 409,
  FORBIDDEN: 403,
  DLQ_FAILED: 500,
  TIMER_FLOW_CONTROL: 503,
};

/**
 * Retry-After of a 503 that names no pause of its own. A 503 (disk full, shutting down, busy)
 * passes on its own or moves to another broker at no rate the gateway can predict; one second
 * keeps well-behaved clients and proxies from retrying in a tight loop.
 */
export const SERVICE_UNAVAILABLE_RETRY_AFTER_S = 1;

export class GatewayError extends BolideError {
  declare readonly code: GatewayErrorCode;
  readonly status: number;
  /** For SEND_REFUSED: RocketMQ's response code. */
  readonly responseCode: number | undefined;
  /** Seconds for an HTTP Retry-After header: set on every 503, and on other refusals that pass on their own. */
  readonly retryAfterSeconds: number | undefined;

  constructor(code: GatewayErrorCode, message: string,
    options?: { cause?: unknown; status?: number; responseCode?: number; retryAfterSeconds?: number }) {
    super(code, message, options);
    this.name = 'GatewayError';
    this.status = options?.status ?? STATUS[code];
    this.responseCode = options?.responseCode;
    this.retryAfterSeconds = options?.retryAfterSeconds ?? (this.status === 503 ? SERVICE_UNAVAILABLE_RETRY_AFTER_S : undefined);
  }
}
