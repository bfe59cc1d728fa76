import { CoreError } from '../errors.js';
import { withDefaults } from '../validate.js';
import {
  DEFAULT_RANGE_METRIC_OPTIONS,
  type LabelRange,
  type PositionalBias,
  type RangeMetricOptions,
} from './api.js';
import { mergeRanges } from './labels.js';

/**
 * Range-based precision and recall of Tatbul, Lee, Zdonik, Alam and Gottschlich, "Precision and
 * Recall for Time Series" (NeurIPS 2018). For each real range R_i:
 *
 *   Recall_T(R_i) = α · Existence(R_i) + (1 − α) · Cardinality(R_i) · Σ_j ω(R_i, R_i ∩ P_j, δ)
 *
 * and for each predicted range P_i (no existence reward: α = 0 for precision):
 *
 *   Precision_T(P_i) = Cardinality(P_i) · Σ_j ω(P_i, P_i ∩ R_j, δ)
 *
 * averaged over the ranges. ω is the bias-weighted share of the range's rows that the overlap
 * covers; Cardinality is 1 when the range meets at most one range of the other side, else γ = 1/x
 * for x ranges met (`reciprocal`) or 1 (`one`). Both sides are merged into disjoint ranges first.
 */

/** δ(i, length) of the paper, i counted from 1. */
export function positionalWeight(i: number, length: number, bias: PositionalBias): number {
  switch (bias) {
    case 'flat':
      return 1;
    case 'front':
      return length - i + 1;
    case 'back':
      return i;
    case 'middle':
      return i <= length / 2 ? i : length - i + 1;
  }
}

const BIASES: readonly PositionalBias[] = ['flat', 'front', 'back', 'middle'];

function resolveOptions(what: string, options: Partial<RangeMetricOptions>): RangeMetricOptions {
  // Precision has no existence reward, but takes alpha too: one set of range options serves both.
  const resolved = withDefaults(what, DEFAULT_RANGE_METRIC_OPTIONS, options);
  if (!(resolved.alpha >= 0 && resolved.alpha <= 1)) {
    throw new CoreError('INVALID_ARGUMENT', `alpha must be in [0, 1], got ${resolved.alpha}.`);
  }
  if (!BIASES.includes(resolved.bias)) {
    throw new CoreError(
      'INVALID_ARGUMENT',
      `bias must be one of ${BIASES.join(', ')}, got ${resolved.bias}.`,
    );
  }
  if (resolved.cardinality !== 'reciprocal' && resolved.cardinality !== 'one') {
    throw new CoreError(
      'INVALID_ARGUMENT',
      `cardinality must be reciprocal or one, got ${String(resolved.cardinality)}.`,
    );
  }
  return resolved;
}

/**
 * Per range of `subject`: the overlap reward against the disjoint, sorted `other` ranges (before
 * the cardinality factor), and how many of them it meets.
 */
function overlaps(
  subject: readonly LabelRange[],
  other: readonly LabelRange[],
  bias: PositionalBias,
): { reward: number; count: number }[] {
  const result: { reward: number; count: number }[] = [];
  let first = 0;
  for (const range of subject) {
    while (first < other.length && other[first]!.endIndex < range.startIndex) first++;
    const length = range.endIndex - range.startIndex + 1;
    let covered = 0;
    let total = 0;
    for (let i = 1; i <= length; i++) total += positionalWeight(i, length, bias);
    let count = 0;
    for (let j = first; j < other.length && other[j]!.startIndex <= range.endIndex; j++) {
      count++;
      const from = Math.max(range.startIndex, other[j]!.startIndex);
      const to = Math.min(range.endIndex, other[j]!.endIndex);
      for (let row = from; row <= to; row++)
        covered += positionalWeight(row - range.startIndex + 1, length, bias);
    }
    result.push({ reward: covered / total, count });
  }
  return result;
}

function cardinalityFactor(count: number, kind: RangeMetricOptions['cardinality']): number {
  return count <= 1 || kind === 'one' ? 1 : 1 / count;
}

/** Range-based recall over the real (labelled) ranges; NaN without any real range. */
export function rangeRecall(
  real: readonly LabelRange[],
  predicted: readonly LabelRange[],
  options: Partial<RangeMetricOptions> = {},
): number {
  const { alpha, bias, cardinality } = resolveOptions('rangeRecall options', options);
  const realRanges = mergeRanges(real);
  if (realRanges.length === 0) return Number.NaN;
  let sum = 0;
  for (const { reward, count } of overlaps(realRanges, mergeRanges(predicted), bias)) {
    const existence = count > 0 ? 1 : 0;
    sum += alpha * existence + (1 - alpha) * cardinalityFactor(count, cardinality) * reward;
  }
  return sum / realRanges.length;
}

/** Range-based precision over the predicted (flagged) ranges; NaN without any prediction. */
export function rangePrecision(
  real: readonly LabelRange[],
  predicted: readonly LabelRange[],
  options: Partial<Omit<RangeMetricOptions, 'alpha'>> = {},
): number {
  const { bias, cardinality } = resolveOptions('rangePrecision options', options);
  const predictedRanges = mergeRanges(predicted);
  if (predictedRanges.length === 0) return Number.NaN;
  let sum = 0;
  for (const { reward, count } of overlaps(predictedRanges, mergeRanges(real), bias)) {
    sum += cardinalityFactor(count, cardinality) * reward;
  }
  return sum / predictedRanges.length;
}
