import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ANOMALY_KINDS,
  type AnomalyKind,
  DEFAULT_REGIMES,
  generateSampleMarket,
  intervalToMilliseconds,
  isDataError,
  type Kline,
  labelsToCsv,
  SeededRandom,
  sampleMarketFor,
  sampleSource,
  writeLabelsCsv,
} from '../src/index.js';

function expectConsistent(k: Kline): void {
  expect(k.low).toBeLessThanOrEqual(Math.min(k.open, k.close));
  expect(k.high).toBeGreaterThanOrEqual(Math.max(k.open, k.close));
  expect(k.low).toBeGreaterThan(0);
  expect(k.volume).toBeGreaterThanOrEqual(0);
  expect(k.takerBuyBaseAssetVolume).toBeLessThanOrEqual(k.volume);
  expect(k.takerBuyQuoteAssetVolume).toBeLessThanOrEqual(k.quoteAssetVolume);
  expect(Number.isInteger(k.numberOfTrades)).toBe(true);
  expect(k.closeTime).toBeGreaterThan(k.openTime);
  if (k.volume > 0) {
    // Quote volume is volume times a price inside the candle's range.
    expect(k.quoteAssetVolume).toBeGreaterThanOrEqual(k.volume * k.low * (1 - 1e-9) - 1e-3);
    expect(k.quoteAssetVolume).toBeLessThanOrEqual(k.volume * k.high * (1 + 1e-9) + 1e-3);
  }
}

