import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { csvQualityReport, csvSource, importCsv, KlineStore } from '../src/index.js';

// The shared Binance files live beside the repository (../shared/data); the suite passes without them.
const shared = resolve(dirname(fileURLToPath(import.meta.url)), '../../../../shared/data/binance');
const hourly = join(shared, 'BTCUSDT_1h.csv');
const fourHourly = join(shared, 'BTCUSDT_4h.csv');

describe.skipIf(!existsSync(hourly) || !existsSync(fourHourly))('the shared Binance files', () => {
  it('imports BTCUSDT_1h.csv whole and finds the exchange outages in it', async () => {
    const store = await KlineStore.open(':memory:');
    try {
      const result = await importCsv(store, hourly);
      expect(result).toMatchObject({ symbol: 'BTCUSDT', interval: '1h', rows: 72_866, skipped: 0 });
      const gaps = await store.findGaps('BTCUSDT', '1h');
      // Binance's 2018-02-08 maintenance left 33 hours without candles.
      expect(gaps).toContainEqual({
        start: Date.UTC(2018, 1, 8, 1),
        end: Date.UTC(2018, 1, 9, 10),
        missing: 33,
      });
      const klines = await csvSource(hourly).load({ symbol: 'BTCUSDT', interval: '1h' });
      expect(await store.klines('BTCUSDT', '1h')).toEqual(klines);
    } finally {
      await store.close();
    }
  });

  it('flags the 4h candle whose close time equals its open time', async () => {
    const report = await csvQualityReport(fourHourly, 'BTCUSDT', '4h');
    expect(report.timestampUnit).toBe('milliseconds');
    expect(report.inconsistent).toBe(1);
    expect(report.examples).toContainEqual({
      openTime: Date.UTC(2017, 8, 6, 16),
      index: 123,
      reason: 'close time 1504713600000 not after open time',
    });
  });
});
