import { winsorize, winsorizeBounds } from '@crypto-anomaly/kernels';
import type {
  FeatureName,
  FeatureSetName,
  Matrix,
  PreprocessOptions,
  ScalerKind,
  SplitName,
  SplitOptions,
  SplitRanges,
} from './api.js';
import { CoreError } from './errors.js';
import { column, createMatrix } from './matrix.js';
import { quantileOf } from './thresholds.js';
import {
  assertKnownKeys,
  assertMatrix,
  assertOneOf,
  assertOpenInterval,
  describeValue,
  withDefaults,
} from './validate.js';

export const DEFAULT_SPLIT: Readonly<SplitOptions> = Object.freeze({ train: 0.7, validation: 0.15 });

/**
 * The log-transformed features of each feature set: the non-negative, right-skewed ones (the
 * relative levels are ratios around 1 with a long right tail).
 */
export const DEFAULT_LOG_FEATURES: Readonly<Record<FeatureSetName, readonly FeatureName[]>> = Object.freeze({
  classic: Object.freeze([
    'volatility',
    'range',
    'upper_shadow',
    'lower_shadow',
    'trades_per_volume',
  ] as const),
  relative: Object.freeze([
    'relative_volatility',
    'relative_range',
    'relative_upper_shadow',
    'relative_lower_shadow',
    'relative_volume',
  ] as const),
});

/** Defaults; `logFeatures` is the default feature set's (`resolvePipelineConfig` picks the configured set's). */
export const DEFAULT_PREPROCESS_OPTIONS: Readonly<PreprocessOptions> = Object.freeze({
  scaler: 'standard',
  winsorize: Object.freeze({ lower: 0.001, upper: 0.999 }),
  logFeatures: DEFAULT_LOG_FEATURES.relative as FeatureName[],
});

/**
 * The default log-transformed features for a table's columns: those of every feature set that
 * the columns include (so a classic table gets the classic ones, a relative table the relative).
 */
export function defaultLogFeaturesFor(names: readonly string[]): FeatureName[] {
  const all = new Set(Object.values(DEFAULT_LOG_FEATURES).flat());
  return names.filter((name): name is FeatureName => all.has(name as FeatureName));
}

/** Fewest training rows a split may leave (forest subsamples, autoencoder batches, thresholds). */
export const MIN_TRAIN_ROWS = 64;

/** Validates split fractions where they enter. */
export function resolveSplit(split: Partial<SplitOptions> = {}): SplitOptions {
  const resolved = withDefaults('split', DEFAULT_SPLIT, split);
  assertOpenInterval('split.train', resolved.train, 0, 1);
  if (
    typeof resolved.validation !== 'number' ||
    !(resolved.validation > 0 && resolved.train + resolved.validation <= 1)
  ) {
    throw new CoreError(
      'INVALID_ARGUMENT',
      `split.validation must be > 0 and leave split.train + split.validation <= 1, got ` +
        `train ${describeValue(resolved.train)}, validation ${describeValue(resolved.validation)}.`,
    );
  }
  return resolved;
}

/**
 * Chronological split of `rows` rows: the oldest `train` fraction, then `validation`, then the
 * rest as test. Never shuffled: a model must not learn from the future it is then tested on.
 */
export function chronologicalSplit(rows: number, split: Partial<SplitOptions> = {}): SplitRanges {
  if (typeof rows !== 'number' || !Number.isSafeInteger(rows) || rows < 0) {
    const given =
      rows !== null && typeof rows === 'object' && typeof (rows as { rows?: unknown }).rows === 'number'
        ? `an object of ${(rows as { rows: number }).rows} rows (a Matrix?): pass its rows, chronologicalSplit(matrix.rows)`
        : describeValue(rows);
    throw new CoreError(
      'INVALID_ARGUMENT',
      `chronologicalSplit takes the number of rows to split, an integer >= 0; got ${given}.`,
    );
  }
  const { train, validation } = resolveSplit(split);
  const trainEnd = Math.floor(rows * train);
  const validationEnd = Math.min(rows, Math.floor(rows * (train + validation)));
  if (trainEnd < MIN_TRAIN_ROWS || validationEnd - trainEnd < 1) {
    throw new CoreError(
      'TOO_FEW_ROWS',
      `A ${train}/${validation} split of ${rows} rows leaves ${trainEnd} training and ` +
        `${validationEnd - trainEnd} validation rows; at least ${MIN_TRAIN_ROWS} training rows and one ` +
        'validation row are needed. Load a longer history or raise split.train.',
    );
  }
  return {
    train: { start: 0, end: trainEnd },
    validation: { start: trainEnd, end: validationEnd },
    test: { start: validationEnd, end: rows },
  };
}

/** The split each row falls in. */
export function splitLabels(ranges: SplitRanges, rows: number): SplitName[] {
  return Array.from({ length: rows }, (_, i) =>
    i < ranges.train.end ? 'train' : i < ranges.validation.end ? 'validation' : 'test',
  );
}

