/** Machine-readable reasons a data operation failed. */
export type DataErrorCode =
  | 'INVALID_ARGUMENT'
  | 'UNKNOWN_SYMBOL'
  | 'UNKNOWN_INTERVAL'
  | 'RATE_LIMITED'
  | 'IP_BANNED'
  | 'NETWORK'
  /** A request or the whole fetch ran past its deadline (`requestTimeoutMs`, `giveUpAfterMs`). */
  | 'TIMEOUT'
  | 'BAD_RESPONSE'
  | 'CHECKSUM_MISMATCH'
  | 'MALFORMED_CSV'
  /** A file the caller named (a CSV to read) does not exist. */
  | 'NOT_FOUND'
  /** Candles that contradict themselves or the interval: gaps, conflicting duplicates, high < low, … */
  | 'BAD_CANDLES'
  /** A file (or source) that holds no candles at all: empty, or a header alone. */
  | 'NO_CANDLES'
  | 'STORE'
  /** The store file is damaged (not a DuckDB file, failed checksums); it is left as it is. */
  | 'STORE_DAMAGED'
  /** A file to write exists and is not one this package wrote; it is left as it is (`overwrite` replaces it). */
  | 'TARGET_NOT_OURS'
  | 'ABORTED';

/** Thrown where bad input or a failed exchange call enters; the message says what to do. */
export class DataError extends Error {
  override readonly name = 'DataError';
  /** IP_BANNED, RATE_LIMITED: when the exchange said it may be asked again (Unix ms), if it said. */
  readonly until: number | undefined;

  constructor(
    readonly code: DataErrorCode,
    message: string,
    options?: { cause?: unknown; until?: number },
  ) {
    super(message, options);
    this.until = options?.until;
  }
}

export function isDataError(value: unknown): value is DataError {
  return value instanceof DataError;
}
