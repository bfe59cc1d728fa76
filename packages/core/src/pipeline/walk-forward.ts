import { type Interval, intervalToMilliseconds } from '@crypto-anomaly/data';
import type {
  BackendPreference,
  FeatureTable,
  Matrix,
  PipelineConfig,
  SplitName,
  SplitOptions,
  WalkForwardFold,
  WalkForwardOptions,
  WalkForwardSummary,
  WindowSize,
} from '../api.js';
import { CoreError } from '../errors.js';
import { sliceFeatureTable } from '../features.js';
import { sliceRows } from '../matrix.js';
import { isoTime } from '../outputs/csv.js';
import { thresholdsPerRow } from '../thresholds.js';
import { assertKnownKeys, describeValue, keysOf } from '../validate.js';
import { fitPipeline } from './fit.js';
import { flagsOf, type RowThresholds } from './row-thresholds.js';
import { Run } from './run.js';
import type { DetectorScores, ScoredTable, TrainedPipeline } from './trained-pipeline.js';

const DAY_MS = 86_400_000;
const YEAR_MS = 365.25 * DAY_MS;

/** Milliseconds of each duration unit a window size may use. */
const UNIT_MS: Readonly<Record<string, number>> = Object.freeze({
  y: YEAR_MS,
  mo: YEAR_MS / 12,
  w: 7 * DAY_MS,
  d: DAY_MS,
  h: 3_600_000,
  m: 60_000,
});

/**
 * Defaults of a walk-forward run. Every fold trains the autoencoders, so the cost is about
 * folds × one run on `trainWindow` candles: the window is two years (the regime a model should
 * know) but at most 10,000 candles, and the folds at most 24.
 */
export const WALK_FORWARD_DEFAULTS = Object.freeze({
  trainWindow: '2y',
  minTrainWindow: 500,
  maxTrainWindow: 10_000,
  /** The default step is this share of the window (3 months of 2 years). */
  stepShare: 1 / 8,
  maxFolds: 24,
});

/** Fewest candles a fold may fit on (64 training rows and the validation rows need about this). */
const MIN_WINDOW = 100;

/**
 * Milliseconds of a duration: a positive number and `y` (365.25 days), `mo` (a twelfth of that),
 * `w`, `d`, `h` or `m` (minutes), e.g. `2y`, `3mo`, `1d`; undefined when it is not one.
 */
export function durationMs(text: unknown): number | undefined {
  const match = typeof text === 'string' ? /^(\d+(?:\.\d+)?)(mo|y|w|d|h|m)$/.exec(text.trim()) : null;
  const ms = match ? Number(match[1]) * UNIT_MS[match[2]!]! : 0;
  return ms > 0 ? ms : undefined;
}

/**
 * Candles in a window size for `interval`: a number is candles already (a positive integer), a
 * duration (`2y`, `3mo`, `6w`, `90d`, `12h`, `30m`) is rounded down to whole candles.
 */
export function candlesIn(name: string, size: WindowSize, interval: Interval): number {
  if (typeof size === 'number') {
    if (!(Number.isSafeInteger(size) && size >= 1)) {
      throw new CoreError(
        'INVALID_ARGUMENT',
        `walkForward.${name} must be a whole number of candles above 0 or a duration such as "2y" or "3mo", got ${describeValue(size)}.`,
      );
    }
    return size;
  }
  const ms = durationMs(size);
  if (ms === undefined) {
    throw new CoreError(
      'INVALID_ARGUMENT',
      `walkForward.${name} must be a number of candles or a duration: a number and y, mo, w, d, h or m ` +
        `(e.g. "2y", "3mo", "90d"), got ${describeValue(size)}.`,
    );
  }
  const candles = Math.floor(ms / intervalToMilliseconds(interval));
  if (candles < 1) {
    throw new CoreError(
      'INVALID_ARGUMENT',
      `walkForward.${name} ${size} is shorter than one ${interval} candle: give a longer duration.`,
    );
  }
  return candles;
}

/** One fold's rows of the feature table: the window [windowStart, scoreStart), scored [scoreStart, scoreEnd). */
export interface FoldRows {
  windowStart: number;
  scoreStart: number;
  scoreEnd: number;
}

