import { averageRanks } from '../ranking.js';

/**
 * Point-wise detection quality against labelled rows: the ranking measures of the raw scores
 * (ROC-AUC, average precision), precision/recall/F1 of the flags, and event recall. Rows with a
 * non-finite score are left out of the ranking measures.
 */

function finitePairs(scores: ArrayLike<number>, labels: ArrayLike<number>): { s: number[]; y: number[] } {
  const s: number[] = [];
  const y: number[] = [];
  for (let i = 0; i < scores.length; i++) {
    if (Number.isFinite(scores[i]!)) {
      s.push(scores[i]!);
      y.push(labels[i] ? 1 : 0);
    }
  }
  return { s, y };
}

/** Area under the ROC curve by the rank-sum (Mann-Whitney) identity; ties count one half. */
export function rocAuc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  const { s, y } = finitePairs(scores, labels);
  const ranks = averageRanks(s);
  let positives = 0;
  let rankSum = 0;
  for (let i = 0; i < s.length; i++) {
    if (y[i] === 1) {
      positives++;
      rankSum += ranks[i]!;
    }
  }
  const negatives = s.length - positives;
  if (positives === 0 || negatives === 0) return Number.NaN;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/**
 * Area under the precision-recall curve as average precision (scikit-learn's
 * `average_precision_score`): Σ (R_k - R_{k-1}) P_k over distinct score thresholds.
 */
export function averagePrecision(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  const { s, y } = finitePairs(scores, labels);
  const order = s.map((_, i) => i).sort((a, b) => s[b]! - s[a]!);
  const positives = y.reduce((sum, v) => sum + v, 0);
  if (positives === 0) return Number.NaN;
  let truePositives = 0;
  let seen = 0;
  let previousRecall = 0;
  let area = 0;
  for (let k = 0; k < order.length; ) {
    // Every row sharing this score crosses the threshold together.
    const score = s[order[k]!]!;
    while (k < order.length && s[order[k]!] === score) {
      truePositives += y[order[k]!]!;
      seen++;
      k++;
    }
    const recall = truePositives / positives;
    area += (recall - previousRecall) * (truePositives / seen);
    previousRecall = recall;
  }
  return area;
}

/**
 * Event recall: the share of labelled events (ranges of row indices, inclusive) with at least one
 * flagged row inside, optionally widened by `tolerance` rows after the event (features built on
 * returns react one candle late to a candle that closes an event).
 */
export function eventRecall(
  flags: ArrayLike<number>,
  events: readonly { startIndex: number; endIndex: number }[],
  tolerance = 0,
): number {
  if (events.length === 0) return Number.NaN;
  let detected = 0;
  for (const { startIndex, endIndex } of events) {
    const last = Math.min(flags.length - 1, endIndex + tolerance);
    for (let i = Math.max(0, startIndex); i <= last; i++) {
      if (flags[i] === 1) {
        detected++;
        break;
      }
    }
  }
  return detected / events.length;
}

/** Point-wise precision, recall and F1 of the flags (1 = flagged) against 0/1 row labels. */
export function flagMetrics(
  flags: ArrayLike<number>,
  labels: ArrayLike<number>,
): { precision: number; recall: number; f1: number; flagged: number; labelled: number } {
  let flagged = 0;
  let labelled = 0;
  let both = 0;
  for (let i = 0; i < flags.length; i++) {
    const flag = flags[i] === 1;
    const label = Boolean(labels[i]);
    if (flag) flagged++;
    if (label) labelled++;
    if (flag && label) both++;
  }
  const precision = flagged === 0 ? Number.NaN : both / flagged;
  const recall = labelled === 0 ? Number.NaN : both / labelled;
  // A detector that finds none of the labelled rows scores 0, flagged or not.
  const f1 = both === 0 ? (labelled === 0 ? Number.NaN : 0) : (2 * precision * recall) / (precision + recall);
  return { precision, recall, f1, flagged, labelled };
}
