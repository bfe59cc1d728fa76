import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { intervalToMilliseconds, isInterval } from '@crypto-anomaly/data';
import { FOLDER_MARKER_FILE, type RunSummary } from '../api.js';
import { CoreError } from '../errors.js';
import { readFolderMarker } from '../outputs/owned-folder.js';
import { ANOMALY_FILES } from '../pipeline/artifacts.js';
import type { CandleLike, EvaluationInput, ScoredSeries } from './api.js';
import { parseTime } from './labels.js';

/**
 * Reads what `evaluate` and the HTML report need from a run's output folder: every `anomalies_*.csv` (time, close,
 * split, score, threshold, is_anomaly: every row of the history, per detector and the consensus)
 * and the volume from `<SYMBOL>_processed_data.csv` (its `log_volume` is log(1 + volume), written
 * to 8 significant digits: the volume comes back within a relative 1e-7).
 */

/** A run folder's scores, with the run it came from. */
export interface RunScores extends EvaluationInput {
  readonly runId: string;
  readonly interval: string;
  /** `describe()` of the run's source, from summary.json. */
  readonly source: string;
}

interface CsvTable {
  readonly path: string;
  readonly header: readonly string[];
  readonly rows: readonly string[][];
}

async function readCsv(path: string): Promise<CsvTable> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new CoreError('IO', `Cannot read ${path}: ${(error as Error).message}`, { cause: error });
  }
  const lines = text.split(/\r?\n/);
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const header = (lines[0] ?? '').split(',');
  return { path, header, rows: lines.slice(1).map((line) => line.split(',')) };
}

function column(table: CsvTable, name: string): number {
  const index = table.header.indexOf(name);
  if (index < 0) {
    throw new CoreError(
      'MISSING_COLUMN',
      `${table.path} has no "${name}" column: it was not written by crypto-anomaly run or detect, or was edited.`,
    );
  }
  return index;
}

function numbers(table: CsvTable, name: string, allowNaN = false): Float64Array {
  const index = column(table, name);
  return Float64Array.from(table.rows, (row, i) => {
    const cell = row[index] ?? '';
    // An empty (or NaN) cell is a row without a value, where the file may have one (a score the
    // attention autoencoder could not give); any other text is an edit, not a missing score, and
    // dropping its row would change every ranking measure without a word.
    const missing = cell === '' || cell === 'NaN';
    const value = missing ? Number.NaN : Number(cell);
    if ((missing && !allowNaN) || (!missing && !Number.isFinite(value))) {
      throw new CoreError(
        'NON_FINITE_INPUT',
        `${table.path} line ${i + 2}: "${name}" is ${JSON.stringify(cell)}, not a number; run again to rewrite the file.`,
      );
    }
    return value;
  });
}

function flags(table: CsvTable): Uint8Array {
  const values = numbers(table, 'is_anomaly');
  const bad = values.findIndex((flag) => flag !== 0 && flag !== 1);
  if (bad >= 0) {
    throw new CoreError(
      'NON_FINITE_INPUT',
      `${table.path} line ${bad + 2}: "is_anomaly" is ${values[bad]}, not 0 or 1; run again to rewrite the file.`,
    );
  }
  return Uint8Array.from(values);
}

function times(table: CsvTable): Float64Array {
  const index = column(table, 'time');
  return Float64Array.from(table.rows, (row, i) =>
    parseTime(row[index] ?? '', `${table.path} line ${i + 2}: time`),
  );
}

/** One `anomalies_<detector>.csv` read back: a value per row of the history. */
export interface AnomaliesFile {
  readonly path: string;
  readonly times: Float64Array;
  readonly close: Float64Array;
  readonly splits: readonly string[];
  /** NaN where a row has no score. */
  readonly scores: Float64Array;
  /** The threshold each row was judged against (one value, or a row's own under SPOT/DSPOT). */
  readonly thresholds: Float64Array;
  readonly flags: Uint8Array;
  /** The row's top features and their shares, e.g. "relative_volume 62%, body 20%" ('' if none). */
  readonly reasons: readonly string[];
}

/**
 * Reads one anomalies file as `run`, `train --out` and `detect` write it (anomaliesCsv): the one
 * reader for `evaluate` and the HTML report. Refuses, naming file and line, a missing column and a
 * cell that is not a number or a time.
 */
