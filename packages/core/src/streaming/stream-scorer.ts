import { INTERVALS, type Interval, isInterval, type Kline } from '@crypto-anomaly/data';
import type {
  Alert,
  CandleScore,
  FittedThreshold,
  Matrix,
  SpotOptions,
  StreamDetectorScore,
  StreamScorerOptions,
  ThresholdKind,
} from '../api.js';
import { AttentionAutoencoder } from '../detectors/attention-autoencoder.js';
import { CoreError } from '../errors.js';
import { featureNamesOf } from '../features.js';
import { createMatrix } from '../matrix.js';
import { assertModelInterval, modelMismatchWarnings } from '../model-manifest.js';
import { topContributors } from '../outputs/csv.js';
import {
  consensusOf,
  type DetectorScores,
  type FittedDetector,
  scoreWithDetector,
  type TrainedPipeline,
} from '../pipeline/trained-pipeline.js';
import { percentileOf, type ScoreDistribution } from '../ranking.js';
import { assertInteger, assertKnownKeys, describeValue, keysOf } from '../validate.js';
import { IncrementalFeatures, RollingMoments } from './incremental-features.js';
import { DEFAULT_SPOT_OPTIONS, Spot } from './spot.js';

const STREAM_SCORER_KEYS = keysOf<StreamScorerOptions>({
  symbol: true,
  interval: true,
  allowOtherInterval: true,
  thresholds: true,
  contextWindow: true,
  spot: true,
  consensusCalibration: true,
  adaptiveConsensus: true,
});

export const DEFAULT_STREAM_SCORER_OPTIONS = Object.freeze({
  thresholds: 'dspot' as ThresholdKind,
  contextWindow: 30,
  spot: Object.freeze({}) as Partial<SpotOptions>,
  consensusCalibration: 200,
  adaptiveConsensus: false,
  allowOtherInterval: false,
});

/** A threshold that may move with the stream: the fitted one never does. */
interface StreamThreshold {
  readonly kind: ThresholdKind;
  readonly threshold: number;
  update(score: number): void;
}

class FixedThreshold implements StreamThreshold {
  readonly kind = 'fitted' as const;
  constructor(readonly threshold: number) {}
  update(): void {}
}

/**
 * The consensus' adaptive threshold. The consensus score is a mean of percentiles in [0, 1] and the
 * model keeps no distribution of its training consensus (only its fitted threshold), so there is
 * nothing to seed SPOT with: the fitted consensus threshold holds (kind `fitted`) for the first
 * `calibration` scores of the stream, which then calibrate SPOT / DSPOT as Siffer et al. do (the
 * initial quantile lowered so that about 20 calibration scores are peaks). A bounded score suits
 * the method: its tail fits a GPD of negative shape, whose z stays below the upper end.
 */
class ConsensusThreshold implements StreamThreshold {
  private spot: Spot | undefined;
  private readonly sample: number[] = [];

  constructor(
    private readonly fitted: FittedThreshold,
    private readonly target: 'spot' | 'dspot',
    private readonly calibration: number,
    private readonly options: Partial<SpotOptions>,
  ) {}

  get kind(): ThresholdKind {
    return this.spot ? this.spot.kind : 'fitted';
  }

  get threshold(): number {
    return this.spot ? this.spot.threshold : this.fitted.value;
  }

  update(score: number): void {
    if (this.spot) {
      this.spot.update(score);
      return;
    }
    if (Number.isFinite(score)) this.sample.push(score);
    if (this.sample.length < this.calibration) return;
    const risk = this.options.risk ?? riskOf(this.fitted);
    const initialQuantile =
      this.options.initialQuantile ?? Math.max(0.6, Math.min(0.98, 1 - 2 * risk, 1 - 20 / this.calibration));
    this.spot = Spot.calibrate(this.target, this.sample, { ...this.options, risk, initialQuantile });
    this.sample.length = 0;
  }
}

