import type { PipelineEvent } from '@crypto-anomaly/core';
import type { FetchProgress, RunOutcome } from './api.js';

/**
 * Where a command reports its work: the Ink dashboard on a terminal, plain lines elsewhere.
 * Commands call the same methods either way. A leaf shared by `reporter.ts`, which chooses one,
 * and `dashboard-reporter.tsx`, which it loads lazily: neither imports the other for types.
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
