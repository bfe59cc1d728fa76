import { CoreError } from '../errors.js';
import { assertKnownKeys } from '../validate.js';
import {
  DEFAULT_NAB_OPTIONS,
  NAB_PROFILE_NAMES,
  NAB_PROFILES,
  type NabCorpusScore,
  type NabCostMatrix,
  type NabFileScore,
  type NabOptions,
  type NabProfileName,
  type NabSeries,
  type NabSweepRow,
  type NabThresholdScore,
} from './api.js';

/**
 * The Numenta Anomaly Benchmark's scorer (NAB v1.1: nab/sweeper.py, optimizer.py, scorer.py and
 * runner.py's normalisation), rule for rule:
 *
 * - Each label window rewards its first detection by where it falls: a detection at relative
 *   position p (−1 at the window's first row, 0 just past its last) earns
 *   tpWeight · σ̃(p) / σ̃(−1), with the scaled sigmoid σ̃(p) = 2 / (1 + e^{5p}) − 1. Only the best
 *   (earliest) detection of a window counts; a window with none costs fnWeight.
 * - A detection outside every window costs fpWeight · σ̃(d) (σ̃ < 0 there), d the distance past
 *   the previous window's end over that window's width − 1: less just after a window, −fpWeight
 *   before any window or more than 3 widths after.
 * - The first min(floor(0.15 · rows), 0.15 · 5000) rows of each file are probationary: not scored,
 *   and a window lying wholly inside them neither rewards nor costs.
 * - A detection is a row whose raw anomaly score is >= the threshold. The optimiser sweeps every
 *   distinct score of the whole corpus from the highest down and keeps the threshold with the
 *   highest total score (the highest such threshold on a tie, as NAB's stable sort does).
 * - normalised = 100 · (raw − null) / (perfect − null): null is the score of never detecting
 *   (−fnWeight per window), perfect that of detecting every window at its first row.
 *
 * One deliberate difference: the sweep's "detect nothing" row has threshold +Infinity, where NAB
 * writes 1.1 (its scores were assumed to be in [0, 1]); scores above 1.1 are then handled right.
 */

/** NAB's scaled sigmoid: 2·sigmoid(−5p) − 1 for a relative position p, and −1 past p = 3. */
export function nabScaledSigmoid(relativePosition: number): number {
  if (relativePosition > 3) return -1;
  return 2 / (1 + Math.exp(5 * relativePosition)) - 1;
}

/** Rows at the start of a file that NAB does not score. */
export function nabProbationaryLength(
  rows: number,
  probationaryPercent = DEFAULT_NAB_OPTIONS.probationaryPercent,
) {
  return Math.min(Math.floor(probationaryPercent * rows), probationaryPercent * 5000);
}

const PROBATIONARY = 'probationary';

/** `NabOptions`' keys, what every NAB function takes (some take one or two more). */
export const NAB_KEYS: readonly string[] = Object.keys(DEFAULT_NAB_OPTIONS);

/** The `NabOptions` of `options`, for the functions one NAB function calls with the rest of them. */
export function nabOptionsOf(options: Partial<NabOptions>): Partial<NabOptions> {
  return options.probationaryPercent === undefined
    ? {}
    : { probationaryPercent: options.probationaryPercent };
}

function resolveOptions(options: Partial<NabOptions>): NabOptions {
  // A setting given as undefined takes its default, as in every options object.
  const resolved = {
    probationaryPercent: options.probationaryPercent ?? DEFAULT_NAB_OPTIONS.probationaryPercent,
  };
  if (!(resolved.probationaryPercent >= 0 && resolved.probationaryPercent < 1)) {
    throw new CoreError(
      'INVALID_ARGUMENT',
      `probationaryPercent must be in [0, 1), got ${resolved.probationaryPercent}.`,
    );
  }
  return resolved;
}

function assertCostMatrix(cost: NabCostMatrix): void {
  for (const key of ['tpWeight', 'fpWeight', 'fnWeight'] as const) {
    if (!Number.isFinite(cost[key])) {
      throw new CoreError('INVALID_ARGUMENT', `the NAB cost matrix needs a finite ${key}, got ${cost[key]}.`);
    }
  }
}