/**
 * q for a detector's SPOT: the share of its training scores above its fitted threshold, so the
 * adaptive threshold starts where the fitted one is (its contamination, or a `pot` threshold's
 * risk; a fixed threshold's percentile among the training scores).
 */
function riskOf(threshold: FittedThreshold, distribution?: ScoreDistribution): number {
  const { method } = threshold;
  let risk = DEFAULT_SPOT_OPTIONS.risk;
  if (method.kind === 'contamination') risk = method.contamination;
  else if (method.kind === 'pot') risk = method.riskQuantile;
  else if (method.kind === 'spot' || method.kind === 'dspot') risk = method.risk ?? risk;
  else if (distribution && distribution.quantiles.length > 0) {
    risk = 1 - percentileOf(distribution, threshold.value);
  }
  return Math.min(0.2, Math.max(1e-4, risk));
}

/** SPOT / DSPOT calibrated once per fitted detector and settings, cloned per symbol. */
const calibrated = new WeakMap<FittedDetector, Map<string, Spot>>();

function calibratedSpot(fitted: FittedDetector, kind: 'spot' | 'dspot', options: Partial<SpotOptions>): Spot {
  let byKey = calibrated.get(fitted);
  if (!byKey) calibrated.set(fitted, (byKey = new Map()));
  const key = `${kind}:${JSON.stringify(options)}`;
  let spot = byKey.get(key);
  if (!spot) {
    const threshold = fitted.detector.threshold!;
    const risk = options.risk ?? riskOf(threshold, fitted.distribution);
    const initialQuantile =
      options.initialQuantile ??
      (threshold.method.kind === 'pot'
        ? threshold.method.initialQuantile
        : Math.max(0.6, Math.min(DEFAULT_SPOT_OPTIONS.initialQuantile, 1 - 2 * risk)));
    spot = Spot.calibrate(kind, fitted.distribution.quantiles, { ...options, risk, initialQuantile });
    byKey.set(key, spot);
  }
  return spot.clone();
}

/** What a candle gives before the detectors score it. */
interface Prepared {
  scorer: StreamScorer;
  kline: Kline;
  row: Float64Array;
  logReturn: number;
  returnVolatilityMultiple: number;
  volumeMedianMultiple: number;
}

/**
 * Scores one symbol's closed candles as they come, with a trained pipeline shared by every scorer
 * of that model (its weights are not copied): the features are updated incrementally, the last
 * `contextRows` preprocessed rows are kept for the attention window, and each detector (and the
 * consensus) has a threshold that adapts to the stream (SPOT / DSPOT) or the fitted one. Scores
 * equal those of `pipeline.scoreKlines` over the same history (within float32 rounding for the
 * autoencoders). `scoreMany` scores a burst of many symbols' candles at once.
 */
export class StreamScorer {
  readonly pipeline: TrainedPipeline;
  readonly symbol: string;
  readonly interval: Interval;
  readonly options: Readonly<StreamScorerOptions>;
  /** @internal */
  readonly features: IncrementalFeatures;
  private readonly cols: number;
  private readonly contextCapacity: number;
  private readonly context: Float64Array;
  private contextNext = 0;
  private contextFilled = 0;
  private readonly returns: RollingMoments;
  private readonly volumes: RollingMoments;
  private readonly thresholds: StreamThreshold[];
  private readonly consensusThreshold: StreamThreshold;
  /**
   * Why this model may misjudge these candles, for people: another symbol than it was trained on
   * (its thresholds were fitted to another market), or another interval with `allowOtherInterval`.
   * Empty when it was trained on this pair or does not say what it was trained on.
   */
  readonly warnings: readonly string[];

