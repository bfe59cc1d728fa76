import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Detector, FittedThreshold, Matrix, PipelineEvent, ThresholdMethod } from '@crypto-anomaly/core';
import { SeededRandom } from '@crypto-anomaly/data';
import { CliError } from './errors.js';
import { type ColumnChoice, chooseColumns, readChunks } from './numeric-csv.js';

export type ScoreDetectorName = 'iforest' | 'autoencoder' | 'attention' | 'consensus';

export interface ScoreCsvOptions {
  input: string;
  out: string;
  detector: ScoreDetectorName;
  columns?: readonly string[];
  exclude?: readonly string[];
  /** `auto`: the forest's classic s > 0.5, the engine's default contamination elsewhere. */
  contamination: 'auto' | number;
  seed: number;
  /** Rows (a uniform sample of the file) the detectors are fitted on. */
  fitRows: number;
  /** Builds an unfitted detector with the threshold method to use. */
  createDetector: (
    name: Exclude<ScoreDetectorName, 'consensus'>,
    threshold: ThresholdMethod | undefined,
    columnCount: number,
  ) => Detector;
  onEvent?: (event: PipelineEvent) => void;
  signal?: AbortSignal;
  chunkRows?: number;
}

export interface ScoreCsvResult {
  rows: number;
  flagged: number;
  columns: string[];
  skippedColumns: string[];
  threshold: FittedThreshold;
  out: string;
}

/** Per-column mean and standard deviation (Welford), over every row of the file. */
class ColumnStats {
  readonly count: number[];
  readonly mean: Float64Array;
  readonly m2: Float64Array;
  constructor(readonly cols: number) {
    this.count = [0];
    this.mean = new Float64Array(cols);
    this.m2 = new Float64Array(cols);
  }
  add(values: Float64Array, rows: number): void {
    for (let r = 0; r < rows; r++) {
      const n = ++this.count[0]!;
      for (let c = 0; c < this.cols; c++) {
        const x = values[r * this.cols + c]!;
        const delta = x - this.mean[c]!;
        this.mean[c]! += delta / n;
        this.m2[c]! += delta * (x - this.mean[c]!);
      }
    }
  }
  deviations(): Float64Array {
    const n = this.count[0]!;
    // A constant column scales by 1: it then contributes nothing instead of dividing by zero.
    return this.m2.map((m2) => {
      const sd = n > 1 ? Math.sqrt(m2 / (n - 1)) : 0;
      return sd > 0 ? sd : 1;
    });
  }
}

function standardize(values: Float64Array, cols: number, mean: Float64Array, sd: Float64Array): Float64Array {
  const out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = (values[i]! - mean[i % cols]!) / sd[i % cols]!;
  return out;
}

function matrixOf(data: Float64Array, cols: number): Matrix {
  return { data, rows: data.length / cols, cols };
}

function checkAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    throw new CliError('STOPPED', 'scoring stopped before the end', {
      hint: 'no output file was written; run again to finish',
    });
  }
}

interface FittedDetector {
  detector: Detector;
  distribution?: import('@crypto-anomaly/core').ScoreDistribution;
}

/**
 * Scores any numeric CSV: pass 1 streams the file for column statistics and a uniform sample
 * (reservoir) to fit on; pass 2 streams it again, scoring chunk by chunk, into a temporary file
 * renamed to `out` at the end, so an interrupted run leaves no half-written output.
 */
