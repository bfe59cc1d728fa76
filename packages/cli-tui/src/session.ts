import type { RunOutcome } from './api.js';
import { CliError } from './errors.js';
import type { CommandContext } from './program.js';
import { createReporter, type Reporter } from './reporter.js';

export interface SessionOptions {
  title: string;
  mode?: 'pipeline' | 'fetch';
  /** False with --no-tui (or `"tui": false` in the config). */
  tui: boolean;
  context: CommandContext;
}

/**
 * Runs one command's work with a reporter (dashboard or plain lines) and an AbortController that
 * q, Ctrl+C and SIGINT abort. The work returns what the final table shows; the reporter is
 * always released, and an aborted run becomes a STOPPED error (exit 1).
 */
export async function runSession(
  options: SessionOptions,
  work: (reporter: Reporter) => Promise<RunOutcome | undefined>,
): Promise<void> {
  const controller = new AbortController();
  const onSignal = () => controller.abort(new Error('interrupted (SIGINT)'));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const reporter = await createReporter({
    title: options.title,
    ...(options.mode ? { mode: options.mode } : {}),
    controller,
    tui: options.tui,
    write: options.context.out,
  });
  try {
    const outcome = await work(reporter);
    if (controller.signal.aborted) throw stopped();
    if (outcome) await reporter.finished(outcome);
  } catch (error) {
    if (controller.signal.aborted) throw stopped(error);
    throw error;
  } finally {
    await reporter.close();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

function stopped(cause?: unknown): CliError {
  return new CliError('STOPPED', 'stopped before the end (q, Ctrl+C or a signal)', {
    hint: 'files already finished were kept and nothing half-written was left; run again to finish',
    cause,
  });
}
