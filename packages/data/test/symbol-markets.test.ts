import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  analyzeKlines,
  candleQualityError,
  generateSampleMarket,
  isDataError,
  klinesToCsv,
  type LiveCandle,
  replayKlines,
  sampleMarketFor,
  sampleMarketKlines,
  sampleMarketOptionsFor,
  sampleSource,
} from '../src/index.js';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

describe('sample markets per symbol', () => {
  it('BTCUSDT with the defaults is the bundled sample market, byte for byte', async () => {
    const csv = klinesToCsv(sampleMarketKlines('BTCUSDT'));
    // The hash of today's sample market (seed 42, 1h, 5000 candles from 2024-01-01) as CSV.
    expect(sha256(csv)).toBe('6f8b3fea7e09842d989d231412691c6bfd945e0ab6e987b193df34b767ab2f99');
    expect(csv).toBe(klinesToCsv(generateSampleMarket().klines));
    expect(csv).toBe(klinesToCsv(await sampleSource().load({ symbol: 'BTCUSDT', interval: '1h' })));
    expect(sampleMarketFor('BTCUSDT')).toEqual(generateSampleMarket());
    // Another interval: the sample market of that interval.
    const minutes = klinesToCsv(sampleMarketKlines('BTCUSDT', '1m'));
    expect(sha256(minutes)).toBe('70cdb218f63b5a8da0a755513cc3927439a4426db656fb105c1a4ff04fdb2080');
    expect(minutes).toBe(klinesToCsv(await sampleSource().load({ symbol: 'BTCUSDT', interval: '1m' })));
    // Options pass through to it unchanged.
    expect(sampleMarketKlines('BTCUSDT', '1h', { seed: 7, count: 300 })).toEqual(
      generateSampleMarket({ seed: 7, count: 300 }).klines,
    );
  });

  it('gives every other symbol its own deterministic series on the same open times', () => {
    const symbols = ['ETHUSDT', 'SOLUSDT', 'DOGEUSDT', 'BTCFDUSD'];
    const btc = sampleMarketKlines('BTCUSDT', '1m', { count: 2000 });
    const closes = new Set<string>();
    for (const symbol of symbols) {
      const klines = sampleMarketKlines(symbol, '1m', { count: 2000 });
      // The same call again, in any order: the same candles.
      expect(klinesToCsv(sampleMarketKlines(symbol, '1m', { count: 2000 }))).toBe(klinesToCsv(klines));
      expect(klines.map((k) => k.openTime)).toEqual(btc.map((k) => k.openTime));
      closes.add(klines.map((k) => k.close).join(','));
      // Fit for the engine: no candle contradicts itself, no gap.
      expect(candleQualityError(analyzeKlines(klines, symbol, '1m'))).toBeUndefined();
      // Its own price level, its quote volume of the same order as the default's.
      const options = sampleMarketOptionsFor(symbol, '1m');
      expect(klines[0]!.open).toBe(options.startPrice);
      expect(options.startPrice).toBeGreaterThanOrEqual(0.1);
      expect(options.startPrice).toBeLessThan(10_000);
      const quote = (ks: typeof klines) => ks.reduce((sum, k) => sum + k.quoteAssetVolume, 0);
      expect(quote(klines) / quote(btc)).toBeGreaterThan(0.1);
      expect(quote(klines) / quote(btc)).toBeLessThan(10);
      // Labelled like the default market.
      expect(sampleMarketFor(symbol, '1m', { count: 2000 }).labels.length).toBeGreaterThan(0);
    }
    closes.add(btc.map((k) => k.close).join(','));
    expect(closes.size).toBe(symbols.length + 1);
    // The seed depends on the base seed too; a given start price is kept.
    expect(sampleMarketOptionsFor('ETHUSDT', '1h', { seed: 1 }).seed).not.toBe(
      sampleMarketOptionsFor('ETHUSDT').seed,
    );
    expect(sampleMarketOptionsFor('ETHUSDT', '1h', { startPrice: 2500 }).startPrice).toBe(2500);
  });

  it('is what replayKlines loads for any list of symbols, offline', async () => {
    const symbols = ['BTCUSDT', 'ETHUSDT', 'SOLUSDT'];
    const out: LiveCandle[] = [];
    for await (const candle of replayKlines({
      symbols,
      interval: '1h',
      load: (symbol) => sampleMarketKlines(symbol, '1h', { count: 50 }),
      speed: 'max',
      resumeFrom: { ETHUSDT: sampleMarketKlines('ETHUSDT', '1h', { count: 50 })[39]!.openTime },
    })) {
      out.push(candle);
    }
    expect(out).toHaveLength(50 + 10 + 50);
    expect(out.slice(0, 3).map((c) => c.symbol)).toEqual(['BTCUSDT', 'SOLUSDT', 'BTCUSDT']);
    for (const symbol of symbols) {
      const mine = out.filter((c) => c.symbol === symbol).map((c) => c.kline);
      const expected = sampleMarketKlines(symbol, '1h', { count: 50 });
      expect(mine).toEqual(symbol === 'ETHUSDT' ? expected.slice(40) : expected);
    }
  });

  it('refuses a bad symbol or interval', () => {
    const codeOf = (call: () => unknown) => {
      try {
        call();
      } catch (error) {
        return isDataError(error) ? error.code : error;
      }
      return 'no error';
    };
    expect(codeOf(() => sampleMarketKlines('btc usdt'))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => sampleMarketKlines('ETHUSDT', '7m' as '1m'))).toBe('UNKNOWN_INTERVAL');
  });
});
