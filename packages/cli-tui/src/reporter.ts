import type { PipelineEvent } from '@crypto-anomaly/core';
import type { FetchProgress, RunOutcome } from './api.js';
import { PlainLogger } from './plain-logger.js';

/**
 * Where a command reports its work: the Ink dashboard on a terminal, plain lines elsewhere.
 * Commands call the same methods either way.
 */
export interface Reporter {
  /** Aborted on q, Ctrl+C or SIGINT: pass it to the engine so it stops at a safe point. */
  readonly signal: AbortSignal;
  line(text: string): void;
  event(event: PipelineEvent): void;
  fetchStarted(expectedRows?: number): void;
  fetchProgress(progress: FetchProgress): void;
  fetchDone(): void;
  /** Shows the final table and files; on the dashboard, waits for q before returning. */
  finished(outcome: RunOutcome): Promise<void>;
  /** Releases the terminal (idempotent); call in `finally`. */
  close(): Promise<void>;
}

export interface ReporterOptions {
  /** Shown as the dashboard's title. */
  title: string;
  /** What the dashboard shows: the pipeline (default) or a download alone. */
  mode?: 'pipeline' | 'fetch';
  /** Aborted by the reporter when the user quits. */
  controller: AbortController;
  write: (line: string) => void;
}

/** Plain lines, for pipes, files and CI (see `PlainLogger`). */
export function createPlainReporter({ controller, write }: ReporterOptions): Reporter {
  const logger = new PlainLogger(write);
  return {
    signal: controller.signal,
    line: (text) => logger.line(text),
    event: (event) => logger.event(event),
    fetchStarted: (expectedRows) => logger.fetchStarted(expectedRows),
    fetchProgress: (progress) => logger.fetchProgress(progress),
    fetchDone: () => logger.fetchDone(),
    finished: async (outcome) => logger.summary(outcome),
    close: async () => {},
  };
}

/** True where CI is set the way Ink (is-in-ci) reads it: Ink would render only the last frame there. */
export function isCi(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env['CI'] === '0' || env['CI'] === 'false') return false;
  return (
    'CI' in env || 'CONTINUOUS_INTEGRATION' in env || Object.keys(env).some((key) => key.startsWith('CI_'))
  );
}

/** The dashboard only on an interactive terminal, never in CI, never with --no-tui. */
export function wantsDashboard(tui: boolean, stdout: { isTTY?: boolean } = process.stdout): boolean {
  return tui && stdout.isTTY === true && !isCi();
}

/** The dashboard when `tui` allows it (loaded lazily: Ink and React cost startup time), else plain lines. */
export async function createReporter(options: ReporterOptions & { tui: boolean }): Promise<Reporter> {
  if (!wantsDashboard(options.tui)) return createPlainReporter(options);
  const { createDashboardReporter } = await import('./dashboard-reporter.js');
  return createDashboardReporter(options);
}