function indexOfTime(series: NabSeries, time: number, which: string): number {
  const { timestamps } = series;
  for (let i = 0; i < timestamps.length; i++) if (timestamps[i] === time) return i;
  throw new CoreError(
    'INVALID_ARGUMENT',
    `the ${which} of a window of "${series.name}" (${new Date(time).toISOString()}) is not one of its row times: ` +
      'NAB windows must start and end on rows of the file.',
  );
}

/**
 * NAB's `calcSweepScore`: per row, the weighted value a detection there would earn and the
 * window it belongs to (`null` outside windows, `probationary` in the probationary rows).
 */
export function nabSweep(
  series: NabSeries,
  cost: NabCostMatrix,
  options: Partial<NabOptions> = {},
): NabSweepRow[] {
  assertKnownKeys('nabSweep options', options, NAB_KEYS);
  const { probationaryPercent } = resolveOptions(options);
  assertCostMatrix(cost);
  const { timestamps, scores, windows, name } = series;
  if (timestamps.length !== scores.length) {
    throw new CoreError(
      'INVALID_ARGUMENT',
      `"${name}" has ${timestamps.length} times but ${scores.length} scores; give one score per row.`,
    );
  }
  const bounds = windows
    .map((window) => ({
      left: indexOfTime(series, window.start, 'start'),
      right: indexOfTime(series, window.end, 'end'),
      id: `${name}|${window.start}`,
    }))
    .sort((a, b) => a.left - b.left);
  const maxTP = nabScaledSigmoid(-1);
  const probationaryLength = nabProbationaryLength(timestamps.length, probationaryPercent);
  const rows: NabSweepRow[] = new Array(timestamps.length);
  let next = 0;
  let current: (typeof bounds)[number] | undefined;
  let previous: { right: number; width: number } | undefined;
  for (let i = 0; i < timestamps.length; i++) {
    if (current === undefined && next < bounds.length && bounds[next]!.left === i) current = bounds[next++];
    let sweepScore: number;
    if (current !== undefined) {
      const width = current.right - current.left + 1;
      sweepScore = (nabScaledSigmoid(-(current.right - i + 1) / width) * cost.tpWeight) / maxTP;
    } else {
      const unweighted =
        previous === undefined ? -1 : nabScaledSigmoid(Math.abs(previous.right - i) / (previous.width - 1));
      sweepScore = unweighted * cost.fpWeight;
    }
    const window = i >= probationaryLength ? (current?.id ?? null) : PROBATIONARY;
    rows[i] = { score: scores[i]!, sweepScore, window };
    if (current !== undefined && i === current.right) {
      previous = { right: i, width: current.right - current.left + 1 };
      current = undefined;
    }
  }
  return rows;
}

/**
 * NAB's `calcScoreByThreshold`: the score and counts of every threshold, from detecting nothing
 * (threshold +Infinity) down to the lowest score, over the scored (non-probationary) rows.
 */
export function nabScoresByThreshold(rows: readonly NabSweepRow[], cost: NabCostMatrix): NabThresholdScore[] {
  const scorable = rows.filter((row) => row.window !== PROBATIONARY).sort((a, b) => b.score - a.score);
  // Best value per window so far (a missed window costs fnWeight), in NAB's dict order.
  const windowParts = new Map<string, number>();
  for (const row of scorable) if (row.window !== null) windowParts.set(row.window, -cost.fnWeight);
  let falsePositiveSum = 0;
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (const row of scorable) if (row.window !== null) fn++;
  let tn = scorable.length - fn;
  const total = () => {
    let sum = falsePositiveSum;
    for (const part of windowParts.values()) sum += part;
    return sum;
  };
  const result: NabThresholdScore[] = [];
  let threshold = Number.POSITIVE_INFINITY;
  for (const row of scorable) {
    if (row.score !== threshold) {
      result.push({ threshold, score: total(), tp, tn, fp, fn });
      threshold = row.score;
    }
    if (row.window === null) {
      fp++;
      tn--;
      falsePositiveSum += row.sweepScore;
    } else {
      tp++;
      fn--;
      windowParts.set(row.window, Math.max(windowParts.get(row.window)!, row.sweepScore));
    }
  }
  result.push({ threshold, score: total(), tp, tn, fp, fn });
  return result;
}

