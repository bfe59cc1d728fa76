/** Machine-readable reasons the command line stopped. */
export type CliErrorCode =
  /** Bad flags, arguments or config file: exit code 2. */
  | 'USAGE'
  /** The work failed or could not start (missing file, bad data, network): exit code 1. */
  | 'RUNTIME'
  /** The user stopped the work (q, Ctrl+C): exit code 1. */
  | 'STOPPED';

/**
 * An error the command line reports as two lines: the cause (`message`) and what to do (`hint`).
 * `option` names the flag or config key at fault, for usage errors.
 */
export class CliError extends Error {
  override readonly name = 'CliError';
  readonly hint: string;
  readonly option: string | undefined;
  constructor(
    readonly code: CliErrorCode,
    message: string,
    options: { hint: string; option?: string; cause?: unknown },
  ) {
    super(message, { cause: options.cause });
    this.hint = options.hint;
    this.option = options.option;
  }
}

export function isCliError(value: unknown): value is CliError {
  return value instanceof CliError;
}

/** A usage error naming the flag (or config key) at fault. */
export function usageError(option: string, message: string, hint?: string): CliError {
  return new CliError('USAGE', `${option}: ${message}`, {
    option,
    hint: hint ?? `see crypto-anomaly <command> --help for ${option}`,
  });
}
