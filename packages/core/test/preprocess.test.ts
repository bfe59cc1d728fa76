import { generateSampleMarket } from '@crypto-anomaly/data';
import { describe, expect, it } from 'vitest';
import {
  chronologicalSplit,
  computeFeatures,
  isCoreError,
  type Matrix,
  Preprocessor,
  splitLabels,
} from '../src/index.js';

const table = computeFeatures(generateSampleMarket({ count: 1200, seed: 11 }).klines, { set: 'classic' });

function rows(X: Matrix, start: number, end: number): Matrix {
  return { data: X.data.slice(start * X.cols, end * X.cols), rows: end - start, cols: X.cols };
}

function columnStats(X: Matrix, col: number): { mean: number; std: number } {
  let mean = 0;
  for (let r = 0; r < X.rows; r++) mean += X.data[r * X.cols + col]!;
  mean /= X.rows;
  let variance = 0;
  for (let r = 0; r < X.rows; r++) variance += (X.data[r * X.cols + col]! - mean) ** 2;
  return { mean, std: Math.sqrt(variance / (X.rows - 1)) };
}

function errorCode(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    return isCoreError(error) ? error.code : String(error);
  }
  return undefined;
}

describe('chronological split', () => {
  it('defaults to 70 / 15 / 15, oldest first', () => {
    const ranges = chronologicalSplit(1000);
    expect(ranges).toEqual({
      train: { start: 0, end: 700 },
      validation: { start: 700, end: 850 },
      test: { start: 850, end: 1000 },
    });
    const labels = splitLabels(ranges, 1000);
    expect(labels[699]).toBe('train');
    expect(labels[700]).toBe('validation');
    expect(labels[850]).toBe('test');
  });

  it('refuses splits that leave too few rows, or bad fractions', () => {
    expect(errorCode(() => chronologicalSplit(50))).toBe('TOO_FEW_ROWS');
    expect(errorCode(() => chronologicalSplit(1000, { train: 1.2 }))).toBe('INVALID_ARGUMENT');
    expect(errorCode(() => chronologicalSplit(1000, { train: 0.9, validation: 0.2 }))).toBe(
      'INVALID_ARGUMENT',
    );
    // { valid: 0.3 } would have split 70 / 15 / 15 without a word.
    // The row count, checked: a Matrix, NaN or a string gave ranges of null, NaN or "100".
    expect(() => chronologicalSplit(table.matrix as never)).toThrow(
      new RegExp(
        `^chronologicalSplit takes the number of rows to split, an integer >= 0; got an object of ${table.matrix.rows} rows \\(a Matrix\\?\\): pass its rows, chronologicalSplit\\(matrix\\.rows\\)\\.$`,
      ),
    );
    for (const rows of [Number.NaN, '100', -1, 2.5, undefined]) {
      expect(
        errorCode(() => chronologicalSplit(rows as never)),
        String(rows),
      ).toBe('INVALID_ARGUMENT');
    }
    expect(() => chronologicalSplit('100' as never)).toThrow(/an integer >= 0; got "100"\.$/);
    expect(() => chronologicalSplit(1000, { valid: 0.3 } as never)).toThrow(
      /^unknown key valid in split \(the keys there are validation, train\)\.$/,
    );
  });
});

