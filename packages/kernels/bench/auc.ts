// Correctness against the field (issue 4, section 5): ROC-AUC of the forest on every labelled odds
// CSV, t = 100, psi = 256, seeds 0-4, fit and score on all rows (the paper's protocol), beside
// scikit-learn's figures from ../shared/data/published/sklearn-baseline.md.
// `pnpm --filter @crypto-anomaly/kernels bench:auc [--extension-level=k] [--seeds=n] [--only=a,b]`
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { IsolationForest } from '../src/index.js';
import { DATA_DIR, fmt, oddsNames, readOdds, table } from './data.js';

const extensionArg = process.argv.find((a) => a.startsWith('--extension-level='));
const extensionLevel = extensionArg ? Number(extensionArg.split('=')[1]) : 0;
const seedsArg = process.argv.find((a) => a.startsWith('--seeds='));
const seeds = seedsArg ? Number(seedsArg.split('=')[1]) : 5;
const onlyArg = process.argv.find((a) => a.startsWith('--only='));
const only = onlyArg ? new Set(onlyArg.slice(7).split(',')) : undefined;

/** ROC-AUC by the rank-sum (Mann-Whitney U) statistic, ties given average ranks. */
export function rocAuc(scores: Float64Array, labels: Uint8Array): number {
  const order = Array.from(scores.keys()).sort((a, b) => (scores[a] as number) - (scores[b] as number));
  let positives = 0;
  let rankSum = 0;
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && scores[order[j + 1] as number] === scores[order[i] as number]) j++;
    const averageRank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) {
      if (labels[order[k] as number]) {
        positives++;
        rankSum += averageRank;
      }
    }
    i = j + 1;
  }
  const negatives = order.length - positives;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

const baseline = new Map<string, { mean: number; std: number }>();
for (const line of readFileSync(join(DATA_DIR, 'published', 'sklearn-baseline.md'), 'utf8').split('\n')) {
  const cells = line.split('|').map((c) => c.trim());
  const match = /^([\d.]+) ± ([\d.]+)$/.exec(cells[5] ?? '');
  if (match && cells[1]) baseline.set(cells[1], { mean: Number(match[1]), std: Number(match[2]) });
}

const rows: Array<Array<string | number>> = [];
let worst = 0;
for (const name of oddsNames().filter((n) => !only || only.has(n))) {
  const { X, labels } = readOdds(name);
  const aucs: number[] = [];
  const t0 = performance.now();
  for (let seed = 0; seed < seeds; seed++) {
    const forest = new IsolationForest({ nEstimators: 100, maxSamples: 256, seed, extensionLevel }).fit(X);
    aucs.push(rocAuc(forest.decisionFunction(X), labels));
  }
  const seconds = (performance.now() - t0) / 1000 / seeds;
  const mean = aucs.reduce((a, b) => a + b, 0) / aucs.length;
  const std = Math.sqrt(aucs.reduce((a, b) => a + (b - mean) ** 2, 0) / aucs.length);
  const sk = baseline.get(name);
  const difference = sk ? mean - sk.mean : Number.NaN;
  const tolerance = name === 'forestcover' ? 0.03 : 0.01;
  if (sk) worst = Math.max(worst, Math.abs(difference) - tolerance);
  rows.push([
    name,
    X.rows.toLocaleString('en-US'),
    X.cols,
    `${fmt(mean, 4)} ± ${fmt(std, 4)}`,
    sk ? `${fmt(sk.mean, 4)} ± ${fmt(sk.std, 4)}` : 'n/a',
    sk ? `${difference >= 0 ? '+' : ''}${fmt(difference, 4)}` : 'n/a',
    sk ? (Math.abs(difference) <= tolerance ? `yes (${tolerance})` : `NO (${tolerance})`) : 'n/a',
    fmt(seconds, 3),
  ]);
}
console.log(
  `## ROC-AUC, t = 100, psi = 256, seeds 0-${seeds - 1} (mean ± population std), fit and score on all rows${
    extensionLevel ? `, extensionLevel ${extensionLevel}` : ''
  }\n\n${table(
    [
      'dataset',
      'n',
      'd',
      'kernels',
      'scikit-learn 1.2.1',
      'difference',
      'within target',
      'fit + score s (all threads)',
    ],
    rows,
  )}\n`,
);
console.log(worst <= 0 ? 'Every dataset is within its target.' : 'Some dataset is outside its target.');
process.exit(0);
