/** Error raised by the storage engine; `code` is the engine's stable error code. */
export class StoreError extends Error {
  readonly code: StoreErrorCode;

  constructor(code: StoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreError';
    this.code = code;
  }
}

export type StoreErrorCode =
  | 'IO'
  | 'STORE_LOCKED'
  | 'FORMAT_VERSION'
  | 'DISK_FULL'
  | 'MESSAGE_TOO_LARGE'
  | 'PROPERTIES_TOO_LARGE'
  | 'TOPIC_TOO_LONG'
  | 'INVALID_ARGUMENT'
  | 'CORRUPT'
  | 'OFFSET_OUT_OF_RANGE'
  | 'REPLICA_OFFSET_MISMATCH'
  | 'ALREADY_EXPORTED'
  | 'CLOSED'
  | 'FLUSH_DISK_TIMEOUT'
  | 'FLUSH_FAILED'
  | 'TRANSFER_TIMEOUT'
  | 'TRANSFER_FAILED'
  | 'INTERNAL';

const KNOWN_CODES = new Set<string>([
  'IO', 'STORE_LOCKED', 'FORMAT_VERSION', 'DISK_FULL', 'MESSAGE_TOO_LARGE', 'PROPERTIES_TOO_LARGE',
  'TOPIC_TOO_LONG', 'INVALID_ARGUMENT', 'CORRUPT', 'OFFSET_OUT_OF_RANGE', 'REPLICA_OFFSET_MISMATCH',
  'ALREADY_EXPORTED', 'CLOSED', 'FLUSH_DISK_TIMEOUT', 'FLUSH_FAILED', 'TRANSFER_TIMEOUT',
  'TRANSFER_FAILED', 'INTERNAL',
]);

/** Turn whatever the binding threw into a StoreError (napi sets `code` from the engine). */
export function toStoreError(error: unknown): StoreError {
  if (error instanceof StoreError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  if (typeof code === 'string' && KNOWN_CODES.has(code)) {
    return new StoreError(code as StoreErrorCode, message, { cause: error });
  }
  // napi's own argument checks (wrong JS types) arrive with napi status codes.
  return new StoreError('INVALID_ARGUMENT', message, { cause: error });
}
