import { describe, expect, it } from 'vitest';
import type { CandleLike } from '../src/evaluation/api.js';
import { eventRecall, flagMetrics } from '../src/evaluation/classification.js';
import { evaluateDetection } from '../src/evaluation/evaluate.js';
import {
  labelsFromEvents,
  mergeRanges,
  parseEventsCsv,
  parseTime,
  rangesFromFlags,
  rowLabels,
} from '../src/evaluation/labels.js';
import { positionalWeight, rangePrecision, rangeRecall } from '../src/evaluation/range-based.js';
import { explainableCandles, explainableShare, flagSpread } from '../src/evaluation/unlabelled.js';

describe('labels', () => {
  const times = Array.from({ length: 10 }, (_, i) => i * 10); // 0, 10, ..., 90

  it('places instants and spans on rows, widened by the tolerance on both sides, edges included', () => {
    const { ranges, outside } = labelsFromEvents(
      times,
      [35, { start: 20, end: 20 }, { start: 50, end: 72 }],
      {
        tolerance: 5,
      },
    );
    expect(ranges).toEqual([
      { startIndex: 3, endIndex: 4 }, // [30, 40]: both edges are rows
      { startIndex: 2, endIndex: 2 }, // [15, 25]
      { startIndex: 5, endIndex: 7 }, // [45, 77]
    ]);
    expect(outside).toEqual([]);
  });

  it('reports events that cover no row instead of dropping them', () => {
    const { ranges, outside } = labelsFromEvents(times, [35, 200, -50], { tolerance: 4 });
    expect(ranges).toEqual([]);
    expect(outside).toEqual([
      { start: 35, end: 35 },
      { start: 200, end: 200 },
      { start: -50, end: -50 },
    ]);
    expect(() => labelsFromEvents([0, 20, 10], [5])).toThrow(/ascending/);
    expect(() => labelsFromEvents(times, [{ start: 30, end: 20 }])).toThrow(/start must not be after/);
  });

  it('reads times and events CSVs', () => {
    expect(parseTime('2014-04-10 07:15:00.000000')).toBe(Date.UTC(2014, 3, 10, 7, 15));
    expect(parseTime('2024-01-02')).toBe(Date.UTC(2024, 0, 2));
    expect(parseTime('2024-01-02T03:04:05+01:00')).toBe(Date.UTC(2024, 0, 2, 2, 4, 5));
    expect(parseTime('1700000000000')).toBe(1_700_000_000_000);
    // Ten digits are Unix seconds, as the command line reads them.
    expect(parseTime('1722816000')).toBe(1_722_816_000_000);
    expect(parseTime('1722816000.5')).toBe(1_722_816_000_500);
    expect(() => parseEventsCsv('time\n\n')).toThrow(/a header \(line 1\) and no event/);
    expect(() => parseTime('yesterday')).toThrow(/not a time/);
    // Zones: Z, UTC, ±HH:MM and ±HHMM; none is UTC, whatever the machine's zone.
    const six = Date.UTC(2024, 7, 5, 6);
    for (const text of [
      '2024-08-05 06:00',
      '2024-08-05T06:00:00Z',
      '2024-08-05 06:00:00 UTC',
      '2024-08-05T08:00:00+02:00',
      '2024-08-05T08:00+0200',
      '2024-08-05T01:00:00-05:00',
    ]) {
      expect(parseTime(text)).toBe(six);
    }
    // Forms Date.parse would guess at (machine zone, month first, roll-over) are refused.
    for (const text of ['2024/08/05 06:00', '12/03/2020', 'Aug 5 2024', '20200312', '2024-08-05T06:00+02']) {
      expect(() => parseTime(text), text).toThrow(/is not a time: give epoch milliseconds/);
    }
    for (const text of ['2020-02-30', '2023-02-29', '2020-13-01', '2020-03-12 24:30', '2020-03-12 10:60']) {
      expect(() => parseTime(text), text).toThrow(/is not a time that exists/);
    }
    expect(parseTime('2024-02-29')).toBe(Date.UTC(2024, 1, 29));
    expect(parseEventsCsv('time\n2024-01-02\n2024-01-05 12:00:00\n')).toEqual([
      { start: Date.UTC(2024, 0, 2), end: Date.UTC(2024, 0, 2) },
      { start: Date.UTC(2024, 0, 5, 12), end: Date.UTC(2024, 0, 5, 12) },
    ]);
    expect(parseEventsCsv('name,start,end\ncrash,2024-01-02,2024-01-04\n')).toEqual([
      { start: Date.UTC(2024, 0, 2), end: Date.UTC(2024, 0, 4) },
    ]);
    expect(() => parseEventsCsv('when\n2024-01-02\n')).toThrow(
      expect.objectContaining({ code: 'MISSING_COLUMN' }),
    );
    expect(() => parseEventsCsv('start,end\n2024-01-02,soon\n')).toThrow(/line 2: end/);
  });

  it('turns ranges into row labels and flags back into ranges', () => {
    expect(
      Array.from(
        rowLabels(6, [
          { startIndex: 1, endIndex: 2 },
          { startIndex: 5, endIndex: 9 },
        ]),
      ),
    ).toEqual([0, 1, 1, 0, 0, 1]);
    expect(rangesFromFlags([1, 1, 0, 1, 0, 0, 1])).toEqual([
      { startIndex: 0, endIndex: 1 },
      { startIndex: 3, endIndex: 3 },
      { startIndex: 6, endIndex: 6 },
    ]);
    expect(
      mergeRanges([
        { startIndex: 5, endIndex: 6 },
        { startIndex: 0, endIndex: 2 },
        { startIndex: 3, endIndex: 3 },
      ]),
    ).toEqual([
      { startIndex: 0, endIndex: 3 },
      { startIndex: 5, endIndex: 6 },
    ]);
  });
});

