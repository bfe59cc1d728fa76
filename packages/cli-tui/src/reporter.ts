import { PlainLogger } from './plain-logger.js';
import type { Reporter, ReporterOptions } from './reporter-api.js';

// Re-exported for callers that took them from here; the dashboard imports the leaf.
export type { Reporter, ReporterOptions } from './reporter-api.js';

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
