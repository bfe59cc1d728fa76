import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  analyzeKlines,
  assertCandleQuality,
  candleQualityError,
  csvQualityReport,
  csvSource,
  exportCsv,
  formatQualityReport,
  generateSampleMarket,
  importCsv,
  isDataError,
  KLINE_CSV_HEADER,
  KlineStore,
  klinesToCsv,
  qualityReport,
} from '../src/index.js';

// The shared Binance files live beside the repository (../shared/data); these tests skip without them.
const fourHourly = resolve(
  dirname(fileURLToPath(import.meta.url)),
  '../../../../shared/data/binance/BTCUSDT_4h.csv',
);

let directory: string;
beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'quality-'));
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

describe('analyzeKlines', () => {
  it('finds gaps, duplicates, disorder, zero volume, bad OHLC and off-grid times', () => {
    const clean = generateSampleMarket({ count: 100, anomaliesPerThousand: { 'stale-price': 0 } }).klines;
    const rows = clean.filter((_, i) => i < 40 || i >= 45); // 5 missing
    rows.push({ ...rows[10]! }); // duplicate, and out of order
    rows[20] = { ...rows[20]!, volume: 0, takerBuyBaseAssetVolume: 0 };
    rows[30] = { ...rows[30]!, low: Math.max(rows[30]!.open, rows[30]!.close) + 1 };
    rows[50] = { ...rows[50]!, openTime: rows[50]!.openTime + 1 };
    const report = analyzeKlines(rows, 'BTCUSDT', '1h');
    expect(report.rows).toBe(96);
    expect(report.duplicates).toBe(1);
    expect(report.outOfOrder).toBe(1);
    expect(report.zeroVolume).toBe(1);
    expect(report.inconsistent).toBe(1);
    expect(report.misaligned).toBe(1);
    expect(report.timestampUnit).toBe('milliseconds');
    expect(report.gaps[0]).toEqual({ start: clean[40]!.openTime, end: clean[45]!.openTime, missing: 5 });
    expect(report.examples.find((e) => e.index === 30)!.reason).toMatch(
      /close .* outside \[low .*, high .*\]/,
    );
    expect(formatQualityReport(report)).toMatch(/duplicates: 1, out of order: 1, off-grid: 1/);
  });

  it('recognises microsecond timestamps and checks them after conversion', () => {
    const klines = generateSampleMarket({ count: 10, start: Date.UTC(2025, 0, 1) }).klines.map((k) => ({
      ...k,
      openTime: k.openTime * 1000,
      closeTime: k.closeTime * 1000 + 999,
    }));
    const report = analyzeKlines(klines, 'BTCUSDT', '1h');
    expect(report.timestampUnit).toBe('microseconds');
    expect(report.gaps).toEqual([]);
    expect(report.misaligned).toBe(0);
    expect(report.firstOpenTime).toBe(Date.UTC(2025, 0, 1));
  });

  it('reports a CSV file as written, units included', async () => {
    const path = join(directory, 'mixed.csv');
    await writeFile(
      path,
      [
        '1735603200000,1,2,0.5,1.5,10,1735606799999,15,3,4,6,0',
        '1735606800000,1,2,0.5,1.5,10,1735610399999,15,3,4,6,0',
        '1735689600000000,1,2,0.5,1.5,0,1735693199999999,15,3,0,0,0',
      ].join('\n'),
    );
    const report = await csvQualityReport(path, 'BTCUSDT', '1h');
    expect(report.timestampUnit).toBe('mixed');
    expect(report.zeroVolume).toBe(1);
    expect(report.missingRows).toBe(22);
  });
});

