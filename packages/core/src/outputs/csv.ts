import type { AnomalyRow, Matrix, SplitName } from '../api.js';

/** CSV text of the pipeline's files. Times are ISO 8601 in UTC. */

export function isoTime(time: number): string {
  return new Date(time).toISOString();
}

/** Shortest text that reads back to the same number; empty for NaN (pandas reads it as NaN). */
function formatNumber(value: number): string {
  return Number.isFinite(value) ? String(value) : '';
}

/** Eight significant digits: plenty for features and scores, and a third of the file size. */
function formatCompact(value: number): string {
  return Number.isFinite(value) ? String(Number(value.toPrecision(8))) : '';
}

/** One row's features ranked by contribution, with each one's share of the row's total. */
export function topContributors(
  contributions: Matrix,
  row: number,
  names: readonly string[],
  count: number,
): { feature: string; share: number }[] {
  const { cols, data } = contributions;
  let total = 0;
  const entries: { feature: string; value: number }[] = [];
  for (let c = 0; c < cols; c++) {
    const value = data[row * cols + c]!;
    if (Number.isFinite(value) && value > 0) {
      total += value;
      entries.push({ feature: names[c]!, value });
    }
  }
  entries.sort((a, b) => b.value - a.value);
  return entries.slice(0, count).map(({ feature, value }) => ({ feature, share: value / total }));
}

/** The scored history of one detector (or the consensus), row by row. */
export interface ScoredHistory {
  times: Float64Array;
  close: Float64Array;
  splits: readonly SplitName[];
  scores: Float64Array;
  threshold: number;
  /** The threshold each row was judged against, when it varies (adaptive thresholds, walk-forward folds). */
  thresholds?: ArrayLike<number>;
  flags: Uint8Array;
  contributions: Matrix;
  featureNames: readonly string[];
  topFeatures: number;
}

/**
 * `anomalies_<detector>.csv`: every scored row (whichever split), with its score, the threshold,
 * the 0/1 flag and its top contributing features and their shares of the row's contribution. In
 * pieces (see `csvPieces`).
 */
export function anomaliesCsv(history: ScoredHistory): Generator<string> {
  const k = history.topFeatures;
  const header = ['time', 'close', 'split', 'score', 'threshold', 'is_anomaly'];
  for (let i = 1; i <= k; i++) header.push(`top_feature_${i}`, `top_share_${i}`);
  const threshold = formatNumber(history.threshold);
  return csvPieces(header, history.times.length, (r) => {
    const cells = [
      isoTime(history.times[r]!),
      formatNumber(history.close[r]!),
      history.splits[r]!,
      formatNumber(history.scores[r]!),
      history.thresholds ? formatNumber(history.thresholds[r]!) : threshold,
      String(history.flags[r]!),
    ];
    const top = topContributors(history.contributions, r, history.featureNames, k);
    for (let i = 0; i < k; i++) {
      cells.push(top[i]?.feature ?? '', top[i] ? formatCompact(top[i]!.share) : '');
    }
    return cells.join(',');
  });
}

/** Lines per piece of a CSV text: a long history is written piece by piece, never whole. */
const CSV_PIECE_LINES = 4096;

/**
 * A CSV text in pieces of `CSV_PIECE_LINES` whole lines (joined, the file), so writing a year of
 * minute candles holds one piece at a time instead of the whole file as one string.
 */
function* csvPieces(header: string[], rows: number, line: (row: number) => string): Generator<string> {
  let lines = [header.join(',')];
  for (let r = 0; r < rows; r++) {
    lines.push(line(r));
    if (lines.length === CSV_PIECE_LINES) {
      yield `${lines.join('\n')}\n`;
      lines = [];
    }
  }
  if (lines.length > 0) yield `${lines.join('\n')}\n`;
}

/** The most anomalous rows, most anomalous first (rows without a score are left out). */
export function topAnomalyRows(history: ScoredHistory, count: number): AnomalyRow[] {
  const order: number[] = [];
  for (let r = 0; r < history.scores.length; r++) if (Number.isFinite(history.scores[r]!)) order.push(r);
  order.sort((a, b) => history.scores[b]! - history.scores[a]! || a - b);
  return order.slice(0, count).map((r) => ({
    time: history.times[r]!,
    close: history.close[r]!,
    score: history.scores[r]!,
    threshold: history.thresholds ? history.thresholds[r]! : history.threshold,
    isAnomaly: history.flags[r] === 1,
    split: history.splits[r]!,
    topFeatures: topContributors(history.contributions, r, history.featureNames, history.topFeatures).map(
      (t) => t.feature,
    ),
  }));
}

/**
 * `<SYMBOL>_processed_data.csv`: each kept candle's time, split, close, its raw features and the
 * scaled features the detectors saw. With `classic` (the eleven classic features of the same rows,
 * when the detectors used another set), those come first, so the seed's columns are always there;
 * a column of both sets is written once. In pieces (see `csvPieces`).
 */
export function processedDataCsv(
  times: Float64Array,
  close: Float64Array,
  splits: readonly SplitName[],
  names: readonly string[],
  raw: Matrix,
  scaled: Matrix,
  classic?: { names: readonly string[]; matrix: Matrix },
): Generator<string> {
  const extra = classic ? classic.names.filter((name) => !names.includes(name)) : [];
  const extraCols = extra.map((name) => classic!.names.indexOf(name));
  const header = ['time', 'split', 'close', ...extra, ...names, ...names.map((n) => `scaled_${n}`)];
  const cols = names.length;
  return csvPieces(header, times.length, (r) => {
    const cells = [isoTime(times[r]!), splits[r]!, formatNumber(close[r]!)];
    for (const c of extraCols) cells.push(formatCompact(classic!.matrix.data[r * classic!.matrix.cols + c]!));
    for (let c = 0; c < cols; c++) cells.push(formatCompact(raw.data[r * cols + c]!));
    for (let c = 0; c < cols; c++) cells.push(formatCompact(scaled.data[r * cols + c]!));
    return cells.join(',');
  });
}
