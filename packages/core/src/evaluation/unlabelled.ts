import { CoreError } from '../errors.js';
import { withDefaults } from '../validate.js';
import {
  type CandleLike,
  DEFAULT_EXPLAINABLE_OPTIONS,
  type ExplainableOptions,
  type ExplainableShare,
  type FlagSpread,
} from './api.js';

/**
 * Measures that need no labels. A flag on a candle that moved or traded far out of its recent
 * range is at least explainable; flags bunched in one stretch of history (the listing months)
 * say more about the features than about the market.
 */

function assertSameLength(what: string, a: number, b: number): void {
  if (a !== b) {
    throw new CoreError(
      'INVALID_ARGUMENT',
      `${what}: flags have ${b} rows but the candles ${a}; pass one flag per candle.`,
    );
  }
}

/** Median of ascending values (NaN-free, at least one). */
export function median(sorted: Float64Array): number {
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * Per candle, 1 when it is explainable: its |log return| exceeds `returnSigmas` times the sample
 * standard deviation of the previous `lookback` candles' log returns, or its volume exceeds
 * `volumeMultiple` times their median volume. A rule whose history is not yet `lookback` candles
 * long (the first candles) does not fire.
 */
export function explainableCandles(
  candles: readonly CandleLike[],
  options: Partial<ExplainableOptions> = {},
): Uint8Array {
  const { lookback, returnSigmas, volumeMultiple } = withDefaults(
    'explainable options',
    DEFAULT_EXPLAINABLE_OPTIONS,
    options,
  );
  if (!Number.isInteger(lookback) || lookback < 2) {
    throw new CoreError('INVALID_ARGUMENT', `lookback must be an integer >= 2, got ${lookback}.`);
  }
  const n = candles.length;
  const returns = new Float64Array(n).fill(Number.NaN);
  for (let i = 1; i < n; i++) returns[i] = Math.log(candles[i]!.close / candles[i - 1]!.close);
  const explainable = new Uint8Array(n);
  const window = new Float64Array(lookback);
  for (let i = 0; i < n; i++) {
    // Returns of candles i - lookback .. i - 1; the first candle has none.
    if (i - lookback >= 1) {
      let mean = 0;
      for (let k = i - lookback; k < i; k++) mean += returns[k]!;
      mean /= lookback;
      let squares = 0;
      for (let k = i - lookback; k < i; k++) squares += (returns[k]! - mean) ** 2;
      const std = Math.sqrt(squares / (lookback - 1));
      if (Math.abs(returns[i]!) > returnSigmas * std) explainable[i] = 1;
    }
    if (i - lookback >= 0) {
      for (let k = 0; k < lookback; k++) window[k] = candles[i - lookback + k]!.volume;
      window.sort();
      if (candles[i]!.volume > volumeMultiple * median(window)) explainable[i] = 1;
    }
  }
  return explainable;
}

/** Share of the flagged candles that are explainable, beside the share of all candles that are. */
export function explainableShare(
  candles: readonly CandleLike[],
  flags: ArrayLike<number>,
  options: Partial<ExplainableOptions> = {},
): ExplainableShare {
  assertSameLength('explainableShare', candles.length, flags.length);
  const judged = judgedCandles(candles.length, 0, options.lookback ?? DEFAULT_EXPLAINABLE_OPTIONS.lookback);
  return explainableShareOf(explainableCandles(candles, options), flags, judged);
}

/**
 * 1 for each of `count` candles the explainable rule can judge: those with `lookback` returns
 * before them (candle `first + i` of the data, the first candle having no return).
 */
export function judgedCandles(count: number, first: number, lookback: number): Uint8Array {
  const judged = new Uint8Array(count);
  for (let i = 0; i < count; i++) judged[i] = first + i >= lookback + 1 ? 1 : 0;
  return judged;
}

/**
 * `explainableShare` from candles already marked by `explainableCandles`: to mark a whole history
 * once and measure a stretch of it (its first candles then have their lookback).
 */
export function explainableShareOf(
  explainable: ArrayLike<number>,
  flags: ArrayLike<number>,
  /** 1 where the rule could judge the candle (`judgedCandles`); default: every candle. */
  judged?: ArrayLike<number>,
): ExplainableShare {
  assertSameLength('explainableShareOf', explainable.length, flags.length);
  if (judged !== undefined) assertSameLength('explainableShareOf', explainable.length, judged.length);
  let flagCount = 0;
  let explainableFlags = 0;
  let explainableAll = 0;
  let candles = 0;
  let undetermined = 0;
  for (let i = 0; i < explainable.length; i++) {
    if (judged !== undefined && !judged[i]) {
      if (flags[i] === 1) undetermined++;
      continue;
    }
    const mark = explainable[i] ? 1 : 0;
    candles++;
    explainableAll += mark;
    if (flags[i] === 1) {
      flagCount++;
      explainableFlags += mark;
    }
  }
  return {
    share: flagCount === 0 ? Number.NaN : explainableFlags / flagCount,
    explainableFlags,
    flags: flagCount,
    baseRate: candles === 0 ? Number.NaN : explainableAll / candles,
    undetermined,
  };
}

/** Flags per UTC calendar year of `times`, and the share of flags in the first 10% of the rows. */
export function flagSpread(times: ArrayLike<number>, flags: ArrayLike<number>): FlagSpread {
  assertSameLength('flagSpread', times.length, flags.length);
  const byYear = new Map<number, { flags: number; candles: number }>();
  const earlyRows = Math.floor(0.1 * times.length);
  let total = 0;
  let early = 0;
  for (let i = 0; i < times.length; i++) {
    const year = new Date(times[i]!).getUTCFullYear();
    const entry = byYear.get(year) ?? { flags: 0, candles: 0 };
    entry.candles++;
    if (flags[i] === 1) {
      entry.flags++;
      total++;
      if (i < earlyRows) early++;
    }
    byYear.set(year, entry);
  }
  const years = [...byYear.entries()]
    .sort(([a], [b]) => a - b)
    .map(([year, entry]) => ({ year, ...entry, share: total === 0 ? Number.NaN : entry.flags / total }));
  return { flags: total, years, earlyShare: total === 0 ? Number.NaN : early / total, earlyRows };
}