describe('candle checks before training', () => {
  const clean = () =>
    generateSampleMarket({ count: 200, anomaliesPerThousand: { 'stale-price': 5 } }).klines.map((k) => ({
      ...k,
    }));
  const refusal = (
    klines: ReturnType<typeof clean>,
    options: Parameters<typeof assertCandleQuality>[3] = {},
  ) => {
    try {
      assertCandleQuality(klines, 'BTCUSDT', '1h', options);
    } catch (error) {
      expect(isDataError(error) && error.code).toBe('BAD_CANDLES');
      return (error as Error).message;
    }
    return undefined;
  };

  it('accepts the sample market, zero-volume stale candles included', () => {
    expect(refusal(clean())).toBeUndefined();
  });

  it('speaks of the candle: high < low, by time and by line when the source knows it', () => {
    const klines = clean();
    const k = klines[50]!;
    [k.high, k.low] = [k.low, k.high];
    expect(refusal(klines)).toMatch(
      /^candles that contradict themselves: the candle at 2024-01-03 02:00 UTC: high [\d.]+ below low [\d.]+\.$/,
    );
    expect(
      refusal(klines, { source: 'CSV file a.csv', lineOf: (time) => (time === k.openTime ? 52 : undefined) }),
    ).toMatch(/^CSV file a\.csv: candles that contradict themselves: line 52 \(2024-01-03 02:00 UTC\): high/);
  });

  it('names a close outside [low, high] and counts the others', () => {
    const klines = clean();
    for (const index of [10, 20, 30, 40]) klines[index]!.close = klines[index]!.high * 2;
    expect(refusal(klines)).toMatch(/close [\d.]+ outside \[low [\d.]+, high [\d.]+\].*\(4 candles in all\)/);
  });

  it('refuses gaps unless the user accepts them', () => {
    const klines = clean().filter((_, index) => index < 100 || index >= 103);
    expect(refusal(klines)).toMatch(
      /3 of 200 1h candles are missing: the first gap, 3 candles from 2024-01-05 04:00 UTC, lies between the candle at 2024-01-05 03:00 UTC and the candle at 2024-01-05 07:00 UTC\./,
    );
    expect(refusal(klines, { allowGaps: true })).toBeUndefined();
  });

  it('refuses candles of another interval: 4h run as 1h, 1h run as 4h', () => {
    const fourHour = generateSampleMarket({ count: 100, interval: '4h' }).klines;
    expect(candleQualityError(analyzeKlines(fourHour, 'BTCUSDT', '1h'))?.message).toMatch(
      /the candles are 4h apart, but the interval is 1h \(99 of 99 steps skip candles\)/,
    );
    // allowGaps does not hide a wrong interval.
    expect(candleQualityError(analyzeKlines(fourHour, 'BTCUSDT', '1h'), { allowGaps: true })).toBeDefined();
    const hourly = generateSampleMarket({ count: 100, start: Date.UTC(2024, 0, 1, 1) }).klines;
    expect(candleQualityError(analyzeKlines(hourly, 'BTCUSDT', '4h'))?.message).toMatch(
      /75 of 100 open times are off the 4h grid/,
    );
  });

  it('says when the open times are Unix seconds rather than milliseconds', () => {
    const seconds = generateSampleMarket({ count: 50, interval: '1d' }).klines.map((k) => ({
      ...k,
      openTime: k.openTime / 1000,
      closeTime: Math.floor(k.closeTime / 1000),
    }));
    expect(candleQualityError(analyzeKlines(seconds, 'BTCUSDT', '1d'))?.message).toMatch(
      /the open times look like Unix seconds, not milliseconds: the first, 1704067200, would be 1970-01-20 .*as seconds 2024-01-01.*multiply open_time and close_time by 1000/,
    );
  });

  it.skipIf(!existsSync(fourHourly))(
    "accepts Binance's own 4h history once its gaps are allowed",
    async () => {
      const klines = await csvSource(fourHourly).load({ symbol: 'BTCUSDT', interval: '4h' });
      const report = analyzeKlines(klines, 'BTCUSDT', '4h');
      // One candle's close time equals its open time: reported, but nothing reads close times.
      expect(report.inconsistent).toBe(1);
      expect(candleQualityError(report)?.message).toMatch(/candles are missing/);
      expect(candleQualityError(report, { allowGaps: true })).toBeUndefined();
    },
  );

  it('refuses repeated open times and disorder from sources that do not sort', () => {
    const klines = clean();
    klines.splice(60, 0, { ...klines[59]!, close: klines[59]!.close + 1 });
    expect(refusal(klines)).toMatch(/repeated open times: the candle at .*: duplicate open time/);
    const swapped = clean();
    [swapped[5], swapped[6]] = [swapped[6]!, swapped[5]!];
    expect(refusal(swapped)).toMatch(/candles out of time order/);
  });
});