export async function scoreCsv(options: ScoreCsvOptions): Promise<ScoreCsvResult> {
  const core = await import('@crypto-anomaly/core');
  const choice: ColumnChoice = await chooseColumns(options.input, {
    ...(options.columns ? { columns: options.columns } : {}),
    ...(options.exclude ? { exclude: options.exclude } : {}),
  });
  const cols = choice.indices.length;
  const chunkRows = options.chunkRows ?? 8192;
  const stats = new ColumnStats(cols);
  const capacity = options.fitRows;
  // The attention autoencoder reads windows of consecutive rows: it (and the consensus that
  // includes it) fits on the first rows in file order. The others fit on a uniform sample.
  const ordered = options.detector === 'attention' || options.detector === 'consensus';
  const reservoir = new Float64Array(capacity * cols);
  const random = new SeededRandom(options.seed);
  let seen = 0;
  for await (const chunk of readChunks(options.input, choice, chunkRows)) {
    checkAborted(options.signal);
    stats.add(chunk.values, chunk.rows);
    for (let r = 0; r < chunk.rows; r++, seen++) {
      // Algorithm R: every row ends up in the sample with the same probability.
      const slot = seen < capacity ? seen : ordered ? capacity : Math.floor(random.next() * (seen + 1));
      if (slot < capacity) reservoir.set(chunk.values.subarray(r * cols, (r + 1) * cols), slot * cols);
    }
  }
  if (seen < 2) {
    throw new CliError(
      'RUNTIME',
      `--input ${options.input} has ${seen} data row(s); scoring needs at least 2`,
      {
        hint: 'give a CSV with more rows',
      },
    );
  }
  const sampleRows = Math.min(seen, capacity);
  const sd = stats.deviations();
  const sample = standardize(reservoir.subarray(0, sampleRows * cols), cols, stats.mean, sd);
  const how =
    sampleRows === seen
      ? 'all of them'
      : ordered
        ? `the first ${sampleRows}`
        : `a uniform sample of ${sampleRows}`;
  options.onEvent?.({
    type: 'log',
    level: 'info',
    message: `read ${seen} rows; fitting on ${how} (columns: ${choice.names.join(', ')})`,
  });

  const userMethod: ThresholdMethod | undefined =
    options.contamination === 'auto'
      ? undefined
      : { kind: 'contamination', contamination: options.contamination };
  const names: Exclude<ScoreDetectorName, 'consensus'>[] =
    options.detector === 'consensus' ? ['iforest', 'autoencoder', 'attention'] : [options.detector];
  // The last rows of the fitting block validate (early stopping): a random set for the uniform
  // sample, the most recent rows for the ordered block.
  const validationRows = Math.max(1, Math.floor(sampleRows * 0.15));
  const trainRows = sampleRows - validationRows;
  const train = matrixOf(sample.subarray(0, trainRows * cols), cols);
  const validation = matrixOf(sample.subarray(trainRows * cols), cols);
  const fitted: FittedDetector[] = [];
  for (const name of names) {
    checkAborted(options.signal);
    const threshold =
      name === 'iforest' && options.contamination === 'auto' && options.detector !== 'consensus'
        ? ({ kind: 'fixed', value: 0.5 } as const)
        : userMethod;
    const detector = options.createDetector(name, threshold, cols);
    const stage = name === 'iforest' ? 'isolation-forest' : name;
    const started = Date.now();
    options.onEvent?.({ type: 'stage', stage, status: 'start' });
    await detector.fit(name === 'iforest' ? matrixOf(sample, cols) : train, {
      validation,
      ...(options.onEvent ? { onEvent: options.onEvent } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    checkAborted(options.signal);
    options.onEvent?.({
      type: 'stage',
      stage,
      status: 'done',
      elapsedMs: Date.now() - started,
      message: detector.threshold?.description ?? '',
    });
    fitted.push({
      detector,
      ...(options.detector === 'consensus'
        ? { distribution: core.scoreDistribution(await detector.decisionFunction(matrixOf(sample, cols))) }
        : {}),
    });
  }

  // Rows of the previous chunk a window-based detector needs before the chunk's first row.
  const contextRows = Math.max(
    0,
    ...fitted.map(
      ({ detector }) => ((detector as { options?: { windowSize?: number } }).options?.windowSize ?? 1) - 1,
    ),
  );
  const scoreRows = async (data: Float64Array): Promise<Float64Array> => {
    const matrix = matrixOf(data, cols);
    if (options.detector !== 'consensus') return fitted[0]!.detector.decisionFunction(matrix);
    const parts = [];
    for (const { detector, distribution } of fitted) {
      parts.push({ scores: await detector.decisionFunction(matrix), distribution: distribution! });
    }
    return core.consensusScores(parts);
  };
  let carry = new Float64Array(0);
  const scoreChunk = async (data: Float64Array): Promise<Float64Array> => {
    if (contextRows === 0) return scoreRows(data);
    const joined = new Float64Array(carry.length + data.length);
    joined.set(carry);
    joined.set(data, carry.length);
    const scores = await scoreRows(joined);
    carry = joined.slice(Math.max(0, joined.length - contextRows * cols));
    return scores.subarray(scores.length - data.length / cols);
  };
  const threshold: FittedThreshold =
    options.detector === 'consensus'
      ? core.fitThreshold(await scoreRows(sample), userMethod ?? core.DEFAULT_THRESHOLD)
      : fitted[0]!.detector.threshold!;

  const temporary = join(dirname(options.out), `.${basename(options.out)}.${process.pid}.partial`);
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  let rows = 0;
  let flagged = 0;
  try {
    handle = await open(temporary, 'w');
    await handle.write(`${choice.header.map(csvField).join(',')},score,is_anomaly\n`);
    for await (const chunk of readChunks(options.input, choice, chunkRows)) {
      checkAborted(options.signal);
      const scores = await scoreChunk(standardize(chunk.values, cols, stats.mean, sd));
      let text = '';
      for (let r = 0; r < chunk.rows; r++) {
        const anomalous = scores[r]! > threshold.value;
        if (anomalous) flagged++;
        text += `${chunk.lines[r]},${scores[r]},${anomalous ? 1 : 0}\n`;
      }
      rows += chunk.rows;
      await handle.write(text);
    }
    await handle.close();
    handle = undefined;
    await rename(temporary, options.out);
  } catch (error) {
    await handle?.close().catch(() => {});
    await rm(temporary, { force: true });
    throw error;
  } finally {
    for (const { detector } of fitted) (detector as { dispose?(): void }).dispose?.();
  }
  return {
    rows,
    flagged,
    columns: choice.names,
    skippedColumns: choice.skipped,
    threshold,
    out: options.out,
  };
}

function csvField(name: string): string {
  return /[",\n]/.test(name) ? `"${name.replace(/"/g, '""')}"` : name;
}
