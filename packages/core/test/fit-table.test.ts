import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  fitTablePipeline,
  isCoreError,
  type Matrix,
  type PipelineEvent,
  Preprocessor,
  TableSample,
  TableScorer,
} from '../src/index.js';

/** Two smooth columns and a constant one; row 37 is far from the rest. */
function table(rows: number): Matrix {
  const data = new Float64Array(rows * 3);
  for (let r = 0; r < rows; r++) {
    const far = r === 37;
    data.set([far ? 9 : Math.sin(r / 3), far ? -9 : Math.cos(r / 5), 2], r * 3);
  }
  return { data, rows, cols: 3 };
}

function rowsOf(X: Matrix, start: number, end: number): Matrix {
  return { data: X.data.slice(start * X.cols, end * X.cols), rows: end - start, cols: X.cols };
}

/** Adds `X` to a new sample in chunks of `chunkRows`. */
function sampleOf(X: Matrix, options: ConstructorParameters<typeof TableSample>[1], chunkRows = 16) {
  const sample = new TableSample(['a', 'b', 'c'], options);
  for (let start = 0; start < X.rows; start += chunkRows) {
    sample.add(rowsOf(X, start, Math.min(X.rows, start + chunkRows)));
  }
  return sample;
}

async function scoreInChunks(scorer: TableScorer, X: Matrix, chunkRows: number) {
  const scores: number[] = [];
  const flags: number[] = [];
  for (let start = 0; start < X.rows; start += chunkRows) {
    const part = await scorer.score(rowsOf(X, start, Math.min(X.rows, start + chunkRows)));
    scores.push(...part.scores);
    flags.push(...part.flags);
  }
  return { scores, flags };
}