/** NAB's optimiser: the threshold with the highest total score over the corpus. */
export function optimizeNabThreshold(
  corpus: readonly NabSeries[],
  cost: NabCostMatrix,
  options: Partial<NabOptions> = {},
): NabThresholdScore {
  assertKnownKeys('optimizeNabThreshold options', options, NAB_KEYS);
  const rows: NabSweepRow[] = [];
  for (const series of corpus) for (const row of nabSweep(series, cost, options)) rows.push(row);
  let best: NabThresholdScore | undefined;
  for (const candidate of nabScoresByThreshold(rows, cost)) {
    if (best === undefined || candidate.score > best.score) best = candidate;
  }
  return best!;
}

/** One file's NAB score and counts when every row scoring >= threshold is a detection. */
export function scoreNabSeries(
  series: NabSeries,
  cost: NabCostMatrix,
  threshold: number,
  options: Partial<NabOptions> = {},
): NabFileScore {
  assertKnownKeys('scoreNabSeries options', options, NAB_KEYS);
  const byThreshold = nabScoresByThreshold(nabSweep(series, cost, options), cost);
  // The rows run from +Infinity down: the last one at or above the threshold detects exactly the
  // rows scoring >= threshold (NAB's scoreDataSet match).
  let match = byThreshold[0]!;
  for (const row of byThreshold) {
    if (row.threshold < threshold) break;
    match = row;
  }
  return { ...match, threshold, name: series.name, rows: series.timestamps.length };
}

/** Windows that a null detector is charged for: those with a scored row. */
function scoredWindowCount(series: NabSeries, options: Partial<NabOptions>): number {
  const probationaryLength = nabProbationaryLength(
    series.timestamps.length,
    resolveOptions(options).probationaryPercent,
  );
  return series.windows.filter((window) => indexOfTime(series, window.end, 'end') >= probationaryLength)
    .length;
}

/**
 * A detector's NAB result on a corpus under one profile: the threshold (optimised as NAB does
 * unless given), per-file and total raw scores and counts, and the normalised score.
 */
export function scoreNabCorpus(
  corpus: readonly NabSeries[],
  cost: NabCostMatrix,
  options: Partial<NabOptions> & { threshold?: number } = {},
): NabCorpusScore {
  assertKnownKeys('scoreNabCorpus options', options, [...NAB_KEYS, 'threshold']);
  const nab = nabOptionsOf(options);
  const threshold = options.threshold ?? optimizeNabThreshold(corpus, cost, nab).threshold;
  const files = corpus.map((series) => scoreNabSeries(series, cost, threshold, nab));
  const sum = (key: 'score' | 'tp' | 'tn' | 'fp' | 'fn') => files.reduce((acc, file) => acc + file[key], 0);
  const score = sum('score');
  const nullScore =
    -cost.fnWeight * corpus.reduce((acc, series) => acc + scoredWindowCount(series, options), 0);
  const perfectScore = cost.tpWeight * corpus.reduce((acc, series) => acc + series.windows.length, 0);
  return {
    threshold,
    score,
    tp: sum('tp'),
    tn: sum('tn'),
    fp: sum('fp'),
    fn: sum('fn'),
    nullScore,
    perfectScore,
    // Without a scored window, null and perfect coincide and no share of the way between exists.
    normalizedScore:
      perfectScore === nullScore ? Number.NaN : (100 * (score - nullScore)) / (perfectScore - nullScore),
    files,
  };
}

/** `scoreNabCorpus` under each of NAB's three profiles (or the given ones), thresholds optimised. */
export function runNabBenchmark(
  corpus: readonly NabSeries[],
  options: Partial<NabOptions> & { profiles?: Partial<Record<NabProfileName, NabCostMatrix>> } = {},
): Partial<Record<NabProfileName, NabCorpusScore>> {
  assertKnownKeys('runNabBenchmark options', options, [...NAB_KEYS, 'profiles']);
  const profiles = options.profiles ?? NAB_PROFILES;
  const result: Partial<Record<NabProfileName, NabCorpusScore>> = {};
  for (const name of NAB_PROFILE_NAMES) {
    const cost = profiles[name];
    if (cost !== undefined) result[name] = scoreNabCorpus(corpus, cost, nabOptionsOf(options));
  }
  return result;
}
