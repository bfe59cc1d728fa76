/**
 * Detection quality (issue #13), the toolkit's defaults beside the Python original, in one run:
 * 1. On real candles (BTCUSDT and ETHUSDT at 1d, 4h and 1h, full history): per detector, the
 *    explainable share of its flags (a flagged candle whose |log return| exceeds 3 standard
 *    deviations of the previous 30 candles' returns, or whose volume exceeds 3 times their median,
 *    `explainableShare`), the share of its flags in the first 10% of the history (`flagSpread`),
 *    and the flag count.
 * 2. On the labelled sample market (data's default: 5000 hourly candles, seed 42): ROC-AUC,
 *    PR-AUC (average precision) and event recall per detector and for the consensus, and recall
 *    per anomaly kind, each kind's rows' scores as percentiles among all scored rows, and how far the
 *    volatility breaks stand out of the market's own variation.
 * The Python original (`../shared/peers/seed_baseline.py`) runs on the same CSV files (the sample
 * market written as a Binance CSV) and is measured the same way from its anomaly files; it writes
 * flagged rows only, so its ranking measures (ROC-AUC, PR-AUC) cannot be computed.
 *
 *   pnpm exec tsx bench/quality.ts [--data ../../../shared/data] [--seed 42] [--backend auto]
 *     [--datasets BTCUSDT_1d,ETHUSDT_4h] [--config '{"features":{"set":"classic"}}'] [--epochs 5]
 *     [--peer run | none | DIR]  (DIR: earlier peer outputs, one folder per dataset and `sample`)
 *     [--no-sample] [--no-real]
 *
 * Prints Markdown tables (pasted into the README).
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  ANOMALY_KINDS,
  csvSource,
  type Kline,
  type KlineSource,
  sampleSource,
  writeKlinesCsv,
} from '@crypto-anomaly/data';
import {
  averagePrecision,
  type BackendPreference,
  computeFeatures,
  eventRecall,
  explainableShare,
  flagSpread,
  type PipelineConfigInput,
  rocAuc,
  trainPipeline,
} from '../src/index.js';
import { PYTHON_ORIGINAL, readPythonFlags, runPythonOriginal } from './python-original.js';

const repoRoot = resolve(fileURLToPath(new URL('../../..', import.meta.url)));
const { values } = parseArgs({
  options: {
    data: { type: 'string', default: join(repoRoot, '..', 'shared', 'data') },
    seed: { type: 'string', default: '42' },
    backend: { type: 'string', default: 'auto' },
    datasets: {
      type: 'string',
      default: 'BTCUSDT_1d,ETHUSDT_1d,BTCUSDT_4h,ETHUSDT_4h,BTCUSDT_1h,ETHUSDT_1h',
    },
    config: { type: 'string' },
    epochs: { type: 'string' },
    peer: { type: 'string', default: 'run' },
    'no-sample': { type: 'boolean', default: false },
    'no-real': { type: 'boolean', default: false },
  },
});
const seed = Number(values.seed);
const backend = values.backend as BackendPreference;
const config: PipelineConfigInput = values.config ? JSON.parse(values.config) : {};
const epochs = values.epochs === undefined ? {} : { epochs: Number(values.epochs) };
const scratch = await mkdtemp(join(tmpdir(), 'core-quality-'));

const fmt = (v: number, digits = 2) => (Number.isFinite(v) ? v.toFixed(digits) : 'n/a');
const count = (flags: ArrayLike<number>) => Array.prototype.reduce.call(flags, (a, b) => a + b, 0) as number;

/** One detector's flags (one per candle, warm-up rows 0) and, when it has them, scores. */
interface Flagged {
  name: string;
  flags: Uint8Array;
  scores?: Float64Array;
}

/** Trains the toolkit's defaults on the candles and scores every candle. */
async function toolkit(source: KlineSource, symbol: string, interval: string, name: string) {
  const { pipeline } = await trainPipeline({
    source,
    symbol,
    interval: interval as '1h',
    seed,
    backend,
    config,
    ...epochs,
    modelDir: join(scratch, name),
  });
  const klines = await source.load({ symbol, interval: interval as '1h' });
  const table = computeFeatures(klines, pipeline.config.features);
  const scored = await pipeline.score(table);
  pipeline.dispose();
  const detectors: Flagged[] = [...scored.detectors, scored.consensus].map((s) => {
    const flags = new Uint8Array(klines.length);
    const scores = new Float64Array(klines.length).fill(Number.NaN);
    flags.set(s.flags, table.warmupRows);
    scores.set(s.scores, table.warmupRows);
    return { name: s.name, flags, scores };
  });
  return { klines, detectors, testRows: pipeline.trainedOn.rows.test };
}

