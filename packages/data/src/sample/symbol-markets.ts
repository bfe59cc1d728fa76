import type { Interval, Kline, SampleMarket, SampleMarketInput, SampleMarketOptions } from '../api.js';
import { assertInterval } from '../intervals.js';
import { assertKnownKeys, assertSymbol } from '../validate.js';
import { resolveSampleMarketOptions, SAMPLE_MARKET_DEFAULTS } from './market-options.js';
import { SeededRandom } from './random.js';
import { generateSampleMarket } from './sample-market.js';

/** Options of `sampleMarketFor` / `sampleMarketKlines`: the sample market's, but the symbol and interval. */
export type SymbolMarketInput = Omit<SampleMarketInput, 'symbol' | 'interval'>;

/** 32-bit FNV-1a of a string: a seed that depends on every character of a symbol. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/**
 * The options of one symbol's sample market. The default symbol (BTCUSDT) keeps the options as
 * they are, so it is exactly `generateSampleMarket` with the same options. Any other symbol gets
 * its own seed (a hash of the base seed and its name) and, unless given, its own price level: a
 * start price from 0.1 to 10,000 drawn from that seed, a tick of five significant digits, and
 * volume and trades scaled so its quote volume and trade counts stay those of the default.
 */
export function sampleMarketOptionsFor(
  symbol: string,
  interval: Interval = SAMPLE_MARKET_DEFAULTS.interval,
  options: SymbolMarketInput = {},
): SampleMarketOptions {
  assertSymbol('symbol', symbol);
  assertInterval(interval);
  assertKnownKeys(
    'sample market options (without symbol and interval, which are arguments here)',
    options,
    Object.keys(SAMPLE_MARKET_DEFAULTS).filter((key) => key !== 'symbol' && key !== 'interval'),
  );
  const base = resolveSampleMarketOptions({ ...options, symbol, interval });
  if (symbol === SAMPLE_MARKET_DEFAULTS.symbol) return base;
  const seed = fnv1a(`${base.seed}:${symbol}`);
  if (options.startPrice !== undefined) return { ...base, seed };
  const startPrice = Number((10 ** (new SeededRandom(seed ^ 0x5bd1e995).next() * 5 - 1)).toPrecision(5));
  const scale = startPrice / base.startPrice;
  return resolveSampleMarketOptions({
    ...base,
    seed,
    startPrice,
    ...(options.tickSize === undefined ? { tickSize: 10 ** (Math.floor(Math.log10(startPrice)) - 4) } : {}),
    ...(options.dailyVolume === undefined ? { dailyVolume: base.dailyVolume / scale } : {}),
    ...(options.tradesPerUnit === undefined ? { tradesPerUnit: base.tradesPerUnit * scale } : {}),
  });
}

/**
 * One symbol's labelled sample market: deterministic, seeded from the symbol's name (see
 * `sampleMarketOptionsFor`), so many symbols can be replayed offline, each its own series on
 * the same open times. With the default options BTCUSDT is the bundled sample market itself.
 */
export function sampleMarketFor(
  symbol: string,
  interval: Interval = SAMPLE_MARKET_DEFAULTS.interval,
  options: SymbolMarketInput = {},
): SampleMarket {
  return generateSampleMarket(sampleMarketOptionsFor(symbol, interval, options));
}

/**
 * The candles of `sampleMarketFor(symbol, interval, options)`: what `replayKlines`' `load` takes,
 * e.g. `load: (symbol) => sampleMarketKlines(symbol, '1m')`.
 */
export function sampleMarketKlines(
  symbol: string,
  interval: Interval = SAMPLE_MARKET_DEFAULTS.interval,
  options: SymbolMarketInput = {},
): Kline[] {
  return sampleMarketFor(symbol, interval, options).klines;
}
