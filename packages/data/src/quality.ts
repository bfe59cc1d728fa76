import type { Interval, Kline, KlineGap, QualityIssue, QualityReport } from './api.js';
import { MICROSECOND_THRESHOLD, toMilliseconds } from './csv/layout.js';
import { CSV_READ_KEYS, readKlinesCsvBatches } from './csv/read-csv.js';
import { DataError } from './errors.js';
import { assertInterval, INTERVALS, intervalToMilliseconds, nextOpenTime } from './intervals.js';
import type { KlineStore } from './store/kline-store.js';
import { assertKnownKeys, assertSymbol, keysOf, TIME_RANGE_KEYS } from './validate.js';

/**
 * Analyses a sequence of candles as given (file order): gaps, duplicates, times out of order,
 * zero-volume bars, inconsistent OHLC, off-grid open times and the timestamp unit (open times
 * at or above 1e14 are microseconds; they are converted before the other checks).
 */
export function analyzeKlines(
  klines: readonly Kline[],
  symbol: string,
  interval: Interval,
  options: { maxExamples?: number } = {},
): QualityReport {
  assertKnownKeys('analyzeKlines options', options, ['maxExamples']);
  assertInterval(interval);
  const maxExamples = options.maxExamples ?? 20;
  const examples: QualityIssue[] = [];
  const perReason = new Map<string, number>();
  const note = (index: number, openTime: number, kind: string, reason: string) => {
    const seen = perReason.get(kind) ?? 0;
    perReason.set(kind, seen + 1);
    if (seen < maxExamples) examples.push({ openTime, index, reason });
  };
  let micro = 0;
  let milli = 0;
  let duplicates = 0;
  let outOfOrder = 0;
  let zeroVolume = 0;
  let misaligned = 0;
  let inconsistent = 0;
  const seen = new Set<number>();
  let previous = -Infinity;
  const step = interval === '1M' ? 0 : intervalToMilliseconds(interval);
  klines.forEach((raw, index) => {
    if (raw.openTime >= MICROSECOND_THRESHOLD) micro++;
    else milli++;
    const openTime = toMilliseconds(raw.openTime);
    const closeTime = toMilliseconds(raw.closeTime);
    if (seen.has(openTime)) {
      duplicates++;
      note(index, openTime, 'duplicate', 'duplicate open time');
    } else seen.add(openTime);
    if (openTime < previous) {
      outOfOrder++;
      note(
        index,
        openTime,
        'order',
        `open time before the previous row's (${new Date(previous).toISOString()})`,
      );
    }
    previous = Math.max(previous, openTime);
    if (raw.volume === 0) {
      zeroVolume++;
      note(index, openTime, 'zero-volume', 'zero volume');
    }
    const aligned =
      interval === '1M'
        ? new Date(openTime).getUTCDate() === 1 && openTime % 86_400_000 === 0
        : interval === '1w'
          ? (openTime - Date.UTC(1970, 0, 5)) % step === 0 // Binance weeks start on Monday
          : openTime % step === 0;
    if (!aligned) {
      misaligned++;
      note(index, openTime, 'grid', `open time not on the ${interval} grid`);
    }
    const reason = ohlcProblem(raw, closeTime, openTime);
    if (reason) {
      inconsistent++;
      // Capped apart from the price checks, so a file of bad close times cannot hide a high < low.
      note(index, openTime, reason.startsWith('close time') ? 'close-time' : 'ohlc', reason);
    }
  });
  const times = [...seen].sort((a, b) => a - b);
  const gaps: KlineGap[] = [];
  let expectedRows = 0;
  if (times.length > 0) {
    for (let t = times[0]!; t <= times.at(-1)!; t = nextOpenTime(interval, t)) {
      expectedRows++;
      if (expectedRows > 50_000_000) break;
    }
    for (let i = 1; i < times.length; i++) {
      const expected = nextOpenTime(interval, times[i - 1]!);
      if (times[i]! > expected) {
        let missing = 0;
        for (let t = expected; t < times[i]!; t = nextOpenTime(interval, t)) missing++;
        gaps.push({ start: expected, end: times[i]!, missing });
      }
    }
  }
  return {
    symbol,
    interval,
    rows: klines.length,
    ...(times.length > 0 ? { firstOpenTime: times[0]!, lastOpenTime: times.at(-1)! } : {}),
    expectedRows,
    gaps,
    missingRows: gaps.reduce((sum, gap) => sum + gap.missing, 0),
    duplicates,
    outOfOrder,
    zeroVolume,
    misaligned,
    inconsistent,
    examples: examples.sort((a, b) => a.index - b.index),
    timestampUnit: micro && milli ? 'mixed' : micro ? 'microseconds' : milli ? 'milliseconds' : 'none',
  };
}