  constructor(
    pipeline: TrainedPipeline,
    options: Pick<StreamScorerOptions, 'symbol' | 'interval'> & Partial<StreamScorerOptions>,
  ) {
    const names = pipeline.featureNames;
    const expected = featureNamesOf(pipeline.config.features.set);
    if (names.length !== expected.length || names.some((name, i) => name !== expected[i])) {
      throw new CoreError(
        'MODEL_MISMATCH',
        `A stream scorer needs a model trained on candle features (${expected.join(', ')}), ` +
          `this one has [${names.join(', ')}]. Train it with trainPipeline on candles.`,
      );
    }
    assertKnownKeys('StreamScorer options', options, STREAM_SCORER_KEYS);
    // Checked here too: with fitted thresholds nothing else reads them.
    assertKnownKeys('StreamScorer options.spot', options.spot, Object.keys(DEFAULT_SPOT_OPTIONS));
    const given = Object.entries(options).filter(([, value]) => value !== undefined);
    const resolved = { ...DEFAULT_STREAM_SCORER_OPTIONS, ...Object.fromEntries(given) } as typeof options &
      typeof DEFAULT_STREAM_SCORER_OPTIONS;
    if (!['fitted', 'spot', 'dspot'].includes(resolved.thresholds)) {
      throw new CoreError(
        'INVALID_ARGUMENT',
        `thresholds must be fitted, spot or dspot, got ${JSON.stringify(resolved.thresholds)}.`,
      );
    }
    if (!(typeof resolved.symbol === 'string' && resolved.symbol)) {
      throw new CoreError(
        'INVALID_ARGUMENT',
        `symbol must be a non-empty string such as "BTCUSDT", got ${describeValue(resolved.symbol)}.`,
      );
    }
    if (!isInterval(String(resolved.interval))) {
      throw new CoreError(
        'INVALID_ARGUMENT',
        `interval must be one of ${INTERVALS.join(', ')}, got ${describeValue(resolved.interval)}.`,
      );
    }
    assertModelInterval(pipeline, resolved);
    assertInteger('contextWindow', resolved.contextWindow, 2, 100_000);
    assertInteger('consensusCalibration', resolved.consensusCalibration, 10, 1_000_000);
    this.warnings = Object.freeze(modelMismatchWarnings(pipeline, resolved));
    this.pipeline = pipeline;
    this.symbol = resolved.symbol;
    this.interval = resolved.interval;
    this.options = Object.freeze(resolved);
    this.features = new IncrementalFeatures(pipeline.config.features);
    this.cols = names.length;
    this.contextCapacity = pipeline.contextRows + 1;
    this.context = new Float64Array(this.contextCapacity * this.cols);
    this.returns = new RollingMoments(resolved.contextWindow);
    this.volumes = new RollingMoments(resolved.contextWindow);
    const kind = resolved.thresholds;
    this.thresholds = pipeline.detectors.map((fitted) =>
      kind === 'fitted'
        ? new FixedThreshold(fitted.detector.threshold!.value)
        : calibratedSpot(fitted, kind, resolved.spot),
    );
    this.consensusThreshold =
      kind === 'fitted' || !resolved.adaptiveConsensus
        ? new FixedThreshold(pipeline.consensusThreshold.value)
        : new ConsensusThreshold(
            pipeline.consensusThreshold,
            kind,
            resolved.consensusCalibration,
            resolved.spot,
          );
  }

  /**
   * Closed candles needed before the first `score` (pass them to `warmUp`): the features' warm-up
   * plus the attention window's earlier rows, or the context window plus one, whichever is more.
   */
  get historyNeeded(): number {
    return Math.max(this.features.warmupRows + this.pipeline.contextRows, this.options.contextWindow + 1);
  }

  /** Open time of the last candle taken (warm-up or scored); undefined before any. */
  get lastOpenTime(): number | undefined {
    return this.features.last?.openTime;
  }

