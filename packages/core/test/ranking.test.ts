import { describe, expect, it } from 'vitest';
import { averagePrecision, consensusScores, eventRecall, rocAuc, scoreDistribution } from '../src/index.js';
import { averageRanks, jaccard, percentileOf, rankNormalize, spearman } from '../src/ranking.js';

describe('ranks and agreement', () => {
  it('averageRanks shares ties and keeps NaN', () => {
    expect(Array.from(averageRanks([10, 20, 10, Number.NaN, 5]))).toEqual([2.5, 4, 2.5, Number.NaN, 1]);
    expect(Array.from(rankNormalize([3, 1, 2]))).toEqual([1, 0, 0.5]);
  });

  it('spearman is 1 for monotone pairs, -1 for reversed, and ignores NaN rows', () => {
    expect(spearman([1, 2, 3, 4], [10, 100, 1000, 10_000])).toBeCloseTo(1, 12);
    expect(spearman([1, 2, 3, 4], [4, 3, 2, 1])).toBeCloseTo(-1, 12);
    expect(spearman([1, Number.NaN, 3, 4, 2], [1, 9, 3, 4, 2])).toBeCloseTo(1, 12);
  });

  it('jaccard compares flagged sets', () => {
    expect(jaccard([1, 1, 0, 0], [1, 0, 1, 0])).toBeCloseTo(1 / 3, 12);
    expect(jaccard([0, 0], [0, 0])).toBe(1);
  });

  it('percentileOf ranks new scores against the training distribution', () => {
    const training = Float64Array.from({ length: 1001 }, (_, i) => i);
    const distribution = scoreDistribution(training, 101);
    expect(percentileOf(distribution, -5)).toBe(0);
    expect(percentileOf(distribution, 500)).toBeCloseTo(0.5, 12);
    expect(percentileOf(distribution, 255)).toBeCloseTo(0.255, 12);
    expect(percentileOf(distribution, 5000)).toBe(1);
    expect(percentileOf(distribution, Number.NaN)).toBeNaN();
  });

  it('consensus averages percentiles over the detectors that scored the row', () => {
    const distribution = scoreDistribution([0, 1, 2, 3, 4], 5);
    const consensus = consensusScores([
      { scores: [0, 4, 2], distribution },
      { scores: [Number.NaN, 0, 2], distribution },
    ]);
    expect(Array.from(consensus)).toEqual([0, 0.5, 0.5]);
  });
});

describe('quality metrics', () => {
  it('ROC-AUC: perfect, reversed, ties and random', () => {
    expect(rocAuc([0.1, 0.2, 0.9, 0.8], [0, 0, 1, 1])).toBe(1);
    expect(rocAuc([0.9, 0.8, 0.1, 0.2], [0, 0, 1, 1])).toBe(0);
    expect(rocAuc([1, 1, 1, 1], [0, 1, 0, 1])).toBe(0.5);
    // Hand-computed: positives at 0.35 and 0.8 against negatives 0.1, 0.4, 0.7 → (1 + 3) / 6.
    expect(rocAuc([0.1, 0.35, 0.4, 0.7, 0.8], [0, 1, 0, 0, 1])).toBeCloseTo(4 / 6, 12);
  });

  it('average precision matches scikit-learn on a hand example', () => {
    // sklearn.metrics.average_precision_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) = 0.8333...
    expect(averagePrecision([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])).toBeCloseTo(0.8333333333, 9);
  });

  it('event recall counts events with a flag inside (plus tolerance)', () => {
    const events = [
      { startIndex: 1, endIndex: 2 },
      { startIndex: 5, endIndex: 5 },
    ];
    expect(eventRecall([0, 0, 1, 0, 0, 0, 0], events)).toBe(0.5);
    expect(eventRecall([0, 0, 0, 0, 0, 0, 1], events, 1)).toBe(0.5);
    expect(eventRecall([0, 0, 0, 0, 0, 0, 0], events)).toBe(0);
  });
});
