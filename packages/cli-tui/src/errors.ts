import type { CoreErrorCode } from '@crypto-anomaly/core';
import type { DataErrorCode } from '@crypto-anomaly/data';
import { ExitCode } from './exit-codes.js';

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

/** The typed errors of the packages the command line uses. */
export type LibraryErrorName = 'CoreError' | 'DataError' | 'KernelError';

export interface LibraryError extends Error {
  name: LibraryErrorName;
  code: string;
}

/**
 * A library's typed error, recognised by name and code rather than by importing its class: the
 * engine loads TensorFlow.js, which `--help` should not wait for, and the kernels are the
 * engine's dependency, not the command line's.
 */
export function isLibraryError(error: unknown, name?: LibraryErrorName): error is LibraryError {
  if (!(error instanceof Error) || typeof (error as { code?: unknown }).code !== 'string') return false;
  return name === undefined
    ? error.name === 'CoreError' || error.name === 'DataError' || error.name === 'KernelError'
    : error.name === name;
}

/** What the command line adds to a library's error: the exit code and a hint naming the flags. */
interface Advice {
  exitCode: number;
  hint: string;
}

const usage = (hint: string): Advice => ({ exitCode: ExitCode.usageError, hint });
const runtime = (hint: string): Advice => ({ exitCode: ExitCode.runtimeFailure, hint });

const FIX_SETTING = usage(
  'fix the setting named above: its flag (see --help), or its key in the --config file ("pipeline" for the engine\'s)',
);
const RETRAIN = runtime(
  'train the model again with this version (crypto-anomaly train --out DIR) and pass that folder to --model',
);
const DAMAGED_MODEL = runtime(
  'the model folder is damaged or not a model: train it again with crypto-anomaly train --out DIR',
);
const LONGER_RANGE = runtime(
  'load a longer range (an earlier --since or a later --until) or a larger --input file',
);
const REPAIR_ROW = runtime('repair or drop the row named above in the --input file');
const BUG = runtime('run again with --verbose and please report it: this is a bug, not your input');

/**
 * The one place where the libraries' error codes meet the command line. The libraries word what
 * went wrong in their own terms (keys, options, files); the flags to change are named here only.
 * Core's and data's tables list every code of theirs (the compiler holds them to the types).
 */
const LIBRARY_ADVICE: {
  CoreError: Record<CoreErrorCode, Advice>;
  DataError: Record<DataErrorCode, Advice>;
  KernelError: Record<string, Advice>;
} = {
  CoreError: {
    INVALID_ARGUMENT: FIX_SETTING,
    BACKEND_UNAVAILABLE: runtime('choose another --backend (cpu always works)'),
    TOO_FEW_ROWS: LONGER_RANGE,
    MISSING_COLUMN: runtime(
      'give a Binance kline CSV (12 columns) with --input, or crypto-anomaly score for any numeric CSV',
    ),
    NON_FINITE_INPUT: REPAIR_ROW,
    CONSTANT_FEATURE: runtime(
      'load a longer or livelier range (an earlier --since), or a source with every kline field (--source binance)',
    ),
    NOT_FITTED: BUG,
    MODEL_MISMATCH: RETRAIN,
    MODEL_INVALID: DAMAGED_MODEL,
    IO: runtime(
      'check the path named above (--model, --out, --input, a run folder) and its permissions; when writing, the free disk space',
    ),
    TARGET_NOT_OURS: usage(
      'choose a new or empty folder for --out (or one an earlier run wrote); nothing was written or deleted',
    ),
    TARGET_NOT_WRITABLE: usage(
      'choose a folder you can write for --out, or check its permissions and the free disk space',
    ),
  },
  DataError: {
    INVALID_ARGUMENT: FIX_SETTING,
    UNKNOWN_SYMBOL: usage('check --symbol on Binance, e.g. BTCUSDT'),
    UNKNOWN_INTERVAL: usage('choose an --interval Binance offers, e.g. 1m, 15m, 1h, 4h or 1d'),
    RATE_LIMITED: runtime(
      'Binance asked to slow down: wait a minute and run again (the store keeps what was fetched)',
    ),
    IP_BANNED: runtime('Binance banned this IP for a while: wait until the ban ends before retrying'),
    NETWORK: runtime('check the connection, or pass --base-url for a mirror'),
    TIMEOUT: runtime(
      'the fetch ran past its limit: run again to resume (the store keeps what was fetched), or raise --give-up-after',
    ),
    BAD_RESPONSE: runtime(
      'Binance answered something unexpected: run again later, or pass --base-url for another mirror',
    ),
    CHECKSUM_MISMATCH: runtime(
      'an archive file failed its checksum: run again to download it afresh, or leave out --archive',
    ),
    NOT_FOUND: runtime('check the path given to --input: a CSV file (it is read, never created)'),
    MALFORMED_CSV: runtime(
      'fix or delete the line named above; the file must be a Binance kline CSV (12 columns, times in ms or µs)',
    ),
    BAD_CANDLES: runtime(
      'fix or delete the candles named above (or give the right --interval); gaps you expect, such as exchange outages, can be accepted with --allow-gaps',
    ),
    NO_CANDLES: runtime(
      'point --input at a file with candles, or write one: crypto-anomaly fetch --symbol BTCUSDT --interval 1h --since 2024-01-01 --csv FILE',
    ),
    STORE: runtime(
      'check the --store file (default $CRYPTO_ANOMALY_STORE, else $XDG_DATA_HOME/crypto-anomaly/klines.duckdb), its permissions and the free disk space',
    ),
    STORE_DAMAGED: runtime(
      'the store file is damaged and was left as it is: move it aside (or pass --store <new file>) and run crypto-anomaly fetch again to rebuild it',
    ),
    TARGET_NOT_OURS: usage(
      'choose a new file (for --csv, or --store); a file crypto-anomaly did not write is never replaced nor read as its own',
    ),
    ABORTED: runtime('stopped before the end: run again to finish (the store keeps what was fetched)'),
  },
  KernelError: {
    WASM_LOAD_FAILED: runtime(
      'the WebAssembly kernels did not load: reinstall crypto-anomaly (its wasm files may be missing)',
    ),
    WASM_ABI_MISMATCH: runtime(
      'the WebAssembly kernels are from another version: reinstall crypto-anomaly so they match',
    ),
    INVALID_ARGUMENT: FIX_SETTING,
    EMPTY_INPUT: LONGER_RANGE,
    SHAPE_MISMATCH: RETRAIN,
    NON_FINITE_INPUT: REPAIR_ROW,
    NOT_FITTED: BUG,
    FEATURE_COUNT_MISMATCH: RETRAIN,
    INVALID_MODEL: DAMAGED_MODEL,
    OUT_OF_MEMORY: runtime(
      'use fewer rows: a shorter --since/--until range, or lower --fit-rows and --max-samples (score)',
    ),
  },
};

