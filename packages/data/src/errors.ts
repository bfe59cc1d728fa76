/** Machine-readable reasons a data operation failed. */
export type DataErrorCode =
  | 'INVALID_ARGUMENT'
  | 'UNKNOWN_SYMBOL'
  | 'UNKNOWN_INTERVAL'
  | 'RATE_LIMITED'
  | 'IP_BANNED'
  | 'NETWORK'
  | 'BAD_RESPONSE'
  | 'CHECKSUM_MISMATCH'
  | 'MALFORMED_CSV'
  | 'STORE'
  | 'ABORTED';

/** Thrown where bad input or a failed exchange call enters; the message says what to do. */
export class DataError extends Error {
  override readonly name = 'DataError';
  constructor(
    readonly code: DataErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function isDataError(value: unknown): value is DataError {
  return value instanceof DataError;
}
