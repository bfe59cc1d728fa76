/**
 * Detection quality (issue §10), measured in one run:
 * 1. On the labelled sample market (data's default: 5000 hourly candles, seed 42): ROC-AUC,
 *    PR-AUC (average precision) and event recall per detector and for the consensus, over every
 *    scored row and over the test rows only, plus recall per anomaly kind.
 * 2. On real daily BTCUSDT candles: the ten most anomalous days per detector with their returns.
 *
 *   pnpm exec tsx bench/quality.ts [--data ../../../shared/data] [--seed 42] [--backend auto]
 *
 * Prints Markdown tables (pasted into the README).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ANOMALY_KINDS, csvSource, sampleSource } from '@crypto-anomaly/data';
import {
  averagePrecision,
  type BackendPreference,
  computeFeatures,
  type DetectorScores,
  eventRecall,
  rocAuc,
  trainPipeline,
} from '../src/index.js';

const repoRoot = resolve(fileURLToPath(new URL('../../..', import.meta.url)));
const { values } = parseArgs({
  options: {
    data: { type: 'string', default: join(repoRoot, '..', 'shared', 'data') },
    seed: { type: 'string', default: '42' },
    backend: { type: 'string', default: 'auto' },
  },
});
const seed = Number(values.seed);
const backend = values.backend as BackendPreference;
const scratch = await mkdtemp(join(tmpdir(), 'core-quality-'));

const fmt = (v: number, digits = 3) => (Number.isFinite(v) ? v.toFixed(digits) : 'n/a');

async function scoreAll(
  source: Parameters<typeof trainPipeline>[0]['source'],
  symbol: string,
  interval: '1h' | '1d',
  name: string,
) {
  const { pipeline } = await trainPipeline({
    source,
    symbol,
    interval,
    seed,
    backend,
    modelDir: join(scratch, name),
  });
  const klines = await source.load({ symbol, interval });
  const table = computeFeatures(klines, pipeline.config.features);
  const scored = await pipeline.score(table);
  pipeline.dispose();
  return { klines, table, scored, trainedOn: pipeline.trainedOn };
}

// 1. Labelled sample market.
const sample = sampleSource({ seed });
const market = sample.market();
const { table, scored, trainedOn } = await scoreAll(sample, market.symbol, '1h', 'sample');
const rows = table.matrix.rows;
const offset = table.warmupRows;
const labels = new Uint8Array(rows);
for (const event of market.labels) {
  for (let i = Math.max(event.startIndex, offset); i <= event.endIndex; i++) labels[i - offset] = 1;
}
const events = market.labels
  .filter((e) => e.endIndex >= offset)
  .map((e) => ({ ...e, startIndex: Math.max(0, e.startIndex - offset), endIndex: e.endIndex - offset }));
const testStart = rows - trainedOn.rows.test;
const testEvents = events.filter((e) => e.startIndex >= testStart);
const all: DetectorScores[] = [...scored.detectors, scored.consensus];

console.log(
  `\n### Sample market (seed ${seed}, ${market.klines.length} hourly candles, ${market.labels.length} injected events, ${labels.reduce((a, b) => a + b, 0)} anomalous rows of ${rows})\n`,
);
console.log(
  '| detector | ROC-AUC | PR-AUC | event recall | flagged rows | ROC-AUC (test) | PR-AUC (test) | event recall (test) |',
);
console.log('|---|---|---|---|---|---|---|---|');
for (const s of all) {
  const testScores = s.scores.subarray(testStart);
  const testLabels = labels.subarray(testStart);
  const testEventsShifted = testEvents.map((e) => ({
    startIndex: e.startIndex - testStart,
    endIndex: e.endIndex - testStart,
  }));
  console.log(
    `| ${s.name} | ${fmt(rocAuc(s.scores, labels))} | ${fmt(averagePrecision(s.scores, labels))} | ` +
      `${fmt(eventRecall(s.flags, events), 2)} | ${s.flags.reduce((a, b) => a + b, 0)} | ` +
      `${fmt(rocAuc(testScores, testLabels))} | ${fmt(averagePrecision(testScores, testLabels))} | ` +
      `${fmt(eventRecall(s.flags.subarray(testStart), testEventsShifted), 2)} (${testEvents.length} events) |`,
  );
}
const baseRate = labels.reduce((a, b) => a + b, 0) / rows;
console.log(`\nPR-AUC of a random score = the anomalous share of rows = ${fmt(baseRate)}.\n`);
console.log(`| event kind | events | ${all.map((s) => s.name).join(' | ')} |`);
console.log(`|---|---|${all.map(() => '---').join('|')}|`);
for (const kind of ANOMALY_KINDS) {
  const ofKind = events.filter((e) => e.kind === kind);
  if (ofKind.length === 0) continue;
  console.log(
    `| ${kind} | ${ofKind.length} | ${all.map((s) => fmt(eventRecall(s.flags, ofKind), 2)).join(' | ')} |`,
  );
}

// Explanations: over each kind's anomalous rows, the feature most often named first.
console.log('\nMost frequent top contributing feature over the anomalous rows of each kind:\n');
console.log(`| event kind | ${all.map((s) => s.name).join(' | ')} |`);
console.log(`|---|${all.map(() => '---').join('|')}|`);
for (const kind of ANOMALY_KINDS) {
  const ofKind = events.filter((e) => e.kind === kind);
  if (ofKind.length === 0) continue;
  const cells = all.map((s) => {
    const counts = new Map<string, number>();
    let rowsOfKind = 0;
    for (const e of ofKind) {
      for (let r = e.startIndex; r <= e.endIndex; r++) {
        const row = Array.from(
          s.contributions.data.subarray(r * table.matrix.cols, (r + 1) * table.matrix.cols),
        );
        const best = row.reduce((b, v, c) => (Number.isFinite(v) && v > (row[b] ?? -1) ? c : b), 0);
        const name = table.names[best]!;
        counts.set(name, (counts.get(name) ?? 0) + 1);
        rowsOfKind++;
      }
    }
    const [name, count] = [...counts].sort((a, b) => b[1] - a[1])[0]!;
    return `${name} (${Math.round((100 * count) / rowsOfKind)}%)`;
  });
  console.log(`| ${kind} | ${cells.join(' | ')} |`);
}

// 2. Real daily BTCUSDT: the ten most anomalous days per detector.
const dailyPath = join(values.data, 'binance', 'BTCUSDT_1d.csv');
const daily = await scoreAll(
  csvSource(dailyPath, { symbol: 'BTCUSDT', interval: '1d' }),
  'BTCUSDT',
  '1d',
  'daily',
);
console.log(`\n### BTCUSDT daily (${dailyPath.replace(repoRoot, '.')}, ${daily.klines.length} days)\n`);
const returnCol = daily.table.names.indexOf('log_return');
const volumeCol = daily.table.names.indexOf('volume_zscore');
for (const s of [...daily.scored.detectors, daily.scored.consensus]) {
  const order = Array.from(s.scores.keys())
    .filter((i) => Number.isFinite(s.scores[i]!))
    .sort((a, b) => s.scores[b]! - s.scores[a]!)
    .slice(0, 10);
  console.log(
    `\n**${s.name}** (threshold ${s.threshold.value.toPrecision(4)}, ${s.flags.reduce((a, b) => a + b, 0)} days flagged)\n`,
  );
  console.log('| day | close | return | volume z | score | top features |');
  console.log('|---|---|---|---|---|---|');
  for (const i of order) {
    const cols = daily.table.matrix.cols;
    const r = daily.table.matrix.data[i * cols + returnCol]!;
    const contributions = Array.from(s.contributions.data.subarray(i * cols, (i + 1) * cols));
    const top = contributions
      .map((v, c) => ({ v, c }))
      .filter(({ v }) => Number.isFinite(v) && v > 0)
      .sort((a, b) => b.v - a.v)
      .slice(0, 3)
      .map(({ c }) => daily.table.names[c]);
    console.log(
      `| ${new Date(daily.table.times[i]!).toISOString().slice(0, 10)} | ${daily.table.close[i]!.toFixed(0)} | ` +
        `${(100 * Math.expm1(r)).toFixed(1)}% | ${daily.table.matrix.data[i * cols + volumeCol]!.toFixed(1)} | ` +
        `${s.scores[i]!.toPrecision(3)} | ${top.join(', ')} |`,
    );
  }
}
await rm(scratch, { recursive: true, force: true });