/** How the command line reports a failure: the cause, what to do, and the exit code. */
export interface Failure {
  cause: string;
  hint: string;
  exitCode: number;
}

/** The cause (the message's first line), hint and exit code of any error a command threw. */
export function describeFailure(error: unknown): Failure {
  if (isCliError(error)) {
    const usual = error.code === 'USAGE' ? ExitCode.usageError : ExitCode.runtimeFailure;
    return { cause: error.message, hint: error.hint, exitCode: error.exitCode ?? usual };
  }
  const message = error instanceof Error ? error.message : String(error);
  const [cause = message] = message.split('\n');
  if (error instanceof Error && error.name === 'AbortError') {
    return {
      cause: 'stopped before the end',
      hint: 'no half-written file was left; run again to finish',
      exitCode: ExitCode.runtimeFailure,
    };
  }
  if (isLibraryError(error)) {
    const advice = (LIBRARY_ADVICE[error.name] as Record<string, Advice | undefined>)[error.code];
    return advice
      ? { cause, ...advice }
      : { cause, hint: 'run again with --verbose for details', exitCode: ExitCode.runtimeFailure };
  }
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT' || code === 'EACCES' || code === 'ENOSPC' || code === 'EISDIR') {
    return {
      cause,
      hint: 'check the path and its permissions, and the free disk space',
      exitCode: ExitCode.runtimeFailure,
    };
  }
  return {
    cause,
    hint: 'run again with --verbose for the stack trace; please report it if it persists',
    exitCode: ExitCode.runtimeFailure,
  };
}

/** Why a file cannot be created or written, in words, by its system error. */
const UNWRITABLE: Record<string, string> = {
  ENOENT: 'its folder does not exist',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'the file system is read-only',
  EISDIR: 'it is a folder',
};

/** Whether `error` is a system error of a path a file cannot be made at (see `unwritableFile`). */
export function isUnwritable(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' && (code in UNWRITABLE || code === 'ENOTDIR');
}

/**
 * The usage error (exit 2) of a file a flag names that cannot be created or written: the flag, the
 * path, and why (a missing folder, no permission, a read-only file system; else the system's words).
 */
export function unwritableFile(flag: string, path: string, error: unknown): CliError {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const why = (code !== undefined && UNWRITABLE[code]) || (error as Error).message;
  return new CliError('RUNTIME', `${flag} ${path} cannot be written (${why})`, {
    option: flag,
    hint: 'give a file in a folder that exists and that you can write to',
    exitCode: ExitCode.usageError,
    cause: error,
  });
}
