/** Interval names and checks. */
import { INTERVALS, type Interval } from './api.js';
import { DataError } from './errors.js';

export { INTERVALS, type Interval };

const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;

export function isInterval(value: string): value is Interval {
  return (INTERVALS as readonly string[]).includes(value);
}

/** Checks an interval name at the boundary, with a message that lists the accepted ones. */
export function assertInterval(value: string): Interval {
  if (!isInterval(value)) {
    throw new DataError(
      'UNKNOWN_INTERVAL',
      `Unknown interval "${value}". Use one of: ${INTERVALS.join(', ')} (1M is one month, 1m one minute).`,
    );
  }
  return value;
}

/**
 * Length of one candle in milliseconds. `1M` has no fixed length: it returns 31 days, an upper
 * bound; use `nextOpenTime` to step through monthly candles.
 */
export function intervalToMilliseconds(interval: Interval): number {
  if (interval === '1M') return 31 * UNIT_MS.d;
  const unit = interval.slice(-1) as keyof typeof UNIT_MS;
  return Number(interval.slice(0, -1)) * UNIT_MS[unit];
}

/** The open time of the candle after the one opening at `openTime` (calendar-aware for 1M). */
export function nextOpenTime(interval: Interval, openTime: number): number {
  if (interval !== '1M') return openTime + intervalToMilliseconds(interval);
  const date = new Date(openTime);
  return Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1);
}