  /**
   * Takes closed candles (oldest first, after any taken before) into the rolling state without
   * scoring them. Give it `historyNeeded` candles: with fewer, `score` refuses until the features
   * are warm, and the first attention windows are padded as the batch pads a short history.
   */
  warmUp(klines: readonly Kline[]): void {
    let previous = this.lastOpenTime;
    for (const kline of klines) {
      this.features.check(kline);
      if (previous !== undefined && !(kline.openTime > previous)) {
        throw new CoreError(
          'INVALID_ARGUMENT',
          `warmUp candles must be in strictly increasing openTime order after the last one taken: ` +
            `${kline.openTime} follows ${previous}.`,
        );
      }
      previous = kline.openTime;
    }
    const rows: Float64Array[] = [];
    for (const kline of klines) {
      const previousClose = this.features.last?.close;
      const row = this.features.push(kline);
      if (previousClose !== undefined) this.returns.push(Math.log(kline.close / previousClose));
      this.volumes.push(kline.volume);
      if (row) rows.push(row);
      if (rows.length > this.contextCapacity) rows.shift();
    }
    if (rows.length > 0) this.pushScaled(this.pipeline.preprocessor.transform(stack(rows)), 0, rows.length);
  }

  /** Scores one closed candle (after the last one taken). */
  async score(kline: Kline): Promise<CandleScore> {
    return (await scoreMany([{ scorer: this, kline }]))[0]!;
  }

  /** One alert per flagged detector (the consensus included), in the order of `score.detectors`. */
  alertsOf(score: CandleScore): Alert[] {
    return alertsOf(score);
  }

  /** Checks `kline` as the next candle, counting `pending` candles queued before it in a burst. */
  private assertNext(kline: Kline, previousOpenTime: number | undefined, pending: number): void {
    this.features.check(kline);
    if (previousOpenTime !== undefined && !(kline.openTime > previousOpenTime)) {
      throw new CoreError(
        'INVALID_ARGUMENT',
        `${this.symbol}: candles must be scored in openTime order, once each: ${kline.openTime} ` +
          `follows ${previousOpenTime}.`,
      );
    }
    if (this.features.candles + pending < this.features.warmupRows) {
      throw new CoreError(
        'TOO_FEW_ROWS',
        `${this.symbol}: the scorer has taken ${this.features.candles + pending} candles; its features need ` +
          `${this.features.warmupRows} before the first score (${this.historyNeeded} for scores equal to ` +
          'the batch). Call warmUp with the candles before this one.',
      );
    }
  }

  /** Updates the rolling state with `kline` and returns its feature row and context. */
  private prepare(kline: Kline): Prepared {
    const previousClose = this.features.last!.close;
    const row = this.features.push(kline)!;
    const logReturn = Math.log(kline.close / previousClose);
    // Against the previous `contextWindow` candles: read them, then add this one.
    const spread = this.returns.std();
    const returnVolatilityMultiple = spread > 0 ? Math.abs(logReturn) / spread : 0;
    const median = medianOf(this.volumes.values());
    const volumeMedianMultiple = median > 0 ? kline.volume / median : 0;
    this.returns.push(logReturn);
    this.volumes.push(kline.volume);
    return { scorer: this, kline, row, logReturn, returnVolatilityMultiple, volumeMedianMultiple };
  }

  /** Appends rows `from`..`to` of `scaled` to the context ring. */
  private pushScaled(scaled: Matrix, from: number, to: number): void {
    for (let r = from; r < to; r++) {
      this.context.set(
        scaled.data.subarray(r * this.cols, (r + 1) * this.cols),
        this.contextNext * this.cols,
      );
      this.contextNext = (this.contextNext + 1) % this.contextCapacity;
      this.contextFilled = Math.min(this.contextFilled + 1, this.contextCapacity);
    }
  }

  /**
   * Writes the window of the last `size` scaled rows (oldest first) into `out` at row `at`; when
   * fewer are held, the oldest one is repeated in front, as the batch pads a series' first rows.
   */
  private windowInto(out: Float64Array, at: number, size: number): void {
    const held = this.contextFilled;
    for (let i = 0; i < size; i++) {
      const back = Math.max(size - 1 - i, 0);
      const age = Math.min(back, held - 1);
      const slot = (this.contextNext - 1 - age + 2 * this.contextCapacity) % this.contextCapacity;
      out.set(this.context.subarray(slot * this.cols, (slot + 1) * this.cols), (at + i) * this.cols);
    }
  }

