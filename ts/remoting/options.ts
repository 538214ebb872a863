// Validation and defaults of the options shared by RemotingServer and RemotingClient.

import { ConfigError } from '../common/errors.js';
import * as limits from '../common/limits.js';
import type { Logger } from '../common/logger.js';
import { SerializeType, type SerializeTypeValue } from '../protocol/command.js';
import type { ConnectionOptions } from './connection.js';

/** Per-connection options accepted by both the server and the client. */
export interface CommonConnectionOptions {
  frameBytesMax?: number;
  writeQueueBytesMax?: number;
  inflightRequestsMax?: number;
  outstandingInvokesMax?: number;
  idleTimeoutMs?: number;
  serializeType?: SerializeTypeValue;
}

/** @throws ConfigError unless `value` is a positive (or, with allowZero, non-negative) integer. */
export function positive(name: string, value: number, allowZero = false): number {
  if (!Number.isInteger(value) || value < 0 || (!allowZero && value === 0)) {
    throw new ConfigError(`${name} must be a ${allowZero ? 'non-negative' : 'positive'} integer, got ${value}`);
  }
  return value;
}

/** Builds validated connection options from server or client options. */
export function connectionOptions(
  options: CommonConnectionOptions,
  logger: Logger,
  idleTimeoutMsDefault: number,
): ConnectionOptions {
  return {
    frameBytesMax: positive('frameBytesMax', options.frameBytesMax ?? limits.FRAME_BYTES_MAX),
    writeQueueBytesMax: positive('writeQueueBytesMax', options.writeQueueBytesMax ?? limits.WRITE_QUEUE_BYTES_MAX),
    inflightRequestsMax: positive('inflightRequestsMax', options.inflightRequestsMax ?? limits.INFLIGHT_REQUESTS_MAX),
    outstandingInvokesMax: positive(
      'outstandingInvokesMax',
      options.outstandingInvokesMax ?? limits.OUTSTANDING_INVOKES_MAX,
    ),
    idleTimeoutMs: positive('idleTimeoutMs', options.idleTimeoutMs ?? idleTimeoutMsDefault, true),
    serializeType: options.serializeType ?? SerializeType.JSON,
    logger,
  };
}