/** The fitted state of a `Preprocessor`, as saved with a model. */
export interface PreprocessorJSON {
  kind: 'preprocessor';
  formatVersion: 1;
  names: string[];
  scaler: ScalerKind;
  winsorize: { lower: number; upper: number } | false;
  /** c of ln(x + c) per feature; null for features not log-transformed. */
  logOffsets: (number | null)[];
  /** Winsorization bounds per feature (after the log transform); null when not clipping. */
  bounds: { lower: number[]; upper: number[] } | null;
  center: number[];
  scale: number[];
}

/** The column names a preprocessor is fitted or built with: one string per column. */
function assertNames(names: unknown): asserts names is readonly string[] {
  if (!Array.isArray(names) || !names.every((name) => typeof name === 'string')) {
    throw new CoreError(
      'INVALID_ARGUMENT',
      `names must list the matrix's column names, one string per column (a FeatureTable's names), got ${describeValue(names)}.`,
    );
  }
}

function resolvePreprocessOptions(
  options: Partial<PreprocessOptions>,
  names: readonly string[],
): PreprocessOptions {
  const resolved = withDefaults(
    'preprocess options',
    { ...DEFAULT_PREPROCESS_OPTIONS, logFeatures: defaultLogFeaturesFor(names) },
    options,
  );
  assertOneOf('preprocess.scaler', resolved.scaler, ['standard', 'robust'] as const);
  if (resolved.winsorize !== false) {
    assertKnownKeys('preprocess.winsorize', resolved.winsorize, ['lower', 'upper']);
    const { lower, upper } = resolved.winsorize;
    if (!(lower >= 0 && upper <= 1 && lower < upper)) {
      throw new CoreError(
        'INVALID_ARGUMENT',
        `preprocess.winsorize must be { lower, upper } with 0 <= lower < upper <= 1, or false; got ` +
          `${describeValue(resolved.winsorize)}.`,
      );
    }
  }
  return resolved;
}

/**
 * Log transform, winsorization and scaling, fitted on the training rows only and then applied to
 * every row, so nothing about validation or test rows leaks into the model. JSON-serialisable:
 * the fitted state is saved with the model and restored by `Preprocessor.fromJSON`.
 */
export class Preprocessor {
  private constructor(private readonly state: PreprocessorJSON) {}

  /** Fits on the training rows. Throws `CONSTANT_FEATURE` for a feature with no spread. */
  static fit(
    train: Matrix,
    names: readonly string[],
    options: Partial<PreprocessOptions> = {},
  ): Preprocessor {
    assertNames(names);
    const resolved = resolvePreprocessOptions(options, names);
    assertMatrix('train', train);
    if (names.length !== train.cols) {
      throw new CoreError(
        'INVALID_ARGUMENT',
        `names has ${names.length} entries but the training matrix has ${train.cols} columns.`,
      );
    }
    if (train.rows < 2) {
      throw new CoreError(
        'TOO_FEW_ROWS',
        `The preprocessor needs at least 2 training rows, got ${train.rows}.`,
      );
    }
    for (const name of resolved.logFeatures) {
      if (!names.includes(name)) {
        throw new CoreError(
          'INVALID_ARGUMENT',
          `preprocess.logFeatures names "${name}", which is not a feature (${names.join(', ')}).`,
        );
      }
    }
    const logOffsets = names.map((name, col) =>
      resolved.logFeatures.includes(name as FeatureName) ? logOffsetOf(name, column(train, col)) : null,
    );
    const partial: PreprocessorJSON = {
      kind: 'preprocessor',
      formatVersion: 1,
      names: [...names],
      scaler: resolved.scaler,
      winsorize: resolved.winsorize === false ? false : { ...resolved.winsorize },
      logOffsets,
      bounds: null,
      center: [],
      scale: [],
    };
    let transformed = applyLog(train, logOffsets);
    if (resolved.winsorize !== false) {
      const bounds = winsorizeBounds(transformed, resolved.winsorize);
      partial.bounds = { lower: Array.from(bounds.lower), upper: Array.from(bounds.upper) };
      transformed = winsorize(transformed, bounds);
    }
    const center: number[] = [];
    const scale: number[] = [];
    const constant: string[] = [];
    for (let col = 0; col < train.cols; col++) {
      const values = column(transformed, col);
      const { location, spread } =
        resolved.scaler === 'robust' ? robustStatistics(values) : standardStatistics(values);
      center.push(location);
      scale.push(spread);
      if (!(spread > 0)) constant.push(`${names[col]} (always ${formatValue(column(train, col)[0]!)})`);
    }
    if (constant.length > 0) {
      throw new CoreError(
        'CONSTANT_FEATURE',
        `These features do not vary over the training rows, so they cannot be scaled: ${constant.join(', ')}. ` +
          'The source may not provide the fields they are computed from (for example taker-buy volume), ' +
          'or the training history is too short or flat: load a longer or different history.',
      );
    }
    partial.center = center;
    partial.scale = scale;
    return new Preprocessor(partial);
  }