  /** @internal Scores a round of candles, each scorer once, all sharing this scorer's pipeline. */
  static async scoreRound(prepared: readonly Prepared[]): Promise<CandleScore[]> {
    const pipeline = prepared[0]!.scorer.pipeline;
    const scaled = pipeline.preprocessor.transform(stack(prepared.map((p) => p.row)));
    prepared.forEach((p, i) => {
      p.scorer.pushScaled(scaled, i, i + 1);
    });
    const scored: DetectorScores[] = [];
    for (const { detector } of pipeline.detectors) {
      const threshold = detector.threshold!;
      const size = detector.contextRows + 1;
      let result: { scores: Float64Array; contributions: Matrix };
      if (size === 1) {
        result = await scoreWithDetector(detector, scaled);
      } else {
        const windows = createMatrix(prepared.length * size, scaled.cols);
        prepared.forEach((p, i) => {
          p.scorer.windowInto(windows.data, i * size, size);
        });
        if (detector instanceof AttentionAutoencoder) {
          result = await detector.scoreWindows(windows);
        } else {
          result = await lastRowOfEachWindow(detector, windows, size);
        }
      }
      scored.push({
        name: detector.name,
        scores: result.scores,
        threshold,
        flags: Uint8Array.from(result.scores, (s) => (s > threshold.value ? 1 : 0)),
        contributions: result.contributions,
      });
    }
    const consensus = consensusOf(pipeline.detectors, scored, pipeline.consensusThreshold);
    const names = pipeline.featureNames;
    return prepared.map((p, i) => {
      const detectors: StreamDetectorScore[] = scored.map((d, k) =>
        verdict(d.name, d.scores[i]!, p.scorer.thresholds[k]!),
      );
      detectors.push(verdict('consensus', consensus.scores[i]!, p.scorer.consensusThreshold));
      return {
        symbol: p.scorer.symbol,
        interval: p.scorer.interval,
        openTime: p.kline.openTime,
        close: p.kline.close,
        logReturn: p.logReturn,
        returnVolatilityMultiple: p.returnVolatilityMultiple,
        volume: p.kline.volume,
        volumeMedianMultiple: p.volumeMedianMultiple,
        detectors,
        topFeatures: topContributors(consensus.contributions, i, names, pipeline.config.topFeatures),
      };
    });
  }

  /** @internal Checks a burst and splits it into rounds (each scorer at most once per round). */
  static plan(items: readonly { scorer: StreamScorer; kline: Kline }[]): number[][] {
    const last = new Map<StreamScorer, { openTime: number | undefined; pending: number }>();
    const rounds: number[][] = [];
    items.forEach(({ scorer, kline }, index) => {
      if (!(scorer instanceof StreamScorer)) {
        throw new CoreError('INVALID_ARGUMENT', `items[${index}].scorer must be a StreamScorer.`);
      }
      const state = last.get(scorer) ?? { openTime: scorer.lastOpenTime, pending: 0 };
      scorer.assertNext(kline, state.openTime, state.pending);
      (rounds[state.pending] ??= []).push(index);
      last.set(scorer, { openTime: kline.openTime, pending: state.pending + 1 });
    });
    return rounds;
  }

  /** @internal */
  static prepare(scorer: StreamScorer, kline: Kline): Prepared {
    return scorer.prepare(kline);
  }
}

/** The threshold in force decides; then the score updates it. */
function verdict(
  name: StreamDetectorScore['name'],
  score: number,
  state: StreamThreshold,
): StreamDetectorScore {
  const threshold = state.threshold;
  const kind = state.kind;
  state.update(score);
  return { name, score, threshold, thresholdKind: kind, flagged: score > threshold };
}

