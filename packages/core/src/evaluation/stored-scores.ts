import { CoreError } from '../errors.js';
import type { CandleLike, EvaluationInput, ScoredSeries } from './api.js';

/** One detector's score of one candle, as `watch` stores it (data's `StoredScore`). */
export interface StoredScoreRow {
  readonly openTime: number;
  readonly detector: string;
  readonly score: number;
  readonly threshold: number;
  readonly flagged: boolean;
}

/** The detectors in the order runs list them; others follow by name, the consensus last. */
const ORDER = ['isolation-forest', 'autoencoder', 'attention'];

function detectorOrder(a: string, b: string): number {
  const rank = (name: string) => (name === 'consensus' ? 2 : ORDER.includes(name) ? 0 : 1);
  return rank(a) - rank(b) || (rank(a) === 0 ? ORDER.indexOf(a) - ORDER.indexOf(b) : a.localeCompare(b));
}

/**
 * The scores a live path stored (one row per candle and detector, each with the threshold it was
 * judged by then) as an evaluation's input: the candles from the first scored one to the last, each
 * detector's scores and flags on them (a candle it did not score: NaN and no flag). Each candle
 * kept its own threshold (SPOT / DSPOT adapt), so a series' `threshold` is NaN: the flags are the
 * stored ones. `candles` must hold every scored candle.
 */
export function evaluationInputFromScores(
  symbol: string,
  intervalMs: number,
  candles: readonly CandleLike[],
  rows: readonly StoredScoreRow[],
): EvaluationInput {
  if (rows.length === 0) {
    throw new CoreError('TOO_FEW_ROWS', `no stored scores of ${symbol} to evaluate.`);
  }
  let first = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;
  for (const row of rows) {
    first = Math.min(first, row.openTime);
    last = Math.max(last, row.openTime);
  }
  const span = candles.filter((candle) => candle.openTime >= first && candle.openTime <= last);
  const rowOf = new Map(span.map((candle, i) => [candle.openTime, i]));
  const names = [...new Set(rows.map((row) => row.detector))].sort(detectorOrder);
  const detectors: ScoredSeries[] = names.map((name) => ({
    name,
    scores: new Float64Array(span.length).fill(Number.NaN),
    flags: new Uint8Array(span.length),
    threshold: Number.NaN,
  }));
  const byName = new Map(detectors.map((detector) => [detector.name, detector]));
  for (const row of rows) {
    const i = rowOf.get(row.openTime);
    if (i === undefined) {
      throw new CoreError(
        'INVALID_ARGUMENT',
        `${symbol} has a stored ${row.detector} score at ${new Date(row.openTime).toISOString()} but no candle there: ` +
          'give every scored candle (the store keeps both when watch writes them).',
      );
    }
    const detector = byName.get(row.detector)!;
    (detector.scores as Float64Array)[i] = row.score;
    (detector.flags as Uint8Array)[i] = row.flagged ? 1 : 0;
  }
  return { symbol, intervalMs, candles: span, detectors };
}
