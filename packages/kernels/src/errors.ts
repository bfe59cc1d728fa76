/** Machine-readable reasons a kernel call was refused. */
export type KernelErrorCode =
  | 'WASM_LOAD_FAILED'
  | 'WASM_ABI_MISMATCH'
  | 'INVALID_ARGUMENT'
  | 'EMPTY_INPUT'
  | 'SHAPE_MISMATCH'
  | 'NON_FINITE_INPUT'
  | 'NOT_FITTED'
  | 'FEATURE_COUNT_MISMATCH'
  | 'INVALID_MODEL'
  | 'OUT_OF_MEMORY';

/**
 * Thrown at the boundary where bad input enters; `code` says what, the message says what to do.
 * `cause` (ES2022) keeps the lower-level error it wraps, such as the file system's or the
 * WebAssembly runtime's, so that a stack trace shows both.
 */
export class KernelError extends Error {
  override readonly name = 'KernelError';
  constructor(
    readonly code: KernelErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** True for a KernelError: narrows what a `catch` received. */
export function isKernelError(value: unknown): value is KernelError {
  return value instanceof KernelError;
}
