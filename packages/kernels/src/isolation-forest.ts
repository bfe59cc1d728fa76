import { availableParallelism } from 'node:os';
import type { FitOptions, IsolationForestOptions, Matrix } from './api.js';
import { KernelError } from './errors.js';
import { buildForest, pathLengthSums } from './forest-kernels.js';
import { averagePathLengths, depthFor, type ForestArrays } from './reference/isolation-forest.js';
import {
  decodeForestArrays,
  type FittedForest,
  forestBytesToJSON,
  forestToBytes,
  forestToJSON,
  type IsolationForestJSON,
  readForestJSON,
} from './saved-forest.js';
import { assertFinite, assertInteger, assertKnownKeys, describe, keysOf, toMatrix } from './validate.js';
import { quantile } from './winsorize.js';

const DEFAULTS: Readonly<IsolationForestOptions> = Object.freeze({
  nEstimators: 100,
  maxSamples: 'auto',
  contamination: 'auto',
  extensionLevel: 0,
  seed: 0,
  threads: availableParallelism(),
});

const OPTION_KEYS = Object.keys(DEFAULTS);
const FIT_KEYS = keysOf<FitOptions & { shape?: [number, number] }>({ onProgress: true, shape: true });

function validateOptions(options: Partial<IsolationForestOptions>): IsolationForestOptions {
  if (options == null || typeof options !== 'object') {
    throw new KernelError(
      'INVALID_ARGUMENT',
      `IsolationForest options must be an object; got ${describe(options)}.`,
    );
  }
  assertKnownKeys('IsolationForest options', options, OPTION_KEYS);
  // An option given as undefined takes its default, as one left out does.
  const given = Object.entries(options).filter(([, value]) => value !== undefined);
  const o: IsolationForestOptions = { ...DEFAULTS, ...Object.fromEntries(given) };
  assertInteger('nEstimators', o.nEstimators, 1, 1_000_000);
  if (o.maxSamples !== 'auto') assertInteger('maxSamples', o.maxSamples, 2, 2 ** 24);
  if (
    o.contamination !== 'auto' &&
    !(typeof o.contamination === 'number' && o.contamination > 0 && o.contamination <= 0.5)
  ) {
    throw new KernelError(
      'INVALID_ARGUMENT',
      `contamination must be 'auto' or a number in (0, 0.5]; got ${describe(o.contamination)}.`,
    );
  }
  assertInteger('extensionLevel', o.extensionLevel, 0);
  assertInteger('seed', o.seed, 0);
  assertInteger('threads', o.threads, 1, 1024);
  return o;
}

/**
 * Isolation Forest (Liu, Ting & Zhou 2008), and the Extended Isolation Forest (Hariri et al. 2019)
 * with `extensionLevel` > 0. Scores follow PyOD's sign: higher means more anomalous.
 */
export class IsolationForest {
  readonly options: Readonly<IsolationForestOptions>;
  private fitted: FittedForest | undefined;

  constructor(options: Partial<IsolationForestOptions> = {}) {
    this.options = Object.freeze(validateOptions(options));
  }

  /** Features the forest was fitted on (0 before fit). */
  get nFeatures(): number {
    return this.fitted?.nFeatures ?? 0;
  }

  /** Scores above this are anomalies: 0.5 for contamination 'auto', else the (1 - c) quantile of training scores. */
  get threshold(): number {
    return this.requireFitted('threshold').threshold;
  }

  get isFitted(): boolean {
    return this.fitted !== undefined;
  }

  /** The fitted arrays (read-only use: tests, twins, serialisation). */
  get forest(): Readonly<ForestArrays> {
    return this.requireFitted('forest');
  }

  /** Builds the trees. X: number[][], a Matrix, or a row-major Float64Array with `shape`. */
  fit(X: Matrix | number[][] | Float64Array, options: FitOptions & { shape?: [number, number] } = {}): this {
    assertKnownKeys('fit options', options, FIT_KEYS);
    const m = toMatrix(X, options.shape);
    assertFinite('X', m);
    const { nEstimators: trees, extensionLevel, seed } = this.options;
    if (m.rows < 2) {
      throw new KernelError('EMPTY_INPUT', `X has ${m.rows} row: an isolation forest needs at least 2 rows.`);
    }
    if (extensionLevel > m.cols - 1) {
      throw new KernelError(
        'INVALID_ARGUMENT',
        `extensionLevel must be in [0, ${m.cols - 1}] for ${m.cols} features; got ${extensionLevel}.`,
      );
    }
    const psi =
      this.options.maxSamples === 'auto' ? Math.min(256, m.rows) : Math.min(this.options.maxSamples, m.rows);
    const depth = depthFor(psi);
    const terms = extensionLevel === 0 ? 0 : extensionLevel + 1;
    const forest = buildForest(
      m,
      { trees, psi, depth, terms, seed, threads: this.options.threads },
      options.onProgress,
    );
    const candidate: FittedForest = { ...forest, nFeatures: m.cols, psi, threshold: 0.5 };
    if (this.options.contamination !== 'auto') {
      const scores = this.scoresOf(candidate, m);
      candidate.threshold = quantile(scores, 1 - this.options.contamination);
    }
    this.fitted = candidate;
    return this;
  }