describe('store quality, CSV import and export', () => {
  it('imports a CSV file into the store, reports it, and exports the same text', async () => {
    const { klines } = generateSampleMarket({ count: 25_000, seed: 4 });
    const source = join(directory, 'BTCUSDT_1h.csv');
    await writeFile(source, klinesToCsv(klines));
    const store = await KlineStore.open(join(directory, 'import.duckdb'));
    try {
      const progress: number[] = [];
      const result = await importCsv(store, source, { onProgress: (rows) => progress.push(rows) });
      expect(result).toEqual({ symbol: 'BTCUSDT', interval: '1h', rows: 25_000, skipped: 0 });
      expect(progress).toEqual([10_000, 20_000, 25_000]);
      expect(await store.klines('BTCUSDT', '1h')).toEqual(klines);
      const report = await qualityReport(store, 'BTCUSDT', '1h');
      expect(report).toMatchObject({ rows: 25_000, duplicates: 0, outOfOrder: 0, gaps: [], inconsistent: 0 });
      // The sample market's stale-price anomalies are zero-volume bars.
      expect(report.zeroVolume).toBeGreaterThan(0);

      const out = join(directory, 'export.csv');
      expect(await exportCsv(store, out, 'BTCUSDT', '1h')).toBe(25_000);
      expect(await readFile(out, 'utf8')).toBe(await readFile(source, 'utf8'));
      const part = join(directory, 'part.csv');
      expect(
        await exportCsv(store, part, 'BTCUSDT', '1h', {
          start: klines[5]!.openTime,
          end: klines[8]!.openTime,
        }),
      ).toBe(3);
    } finally {
      await store.close();
    }
  });

  it('refuses an open time given twice with different values (naming both lines), reads an exact repeat once', async () => {
    const { klines } = generateSampleMarket({ count: 30 });
    const lines = klinesToCsv(klines).trim().split('\n');
    const store = await KlineStore.open(':memory:');
    try {
      // An exact repeat, out of order: written once.
      const repeated = join(directory, 'BTCUSDT_1h-repeat.csv');
      await writeFile(repeated, `${[...lines, lines[5]].join('\n')}\n`);
      await importCsv(store, repeated);
      expect(await store.count('BTCUSDT', '1h')).toBe(30);
      // The same time with another close, far from the first: refused, both lines named.
      const fields = lines[5]!.split(',');
      fields[5] = String(Number(fields[5]) + 1);
      const conflicting = join(directory, 'BTCUSDT_1h-conflict.csv');
      await writeFile(conflicting, `${[...lines, fields.join(',')].join('\n')}\n`);
      const error = await importCsv(store, conflicting).catch((caught) => caught);
      expect(isDataError(error) && error.code).toBe('BAD_CANDLES');
      expect(error.message).toMatch(
        /lines 6 and 32 both hold the candle opening at 2024-01-01T04:00:00\.000Z with different values/,
      );
      expect((await store.klines('BTCUSDT', '1h'))[4]!.close).toBe(klines[4]!.close);
    } finally {
      await store.close();
    }
  });

  it('refuses a malformed file unless told to skip, and needs a symbol it can tell', async () => {
    const { klines } = generateSampleMarket({ count: 3 });
    const lines = klinesToCsv(klines).trim().split('\n');
    lines[2] = lines[2]!.split(',').slice(0, 9).join(',');
    const path = join(directory, 'ETHUSDT_1h.csv');
    await writeFile(path, `${lines.join('\n')}\n`);
    const store = await KlineStore.open(':memory:');
    try {
      await expect(importCsv(store, path)).rejects.toThrow(/line 3: expected 13 columns, got 9/);
      const skipped: number[] = [];
      const result = await importCsv(store, path, {
        skipMalformed: true,
        onSkippedLine: (line) => skipped.push(line),
      });
      expect(result).toMatchObject({ symbol: 'ETHUSDT', rows: 2, skipped: 1 });
      expect(skipped).toEqual([3]);
      const unnamed = join(directory, 'data.csv');
      await writeFile(unnamed, `${KLINE_CSV_HEADER}\n`);
      await expect(importCsv(store, unnamed)).rejects.toThrow(/Cannot tell the symbol and interval/);
    } finally {
      await store.close();
    }
  });

  it('refuses a misspelt option instead of ignoring it', async () => {
    const { klines } = generateSampleMarket({ count: 5 });
    const path = join(directory, 'SOLUSDT_1h.csv');
    await writeFile(path, klinesToCsv(klines));
    const store = await KlineStore.open(':memory:');
    try {
      await expect(importCsv(store, path, { simbol: 'BTCUSDT' } as never)).rejects.toThrow(
        /^unknown key simbol in importCsv options \(the keys there are symbol, skipMalformed,/,
      );
      expect(await importCsv(store, path, { batchSize: 2, onProgress: () => {} })).toMatchObject({ rows: 5 });
      await expect(qualityReport(store, 'SOLUSDT', '1h', { strt: 0 } as never)).rejects.toThrow(
        /unknown key strt in qualityReport range/,
      );
      await expect(
        exportCsv(store, join(directory, 'x.csv'), 'SOLUSDT', '1h', { ned: 1 } as never),
      ).rejects.toThrow(/unknown key ned in exportCsv range/);
      await expect(
        exportCsv(store, join(directory, 'x.csv'), 'SOLUSDT', '1h', {}, { overwrit: true } as never),
      ).rejects.toThrow(/unknown key overwrit in exportCsv options/);
      await expect(csvQualityReport(path, 'SOLUSDT', '1h', { skip: true } as never)).rejects.toThrow(
        /unknown key skip in csvQualityReport options/,
      );
    } finally {
      await store.close();
    }
    // allowGap would have refused the gaps it was meant to allow.
    expect(() => assertCandleQuality(klines, 'SOLUSDT', '1h', { allowGap: true } as never)).toThrow(
      /^unknown key allowGap in assertCandleQuality options \(the keys there are allowGaps, source, lineOf\)\.$/,
    );
    expect(() => analyzeKlines(klines, 'SOLUSDT', '1h', { examples: 1 } as never)).toThrow(
      /unknown key examples in analyzeKlines options/,
    );
    const report = analyzeKlines(klines, 'SOLUSDT', '1h');
    expect(() => candleQualityError(report, { sorce: 'x' } as never)).toThrow(
      /unknown key sorce in candleQualityError options/,
    );
  });
});