function ohlcProblem(k: Kline, closeTime: number, openTime: number): string | undefined {
  // high < low first: it is what a swapped pair of columns looks like, and it says so plainly.
  if (k.high < k.low) return `high ${k.high} below low ${k.low}`;
  if (k.close < k.low || k.close > k.high) return `close ${k.close} outside [low ${k.low}, high ${k.high}]`;
  if (k.low > Math.min(k.open, k.close)) return `low ${k.low} above open/close`;
  if (k.high < Math.max(k.open, k.close)) return `high ${k.high} below open/close`;
  if (k.low <= 0 || k.open <= 0 || k.close <= 0) return 'a price at or below zero';
  if (k.volume < 0 || k.quoteAssetVolume < 0 || k.numberOfTrades < 0)
    return 'a negative volume or trade count';
  if (k.takerBuyBaseAssetVolume > k.volume * (1 + 1e-9)) return 'taker-buy volume above volume';
  if (closeTime <= openTime) return `close time ${closeTime} not after open time`;
  return undefined;
}

/** The quality report of a stored series (ordered and keyed by the store; gaps are what matter). */
export async function qualityReport(
  store: KlineStore,
  symbol: string,
  interval: Interval,
  range: { start?: number; end?: number } = {},
): Promise<QualityReport> {
  assertKnownKeys('qualityReport range', range, TIME_RANGE_KEYS);
  assertSymbol('symbol', symbol);
  return analyzeKlines(await store.klines(symbol, interval, range), symbol, interval);
}

/** The quality report of a CSV file as written (file order, timestamps as found). */
export async function csvQualityReport(
  path: string,
  symbol: string,
  interval: Interval,
  options: { skipMalformed?: boolean; onSkippedLine?: (line: number, reason: string) => void } = {},
): Promise<QualityReport> {
  assertKnownKeys('csvQualityReport options', options, CSV_READ_KEYS);
  const all: Kline[] = [];
  for await (const batch of readKlinesCsvBatches(path, { ...options, rawTimestamps: true })) {
    for (const kline of batch) all.push(kline);
  }
  return analyzeKlines(all, symbol, interval);
}

/** A short plain-text rendering of a report, for terminals and logs. */
export function formatQualityReport(report: QualityReport): string {
  const day = (t?: number) => (t === undefined ? '-' : new Date(t).toISOString().replace('.000Z', 'Z'));
  const lines = [
    `${report.symbol} ${report.interval}: ${report.rows} rows, ${day(report.firstOpenTime)} .. ${day(report.lastOpenTime)}`,
    `  timestamps: ${report.timestampUnit}`,
    `  gaps: ${report.gaps.length} (${report.missingRows} of ${report.expectedRows} candles missing)`,
    `  duplicates: ${report.duplicates}, out of order: ${report.outOfOrder}, off-grid: ${report.misaligned}`,
    `  zero-volume bars: ${report.zeroVolume}, inconsistent OHLC: ${report.inconsistent}`,
  ];
  for (const gap of report.gaps.slice(0, 10)) {
    lines.push(`  gap ${day(gap.start)} .. ${day(gap.end)}: ${gap.missing} missing`);
  }
  if (report.gaps.length > 10) lines.push(`  … ${report.gaps.length - 10} more gaps`);
  return lines.join('\n');
}

/** What a user may knowingly accept in the candle checks; everything else is refused. */
export interface CandleAcceptance {
  /** Missing candles, e.g. exchange outages in real data. Default false: a gap is refused. */
  allowGaps: boolean;
}

export interface CandleQualityOptions extends Partial<CandleAcceptance> {
  /** Names where the candles came from in the message, e.g. "CSV file BTCUSDT_1h.csv". */
  source?: string;
  /** The file line a candle was read from (CSV sources), named beside its time. */
  lineOf?: (openTime: number) => number | undefined;
}

const CANDLE_QUALITY_KEYS = keysOf<CandleQualityOptions>({ allowGaps: true, source: true, lineOf: true });

/** `2024-01-13 11:00 UTC` (seconds only when they are not zero). */
function candleTime(time: number): string {
  const iso = new Date(time).toISOString();
  return `${iso.slice(0, 10)} ${iso.endsWith(':00.000Z') ? iso.slice(11, 16) : iso.slice(11, 19)} UTC`;
}

/** The interval name of a spacing in ms, or a plain duration when no interval has that length. */
function spacingName(ms: number): string {
  const name = INTERVALS.find((interval) => interval !== '1M' && intervalToMilliseconds(interval) === ms);
  if (name) return name;
  return ms % 3_600_000 === 0 ? `${ms / 3_600_000}h` : `${ms / 60_000} minutes`;
}

/** Open times below this (1973-03-03 as milliseconds) are Unix seconds written in the ms column. */
const SECONDS_BELOW = 1e11;

/**
 * Turns a quality report into the error to refuse the candles with, or undefined when they are fit
 * to train and score on. Refused: repeated open times, inconsistent candles (high < low, close
 * outside [low, high], a price at or below zero, …; a close time not after the open time is
 * accepted), a spacing that is not the interval (4h candles read as 1h), off-grid
 * open times, disorder, and gaps unless `allowGaps`. Zero-volume candles are accepted (stale
 * markets have them). The message names the first offending candles by time, and by file line
 * when `lineOf` knows it, and how many there are in all.
 */