/** The sizes and folds of a walk-forward run over `rows` feature rows. */
export interface WalkForwardPlan {
  trainWindow: number;
  step: number;
  folds: FoldRows[];
  /**
   * The default sizes this plan took from the history's length, so that the same candles are
   * scored by other folds once the history is longer or shorter: the window cut to half the
   * history, the step widened to keep `maxFolds` folds. Empty when the sizes were given or the
   * defaults did not depend on the length.
   */
  lengthDependent: string[];
}

/** What `walkForward` (`WalkForwardOptions`) takes. */
export const WALK_FORWARD_KEYS = keysOf<WalkForwardOptions>({ trainWindow: true, step: true });

/**
 * Plans the folds: fold k fits on the `trainWindow` rows before `trainWindow + k·step` and scores
 * the `step` rows from there (the last fold what is left), so the scored rows are every row after
 * the first window, each in exactly one fold. Defaults: `WALK_FORWARD_DEFAULTS` (the default
 * window also leaves at least half of the history to score).
 */
export function planWalkForward(
  rows: number,
  interval: Interval,
  options: Partial<WalkForwardOptions> = {},
): WalkForwardPlan {
  assertKnownKeys('walkForward', options, WALK_FORWARD_KEYS);
  const defaults = WALK_FORWARD_DEFAULTS;
  const lengthDependent: string[] = [];
  const usualWindow = Math.min(
    Math.max(candlesIn('trainWindow', defaults.trainWindow, interval), defaults.minTrainWindow),
    defaults.maxTrainWindow,
  );
  const trainWindow =
    options.trainWindow !== undefined
      ? candlesIn('trainWindow', options.trainWindow, interval)
      : Math.min(usualWindow, Math.floor(rows / 2));
  if (options.trainWindow === undefined && trainWindow < usualWindow) {
    lengthDependent.push(`the window cut from ${usualWindow} candles to half the history`);
  }
  if (trainWindow < MIN_WINDOW || trainWindow >= rows) {
    throw new CoreError(
      trainWindow < MIN_WINDOW && options.trainWindow !== undefined ? 'INVALID_ARGUMENT' : 'TOO_FEW_ROWS',
      `A walk-forward window of ${trainWindow} candles over ${rows} feature rows: each fold needs at least ` +
        `${MIN_WINDOW} candles to fit on and the history must be longer than one window. ` +
        (options.trainWindow !== undefined
          ? 'Choose a trainWindow between those, or load a longer history.'
          : 'Load a longer history.'),
    );
  }
  const usualStep = Math.max(Math.round(trainWindow * defaults.stepShare), 1);
  const step =
    options.step !== undefined
      ? candlesIn('step', options.step, interval)
      : Math.max(usualStep, Math.ceil((rows - trainWindow) / defaults.maxFolds));
  if (options.step === undefined && step > usualStep) {
    lengthDependent.push(`the step widened from ${usualStep} candles to keep ${defaults.maxFolds} folds`);
  }
  const folds: FoldRows[] = [];
  for (let start = trainWindow; start < rows; start += step) {
    folds.push({
      windowStart: start - trainWindow,
      scoreStart: start,
      scoreEnd: Math.min(start + step, rows),
    });
  }
  return { trainWindow, step, folds, lengthDependent };
}

/** A fold's window is split by the config's train : validation ratio, with no test rows. */
function windowSplit(split: SplitOptions): SplitOptions {
  const train = split.train / (split.train + split.validation);
  let validation = 1 - train;
  if (train + validation > 1) validation -= Number.EPSILON;
  return { train, validation };
}

/** Stacks matrices of equal width row-wise. */
function stack(parts: readonly Matrix[]): Matrix {
  const cols = parts[0]?.cols ?? 0;
  const rows = parts.reduce((sum, part) => sum + part.rows, 0);
  const data = new Float64Array(rows * cols);
  let offset = 0;
  for (const part of parts) {
    data.set(part.data.subarray(0, part.rows * cols), offset);
    offset += part.rows * cols;
  }
  return { data, rows, cols };
}