describe('generateSampleMarket', () => {
  const market = generateSampleMarket();

  it('uses the documented defaults', () => {
    expect(market.symbol).toBe('BTCUSDT');
    expect(market.interval).toBe('1h');
    expect(market.klines).toHaveLength(5000);
    expect(market.klines[0]!.openTime).toBe(Date.UTC(2024, 0, 1));
    expect(market.klines[0]!.open).toBe(42_000);
    expect(market.options.seed).toBe(42);
  });

  it('is deterministic for a seed and differs across seeds', () => {
    const again = generateSampleMarket({ seed: 42 });
    expect(again.klines).toEqual(market.klines);
    expect(again.labels).toEqual(market.labels);
    const other = generateSampleMarket({ seed: 43 });
    expect(other.klines.map((k) => k.close)).not.toEqual(market.klines.map((k) => k.close));
  });

  it('produces consistent OHLC and contiguous times', () => {
    const step = intervalToMilliseconds('1h');
    market.klines.forEach((k, i) => {
      expectConsistent(k);
      expect(k.openTime).toBe(Date.UTC(2024, 0, 1) + i * step);
      expect(k.closeTime).toBe(k.openTime + step - 1);
      if (i > 0) expect(k.open).toBe(market.klines[i - 1]!.close);
    });
  });

  it('keeps OHLC consistent for any seed and interval (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.constantFrom('1m', '15m', '4h', '1d', '1w', '1M' as const),
        (seed, interval) => {
          const { klines } = generateSampleMarket({ seed, interval, count: 400 });
          expect(klines).toHaveLength(400);
          for (const k of klines) expectConsistent(k);
        },
      ),
      { seed: 7, numRuns: 25 },
    );
  });

  it('injects every anomaly kind, without overlaps, each with labels pointing at its candles', () => {
    const kinds = new Set(market.labels.map((label) => label.kind));
    expect([...kinds].sort()).toEqual([...ANOMALY_KINDS].sort());
    for (let i = 1; i < market.labels.length; i++) {
      expect(market.labels[i]!.startIndex).toBeGreaterThan(market.labels[i - 1]!.endIndex);
    }
    for (const label of market.labels) {
      expect(market.klines[label.startIndex]!.openTime).toBe(label.startTime);
      expect(market.klines[label.endIndex]!.openTime).toBe(label.endTime);
      expect(label.description.length).toBeGreaterThan(5);
    }
  });

  it('makes each kind look like what it is named', () => {
    const { klines, labels } = market;
    const medianVolume = [...klines].map((k) => k.volume).sort((a, b) => a - b)[2500]!;
    const byKind = (kind: AnomalyKind) => labels.filter((label) => label.kind === kind);
    for (const label of byKind('stale-price')) {
      const slice = klines.slice(label.startIndex, label.endIndex + 1);
      expect(slice.length).toBeGreaterThanOrEqual(6);
      for (const k of slice) {
        expect([k.open, k.high, k.low, k.close]).toEqual([slice[0]!.open, k.open, k.open, k.open]);
        expect(k.volume).toBe(0);
        expect(k.numberOfTrades).toBe(0);
      }
    }
    for (const label of byKind('flash-crash')) {
      const before = klines[label.startIndex]!.open;
      const low = Math.min(...klines.slice(label.startIndex, label.endIndex + 1).map((k) => k.low));
      expect(low / before).toBeLessThan(0.93);
      expect(klines[label.endIndex]!.close / before).toBeGreaterThan(0.9);
    }
    for (const label of byKind('pump-and-dump')) {
      const slice = klines.slice(label.startIndex, label.endIndex + 1);
      const peak = Math.max(...slice.map((k) => k.high));
      expect(peak / slice[0]!.open).toBeGreaterThan(1.08);
      expect(slice.at(-1)!.close / peak).toBeLessThan(0.93);
    }
    for (const label of byKind('volume-spike')) {
      for (const k of klines.slice(label.startIndex, label.endIndex + 1)) {
        expect(k.volume).toBeGreaterThan(2 * medianVolume);
        expect(Math.abs(k.close / k.open - 1)).toBeLessThan(0.01);
      }
    }
    for (const label of byKind('volatility-break')) {
      const inside = klines.slice(label.startIndex, label.endIndex + 1);
      const absReturn = (k: Kline) => Math.abs(Math.log(k.close / k.open));
      const meanInside = inside.reduce((sum, k) => sum + absReturn(k), 0) / inside.length;
      const meanAll = klines.reduce((sum, k) => sum + absReturn(k), 0) / klines.length;
      expect(meanInside).toBeGreaterThan(1.3 * meanAll);
    }
  });

  it('has fat tails and volatility clustering in its returns', () => {
    const long = generateSampleMarket({ seed: 5, count: 20_000 });
    const returns = long.klines.slice(1).map((k, i) => Math.log(k.close / long.klines[i]!.close));
    const mean = returns.reduce((s, r) => s + r, 0) / returns.length;
    const variance = returns.reduce((s, r) => s + (r - mean) ** 2, 0) / returns.length;
    const kurtosis = returns.reduce((s, r) => s + (r - mean) ** 4, 0) / returns.length / variance ** 2;
    expect(kurtosis).toBeGreaterThan(5);
    const abs = returns.map(Math.abs);
    const absMean = abs.reduce((s, r) => s + r, 0) / abs.length;
    let num = 0;
    let den = 0;
    abs.forEach((a, i) => {
      den += (a - absMean) ** 2;
      if (i > 0) num += (a - absMean) * (abs[i - 1]! - absMean);
    });
    expect(num / den).toBeGreaterThan(0.1);
  });

  it('drops the anomalies of a kind whose rate is 0', () => {
    const quiet = generateSampleMarket({ anomaliesPerThousand: { 'volume-spike': 0, 'stale-price': 0 } });
    const kinds = new Set(quiet.labels.map((label) => label.kind));
    expect(kinds.has('volume-spike')).toBe(false);
    expect(kinds.has('stale-price')).toBe(false);
    expect(kinds.has('flash-crash')).toBe(true);
  });

  it('refuses bad options, naming the field', () => {
    const cases: [object, RegExp][] = [
      [{ count: 0 }, /count must be an integer in \[1/],
      [{ seed: 1.5 }, /seed must be an integer/],
      [{ interval: '2h3' }, /Unknown interval "2h3"/],
      [{ degreesOfFreedom: 2 }, /degreesOfFreedom must be greater than 2/],
      [{ garchAlpha: 0.5, garchBeta: 0.6 }, /garchAlpha \+ garchBeta must be below 1/],
      [{ symbol: 'btc usdt' }, /symbol must be an exchange symbol/],
      [{ anomaliesPerThousand: { meteor: 1 } }, /unknown kind "meteor"/],
      [{ start: -5 }, /start must be a Unix time/],
      // A misspelt option is refused, not dropped for its default (the closest key first).
      [
        { seeed: 1 },
        /^unknown key seeed in sample market options \(the keys there are seed, interval, start,/,
      ],
      [{ regimes: [{ ...DEFAULT_REGIMES[0], meanDuration: 3 }] }, /unknown key meanDuration in regimes\[0\]/],
    ];
    for (const [options, message] of cases) {
      let caught: unknown;
      try {
        generateSampleMarket(options as never);
      } catch (error) {
        caught = error;
      }
      expect(isDataError(caught), JSON.stringify(options)).toBe(true);
      expect((caught as Error).message).toMatch(message);
    }
  });
});

