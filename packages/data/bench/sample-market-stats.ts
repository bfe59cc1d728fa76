/**
 * Compares the sample market's daily statistics with Binance's BTCUSDT daily candles.
 * Usage: tsx bench/sample-market-stats.ts [path/to/BTCUSDT_1d.csv]
 * (default ../shared/data/binance/BTCUSDT_1d.csv relative to the repository root).
 */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateSampleMarket, type Kline, readKlinesCsv } from '../src/index.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const realPath = process.argv[2] ?? resolve(repoRoot, '../shared/data/binance/BTCUSDT_1d.csv');

interface DailyStats {
  days: number;
  returnStd: number;
  excessKurtosis: number;
  volumeAutocorrelation: number;
  absReturnAutocorrelation: number;
}

function dailyStats(klines: readonly Kline[]): DailyStats {
  const returns: number[] = [];
  for (let i = 1; i < klines.length; i++) returns.push(Math.log(klines[i]!.close / klines[i - 1]!.close));
  const volumes = klines.map((k) => k.volume);
  const mean = average(returns);
  const variance = average(returns.map((r) => (r - mean) ** 2));
  const fourth = average(returns.map((r) => (r - mean) ** 4));
  return {
    days: klines.length,
    returnStd: Math.sqrt(variance),
    excessKurtosis: fourth / variance ** 2 - 3,
    volumeAutocorrelation: lagOneAutocorrelation(volumes),
    absReturnAutocorrelation: lagOneAutocorrelation(returns.map(Math.abs)),
  };
}

function average(values: readonly number[]): number {
  return values.reduce((sum, v) => sum + v, 0) / values.length;
}

function lagOneAutocorrelation(values: readonly number[]): number {
  const mean = average(values);
  let numerator = 0;
  let denominator = 0;
  for (let i = 0; i < values.length; i++) {
    const d = values[i]! - mean;
    denominator += d * d;
    if (i > 0) numerator += d * (values[i - 1]! - mean);
  }
  return numerator / denominator;
}

/** Sums intraday candles into UTC days (complete days only). */
function toDaily(klines: readonly Kline[], perDay: number): Kline[] {
  const days: Kline[] = [];
  for (let i = 0; i + perDay <= klines.length; i += perDay) {
    const slice = klines.slice(i, i + perDay);
    days.push({
      ...slice[0]!,
      close: slice[perDay - 1]!.close,
      high: Math.max(...slice.map((k) => k.high)),
      low: Math.min(...slice.map((k) => k.low)),
      volume: slice.reduce((sum, k) => sum + k.volume, 0),
    });
  }
  return days;
}

const real = await readKlinesCsv(realPath);
const rows: [string, DailyStats][] = [['Binance BTCUSDT 1d', dailyStats(real)]];
const seeds = [42, 1, 2, 3, 4];
for (const seed of seeds) {
  rows.push([
    `sample 1d, seed ${seed}`,
    dailyStats(generateSampleMarket({ seed, interval: '1d', count: real.length }).klines),
  ]);
}
for (const seed of [42, 1]) {
  const hourly = generateSampleMarket({ seed, interval: '1h', count: 24 * real.length }).klines;
  rows.push([`sample 1h summed to days, seed ${seed}`, dailyStats(toDaily(hourly, 24))]);
}

console.log(`real data: ${realPath}`);
console.log(
  '| series | days | daily log-return std | excess kurtosis | volume lag-1 autocorr | abs-return lag-1 autocorr |',
);
console.log('|---|---:|---:|---:|---:|---:|');
for (const [name, s] of rows) {
  console.log(
    `| ${name} | ${s.days} | ${s.returnStd.toFixed(4)} | ${s.excessKurtosis.toFixed(2)} | ${s.volumeAutocorrelation.toFixed(3)} | ${s.absReturnAutocorrelation.toFixed(3)} |`,
  );
}
