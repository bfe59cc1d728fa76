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

/** Thrown at the boundary where bad input enters; `code` says what, the message says what to do. */
export class KernelError extends Error {
  override readonly name = 'KernelError';
  constructor(
    readonly code: KernelErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export function isKernelError(value: unknown): value is KernelError {
  return value instanceof KernelError;
}
