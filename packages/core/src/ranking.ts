/**
 * Ranks, consensus and agreement between detectors. Scores of different detectors live on
 * different scales (path lengths, squared errors), so they are compared through their ranks.
 */

/**
 * Average ranks (1-based, ties share their mean rank) of the finite values; NaN stays NaN.
 */
export function averageRanks(values: ArrayLike<number>): Float64Array {
  const n = values.length;
  const ranks = new Float64Array(n).fill(Number.NaN);
  const order: number[] = [];
  for (let i = 0; i < n; i++) if (Number.isFinite(values[i]!)) order.push(i);
  order.sort((a, b) => values[a]! - values[b]!);
  for (let start = 0; start < order.length; ) {
    let end = start + 1;
    while (end < order.length && values[order[end]!] === values[order[start]!]) end++;
    const rank = (start + 1 + end) / 2;
    for (let k = start; k < end; k++) ranks[order[k]!] = rank;
    start = end;
  }
  return ranks;
}

/** Ranks scaled to [0, 1] (lowest score 0, highest 1); NaN stays NaN. */
export function rankNormalize(values: ArrayLike<number>): Float64Array {
  const ranks = averageRanks(values);
  let finite = 0;
  for (const rank of ranks) if (!Number.isNaN(rank)) finite++;
  return ranks.map((rank) => (finite > 1 ? (rank - 1) / (finite - 1) : Number.isNaN(rank) ? rank : 0.5));
}

/** Pearson correlation of the finite pairs. */
export function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let n = 0;
  let sumA = 0;
  let sumB = 0;
  for (let i = 0; i < a.length; i++) {
    if (Number.isFinite(a[i]!) && Number.isFinite(b[i]!)) {
      n++;
      sumA += a[i]!;
      sumB += b[i]!;
    }
  }
  if (n < 2) return Number.NaN;
  const meanA = sumA / n;
  const meanB = sumB / n;
  let cov = 0;
  let varA = 0;
  let varB = 0;
  for (let i = 0; i < a.length; i++) {
    if (Number.isFinite(a[i]!) && Number.isFinite(b[i]!)) {
      const da = a[i]! - meanA;
      const db = b[i]! - meanB;
      cov += da * db;
      varA += da * da;
      varB += db * db;
    }
  }
  return varA > 0 && varB > 0 ? cov / Math.sqrt(varA * varB) : Number.NaN;
}

/** Spearman's rank correlation over the rows both detectors scored. */
export function spearman(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const both: number[] = [];
  for (let i = 0; i < a.length; i++) if (Number.isFinite(a[i]!) && Number.isFinite(b[i]!)) both.push(i);
  return pearson(averageRanks(both.map((i) => a[i]!)), averageRanks(both.map((i) => b[i]!)));
}

/** Jaccard index |A ∩ B| / |A ∪ B| of two flag vectors (1 = flagged); 1 when both flag nothing. */
export function jaccard(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let union = 0;
  let intersection = 0;
  for (let i = 0; i < a.length; i++) {
    const inA = a[i] === 1;
    const inB = b[i] === 1;
    if (inA || inB) union++;
    if (inA && inB) intersection++;
  }
  return union === 0 ? 1 : intersection / union;
}

/**
 * A detector's training-score distribution, kept as evenly spaced quantiles so new rows can be
 * rank-normalised against it without the training rows (saved with the model).
 */
export interface ScoreDistribution {
  /** Quantiles at probabilities 0, 1/K, ..., 1 of the finite training scores. */
  quantiles: number[];
}

export function scoreDistribution(trainingScores: ArrayLike<number>, points = 1001): ScoreDistribution {
  const sorted = Float64Array.from(
    Array.prototype.filter.call(trainingScores, (v: number) => Number.isFinite(v)) as number[],
  ).sort();
  if (sorted.length === 0) return { quantiles: [] };
  const quantiles: number[] = [];
  for (let k = 0; k < points; k++) {
    const position = (k / (points - 1)) * (sorted.length - 1);
    const below = Math.floor(position);
    const above = Math.min(below + 1, sorted.length - 1);
    quantiles.push(sorted[below]! + (sorted[above]! - sorted[below]!) * (position - below));
  }
  return { quantiles };
}

/**
 * The fraction of training scores below `score` (0 to 1, interpolated between quantiles): a rank
 * normalisation against the training rows, so it means the same for rows scored later.
 */
export function percentileOf(distribution: ScoreDistribution, score: number): number {
  const q = distribution.quantiles;
  if (!Number.isFinite(score) || q.length === 0) return Number.NaN;
  if (score <= q[0]!) return 0;
  if (score >= q[q.length - 1]!) return 1;
  // Largest k with q[k] < score (binary search), then linear interpolation, ties at their middle.
  let low = 0;
  let high = q.length - 1;
  while (high - low > 1) {
    const middle = (low + high) >> 1;
    if (q[middle]! < score) low = middle;
    else high = middle;
  }
  let upper = high;
  while (upper + 1 < q.length && q[upper + 1] === score) upper++;
  const steps = q.length - 1;
  if (q[high] === score) return (high + upper) / 2 / steps;
  return (low + (score - q[low]!) / (q[high]! - q[low]!)) / steps;
}

/**
 * The consensus score of each row: the mean of the detectors' rank-normalised scores (percentiles
 * among their own training scores), over the detectors that scored the row (the attention
 * autoencoder cannot score the first window - 1 rows).
 */
export function consensusScores(
  detectors: readonly { scores: ArrayLike<number>; distribution: ScoreDistribution }[],
): Float64Array {
  const n = detectors[0]?.scores.length ?? 0;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let sum = 0;
    let count = 0;
    for (const { scores, distribution } of detectors) {
      const p = percentileOf(distribution, scores[i]!);
      if (!Number.isNaN(p)) {
        sum += p;
        count++;
      }
    }
    out[i] = count > 0 ? sum / count : Number.NaN;
  }
  return out;
}