function concat<T extends Float64Array | Uint8Array>(parts: readonly T[], make: (n: number) => T): T {
  const out = make(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** What `walkForward` is told beyond the feature table. */
export interface WalkForwardRunOptions {
  config: PipelineConfig;
  symbol: string;
  interval: Interval;
  /** `describe()` of the source. */
  source: string;
  backend?: BackendPreference;
  walkForward?: Partial<WalkForwardOptions>;
}

/** A walk-forward run's outputs: what `writeArtifacts` writes, as for a single fit. */
export interface WalkForwardResult {
  /** The last fold's pipeline (the model saved); the caller disposes it. */
  pipeline: TrainedPipeline;
  /** The scored rows: every row after the first window. */
  table: FeatureTable;
  splits: SplitName[];
  scored: ScoredTable;
  rowThresholds: RowThresholds;
  walkForward: WalkForwardSummary;
}

/** One fold's scored rows, per detector and the consensus (in the pipeline's order). */
interface FoldScores {
  scaled: Matrix;
  scores: DetectorScores[];
  thresholds: Float64Array[];
}

/**
 * Walk-forward over a feature table: for each fold of `planWalkForward`, fits the preprocessing,
 * the detectors and their thresholds on the fold's window alone (`fitPipeline`, the window split
 * into training and validation rows) and scores only the fold's next rows, with the rows before
 * them as the attention window's context. Each scored row is judged against its fold's threshold;
 * an adaptive one (`spot`, `dspot`) starts from the window's training scores, runs through its
 * validation scores and moves along the scored rows. A row's scores therefore depend only on
 * candles up to the end of its fold. Emits the stage events of every fold's fit and one `log`
 * line per fold; the timings add up over the folds.
 */
export async function walkForward(
  run: Run,
  table: FeatureTable,
  options: WalkForwardRunOptions,
): Promise<WalkForwardResult> {
  const plan = planWalkForward(table.matrix.rows, options.interval, options.walkForward);
  const folds = plan.folds.length;
  run.emit({
    type: 'log',
    level: 'info',
    message:
      `walk-forward: ${folds} folds, each fitted on the ${plan.trainWindow} candles before it and scoring ` +
      `the next ${plan.step}; the first ${plan.trainWindow} rows are only fitted on`,
  });
  if (plan.lengthDependent.length > 0) {
    run.emit({
      type: 'log',
      level: 'warn',
      message:
        `walk-forward: ${plan.lengthDependent.join(' and ')}, so the folds depend on the history's length: ` +
        `the same candles over a longer history would be scored by other folds. Give the window and ` +
        `step (walkForward.trainWindow and .step; the CLI's --train-window and --step) for folds that do not`,
    });
  }
  const config = { ...options.config, split: windowSplit(options.config.split) };
  const parts: FoldScores[] = [];
  const summaries: WalkForwardFold[] = [];
  let last: TrainedPipeline | undefined;
  try {
    for (const [index, rows] of plan.folds.entries()) {
      run.throwIfAborted();
      const started = performance.now();
      const label = `walk-forward fold ${index + 1}/${folds}`;
      const window = {
        from: isoTime(table.times[rows.windowStart]!),
        to: isoTime(table.times[rows.scoreStart - 1]!),
      };
      const scoredRange = {
        from: isoTime(table.times[rows.scoreStart]!),
        to: isoTime(table.times[rows.scoreEnd - 1]!),
      };
      run.emit({
        type: 'log',
        level: 'info',
        message:
          `${label}: fitting on ${window.from.slice(0, 16)} … ${window.to.slice(0, 16)} ` +
          `(${rows.scoreStart - rows.windowStart} candles), scoring ${scoredRange.from.slice(0, 16)} … ` +
          `${scoredRange.to.slice(0, 16)} (${rows.scoreEnd - rows.scoreStart})`,
      });
      const fold = await fitFold(run, table, rows, { ...options, config });
      last?.dispose();
      last = fold.pipeline;
      parts.push(fold.scores);
      const names = [...fold.scores.scores.map((s) => s.name)];
      const elapsedMs = performance.now() - started;
      summaries.push({
        fold: index,
        window: { ...window, rows: rows.scoreStart - rows.windowStart },
        scored: { ...scoredRange, rows: rows.scoreEnd - rows.scoreStart },
        thresholds: Object.fromEntries(fold.scores.scores.map((s) => [s.name, s.threshold.value])),
        flagged: Object.fromEntries(
          fold.scores.scores.map((s) => [s.name, s.flags.reduce((sum, flag) => sum + flag, 0)]),
        ),
        elapsedMs: Math.round(elapsedMs),
      });
      const flagged = names.map((name) => `${name} ${summaries.at(-1)!.flagged[name]}`).join(', ');
      run.emit({
        type: 'log',
        level: 'info',
        message: `${label} done in ${(elapsedMs / 1000).toFixed(1)} s; flagged ${flagged}`,
      });
    }
  } catch (error) {
    last?.dispose();
    throw error;
  }
  const pipeline = last!;
  const scoredTable = sliceFeatureTable(table, plan.trainWindow, table.matrix.rows);
  const scores = parts[0]!.scores.map((first, d): DetectorScores => {
    const pieces = parts.map((part) => part.scores[d]!);
    return {
      name: first.name,
      scores: concat(
        pieces.map((p) => p.scores),
        (n) => new Float64Array(n),
      ),
      // The last fold's: what the saved model holds. Each row's is in `rowThresholds`.
      threshold: pieces.at(-1)!.threshold,
      flags: concat(
        pieces.map((p) => p.flags),
        (n) => new Uint8Array(n),
      ),
      contributions: stack(pieces.map((p) => p.contributions)),
    };
  });
  const rowThresholds: RowThresholds = {};
  for (const [d, s] of scores.entries()) {
    rowThresholds[s.name] = concat(
      parts.map((part) => part.thresholds[d]!),
      (n) => new Float64Array(n),
    );
  }
  return {
    pipeline,
    table: scoredTable,
    splits: Array.from({ length: scoredTable.matrix.rows }, (): SplitName => 'test'),
    scored: {
      scaled: stack(parts.map((part) => part.scaled)),
      detectors: scores.slice(0, -1),
      consensus: scores.at(-1)!,
    },
    rowThresholds,
    walkForward: {
      trainWindow: plan.trainWindow,
      step: plan.step,
      unscoredRows: plan.trainWindow,
      folds: summaries,
    },
  };
}

/**
 * Fits one fold on its window and scores its rows. The fold runs as a run of its own (its stage
 * events go out as they happen) whose timings are added to the whole run's.
 */
async function fitFold(
  run: Run,
  table: FeatureTable,
  rows: FoldRows,
  options: WalkForwardRunOptions,
): Promise<{ pipeline: TrainedPipeline; scores: FoldScores }> {
  const foldRun = new Run((event) => run.emit(event), run.signal);
  foldRun.backend = run.backend;
  const windowTable = sliceFeatureTable(table, rows.windowStart, rows.scoreStart);
  let fit: Awaited<ReturnType<typeof fitPipeline>>;
  try {
    fit = await fitPipeline(foldRun, windowTable, {
      config: options.config,
      symbol: options.symbol,
      interval: options.interval,
      source: options.source,
      ...(options.backend ? { backend: options.backend } : {}),
    });
  } finally {
    run.backend ??= foldRun.backend;
    for (const [stage, ms] of Object.entries(foldRun.timings) as [keyof Run['timings'], number][]) {
      run.timings[stage] = (run.timings[stage] ?? 0) + ms;
    }
  }
  const { pipeline, ranges } = fit;
  try {
    // The rows before the scored ones feed the attention window; only the scored rows are kept.
    const context = Math.min(pipeline.contextRows, rows.scoreStart);
    const scoring = sliceFeatureTable(table, rows.scoreStart - context, rows.scoreEnd);
    const scored = await pipeline.score(scoring, run.signal ? { signal: run.signal } : {});
    const fitScores = [...fit.scored.detectors, fit.scored.consensus];
    const scores: DetectorScores[] = [];
    const thresholds: Float64Array[] = [];
    for (const [d, s] of [...scored.detectors, scored.consensus].entries()) {
      const windowScores = fitScores[d]!.scores;
      const kept = s.scores.subarray(context);
      // Adaptive thresholds: calibrated on the training rows, run through the validation rows.
      const validation = windowScores.subarray(ranges.validation.start, windowScores.length);
      const stream = concat([validation, kept], (n) => new Float64Array(n));
      const rowThresholds = thresholdsPerRow(
        s.threshold,
        windowScores.subarray(ranges.train.start, ranges.train.end),
        stream,
      ).subarray(validation.length);
      thresholds.push(rowThresholds);
      scores.push({
        name: s.name,
        scores: kept,
        threshold: s.threshold,
        flags: flagsOf(kept, rowThresholds),
        contributions: sliceRows(s.contributions, context, s.contributions.rows),
      });
    }
    return {
      pipeline,
      scores: { scaled: sliceRows(scored.scaled, context, scored.scaled.rows), scores, thresholds },
    };
  } catch (error) {
    pipeline.dispose();
    throw error;
  }
}