/** The Python original's flags on a CSV file (run now, or read from an earlier run's folder). */
async function peer(csvPath: string, name: string, klines: readonly Kline[]): Promise<Flagged[] | undefined> {
  if (values.peer === 'none') return undefined;
  let dir = join(values.peer, name);
  if (values.peer === 'run') {
    if (!existsSync(PYTHON_ORIGINAL)) return undefined;
    dir = join(scratch, `peer-${name}`);
    await runPythonOriginal(csvPath, dir);
  }
  const flags = await readPythonFlags(
    dir,
    klines.map((k) => k.openTime),
  );
  return flags && Object.entries(flags).map(([detector, f]) => ({ name: detector, flags: f }));
}

function realRows(program: string, dataset: string, klines: readonly Kline[], detectors: readonly Flagged[]) {
  const times = Float64Array.from(klines, (k) => k.openTime);
  return detectors.map((d) => {
    const explained = explainableShare(klines, d.flags);
    const spread = flagSpread(times, d.flags);
    return {
      line: `| ${dataset} | ${program} | ${d.name} | ${fmt(explained.share)} | ${fmt(spread.earlyShare)} | ${explained.flags} |`,
      share: explained.share,
      early: spread.earlyShare,
      baseRate: explained.baseRate,
    };
  });
}

// 1. Real candles.
if (!values['no-real']) {
  const header =
    '| dataset | program | detector | explainable share of flags | flags in first 10% | flags |\n|---|---|---|---|---|---|';
  const lines: string[] = [];
  const worst = { toolkit: { share: 1, early: 0 }, python: { share: 1, early: 0 } };
  for (const dataset of values.datasets.split(',')) {
    const [symbol, interval] = dataset.split('_') as [string, string];
    const path = join(values.data, 'binance', `${dataset}.csv`);
    if (!existsSync(path)) {
      console.log(`(skipped ${dataset}: ${path} is missing)`);
      continue;
    }
    const source = csvSource(path, { symbol, interval: interval as '1h' });
    const started = process.hrtime.bigint();
    const ours = await toolkit(source, symbol, interval, dataset);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const rows = realRows('toolkit', dataset, ours.klines, ours.detectors);
    const theirs = await peer(path, dataset, ours.klines);
    const peerRows = theirs ? realRows('python', dataset, ours.klines, theirs) : [];
    for (const [program, set] of [
      ['toolkit', rows],
      ['python', peerRows],
    ] as const) {
      for (const row of set) {
        worst[program].share = Math.min(worst[program].share, row.share);
        worst[program].early = Math.max(worst[program].early, row.early);
      }
    }
    lines.push(...rows.map((r) => r.line), ...peerRows.map((r) => r.line));
    console.error(
      `${dataset}: ${ours.klines.length} candles, explainable base rate ${fmt(rows[0]!.baseRate, 3)}, toolkit ${seconds.toFixed(0)} s`,
    );
    console.error(rows.map((r) => r.line).join('\n'));
  }
  console.log(`\n### Real candles, full history\n\n${header}\n${lines.join('\n')}`);
  console.log(
    `\nWorst over datasets and detectors: toolkit explainable share ${fmt(worst.toolkit.share)}, ` +
      `first-10% share ${fmt(worst.toolkit.early)}; python ${fmt(worst.python.share)}, ${fmt(worst.python.early)}.`,
  );
}

