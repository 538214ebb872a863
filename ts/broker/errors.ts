// Typed errors of the broker. Operating errors (a config file that cannot be read, a bad
// option) carry a stable `code`; request-level problems are answered with RocketMQ response
// codes instead and never surface as exceptions.

import { BolideError, type BolideErrorOptions } from '../common/errors.js';

export type BrokerErrorCode =
  /** A persisted config file (topics.json, ...) exists but cannot be parsed. */
  | 'CONFIG_FILE_INVALID'
  /** A persisted config file could not be written. */
  | 'CONFIG_FILE_WRITE_FAILED'
  /** An option is out of range or inconsistent. */
  | 'BROKER_OPTIONS_INVALID'
  /** start/shutdown called in the wrong state. */
  | 'BROKER_STATE';

/** An operating error of the broker. */
export class BrokerError extends BolideError {
  declare readonly code: BrokerErrorCode;

  constructor(code: BrokerErrorCode, message: string, options?: BolideErrorOptions) {
    super(code, message, options);
  }
}
