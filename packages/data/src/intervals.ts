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

/** Each interval's length, worked out once: a name that is not an interval has none. */
const INTERVAL_MS: ReadonlyMap<string, number> = new Map(
  INTERVALS.map((interval) => {
    if (interval === '1M') return [interval, 31 * UNIT_MS.d];
    const unit = interval.slice(-1) as keyof typeof UNIT_MS;
    return [interval, Number(interval.slice(0, -1)) * UNIT_MS[unit]];
  }),
);

/**
 * Length of one candle in milliseconds. `1M` has no fixed length: it returns 31 days, an upper
 * bound; use `nextOpenTime` to step through monthly candles. A name that is not one of
 * `INTERVALS` (such as `2m`, which reads like one) is refused with UNKNOWN_INTERVAL.
 */
export function intervalToMilliseconds(interval: Interval): number {
  return INTERVAL_MS.get(interval) ?? INTERVAL_MS.get(assertInterval(interval))!;
}

/** The open time of the candle after the one opening at `openTime` (calendar-aware for 1M). */
export function nextOpenTime(interval: Interval, openTime: number): number {
  if (interval !== '1M') return openTime + intervalToMilliseconds(interval);
  const date = new Date(openTime);
  return Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1);
}