// 2. Labelled sample market.
if (!values['no-sample']) {
  const sample = sampleSource({ seed });
  const market = sample.market();
  const ours = await toolkit(sample, market.symbol, '1h', 'sample');
  const n = ours.klines.length;
  const labels = new Uint8Array(n);
  for (const event of market.labels) labels.fill(1, event.startIndex, event.endIndex + 1);
  // Rows before the first feature row have no score: measured over the scored rows.
  const first = ours.detectors[0]!.scores!.findIndex(Number.isFinite);
  const events = market.labels
    .filter((e) => e.endIndex >= first)
    .map((e) => ({ ...e, startIndex: Math.max(0, e.startIndex - first), endIndex: e.endIndex - first }));
  const csvPath = join(scratch, 'sample.csv');
  await mkdir(scratch, { recursive: true });
  await writeKlinesCsv(csvPath, market.klines);
  const theirs = (await peer(csvPath, 'sample', ours.klines)) ?? [];
  const scoredLabels = labels.subarray(first);
  console.log(
    `\n### Sample market (seed ${seed}, ${n} hourly candles, ${market.labels.length} injected events, ` +
      `${count(scoredLabels)} anomalous rows of ${n - first} scored)\n`,
  );
  console.log('| program | detector | ROC-AUC | PR-AUC | event recall | flagged rows | precision of flags |');
  console.log('|---|---|---|---|---|---|---|');
  const all = [
    ...ours.detectors.map((d) => ({ program: 'toolkit', ...d })),
    ...theirs.map((d) => ({ program: 'python', ...d })),
  ];
  for (const d of all) {
    const flags = d.flags.subarray(first);
    const scores = d.scores?.subarray(first);
    const flagged = count(flags);
    let hits = 0;
    for (let i = 0; i < flags.length; i++) hits += flags[i]! & scoredLabels[i]!;
    console.log(
      `| ${d.program} | ${d.name} | ${scores ? fmt(rocAuc(scores, scoredLabels), 3) : 'n/a'} | ` +
        `${scores ? fmt(averagePrecision(scores, scoredLabels), 3) : 'n/a'} | ${fmt(eventRecall(flags, events))} | ` +
        `${flagged} | ${fmt(flagged === 0 ? Number.NaN : hits / flagged)} |`,
    );
  }
  console.log(
    `\nPR-AUC of a random score = the anomalous share of rows = ${fmt(count(scoredLabels) / scoredLabels.length, 3)}.\n`,
  );
  console.log(`| event kind | events | ${all.map((d) => `${d.program} ${d.name}`).join(' | ')} |`);
  console.log(`|---|---|${all.map(() => '---').join('|')}|`);
  for (const kind of ANOMALY_KINDS) {
    const ofKind = events.filter((e) => e.kind === kind);
    if (ofKind.length === 0) continue;
    console.log(
      `| ${kind} | ${ofKind.length} | ${all.map((d) => fmt(eventRecall(d.flags.subarray(first), ofKind))).join(' | ')} |`,
    );
  }
  // Where the ranking is lost: each kind's rows, their scores as percentiles among all scored rows.
  const ranked = ours.detectors.map((d) => {
    const scores = d.scores!.subarray(first);
    const sorted = Float64Array.from(scores).sort();
    return { name: d.name, scores, sorted };
  });
  const percentile = (sorted: Float64Array, value: number) => {
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (sorted[mid]! < value) lo = mid + 1;
      else hi = mid;
    }
    return lo / sorted.length;
  };
  console.log(
    `\n| event kind | anomalous rows | ${ranked.map((d) => `toolkit ${d.name}: median (lower quartile) percentile`).join(' | ')} |`,
  );
  console.log(`|---|---|${ranked.map(() => '---').join('|')}|`);
  for (const kind of ANOMALY_KINDS) {
    const rows: number[] = [];
    for (const e of events.filter((e) => e.kind === kind))
      for (let i = e.startIndex; i <= e.endIndex; i++) rows.push(i);
    if (rows.length === 0) continue;
    const cells = ranked.map((d) => {
      const p = rows.map((i) => percentile(d.sorted, d.scores[i]!)).sort((a, b) => a - b);
      return `${fmt(p[p.length >> 1]!)} (${fmt(p[p.length >> 2]!)})`;
    });
    console.log(`| ${kind} | ${rows.length} | ${cells.join(' | ')} |`);
  }
  // How far the volatility breaks stand out of the market's own variation: the standard deviation of
  // log returns inside each break against the same number of candles before it, beside the same
  // ratio for ordinary stretches (48 candles against the 72 before, no event in either).
  const closes = ours.klines.map((k) => k.close);
  const logReturns = closes.map((c, i) => (i === 0 ? 0 : Math.log(c / closes[i - 1]!)));
  const std = (from: number, to: number) => {
    const part = logReturns.slice(from, to);
    const mean = part.reduce((a, b) => a + b, 0) / part.length;
    return Math.sqrt(part.reduce((a, b) => a + (b - mean) ** 2, 0) / part.length);
  };
  const breaks = market.labels
    .filter((e) => e.kind === 'volatility-break')
    .map((e) => {
      const length = e.endIndex - e.startIndex + 1;
      return `${length} candles ${fmt(std(e.startIndex, e.endIndex + 1) / std(e.startIndex - length, e.startIndex))}x`;
    });
  const anomalous = new Uint8Array(n);
  for (const e of market.labels) anomalous.fill(1, e.startIndex, e.endIndex + 1);
  const ordinary: number[] = [];
  for (let t = 100; t + 48 < n; t += 12) {
    if (anomalous.subarray(t - 72, t + 48).some((x) => x === 1)) continue;
    ordinary.push(std(t, t + 48) / std(t - 72, t));
  }
  ordinary.sort((a, b) => a - b);
  console.log(
    `\nVolatility breaks, return std inside against before: ${breaks.join(', ')}; ordinary 48-candle stretches ` +
      `(${ordinary.length}) against the 72 before: median ${fmt(ordinary[ordinary.length >> 1]!)}x, ` +
      `90th percentile ${fmt(ordinary[Math.floor(ordinary.length * 0.9)]!)}x, 97th ${fmt(ordinary[Math.floor(ordinary.length * 0.97)]!)}x.`,
  );

  // What the ranking targets ask of the breaks. (a) Each detector without the break rows: how the
  // other kinds rank. (b) A bound no causal detector can pass on the breaks: an oracle told where
  // each break starts scores break row t by std(returns start..t) / std(the 72 returns before the
  // start), and that statistic is ranked among the same statistic of every ordinary row (same
  // length, no labelled row in its span). With every other anomalous row ranked first and each
  // break row below that share of the ordinary rows, ROC-AUC and PR-AUC cannot exceed the figures
  // printed: the bound on what per-row scores can reach on this market.
  const isBreak = new Uint8Array(n);
  for (const e of market.labels)
    if (e.kind === 'volatility-break') isBreak.fill(1, e.startIndex, e.endIndex + 1);
  const keep = (i: number) => !isBreak[i + first];
  console.log(
    '\n| detector | ROC-AUC without the break rows | PR-AUC without the break rows |\n|---|---|---|',
  );
  for (const d of ranked) {
    const scores = d.scores.filter((_, i) => keep(i));
    const labelsKept = scoredLabels.filter((_, i) => keep(i));
    console.log(
      `| ${d.name} | ${fmt(rocAuc(scores, labelsKept), 3)} | ${fmt(averagePrecision(scores, labelsKept), 3)} |`,
    );
  }
  const sum = new Float64Array(n + 1);
  const squares = new Float64Array(n + 1);
  const clean = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) {
    sum[i + 1] = sum[i]! + logReturns[i]!;
    squares[i + 1] = squares[i]! + logReturns[i]! ** 2;
    clean[i + 1] = clean[i]! + (anomalous[i] ? 0 : 1);
  }
  const spanStd = (from: number, to: number) => {
    const k = to - from;
    const mean = (sum[to]! - sum[from]!) / k;
    return Math.sqrt(Math.max(0, (squares[to]! - squares[from]!) / k - mean * mean));
  };
  const before = 72;
  // Row t of a stretch of length L starting at s = t - L + 1: std(s..t) / std(s - 72 .. s - 1).
  const stretch = (t: number, length: number) =>
    spanStd(t - length + 1, t + 1) / spanStd(t - length + 1 - before, t - length + 1);
  const nullOf = new Map<number, Float64Array>();
  const oracle: number[] = [];
  for (const e of market.labels.filter((e) => e.kind === 'volatility-break')) {
    for (let t = e.startIndex; t <= e.endIndex; t++) {
      const length = Math.max(2, t - e.startIndex + 1);
      let sorted = nullOf.get(length);
      if (!sorted) {
        const values: number[] = [];
        for (let u = length + before; u < n; u++) {
          const from = u - length + 1 - before;
          if (clean[u + 1]! - clean[from]! === u + 1 - from) values.push(stretch(u, length));
        }
        sorted = Float64Array.from(values).sort();
        nullOf.set(length, sorted);
      }
      oracle.push(percentile(sorted, stretch(t, length)));
    }
  }
  const positives = count(scoredLabels);
  const negatives = scoredLabels.length - positives;
  const others = positives - oracle.length;
  const aboveEach = oracle.map((p) => (1 - p) * negatives).sort((a, b) => a - b);
  let precisionSum = others;
  aboveEach.forEach((falseAbove, i) => {
    precisionSum += (others + i + 1) / (others + i + 1 + falseAbove);
  });
  const rocBound = (others + oracle.reduce((a, b) => a + b, 0)) / positives;
  console.log(
    `\nBound from the breaks (an oracle told each break's start, every other anomalous row ranked first): ` +
      `ROC-AUC ${fmt(rocBound, 3)}, PR-AUC ${fmt(precisionSum / positives, 3)}; ` +
      `break rows the oracle puts above 98% of the ordinary rows: ${oracle.filter((p) => p >= 0.98).length} of ${oracle.length}, ` +
      `above 90%: ${oracle.filter((p) => p >= 0.9).length}.`,
  );

  // (c) What scoring stretches could add, even with look-ahead. A robust scan: x = ln max(|r|, 1e-4)
  // (a single large move shifts a mean of logs little, so point events do not light up every
  // window around them); for each stretch of L = 6..72 candles, z = (mean x inside - mean x
  // outside) / sqrt(1/L + 1/72), "outside" being the 72 candles before it (causal: stretches ending
  // at the row) or the larger of the 72 before and the 72 after it (look-ahead: any stretch holding
  // the row); a row's score is its largest z. Taken into the consensus as
  // max(consensus percentile, min(cap, scan percentile)), so below the cap it only reorders rows.
  const logAbs = new Float64Array(n + 1);
  for (let i = 1; i < n; i++) logAbs[i + 1] = logAbs[i]! + Math.log(Math.max(Math.abs(logReturns[i]!), 1e-4));
  const meanLog = (from: number, to: number) => (logAbs[to]! - logAbs[from]!) / (to - from);
  const scan = (lookAhead: boolean) => {
    const out = new Float64Array(n);
    for (let t = 0; t < n; t++) {
      let best = 0;
      for (const length of [6, 8, 12, 16, 24, 32, 48, 72]) {
        const step = lookAhead ? Math.max(1, length >> 3) : length;
        for (let start = t - length + 1; start <= (lookAhead ? t : t - length + 1); start += step) {
          const end = start + length;
          if (start - before < 1 || end > n) continue;
          let outside = meanLog(start - before, start);
          if (lookAhead && end + before <= n) outside = Math.max(outside, meanLog(end, end + before));
          best = Math.max(best, (meanLog(start, end) - outside) / Math.sqrt(1 / length + 1 / before));
        }
      }
      out[t] = best;
    }
    return out;
  };
  const asPercentiles = (values: ArrayLike<number>) => {
    const sorted = Float64Array.from(values).sort();
    return Float64Array.from(values, (v) => percentile(sorted, v));
  };
  const consensusRanks = asPercentiles(ranked.find((d) => d.name === 'consensus')!.scores);
  console.log(
    '\n| stretch scan | alone: ROC-AUC / PR-AUC | in the consensus, cap 0.95 | cap 0.99 |\n|---|---|---|---|',
  );
  for (const lookAhead of [false, true]) {
    const ranks = asPercentiles(scan(lookAhead).subarray(first));
    const cells = [1, 0.95, 0.99].map((cap) => {
      const scores = cap === 1 ? ranks : consensusRanks.map((p, i) => Math.max(p, Math.min(cap, ranks[i]!)));
      return `${fmt(rocAuc(scores, scoredLabels), 3)} / ${fmt(averagePrecision(scores, scoredLabels), 3)}`;
    });
    console.log(
      `| ${lookAhead ? 'look-ahead (72 before and after)' : 'causal (72 before)'} | ${cells.join(' | ')} |`,
    );
  }
}
await rm(scratch, { recursive: true, force: true });
