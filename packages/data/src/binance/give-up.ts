import { DataError } from '../errors.js';
import { assertPositiveNumber } from '../validate.js';

/** Default of `giveUpAfterMs`: how long a whole fetch or download may take before it stops. */
export const DEFAULT_GIVE_UP_AFTER_MS = 3_600_000;

/** setTimeout's longest delay; a longer give-up means none. */
const LONGEST_TIMER_MS = 2 ** 31 - 1;

/**
 * The bound on a whole fetch or download: `signal` aborts when the caller's signal does or when
 * `giveUpAfterMs` has passed; `explain` turns the abort it caused into a TIMEOUT error.
 */
export function startGiveUp(
  giveUpAfterMs: number | undefined,
  callerSignal: AbortSignal | undefined,
): { signal: AbortSignal; explain(error: unknown, what: string): unknown; clear(): void } {
  const limit = assertPositiveNumberOrInfinity('giveUpAfterMs', giveUpAfterMs ?? DEFAULT_GIVE_UP_AFTER_MS);
  const controller = new AbortController();
  const timer = limit <= LONGEST_TIMER_MS ? setTimeout(() => controller.abort(), limit) : undefined;
  const signal = callerSignal ? AbortSignal.any([callerSignal, controller.signal]) : controller.signal;
  return {
    signal,
    explain: (error, what) =>
      controller.signal.aborted && !callerSignal?.aborted
        ? new DataError(
            'TIMEOUT',
            `Gave up after ${formatSeconds(limit)} (giveUpAfterMs, the limit for the whole run): ${what}`,
            { cause: error },
          )
        : error,
    clear: () => clearTimeout(timer),
  };
}

function assertPositiveNumberOrInfinity(name: string, value: number): number {
  return value === Number.POSITIVE_INFINITY ? value : assertPositiveNumber(name, value);
}

/** "0.3 s", "15 s", "3600 s": deadlines as people set them. */
export function formatSeconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(ms < 10_000 ? 1 : 0))} s`;
}
