import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeFileAtomic } from '../src/outputs/atomic-write.js';
import { anomaliesCsv, topAnomalyRows, topContributors } from '../src/outputs/csv.js';

const names = ['a', 'b', 'c'];
const history = {
  times: Float64Array.from([Date.UTC(2024, 0, 1), Date.UTC(2024, 0, 1, 1), Date.UTC(2024, 0, 1, 2)]),
  close: Float64Array.from([100, 101.5, 99]),
  splits: ['train', 'validation', 'test'] as const,
  scores: Float64Array.from([0.2, Number.NaN, 0.9]),
  threshold: 0.5,
  flags: Uint8Array.from([0, 0, 1]),
  contributions: {
    data: Float64Array.from([1, 3, 0, Number.NaN, Number.NaN, Number.NaN, 0.5, 0.25, 0.25]),
    rows: 3,
    cols: 3,
  },
  featureNames: names,
  topFeatures: 2,
};

describe('outputs', () => {
  it('ranks a row’s features by contribution with their shares, skipping zero and NaN', () => {
    expect(topContributors(history.contributions, 0, names, 3)).toEqual([
      { feature: 'b', share: 0.75 },
      { feature: 'a', share: 0.25 },
    ]);
    expect(topContributors(history.contributions, 1, names, 3)).toEqual([]);
  });

  it('writes every row with time, close, split, score, threshold, flag and top features', () => {
    const lines = [...anomaliesCsv({ ...history, splits: [...history.splits] })].join('').trim().split('\n');
    expect(lines).toEqual([
      'time,close,split,score,threshold,is_anomaly,top_feature_1,top_share_1,top_feature_2,top_share_2',
      '2024-01-01T00:00:00.000Z,100,train,0.2,0.5,0,b,0.75,a,0.25',
      '2024-01-01T01:00:00.000Z,101.5,validation,,0.5,0,,,,',
      '2024-01-01T02:00:00.000Z,99,test,0.9,0.5,1,a,0.5,b,0.25',
    ]);
  });

  it('writes a long history piece by piece: the same file, never the whole text at once', async () => {
    const rows = 10_000;
    const long = {
      ...history,
      times: Float64Array.from({ length: rows }, (_, i) => Date.UTC(2024, 0, 1) + i * 60_000),
      close: Float64Array.from({ length: rows }, (_, i) => 100 + (i % 7)),
      splits: Array.from({ length: rows }, () => 'train' as const),
      scores: Float64Array.from({ length: rows }, (_, i) => (i % 13) / 13),
      flags: Uint8Array.from({ length: rows }, (_, i) => (i % 13 === 12 ? 1 : 0)),
      contributions: { data: Float64Array.from({ length: rows * 3 }, (_, i) => i % 5), rows, cols: 3 },
    };
    const pieces = Array.from(anomaliesCsv(long));
    // 10,001 lines (the header and each row) in pieces of at most 4,096 lines, each whole lines.
    expect(pieces.length).toBe(3);
    for (const piece of pieces) {
      expect(piece.endsWith('\n')).toBe(true);
      expect(piece.split('\n').length - 1).toBeLessThanOrEqual(4096);
    }
    const dir = await mkdtemp(join(tmpdir(), 'core-csv-'));
    try {
      const path = join(dir, 'anomalies.csv');
      await writeFileAtomic(path, anomaliesCsv(long));
      const written = await readFile(path, 'utf8');
      expect(written).toBe(pieces.join(''));
      expect(written.split('\n')).toHaveLength(rows + 2);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('lists the most anomalous scored rows first', () => {
    const rows = topAnomalyRows({ ...history, splits: [...history.splits] }, 5);
    expect(rows.map((r) => r.score)).toEqual([0.9, 0.2]);
    expect(rows[0]).toEqual({
      time: history.times[2],
      close: 99,
      score: 0.9,
      threshold: 0.5,
      isAnomaly: true,
      split: 'test',
      topFeatures: ['a', 'b'],
    });
  });
});