export async function readAnomaliesFile(path: string): Promise<AnomaliesFile> {
  const table = await readCsv(path);
  const split = column(table, 'split');
  const features: [number, number][] = [];
  for (let k = 1; table.header.includes(`top_feature_${k}`); k++) {
    features.push([table.header.indexOf(`top_feature_${k}`), table.header.indexOf(`top_share_${k}`)]);
  }
  return {
    path,
    times: times(table),
    close: numbers(table, 'close'),
    splits: table.rows.map((row) => row[split] ?? ''),
    scores: numbers(table, 'score', true),
    thresholds: numbers(table, 'threshold'),
    flags: flags(table),
    reasons: table.rows.map((row) =>
      features
        .filter(([name]) => (row[name] ?? '') !== '')
        .map(([name, share]) => `${row[name]} ${Math.round(Number(row[share]) * 100)}%`)
        .join(', '),
    ),
  };
}

/**
 * Reads a run's (or `detect`'s) output folder. Refuses, naming the file, a folder without
 * summary.json, a marker whose run id is not the summary's (a set mixed from two runs), and
 * anomaly files whose rows do not line up.
 */
export async function readRunScores(dir: string): Promise<RunScores> {
  const summaryPath = join(dir, 'summary.json');
  let summary: RunSummary;
  try {
    summary = JSON.parse(await readFile(summaryPath, 'utf8')) as RunSummary;
  } catch (error) {
    throw new CoreError(
      'IO',
      `${dir} is not a run's output folder: no readable summary.json (${(error as Error).message}). ` +
        'Give the --out folder of crypto-anomaly run or detect.',
      { cause: error },
    );
  }
  if (typeof summary.symbol !== 'string' || !isInterval(summary.interval)) {
    throw new CoreError(
      'INVALID_ARGUMENT',
      `${summaryPath} names no symbol and interval: run again to rewrite it.`,
    );
  }
  const marker = await readFolderMarker(dir);
  if (marker && marker.runId !== summary.runId) {
    throw new CoreError(
      'INVALID_ARGUMENT',
      `${dir} mixes two runs: ${FOLDER_MARKER_FILE} says run ${marker.runId}, summary.json run ${summary.runId}. Run again into it.`,
    );
  }
  const detectors: ScoredSeries[] = [];
  let reference: AnomaliesFile | undefined;
  for (const [name, file] of Object.entries(ANOMALY_FILES)) {
    if (name !== 'consensus' && summary.detectors?.[name as keyof typeof summary.detectors] === undefined)
      continue;
    const anomalies = await readAnomaliesFile(join(dir, file));
    if (reference === undefined) reference = anomalies;
    else if (
      anomalies.times.length !== reference.times.length ||
      anomalies.times.some((time, i) => time !== reference!.times[i])
    ) {
      throw new CoreError(
        'INVALID_ARGUMENT',
        `${anomalies.path} and ${reference.path} do not cover the same rows: the folder mixes runs. Run again into it.`,
      );
    }
    detectors.push({
      name,
      scores: anomalies.scores,
      flags: anomalies.flags,
      // One threshold when every row had the same; NaN (null in evaluation.json) when it moved row
      // by row (SPOT/DSPOT, walk-forward folds): the flags are the measure then, as from a store.
      threshold: oneValue(anomalies.thresholds),
    });
  }
  if (reference === undefined || detectors.length === 0) {
    throw new CoreError('IO', `${dir} holds no anomalies_*.csv: give the --out folder of a finished run.`);
  }
  const processed = await readCsv(join(dir, `${summary.symbol}_processed_data.csv`));
  const processedTimes = times(processed);
  if (
    processedTimes.length !== reference.times.length ||
    processedTimes.some((t, i) => t !== reference!.times[i])
  ) {
    throw new CoreError(
      'INVALID_ARGUMENT',
      `${processed.path} and ${reference.path} do not cover the same rows: the folder mixes runs. Run again into it.`,
    );
  }
  const logVolume = numbers(processed, 'log_volume');
  const candles: CandleLike[] = Array.from(reference.times, (openTime, i) => ({
    openTime,
    close: reference!.close[i]!,
    volume: Math.expm1(logVolume[i]!),
  }));
  return {
    runId: summary.runId,
    symbol: summary.symbol,
    interval: summary.interval,
    intervalMs: intervalToMilliseconds(summary.interval),
    source: summary.source,
    candles,
    splits: reference.splits,
    detectors,
  };
}

/** The value every element has, or NaN when they differ (or there are none). */
function oneValue(values: ArrayLike<number>): number {
  const first = values[0];
  if (first === undefined) return Number.NaN;
  for (let i = 1; i < values.length; i++) if (values[i] !== first) return Number.NaN;
  return first;
}