describe('sampleSource', () => {
  it('describes itself and loads a time range of closed candles', async () => {
    const source = sampleSource({ seed: 7, count: 1000 });
    expect(source.describe()).toBe('bundled sample market (seed 7, 1h, 1000 candles from 2024-01-01)');
    const all = await source.load({ symbol: 'BTCUSDT', interval: '1h' });
    expect(all).toEqual(generateSampleMarket({ seed: 7, count: 1000 }).klines);
    const start = all[10]!.openTime;
    const end = all[20]!.openTime;
    const part = await source.load({ symbol: 'BTCUSDT', interval: '1h', start, end });
    expect(part).toEqual(all.slice(10, 20));
    expect(source.market().labels.length).toBeGreaterThan(0);
  });

  it('generates another interval on request and refuses start after end', async () => {
    const source = sampleSource({ count: 300 });
    const daily = await source.load({ symbol: 'ETHUSDT', interval: '1d' });
    expect(daily).toHaveLength(300);
    expect(daily[1]!.openTime - daily[0]!.openTime).toBe(86_400_000);
    await expect(source.load({ symbol: 'BTCUSDT', interval: '1h', start: 10, end: 5 })).rejects.toThrow(
      /is after end/,
    );
  });

  it('refuses a misspelt option or request key instead of ignoring it', async () => {
    expect(() => sampleSource({ conut: 10 } as never)).toThrow(/unknown key conut in sample market options/);
    const source = sampleSource({ count: 50 });
    await expect(source.load({ symbol: 'BTCUSDT', interval: '1h', strt: 10 } as never)).rejects.toThrow(
      /^unknown key strt in the load request \(the keys there are start, symbol, interval, end\)\.$/,
    );
    // symbol and interval are sampleMarketFor's arguments: in its options they would be overridden.
    expect(() => sampleMarketFor('ETHUSDT', '1h', { symbol: 'BTCUSDT' } as never)).toThrow(
      /unknown key symbol in sample market options \(without symbol and interval/,
    );
    // An undefined value sets nothing, whatever its key.
    expect(sampleSource({ seed: undefined, seeed: undefined } as never).options.seed).toBe(42);
  });
});

describe('labels CSV', () => {
  it('writes one line per label with quoted descriptions', async () => {
    const { labels } = generateSampleMarket({ count: 2000 });
    const text = labelsToCsv(labels);
    const lines = text.trim().split('\n');
    expect(lines[0]).toBe(
      'kind,start_time,end_time,start_time_utc,end_time_utc,start_index,end_index,description',
    );
    expect(lines).toHaveLength(labels.length + 1);
    const first = labels[0]!;
    expect(lines[1]!.startsWith(`${first.kind},${first.startTime},${first.endTime},`)).toBe(true);
    const directory = await mkdtemp(join(tmpdir(), 'labels-'));
    try {
      const path = join(directory, 'labels.csv');
      await writeLabelsCsv(path, labels);
      expect(await readFile(path, 'utf8')).toBe(text);
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
    expect(
      labelsToCsv([{ ...first, description: 'a, "b"' }])
        .trim()
        .split('\n')[1],
    ).toMatch(/"a, ""b"""$/);
  });
});

describe('SeededRandom', () => {
  it('repeats for a seed and draws unit-variance Student-t shocks', () => {
    const a = new SeededRandom(3);
    const b = new SeededRandom(3);
    const drawsA = Array.from({ length: 5 }, () => a.next());
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(drawsA);
    const random = new SeededRandom(11);
    const draws = Array.from({ length: 50_000 }, () => random.standardizedStudentT(6));
    const variance = draws.reduce((s, x) => s + x * x, 0) / draws.length;
    expect(variance).toBeGreaterThan(0.9);
    expect(variance).toBeLessThan(1.1);
  });
});
