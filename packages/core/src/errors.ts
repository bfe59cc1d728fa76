/** Machine-readable reasons the engine refused or failed. */
export type CoreErrorCode =
  | 'INVALID_ARGUMENT'
  | 'BACKEND_UNAVAILABLE'
  | 'TOO_FEW_ROWS'
  | 'MISSING_COLUMN'
  | 'NON_FINITE_INPUT'
  | 'CONSTANT_FEATURE'
  | 'NOT_FITTED'
  | 'MODEL_MISMATCH'
  /** A saved model folder is damaged or not a model: a file or key is missing, malformed or outside it. */
  | 'MODEL_INVALID'
  | 'IO'
  /** A folder to write is not empty and not one this program wrote (of that kind): nothing was written. */
  | 'TARGET_NOT_OURS'
  /** A folder to write cannot be created or written: nothing was written. */
  | 'TARGET_NOT_WRITABLE';

/** Thrown where bad input enters the engine; the message names the problem and what to do. */
export class CoreError extends Error {
  override readonly name = 'CoreError';
  constructor(
    readonly code: CoreErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function isCoreError(value: unknown): value is CoreError {
  return value instanceof CoreError;
}
