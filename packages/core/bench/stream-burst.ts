/**
 * Streaming scores (issue #11's benchmark): one model with the default detectors (trained here on
 * the sample market, few epochs: scoring costs the same), shared by every symbol's StreamScorer.
 *
 * 1. A burst: one closed candle for each of 1,000 symbols, scored by the three detectors and the
 *    consensus with `scoreMany`, alerts built: wall time (first burst, then the median of five).
 * 2. Steady state: 50 symbols, a few hundred candles each; the latency of `score` + `alertsOf` per
 *    candle (p50, p99), and of the burst of the 50 candles of one close.
 * 3. Memory per symbol: heap after warming up 1,000 scorers, less before, divided by 1,000.
 *
 * Run on one core (the TensorFlow.js wasm backend and the forest then use one thread):
 *
 *   taskset -c 0 node --expose-gc --conditions=@crypto-anomaly/source --import tsx bench/stream-burst.ts
 *
 * Prints a Markdown table (pasted into the README).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { generateSampleMarket, type Kline, sampleSource } from '@crypto-anomaly/data';
import { alertsOf, type BackendPreference, StreamScorer, scoreMany, trainPipeline } from '../src/index.js';

const { values } = parseArgs({
  options: {
    symbols: { type: 'string', default: '1000' },
    steady: { type: 'string', default: '50' },
    candles: { type: 'string', default: '300' },
    backend: { type: 'string', default: 'wasm' },
  },
});
const burstSymbols = Number(values.symbols);
const steadySymbols = Number(values.steady);
const steadyCandles = Number(values.candles);

const gc = (globalThis as { gc?: () => void }).gc;
function heapUsed(): number {
  gc?.();
  gc?.();
  return process.memoryUsage().heapUsed;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

const dir = await mkdtemp(join(tmpdir(), 'core-stream-bench-'));
const trainStarted = performance.now();
const { pipeline } = await trainPipeline({
  source: sampleSource({ count: 3000, seed: 1 }),
  symbol: 'BTCUSDT',
  interval: '1m',
  modelDir: join(dir, 'model'),
  epochs: 2,
  backend: values.backend as BackendPreference,
});
const trainMs = performance.now() - trainStarted;

const probe = new StreamScorer(pipeline, { symbol: 'X', interval: '1m' });
const history = probe.historyNeeded;
const bursts = 6;
function markets(count: number, candles: number): Kline[][] {
  return Array.from(
    { length: count },
    (_, i) =>
      generateSampleMarket({ count: candles, seed: 1000 + i, interval: '1m', symbol: `S${i}` }).klines,
  );
}

// 1 and 3: the burst of 1,000 symbols, and memory per symbol.
const burstMarkets = markets(burstSymbols, history + bursts);
const before = heapUsed();
const scorers = burstMarkets.map((klines, i) => {
  const scorer = new StreamScorer(pipeline, { symbol: `S${i}`, interval: '1m' });
  scorer.warmUp(klines.slice(0, history));
  return scorer;
});
const bytesPerSymbol = (heapUsed() - before) / burstSymbols;
const burstMs: number[] = [];
let alerts = 0;
for (let b = 0; b < bursts; b++) {
  const started = performance.now();
  const scores = await scoreMany(
    scorers.map((scorer, i) => ({ scorer, kline: burstMarkets[i]![history + b]! })),
  );
  for (const score of scores) alerts += alertsOf(score).length;
  burstMs.push(performance.now() - started);
}
const afterBursts = heapUsed();
const bytesPerSymbolAfter = (afterBursts - before) / burstSymbols;

// 2: steady state, 50 symbols.
const steadyMarkets = markets(steadySymbols, history + 2 * steadyCandles);
const steady = steadyMarkets.map((klines, i) => {
  const scorer = new StreamScorer(pipeline, { symbol: `T${i}`, interval: '1m' });
  scorer.warmUp(klines.slice(0, history));
  return scorer;
});
const single: number[] = [];
for (let t = history; t < history + steadyCandles; t++) {
  for (let s = 0; s < steadySymbols; s++) {
    const started = performance.now();
    alertsOf(await steady[s]!.score(steadyMarkets[s]![t]!));
    single.push(performance.now() - started);
  }
}
const closes: number[] = [];
for (let t = history + steadyCandles; t < history + 2 * steadyCandles; t++) {
  const started = performance.now();
  const scores = await scoreMany(steady.map((scorer, s) => ({ scorer, kline: steadyMarkets[s]![t]! })));
  for (const score of scores) alertsOf(score);
  closes.push(performance.now() - started);
}
single.sort((a, b) => a - b);
closes.sort((a, b) => a - b);
const laterBursts = burstMs.slice(1).sort((a, b) => a - b);

const cpu = cpus()[0]?.model ?? 'unknown CPU';
console.log(
  `Node ${process.version}, ${cpu}, TensorFlow.js ${values.backend} backend; model trained in ${(trainMs / 1000).toFixed(1)} s`,
);
console.log(
  `history per symbol: ${history} candles; gc ${gc ? 'exposed' : 'NOT exposed (run with --expose-gc)'}\n`,
);
console.log('| measure | value |');
console.log('|---|---|');
console.log(`| burst of ${burstSymbols} symbols, first (ms) | ${burstMs[0]!.toFixed(0)} |`);
console.log(
  `| burst of ${burstSymbols} symbols, median of the next ${bursts - 1} (ms) | ${percentile(laterBursts, 0.5).toFixed(0)} |`,
);
console.log(`| alerts in those ${bursts} bursts | ${alerts} |`);
console.log(
  `| one candle alone (score + alertsOf), p50 / p99 (ms), ${single.length} candles | ${percentile(single, 0.5).toFixed(2)} / ${percentile(single, 0.99).toFixed(2)} |`,
);
console.log(
  `| one close of ${steadySymbols} symbols (scoreMany), p50 / p99 (ms), ${closes.length} closes | ${percentile(closes, 0.5).toFixed(1)} / ${percentile(closes, 0.99).toFixed(1)} |`,
);
console.log(`| heap per symbol after warm-up (KiB) | ${(bytesPerSymbol / 1024).toFixed(1)} |`);
console.log(`| heap per symbol after ${bursts} bursts (KiB) | ${(bytesPerSymbolAfter / 1024).toFixed(1)} |`);

pipeline.dispose();
await rm(dir, { recursive: true, force: true });
