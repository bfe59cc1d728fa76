import type { RunOutcome } from './api.js';
import type { CommandContext } from './command-context.js';
import { CliError } from './errors.js';
import { ExitCode } from './exit-codes.js';
import { createReporter } from './reporter.js';
import type { Reporter } from './reporter-api.js';
import { sayLegacyStoreNote } from './sources.js';

export interface SessionOptions {
  title: string;
  mode?: 'pipeline' | 'fetch';
  /** False with --no-tui (or `"tui": false` in the config). */
  tui: boolean;
  /**
   * --json: stdout carries one JSON document, the outcome (`outcomeJson`), written at the end of
   * a successful command; the plain lines and the final table go to stderr; no dashboard.
   */
  json?: boolean;
  context: CommandContext;
  /** The hint of a stop by q or a signal (default: a run's, of its partial outputs). */
  stoppedHint?: string;
}

/**
 * The one JSON document a command prints with --json: what the final table shows, for scripts.
 * `command` names the command; `details` are its own facts (rows fetched, the model folder).
 */
export function outcomeJson(command: string, outcome: RunOutcome, details: Record<string, unknown> = {}) {
  return {
    command,
    outDir: outcome.outDir,
    files: outcome.files,
    elapsedMs: outcome.elapsedMs,
    ...details,
    topAnomalies: outcome.topAnomalies,
  };
}

/**
 * How long the work may take to stop after SIGINT or SIGTERM before the process exits anyway.
 * Most work sees the abort at its next batch, page or file; some cannot (a read or a system call
 * that does not return, such as a recursive mkdir under /proc), and a stop must never hang.
 */
export const STOP_GRACE_MS = 3000;

const STOP_SIGNALS = ['SIGINT', 'SIGTERM'] as const;
export type StopSignal = (typeof STOP_SIGNALS)[number];

/** 130 for SIGINT, 143 for SIGTERM: 128 + the signal's number, what shells report (and `main` returns). */
export function signalExitCode(signal: StopSignal): number {
  return signal === 'SIGINT' ? ExitCode.interrupted : ExitCode.terminated;
}

/**
 * Ends the process by `signal` itself, with the signal's default action, when the work does not
 * stop: the parent sees a process killed by SIGINT / SIGTERM, which shells report as 130 / 143.
 * `process.exit(130)` would not do here: it waits for libuv's threads, and one stuck in a system
 * call (a FIFO nobody writes to, a recursive mkdir under /proc) keeps it waiting forever.
 */
export function exitBySignal(signal: StopSignal): void {
  process.removeAllListeners(signal);
  process.kill(process.pid, signal);
}

/**
 * Runs `work` with an AbortController that SIGINT and SIGTERM abort. The first signal asks the
 * work to stop at its next safe point: it then ends as a STOPPED error carrying 130 / 143 (see
 * `stopped`), which `main` returns. If it has not stopped `graceMs` later, or a second signal
 * comes, the process ends at once by the signal (`exitBySignal`). The main thread must be free to
 * see a signal at all: a long synchronous computation delays both until it returns.
 */
export async function withStopSignals<T>(
  context: CommandContext,
  controller: AbortController,
  work: () => Promise<T>,
  options: { graceMs?: number; stoppedHint?: string } = {},
): Promise<T> {
  let received: StopSignal | undefined;
  let timer: NodeJS.Timeout | undefined;
  const exitNow = (why: string) => {
    context.err(`error: stopped by ${received} (${why})`);
    context.err(
      'hint: files already finished were kept; an interrupted write leaves at most a hidden .tmp or .partial file, never half an output, and the next write there removes it',
    );
    exitBySignal(received!);
  };
  const onSignal = (signal: StopSignal) => {
    if (received !== undefined) return exitNow(`then ${signal}: leaving at once`);
    received = signal;
    controller.abort(new Error(`interrupted (${signal})`));
    const graceMs = options.graceMs ?? STOP_GRACE_MS;
    timer = setTimeout(() => exitNow(`the work did not stop within ${graceMs / 1000}s`), graceMs);
    timer.unref();
  };
  for (const signal of STOP_SIGNALS) process.on(signal, onSignal);
  try {
    const result = await work();
    if (received !== undefined) throw stopped(received, undefined, options.stoppedHint);
    return result;
  } catch (error) {
    if (received !== undefined && !(error instanceof CliError && error.exitCode !== undefined)) {
      throw stopped(received, error, options.stoppedHint);
    }
    throw error;
  } finally {
    clearTimeout(timer);
    for (const signal of STOP_SIGNALS) process.off(signal, onSignal);
  }
}

/**
 * Runs one command's work with a reporter (dashboard or plain lines) and an AbortController that
 * q, Esc, Ctrl+C (as SIGINT), SIGINT and SIGTERM abort. The work returns what the final table
 * shows; the reporter is always released, and an aborted run becomes a STOPPED error (exit 1 for
 * q, 130 for Ctrl+C and SIGINT, 143 for SIGTERM).
 */
export async function runSession(
  options: SessionOptions,
  work: (reporter: Reporter) => Promise<RunOutcome | undefined>,
): Promise<void> {
  const controller = new AbortController();
  const json = options.json === true;
  sayLegacyStoreNote(options.context.err);
  const reporter = await createReporter({
    title: options.title,
    ...(options.mode ? { mode: options.mode } : {}),
    controller,
    tui: options.tui && !json,
    write: json ? options.context.err : options.context.out,
  });
  try {
    await withStopSignals(
      options.context,
      controller,
      async () => {
        try {
          const outcome = await work(reporter);
          if (controller.signal.aborted) throw stopped(undefined, undefined, options.stoppedHint);
          if (outcome) await reporter.finished(outcome);
          if (outcome && json) {
            // Every session title starts "crypto-anomaly <command> · ": the command's name is its second word.
            const command = options.title.split(' ')[1] ?? '';
            options.context.out(JSON.stringify(outcomeJson(command, outcome, outcome.details)));
          }
        } catch (error) {
          if (controller.signal.aborted && !(error instanceof CliError && error.code === 'STOPPED')) {
            throw stopped(undefined, error, options.stoppedHint);
          }
          throw error;
        }
      },
      options.stoppedHint !== undefined ? { stoppedHint: options.stoppedHint } : {},
    );
  } finally {
    await reporter.close();
  }
}

/** The STOPPED error: by a signal (its exit code), or by the user's q (exit 1). */
export function stopped(signal?: StopSignal, cause?: unknown, hint?: string): CliError {
  return new CliError('STOPPED', `stopped before the end (${signal ?? 'q or Esc'})`, {
    hint:
      hint ??
      'nothing half-written was left (a run keeps the detectors that finished, if any, and says so); run again to finish',
    cause,
    ...(signal ? { exitCode: signalExitCode(signal) } : {}),
  });
}