describe('TableSample', () => {
  const X = table(100);

  it('gathers each column’s mean and standard deviation while streaming, scaling a constant column by 1', () => {
    const scaled = sampleOf(X, { detectors: ['isolation-forest'] })
      .preprocessor()
      .transform(X);
    for (let c = 0; c < 2; c++) {
      let mean = 0;
      let squares = 0;
      for (let r = 0; r < X.rows; r++) mean += scaled.data[r * 3 + c]! / X.rows;
      for (let r = 0; r < X.rows; r++) squares += (scaled.data[r * 3 + c]! - mean) ** 2;
      expect(mean).toBeCloseTo(0, 12);
      expect(Math.sqrt(squares / (X.rows - 1))).toBeCloseTo(1, 12);
    }
    for (let r = 0; r < X.rows; r++) expect(scaled.data[r * 3 + 2]).toBe(0);
  });

  it('keeps a seeded uniform sample, or the first rows in order when attention is fitted', () => {
    const options = { detectors: ['isolation-forest'] as const, sampleRows: 20, seed: 5 };
    const uniform = sampleOf(X, { ...options, detectors: [...options.detectors] });
    expect(uniform.sampleRows).toBe(20);
    expect(uniform.ordered).toBe(false);
    expect(uniform.sample()).toEqual(
      sampleOf(X, { ...options, detectors: [...options.detectors] }, 7).sample(),
    );
    expect(uniform.sample().data).not.toEqual(rowsOf(X, 0, 20).data);
    expect(sampleOf(X, { ...options, detectors: [...options.detectors], seed: 6 }).sample()).not.toEqual(
      uniform.sample(),
    );
    const ordered = sampleOf(X, { detectors: ['attention'], sampleRows: 20 });
    expect(ordered.ordered).toBe(true);
    expect(ordered.sample()).toEqual(rowsOf(X, 0, 20));
  });

  it('refuses a chunk of another width, and scaling fewer than 2 rows', () => {
    const sample = new TableSample(['a', 'b', 'c'], { detectors: ['autoencoder'] });
    expect(() => sample.add({ data: new Float64Array(4), rows: 2, cols: 2 })).toThrow(/2 columns/);
    sample.add(rowsOf(X, 0, 1));
    expect(() => sample.preprocessor()).toThrow(/1 row\(s\)/);
  });

  it('refuses an option it does not know, as fitTablePipeline and TableScorer do', async () => {
    expect(() => new TableSample(['a'], { detectors: ['autoencoder'], sampleRow: 10 } as never)).toThrow(
      /^unknown key sampleRow in TableSample options \(the keys there are sampleRows, detectors, seed\)\.$/,
    );
    const sample = sampleOf(table(80), { detectors: ['isolation-forest'] });
    await expect(fitTablePipeline(sample, { epoch: 2 } as never)).rejects.toThrow(
      /^unknown key epoch in fitTablePipeline options \(the keys there are epochs, /,
    );
    // The table has its own detectors and scaling: a config's would be ignored.
    await expect(fitTablePipeline(sample, { config: { split: { train: 0.5 } } } as never)).rejects.toThrow(
      /^unknown key split in fitTablePipeline options.config \(the keys there are /,
    );
    const pipeline = await fitTablePipeline(sample, { config: { isolationForest: { nEstimators: 10 } } });
    try {
      await expect(
        new TableScorer(pipeline).score(table(4), { signl: undefined, sgnal: 1 } as never),
      ).rejects.toThrow(/unknown key sgnal in TableScorer score options \(the keys there are signal\)/);
    } finally {
      pipeline.dispose();
    }
  });
});

describe('Preprocessor.standard', () => {
  it('scales by the given center and scale, and refuses a scale that is not positive', () => {
    const preprocessor = Preprocessor.standard(['x', 'y'], [1, -2], [2, 0.5]);
    expect([...preprocessor.transform({ data: Float64Array.of(3, -1), rows: 1, cols: 2 }).data]).toEqual([
      1, 2,
    ]);
    expect(preprocessor.toJSON()).toMatchObject({ scaler: 'standard', winsorize: false, bounds: null });
    let caught: unknown;
    try {
      Preprocessor.standard(['x'], [0], [0]);
    } catch (error) {
      caught = error;
    }
    expect(isCoreError(caught) && caught.code).toBe('INVALID_ARGUMENT');
  });
});

describe('fitTablePipeline and TableScorer', () => {
  it('fits the forest on the sample, reports its stage, and flags the far row chunk by chunk', async () => {
    const X = table(120);
    const events: PipelineEvent[] = [];
    const pipeline = await fitTablePipeline(sampleOf(X, { detectors: ['isolation-forest'] }), {
      config: {
        isolationForest: { nEstimators: 30, threshold: { kind: 'contamination', contamination: 0.02 } },
      },
      seed: 1,
      source: 'test rows',
      onEvent: (event) => events.push(event),
    });
    expect(pipeline.trainedOn).toEqual({
      kind: 'table',
      source: 'test rows',
      rowsRead: 120,
      sample: 'all',
      rows: { train: 102, validation: 18 },
    });
    expect(
      events.map((event) => event.type === 'stage' && `${event.stage} ${event.status}`).filter(Boolean),
    ).toEqual(['isolation-forest start', 'isolation-forest done']);
    expect(events).toContainEqual({
      type: 'log',
      level: 'info',
      message: 'read 120 rows; fitting on all of them (columns: a, b, c)',
    });
    const scorer = new TableScorer(pipeline);
    expect(scorer.threshold).toBe(pipeline.detectors[0]!.detector.threshold);
    const whole = await scoreInChunks(scorer, X, X.rows);
    const chunked = await scoreInChunks(new TableScorer(pipeline), X, 11);
    expect(chunked).toEqual(whole);
    // The verdict of a detector alone is its own raw score.
    const raw = await pipeline.detectors[0]!.detector.decisionFunction(pipeline.preprocessor.transform(X));
    expect(whole.scores).toEqual([...raw]);
    expect(whole.flags[37]).toBe(1);
    const dir = await mkdtemp(join(tmpdir(), 'table-pipeline-'));
    await expect(pipeline.save(join(dir, 'model'))).rejects.toThrow(/fitted on a table cannot be saved/);
    await rm(dir, { recursive: true, force: true });
    pipeline.dispose();
  });

  it('carries the window of a windowed detector across chunks, and ranks several by their consensus', async () => {
    const X = table(90);
    const pipeline = await fitTablePipeline(sampleOf(X, { detectors: ['isolation-forest', 'attention'] }), {
      config: {
        isolationForest: { nEstimators: 20 },
        attention: {
          windowSize: 4,
          modelDim: 8,
          heads: 1,
          feedForwardDim: 8,
          blocks: 1,
          epochs: 1,
          batchSize: 32,
        },
      },
      backend: 'wasm',
      seed: 2,
    });
    expect(pipeline.contextRows).toBe(3);
    const scorer = new TableScorer(pipeline);
    expect(scorer.threshold).toBe(pipeline.consensusThreshold);
    const whole = await scoreInChunks(scorer, X, X.rows);
    const chunked = await scoreInChunks(new TableScorer(pipeline), X, 7);
    expect(chunked.flags).toEqual(whole.flags);
    for (let r = 0; r < X.rows; r++) expect(chunked.scores[r]).toBeCloseTo(whole.scores[r]!, 9);
    const scored = await pipeline.score({ names: ['a', 'b', 'c'], matrix: X });
    expect(whole.scores).toEqual([...scored.consensus.scores]);
    pipeline.dispose();
  }, 60_000);
});