describe('point-wise measures', () => {
  it('precision, recall and F1 of the flags', () => {
    const result = flagMetrics([1, 1, 0, 0, 1, 0], [1, 0, 0, 1, 1, 1]);
    expect(result.precision).toBeCloseTo(2 / 3, 12);
    expect(result.recall).toBeCloseTo(2 / 4, 12);
    expect(result.f1).toBeCloseTo((2 * (2 / 3) * 0.5) / (2 / 3 + 0.5), 12);
    expect(flagMetrics([0, 0], [1, 0])).toMatchObject({ recall: 0, f1: 0 });
    expect(flagMetrics([0, 0], [1, 0]).precision).toBeNaN();
  });

  it('event recall counts a flag exactly at the tolerance edge, not one row past it', () => {
    const events = [{ startIndex: 2, endIndex: 3 }];
    expect(eventRecall([0, 1, 0, 0, 0, 0], events)).toBe(0); // before the event
    expect(eventRecall([0, 0, 1, 0, 0, 0], events)).toBe(1); // first row
    expect(eventRecall([0, 0, 0, 0, 1, 0], events)).toBe(0); // one past, no tolerance
    expect(eventRecall([0, 0, 0, 0, 0, 1], events, 2)).toBe(1); // endIndex + 2
    expect(eventRecall([0, 0, 0, 0, 0, 0, 1], events, 2)).toBe(0); // endIndex + 3
  });
});

describe('range-based precision and recall (Tatbul et al. 2018)', () => {
  const real = [{ startIndex: 0, endIndex: 9 }];
  const predicted = [
    { startIndex: 5, endIndex: 9 },
    { startIndex: 20, endIndex: 24 },
  ];

  it('recall is the overlap share, plus the existence reward when alpha > 0', () => {
    expect(rangeRecall(real, predicted)).toBeCloseTo(0.5, 12);
    expect(rangeRecall(real, predicted, { alpha: 0.5 })).toBeCloseTo(0.5 * 1 + 0.5 * 0.5, 12);
    expect(rangeRecall(real, predicted, { alpha: 1 })).toBe(1);
    expect(rangeRecall(real, [{ startIndex: 30, endIndex: 31 }], { alpha: 0.5 })).toBe(0);
  });

  it('positional bias weighs the covered rows 6..10 of a 10-row range', () => {
    // front: weights 10..1, covered 5+4+3+2+1 of 55; back: 6+..+10 of 55; middle: 1,2,3,4,5,5,4,3,2,1.
    expect(rangeRecall(real, predicted, { bias: 'front' })).toBeCloseTo(15 / 55, 12);
    expect(rangeRecall(real, predicted, { bias: 'back' })).toBeCloseTo(40 / 55, 12);
    expect(rangeRecall(real, predicted, { bias: 'middle' })).toBeCloseTo(15 / 30, 12);
    expect([1, 2, 3, 4, 5].map((i) => positionalWeight(i, 5, 'middle'))).toEqual([1, 2, 3, 2, 1]);
  });

  it('the cardinality factor divides a fragmented detection by its fragments', () => {
    const fragments = [
      { startIndex: 0, endIndex: 1 },
      { startIndex: 5, endIndex: 6 },
    ];
    expect(rangeRecall(real, fragments)).toBeCloseTo(0.4 / 2, 12);
    expect(rangeRecall(real, fragments, { cardinality: 'one' })).toBeCloseTo(0.4, 12);
  });

  it('precision averages over predicted ranges, with no existence reward', () => {
    expect(rangePrecision(real, predicted)).toBeCloseTo((1 + 0) / 2, 12);
    // Half of [8, 11] lies in the real range.
    expect(rangePrecision(real, [{ startIndex: 8, endIndex: 11 }])).toBeCloseTo(0.5, 12);
    expect(rangePrecision(real, [])).toBeNaN();
    expect(rangeRecall([], predicted)).toBeNaN();
    expect(() => rangeRecall(real, predicted, { alpha: 2 })).toThrow(/alpha/);
  });
});