  /**
   * Standard scaling by given per-column statistics, without log transform or clipping: for
   * tables too large to fit on in memory, whose mean and deviation were gathered while streaming
   * them. Every `scale` must be a positive finite number (give 1 for a constant column).
   */
  static standard(
    names: readonly string[],
    center: ArrayLike<number>,
    scale: ArrayLike<number>,
  ): Preprocessor {
    assertNames(names);
    if (center.length !== names.length || scale.length !== names.length) {
      throw new CoreError(
        'INVALID_ARGUMENT',
        `names, center and scale must have one entry per column, got ${names.length}, ${center.length} and ${scale.length}.`,
      );
    }
    for (let col = 0; col < names.length; col++) {
      if (!Number.isFinite(center[col]!) || !(scale[col]! > 0 && Number.isFinite(scale[col]!))) {
        throw new CoreError(
          'INVALID_ARGUMENT',
          `Column "${names[col]}" has center ${describeValue(center[col])} and scale ` +
            `${describeValue(scale[col])}; the center must be finite and the scale positive and finite.`,
        );
      }
    }
    return new Preprocessor({
      kind: 'preprocessor',
      formatVersion: 1,
      names: [...names],
      scaler: 'standard',
      winsorize: false,
      logOffsets: names.map(() => null),
      bounds: null,
      center: Array.from(center),
      scale: Array.from(scale),
    });
  }

  static fromJSON(json: unknown): Preprocessor {
    const state = json as PreprocessorJSON;
    if (state?.kind !== 'preprocessor' || state.formatVersion !== 1) {
      throw new CoreError(
        'MODEL_MISMATCH',
        `Not a saved preprocessor of format 1 (got kind ${describeValue(state?.kind)}, format ` +
          `${describeValue(state?.formatVersion)}): retrain the model with this version.`,
      );
    }
    const cols = state.names.length;
    if (state.center.length !== cols || state.scale.length !== cols || state.logOffsets.length !== cols) {
      throw new CoreError(
        'MODEL_MISMATCH',
        'The saved preprocessor is inconsistent (lengths differ): retrain.',
      );
    }
    return new Preprocessor(structuredClone(state));
  }

  get names(): readonly string[] {
    return this.state.names;
  }

  /** Log transform, clip to the training bounds, scale: every row, with the training fit. */
  transform(X: Matrix): Matrix {
    assertMatrix('X', X, this.state.names.length);
    let out = applyLog(X, this.state.logOffsets);
    if (this.state.bounds) {
      out = winsorize(out, {
        lower: Float64Array.from(this.state.bounds.lower),
        upper: Float64Array.from(this.state.bounds.upper),
      });
    }
    const { center, scale } = this.state;
    const cols = X.cols;
    const data = out === X ? new Float64Array(out.data) : out.data;
    for (let i = 0; i < data.length; i++) {
      const col = i % cols;
      data[i] = (data[i]! - center[col]!) / scale[col]!;
    }
    return { data, rows: X.rows, cols };
  }

  toJSON(): PreprocessorJSON {
    return structuredClone(this.state);
  }
}

/**
 * The c of ln(x + c): a tenth of the training median, so that a feature's typical values are
 * spread out while zero (a flat candle, no shadow) stays finite and clearly low.
 */
function logOffsetOf(name: string, values: Float64Array): number {
  let positives = 0;
  let positiveSum = 0;
  for (const v of values) {
    if (v < 0) {
      throw new CoreError(
        'INVALID_ARGUMENT',
        `preprocess.logFeatures includes "${name}", which has negative values (${v}): only non-negative ` +
          'features can be log-transformed.',
      );
    }
    if (v > 0) {
      positives++;
      positiveSum += v;
    }
  }
  if (positives === 0) {
    throw new CoreError(
      'CONSTANT_FEATURE',
      `Feature "${name}" is 0 on every training row, so it cannot be log-transformed or scaled. ` +
        'The source may not provide the fields it is computed from; load a longer or different history.',
    );
  }
  const median = quantileOf(values, 0.5);
  return 0.1 * (median > 0 ? median : positiveSum / positives);
}

function applyLog(X: Matrix, offsets: readonly (number | null)[]): Matrix {
  if (offsets.every((offset) => offset === null)) return X;
  const out = createMatrix(X.rows, X.cols);
  for (let i = 0; i < X.data.length; i++) {
    const offset = offsets[i % X.cols];
    // Clamped at 0: a value below the training range cannot make the log undefined.
    out.data[i] = offset == null ? X.data[i]! : Math.log(Math.max(X.data[i]!, 0) + offset);
  }
  return out;
}

function standardStatistics(values: Float64Array): { location: number; spread: number } {
  let mean = 0;
  for (const v of values) mean += v;
  mean /= values.length;
  let variance = 0;
  for (const v of values) variance += (v - mean) ** 2;
  return { location: mean, spread: Math.sqrt(variance / (values.length - 1)) };
}

/** Median and IQR / 1.349 (the standard deviation of a normal with that IQR); std if the IQR is 0. */
function robustStatistics(values: Float64Array): { location: number; spread: number } {
  const iqr = quantileOf(values, 0.75) - quantileOf(values, 0.25);
  const spread = iqr > 0 ? iqr / 1.349 : standardStatistics(values).spread;
  return { location: quantileOf(values, 0.5), spread };
}

function formatValue(value: number): string {
  return String(Number(value.toPrecision(6)));
}