export function candleQualityError(
  report: QualityReport,
  options: CandleQualityOptions = {},
): DataError | undefined {
  assertKnownKeys('candleQualityError options', options, CANDLE_QUALITY_KEYS);
  if (report.rows === 0) return undefined;
  const where = options.source ? `${options.source}: ` : '';
  const at = (time: number) => {
    const line = options.lineOf?.(time);
    return line === undefined ? `the candle at ${candleTime(time)}` : `line ${line} (${candleTime(time)})`;
  };
  const examples = (kind: (issue: QualityIssue) => boolean, count: number, what: string) => {
    const named = report.examples.filter(kind).slice(0, 3);
    const list = named.map((issue) => `${at(issue.openTime)}: ${issue.reason}`).join('; ');
    const more = count > named.length ? ` (${count} candles in all)` : '';
    return new DataError('BAD_CANDLES', `${where}${what}: ${list}${more}.`);
  };
  const step = report.interval === '1M' ? 0 : intervalToMilliseconds(report.interval);
  // Open times before 1973 read as milliseconds: the file counts Unix seconds (1722816000 is
  // 1970-01-20 in milliseconds); no other message would name the cause.
  if (
    report.firstOpenTime !== undefined &&
    report.firstOpenTime > 0 &&
    report.firstOpenTime < SECONDS_BELOW
  ) {
    return new DataError(
      'BAD_CANDLES',
      `${where}the open times look like Unix seconds, not milliseconds: the first, ${report.firstOpenTime}, ` +
        `would be ${candleTime(report.firstOpenTime)}, and as seconds ${candleTime(report.firstOpenTime * 1000)}. ` +
        'Binance klines count milliseconds: multiply open_time and close_time by 1000.',
    );
  }
  if (report.duplicates > 0) {
    return examples(
      (issue) => issue.reason.startsWith('duplicate'),
      report.duplicates,
      'repeated open times',
    );
  }
  // A close time not after the open time is accepted: nothing downstream reads close times, and
  // Binance's own 4h history has one such candle (2017-09-06 16:00).
  const closeTimes = report.examples.filter((issue) => issue.reason.startsWith('close time')).length;
  if (report.inconsistent > closeTimes) {
    const notPrices = /^(duplicate open time|open time |zero volume|close time)/;
    return examples(
      (issue) => !notPrices.test(issue.reason),
      report.inconsistent - closeTimes,
      'candles that contradict themselves',
    );
  }
  // Most consecutive candles a whole number of intervals apart: the file holds another interval.
  if (step > 0 && report.rows > 2 && report.gaps.length >= (report.rows - 1) / 2) {
    const sizes = new Map<number, number>();
    for (const gap of report.gaps) sizes.set(gap.missing, (sizes.get(gap.missing) ?? 0) + 1);
    const [missing] = [...sizes.entries()].sort((a, b) => b[1] - a[1])[0]!;
    const spacing = spacingName((missing + 1) * step);
    return new DataError(
      'BAD_CANDLES',
      `${where}the candles are ${spacing} apart, but the interval is ${report.interval} ` +
        `(${report.gaps.length} of ${report.rows - 1} steps skip candles): give the interval ${spacing}.`,
    );
  }
  if (report.misaligned > 0) {
    if (step > 0 && report.misaligned > report.rows / 2) {
      return new DataError(
        'BAD_CANDLES',
        `${where}${report.misaligned} of ${report.rows} open times are off the ${report.interval} grid, ` +
          `the first ${at(report.examples.find((issue) => issue.reason.startsWith('open time not'))?.openTime ?? report.firstOpenTime!)}: ` +
          `the candles are shorter than ${report.interval} or shifted; give the interval they have.`,
      );
    }
    return examples(
      (issue) => issue.reason.startsWith('open time not'),
      report.misaligned,
      'open times off the grid',
    );
  }
  if (report.outOfOrder > 0) {
    return examples(
      (issue) => issue.reason.startsWith('open time before'),
      report.outOfOrder,
      'candles out of time order',
    );
  }
  if (report.gaps.length > 0 && !options.allowGaps) {
    const first = report.gaps[0]!;
    const more = report.gaps.length > 1 ? `, and ${report.gaps.length - 1} more gaps` : '';
    return new DataError(
      'BAD_CANDLES',
      `${where}${report.missingRows} of ${report.expectedRows} ${report.interval} candles are missing: ` +
        `the first gap, ${first.missing} candle${first.missing === 1 ? '' : 's'} from ${candleTime(first.start)}, lies ` +
        `${step > 0 ? `between ${at(first.start - step)} and` : 'before'} ${at(first.end)}${more}.`,
    );
  }
  return undefined;
}

/**
 * Checks candles (time order, as a source returns them) before training or scoring: throws the
 * BAD_CANDLES DataError of `candleQualityError`, else returns the report.
 */
export function assertCandleQuality(
  klines: readonly Kline[],
  symbol: string,
  interval: Interval,
  options: CandleQualityOptions = {},
): QualityReport {
  assertKnownKeys('assertCandleQuality options', options, CANDLE_QUALITY_KEYS);
  const report = analyzeKlines(klines, symbol, interval);
  const error = candleQualityError(report, options);
  if (error) throw error;
  return report;
}