describe('evaluateDetection', () => {
  it('reports every labelled measure of one detector', () => {
    const quality = evaluateDetection(
      [0.1, 0.2, 0.9, 0.8, 0.3, 0.1],
      [0, 0, 1, 0, 0, 0],
      [{ startIndex: 2, endIndex: 3 }],
    );
    expect(quality).toMatchObject({
      rocAuc: 1,
      prAuc: 1,
      precision: 1,
      recall: 0.5,
      eventRecall: 1,
      rangePrecision: 1,
      rangeRecall: 0.5,
      flaggedRows: 1,
      labelledRows: 2,
      events: 1,
    });
    expect(quality.f1).toBeCloseTo(2 / 3, 12);
    expect(quality.rangeF1).toBeCloseTo(2 / 3, 12);
    expect(() => evaluateDetection([1, 2], [1], [])).toThrow(/one of each per row/);
    // A misspelt option, here or in its range settings, is refused rather than left at its default.
    expect(() => evaluateDetection([1], [1], [], { eventTolerance: 2 } as never)).toThrow(
      /^unknown key eventTolerance in evaluateDetection options \(the keys there are eventToleranceRows, range\)\.$/,
    );
    expect(() => evaluateDetection([1], [1], [], { range: { bais: 'front' } } as never)).toThrow(
      /^unknown key bais in evaluateDetection options.range \(the keys there are bias, alpha, cardinality\)\.$/,
    );
    const real = [{ startIndex: 2, endIndex: 3 }];
    expect(() => rangeRecall(real, real, { alfa: 1 } as never)).toThrow(
      /unknown key alfa in rangeRecall options/,
    );
    // Precision takes the same range settings as recall (alpha is recall's alone).
    expect(rangePrecision(real, real, { alpha: 1 } as never)).toBe(1);
    expect(() => rangePrecision(real, real, { cardinalty: 'one' } as never)).toThrow(
      /unknown key cardinalty in rangePrecision options/,
    );
    expect(() => labelsFromEvents([0, 1], [0], { tolerence: 1 } as never)).toThrow(
      /^unknown key tolerence in labelsFromEvents options \(the keys there are tolerance, candleMs\)\.$/,
    );
    expect(() => explainableCandles([], { lookBack: 5 } as never)).toThrow(
      /^unknown key lookBack in explainable options \(the keys there are lookback, /,
    );
  });
});

describe('label-free measures', () => {
  /**
   * 50 candles whose log returns alternate -0.01 / +0.01 (sample std over 30 of them 0.01017,
   * 3 sigma 0.0305) at volume 100, except: candle 10 jumps 0.2 on volume 1000 but has no 30-candle
   * history yet; candle 45 (whose previous 30 returns no longer hold the jump) returns 0.05;
   * candle 47 trades exactly 3x the median (not above); candle 48 trades 301.
   */
  function candles(): CandleLike[] {
    const out: CandleLike[] = [];
    let close = 100;
    for (let i = 0; i < 50; i++) {
      const logReturn = i === 10 ? 0.2 : i === 45 ? 0.05 : i % 2 === 1 ? 0.01 : -0.01;
      if (i > 0) close *= Math.exp(logReturn);
      const volume = i === 10 ? 1000 : i === 47 ? 300 : i === 48 ? 301 : 100;
      out.push({ openTime: i * 86_400_000, close, volume });
    }
    return out;
  }

  it('marks a candle explainable by its move or its volume, never before 30 candles of history', () => {
    const explainable = explainableCandles(candles());
    expect([...explainable.keys()].filter((i) => explainable[i] === 1)).toEqual([45, 48]);
  });

  it('explainable share of flags beside the base rate', () => {
    const flags = new Uint8Array(50);
    for (const i of [10, 45, 47, 48]) flags[i] = 1;
    // The flag on candle 10 lacks the 30 returns before it: left out, not counted unexplained.
    expect(explainableShare(candles(), flags)).toEqual({
      share: 2 / 3,
      explainableFlags: 2,
      flags: 3,
      baseRate: 2 / 19,
      undetermined: 1,
    });
    expect(explainableShare(candles(), new Uint8Array(50)).share).toBeNaN();
    expect(() => explainableShare(candles(), new Uint8Array(49))).toThrow(/one flag per candle/);
  });

  it('spread of flags per year and in the first 10% of the rows', () => {
    const times = [
      Date.UTC(2017, 10, 1),
      Date.UTC(2017, 11, 1),
      ...Array.from({ length: 8 }, (_, i) => Date.UTC(2018, i, 1)),
    ];
    const flags = [1, 0, 0, 0, 0, 1, 0, 0, 0, 1];
    expect(flagSpread(times, flags)).toEqual({
      flags: 3,
      years: [
        { year: 2017, flags: 1, candles: 2, share: 1 / 3 },
        { year: 2018, flags: 2, candles: 8, share: 2 / 3 },
      ],
      earlyShare: 1 / 3,
      earlyRows: 1,
    });
  });
});
