import { describe, expect, it } from 'vitest';
import {
  assertInterval,
  type Interval,
  intervalToMilliseconds,
  isDataError,
  nextOpenTime,
} from '../src/index.js';

describe('intervals', () => {
  it('converts every fixed interval to milliseconds', () => {
    expect(intervalToMilliseconds('1s')).toBe(1_000);
    expect(intervalToMilliseconds('15m')).toBe(900_000);
    expect(intervalToMilliseconds('4h')).toBe(14_400_000);
    expect(intervalToMilliseconds('3d')).toBe(259_200_000);
    expect(intervalToMilliseconds('1w')).toBe(604_800_000);
  });

  it('steps monthly candles by calendar month', () => {
    expect(nextOpenTime('1M', Date.UTC(2024, 0, 1))).toBe(Date.UTC(2024, 1, 1));
    expect(nextOpenTime('1M', Date.UTC(2024, 11, 1))).toBe(Date.UTC(2025, 0, 1));
    expect(nextOpenTime('1h', 0)).toBe(3_600_000);
  });

  it('refuses an unknown interval with a message that lists the accepted ones', () => {
    expect(() => assertInterval('2d')).toThrowError(/Unknown interval "2d".*1s, 1m/);
    const error = (() => {
      try {
        assertInterval('60m');
      } catch (caught) {
        return caught;
      }
    })();
    expect(isDataError(error) && error.code).toBe('UNKNOWN_INTERVAL');
    // Names that read like intervals but are not Binance's have no length either.
    for (const name of ['2m', '7m', '2h3', 'm', '1x', '1M ']) {
      expect(() => intervalToMilliseconds(name as Interval), name).toThrowError(
        new RegExp(`^Unknown interval "${name}"\\. Use one of: 1s, 1m, `),
      );
      expect(() => nextOpenTime(name as Interval, 0), name).toThrowError(/Unknown interval/);
    }
    expect(intervalToMilliseconds('1M')).toBe(31 * 86_400_000);
  });
});