describe('Preprocessor', () => {
  const ranges = chronologicalSplit(table.matrix.rows);
  const train = rows(table.matrix, 0, ranges.train.end);

  it('scales the training rows to mean 0 and deviation 1 (standard)', () => {
    const pre = Preprocessor.fit(train, table.names);
    const scaled = pre.transform(train);
    for (let col = 0; col < train.cols; col++) {
      const { mean, std } = columnStats(scaled, col);
      expect(Math.abs(mean)).toBeLessThan(1e-9);
      expect(std).toBeCloseTo(1, 9);
    }
  });

  it('robust scaling centres the training median at 0', () => {
    const pre = Preprocessor.fit(train, table.names, { scaler: 'robust', winsorize: false });
    const scaled = pre.transform(train);
    const rsi = table.names.indexOf('rsi');
    const values = Array.from({ length: scaled.rows }, (_, r) => scaled.data[r * scaled.cols + rsi]!).sort(
      (a, b) => a - b,
    );
    const median = (values[(values.length - 1) >> 1]! + values[values.length >> 1]!) / 2;
    expect(Math.abs(median)).toBeLessThan(1e-9);
  });

  it('is fitted on the training rows only: changing validation and test rows changes nothing fitted', () => {
    const fitted = Preprocessor.fit(rows(table.matrix, 0, ranges.train.end), table.names).toJSON();
    const tampered = { ...table.matrix, data: table.matrix.data.slice() };
    for (let i = ranges.train.end * tampered.cols; i < tampered.data.length; i++)
      tampered.data[i] = i % 7 === 0 ? 1e6 : 0.5;
    const refitted = Preprocessor.fit(rows(tampered, 0, ranges.train.end), table.names).toJSON();
    expect(refitted).toEqual(fitted);
    // ... while changing a training row does change it (the test can fail).
    tampered.data[3 * tampered.cols] = 0.9;
    expect(Preprocessor.fit(rows(tampered, 0, ranges.train.end), table.names).toJSON()).not.toEqual(fitted);
  });

  it('clips every row to the training bounds and round-trips through JSON', () => {
    const pre = Preprocessor.fit(train, table.names);
    const json = JSON.parse(JSON.stringify(pre.toJSON()));
    const restored = Preprocessor.fromJSON(json);
    const extreme = rows(table.matrix, 0, 1);
    extreme.data[0] = 5; // a +500% log return
    const a = pre.transform(extreme);
    const b = restored.transform(extreme);
    expect(Array.from(b.data)).toEqual(Array.from(a.data));
    const upper = (json.bounds.upper[0] - json.center[0]) / json.scale[0];
    expect(a.data[0]).toBeCloseTo(upper, 12);
    const all = pre.transform(table.matrix);
    expect(all.rows).toBe(table.matrix.rows);
    expect(all.data.every(Number.isFinite)).toBe(true);
  });

  it('says which feature is constant', () => {
    const flat = rows(train, 0, train.rows);
    const col = table.names.indexOf('taker_buy_ratio');
    for (let r = 0; r < flat.rows; r++) flat.data[r * flat.cols + col] = 0.5;
    try {
      Preprocessor.fit(flat, table.names);
      expect.unreachable();
    } catch (error) {
      expect(isCoreError(error) && error.code).toBe('CONSTANT_FEATURE');
      expect((error as Error).message).toMatch(/taker_buy_ratio \(always 0.5\)/);
    }
  });

  it('refuses an option it does not know, in the options and in winsorize', () => {
    expect(() => Preprocessor.fit(train, table.names, { scaling: 'robust' } as never)).toThrow(
      /^unknown key scaling in preprocess options \(the keys there are scaler, winsorize, logFeatures\)\.$/,
    );
    expect(() =>
      Preprocessor.fit(train, table.names, { winsorize: { lower: 0.01, upper: 0.99, low: 0 } } as never),
    ).toThrow(/^unknown key low in preprocess.winsorize \(the keys there are lower, upper\)\.$/);
    expect(Preprocessor.fit(train, table.names, { scaler: undefined }).toJSON().scaler).toBe('standard');
  });

  it('refuses names that are not a list of column names, instead of a bare TypeError', () => {
    for (const names of [{ names: table.names }, 'volatility', undefined, [1, 2]]) {
      let error: unknown;
      try {
        Preprocessor.fit(train, names as never);
      } catch (caught) {
        error = caught;
      }
      expect(isCoreError(error) && error.code, JSON.stringify(names)).toBe('INVALID_ARGUMENT');
      expect((error as Error).message).toMatch(
        /^names must list the matrix's column names, one string per column/,
      );
    }
    expect(() => Preprocessor.standard({ names: ['a'] } as never, [0], [1])).toThrow(/^names must list/);
  });

  it('refuses a saved state of another format', () => {
    const json = { ...Preprocessor.fit(train, table.names).toJSON(), formatVersion: 2 };
    expect(errorCode(() => Preprocessor.fromJSON(json))).toBe('MODEL_MISMATCH');
    const narrow = { data: new Float64Array(4), rows: 2, cols: 2 };
    expect(errorCode(() => Preprocessor.fit(train, table.names).transform(narrow))).toBe('MODEL_MISMATCH');
  });
});
