/** Machine-readable reasons the command line stopped. */
export type CliErrorCode =
  /** Bad flags, arguments or config file: exit code 2. */
  | 'USAGE'
  /** The work failed or could not start (missing file, bad data, network): exit code 1. */
  | 'RUNTIME'
  /** The user stopped the work: exit code 1 for q, 130 for SIGINT / Ctrl+C, 143 for SIGTERM. */
  | 'STOPPED';

/**
 * An error the command line reports as two lines: the cause (`message`) and what to do (`hint`).
 * `option` names the flag or config key at fault, for usage errors.
 */
export class CliError extends Error {
  override readonly name = 'CliError';
  readonly hint: string;
  readonly option: string | undefined;
  /** The process exit code when it is not the code's usual one (130 / 143 for a stop by signal). */
  readonly exitCode: number | undefined;
  constructor(
    readonly code: CliErrorCode,
    message: string,
    options: { hint: string; option?: string; cause?: unknown; exitCode?: number },
  ) {
    super(message, { cause: options.cause });
    this.hint = options.hint;
    this.option = options.option;
    this.exitCode = options.exitCode;
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