/** A detector with context rows that is not the attention autoencoder: each window scored alone. */
async function lastRowOfEachWindow(
  detector: FittedDetector['detector'],
  windows: Matrix,
  size: number,
): Promise<{ scores: Float64Array; contributions: Matrix }> {
  const count = windows.rows / size;
  const scores = new Float64Array(count);
  const contributions = createMatrix(count, windows.cols);
  for (let i = 0; i < count; i++) {
    const window = {
      data: windows.data.subarray(i * size * windows.cols, (i + 1) * size * windows.cols),
      rows: size,
      cols: windows.cols,
    };
    const result = await scoreWithDetector(detector, window);
    scores[i] = result.scores[size - 1]!;
    contributions.data.set(
      result.contributions.data.subarray((size - 1) * windows.cols, size * windows.cols),
      i * windows.cols,
    );
  }
  return { scores, contributions };
}

/**
 * Scores a burst of closed candles across symbols: per round (each scorer once; a scorer given
 * several candles gets them in order, one per round) and per model, every detector scores all the
 * symbols' rows in one call (the attention autoencoder a matrix of independent windows, one per
 * symbol). Results are in the order of `items`, equal to scoring each candle alone. Every item is
 * checked first: a bad candle throws before any scorer has changed.
 */
export async function scoreMany(
  items: readonly { scorer: StreamScorer; kline: Kline }[],
): Promise<CandleScore[]> {
  const rounds = StreamScorer.plan(items);
  const results: CandleScore[] = new Array(items.length);
  for (const round of rounds) {
    const byModel = new Map<TrainedPipeline, number[]>();
    for (const index of round) {
      const pipeline = items[index]!.scorer.pipeline;
      const group = byModel.get(pipeline);
      if (group) group.push(index);
      else byModel.set(pipeline, [index]);
    }
    for (const indices of byModel.values()) {
      const prepared = indices.map((index) =>
        StreamScorer.prepare(items[index]!.scorer, items[index]!.kline),
      );
      const scores = await StreamScorer.scoreRound(prepared);
      indices.forEach((index, i) => {
        results[index] = scores[i]!;
      });
    }
  }
  return results;
}

/** One alert per flagged detector (the consensus included). */
export function alertsOf(score: CandleScore): Alert[] {
  const time = new Date(score.openTime).toISOString();
  const reason = reasonOf(score);
  return score.detectors
    .filter((d) => d.flagged)
    .map((d) => ({
      id: `${score.symbol}:${score.interval}:${score.openTime}:${d.name}`,
      symbol: score.symbol,
      interval: score.interval,
      openTime: score.openTime,
      time,
      close: score.close,
      logReturn: score.logReturn,
      returnVolatilityMultiple: score.returnVolatilityMultiple,
      volume: score.volume,
      volumeMedianMultiple: score.volumeMedianMultiple,
      detector: d.name,
      thresholdKind: d.thresholdKind,
      scores: score.detectors.map((s) => ({ ...s })),
      topFeatures: score.topFeatures.map((f) => ({ ...f })),
      reason,
    }));
}

/** e.g. "return -4.1% = 5.2x recent volatility; volume 3.4x median; top: log_return, range". */
function reasonOf(score: CandleScore): string {
  const change = Math.expm1(score.logReturn) * 100;
  const sign = change > 0 ? '+' : '';
  const parts = [
    `return ${sign}${change.toFixed(1)}% = ${score.returnVolatilityMultiple.toFixed(1)}x recent volatility`,
    `volume ${score.volumeMedianMultiple.toFixed(1)}x median`,
  ];
  if (score.topFeatures.length > 0) parts.push(`top: ${score.topFeatures.map((f) => f.feature).join(', ')}`);
  return parts.join('; ');
}

function stack(rows: readonly Float64Array[]): Matrix {
  const cols = rows[0]!.length;
  const out = createMatrix(rows.length, cols);
  rows.forEach((row, r) => {
    out.data.set(row, r * cols);
  });
  return out;
}

function medianOf(values: Float64Array): number {
  if (values.length === 0) return Number.NaN;
  const sorted = values.sort();
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}