  /**
   * Anomaly score s = 2^(-E[h(x)] / c(psi)) in (0, 1] per row: higher = more anomalous. PyOD's
   * decision_function (the raw score, the meaning `decisionFunction` has in every package here);
   * scikit-learn's score_samples is its negative.
   */
  decisionFunction(X: Matrix | number[][] | Float64Array, shape?: [number, number]): Float64Array {
    const fitted = this.requireFitted('decisionFunction');
    return this.scoresOf(fitted, this.checkScoringInput(fitted, X, shape));
  }

  /** @deprecated The same raw score as `decisionFunction`, under its former name: call `decisionFunction`. */
  scoreSamples(X: Matrix | number[][] | Float64Array, shape?: [number, number]): Float64Array {
    return this.decisionFunction(X, shape);
  }

  /** 1 where the score is above the threshold (anomaly), else 0. */
  predict(X: Matrix | number[][] | Float64Array, shape?: [number, number]): Uint8Array {
    const scores = this.decisionFunction(X, shape);
    const threshold = this.threshold;
    return Uint8Array.from(scores, (s) => (s > threshold ? 1 : 0));
  }

  /** Sum over trees of h(x) for each row (what the kernel computes; scores derive from it). */
  pathLengthSums(X: Matrix | number[][] | Float64Array, shape?: [number, number]): Float64Array {
    const fitted = this.requireFitted('pathLengthSums');
    return this.sumsOf(fitted, this.checkScoringInput(fitted, X, shape));
  }

  toJSON(): IsolationForestJSON {
    return forestToJSON(this.options, this.requireFitted('toJSON'));
  }

  /** Loads a forest saved by toJSON (or its JSON.stringify text); it scores identically. */
  static fromJSON(json: IsolationForestJSON | string, options: { threads?: number } = {}): IsolationForest {
    assertKnownKeys('fromJSON options', options, ['threads']);
    const j = readForestJSON(json);
    let forest: IsolationForest;
    try {
      // Only the options this version reads: a forest saved before unknown keys were refused may
      // carry a misspelt one, which never changed the forest.
      const saved = Object.entries(j.options ?? {}).filter(([key]) => OPTION_KEYS.includes(key));
      forest = new IsolationForest({
        ...Object.fromEntries(saved),
        ...(options.threads ? { threads: options.threads } : {}),
      });
      assertInteger('trees', j.trees, 1);
      assertInteger('depth', j.depth, 1, 24);
      assertInteger('terms', j.terms, 0);
      assertInteger('nFeatures', j.nFeatures, 1);
      assertInteger('psi', j.psi, 2);
    } catch (cause) {
      throw new KernelError('INVALID_MODEL', `Saved forest has a bad field: ${(cause as Error).message}`, {
        cause,
      });
    }
    forest.fitted = decodeForestArrays(j);
    return forest;
  }

  /** Compact binary form: 'CAIF', a little-endian u32 JSON header length, the JSON header, the arrays. */
  toBytes(): Uint8Array {
    const json = this.toJSON();
    return forestToBytes(json, this.requireFitted('toBytes'));
  }

  static fromBytes(bytes: Uint8Array, options: { threads?: number } = {}): IsolationForest {
    assertKnownKeys('fromBytes options', options, ['threads']);
    return IsolationForest.fromJSON(forestBytesToJSON(bytes), options);
  }

  private requireFitted(what: string): FittedForest {
    if (!this.fitted) {
      throw new KernelError(
        'NOT_FITTED',
        `${what} needs a fitted forest: call fit(X) (or IsolationForest.fromJSON) first.`,
      );
    }
    return this.fitted;
  }

  private checkScoringInput(
    fitted: FittedForest,
    X: Matrix | number[][] | Float64Array,
    shape?: [number, number],
  ): Matrix {
    const m = toMatrix(X, shape);
    if (m.cols !== fitted.nFeatures) {
      throw new KernelError(
        'FEATURE_COUNT_MISMATCH',
        `X has ${m.cols} features but the forest was fitted on ${fitted.nFeatures}: score rows with the same columns.`,
      );
    }
    assertFinite('X', m);
    return m;
  }

  private scoresOf(fitted: FittedForest, m: Matrix): Float64Array {
    const sums = this.sumsOf(fitted, m);
    const c = averagePathLengths(fitted.psi)[fitted.psi] as number;
    const scale = 1 / (fitted.trees * c);
    return sums.map((h) => 2 ** -(h * scale));
  }

  private sumsOf(fitted: FittedForest, m: Matrix): Float64Array {
    return pathLengthSums(fitted, m, this.options.threads);
  }
}
