import type { Interval, Kline, KlineGap, QualityIssue, QualityReport } from './api.js';
import { MICROSECOND_THRESHOLD, readKlinesCsvBatches, toMilliseconds } from './csv.js';
import { assertInterval, intervalToMilliseconds, nextOpenTime } from './intervals.js';
import type { KlineStore } from './store.js';
import { assertSymbol } from './validate.js';

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
      note(index, openTime, 'ohlc', reason);
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
  if (k.low > Math.min(k.open, k.close)) return `low ${k.low} above open/close`;
  if (k.high < Math.max(k.open, k.close)) return `high ${k.high} below open/close`;
  if (k.low > k.high) return `low ${k.low} above high ${k.high}`;
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
