import type { Interval, SampleKlineSource, SampleMarket, SampleMarketInput } from '../api.js';
import { assertInterval } from '../intervals.js';
import { assertKnownKeys, assertSymbol, assertTimeRange, KLINE_REQUEST_KEYS } from '../validate.js';
import { resolveSampleMarketOptions } from './market-options.js';
import { generateSampleMarket } from './sample-market.js';

/**
 * The sample market as a KlineSource. `load` generates the requested interval and symbol with the
 * same seed and count (the options' interval is only the default), cached per pair.
 */
export function sampleSource(options: SampleMarketInput = {}): SampleKlineSource {
  const resolved = resolveSampleMarketOptions(options);
  const cache = new Map<string, SampleMarket>();
  const market = (request: { symbol?: string; interval?: Interval } = {}): SampleMarket => {
    const symbol = request.symbol ?? resolved.symbol;
    const interval = request.interval ?? resolved.interval;
    const key = `${symbol}/${interval}`;
    let found = cache.get(key);
    if (!found) {
      found = generateSampleMarket({ ...resolved, symbol, interval });
      cache.set(key, found);
    }
    return found;
  };
  return {
    options: resolved,
    market,
    describe: () =>
      `bundled sample market (seed ${resolved.seed}, ${resolved.interval}, ${resolved.count} candles from ${new Date(resolved.start).toISOString().slice(0, 10)})`,
    async load(request) {
      assertKnownKeys('the load request', request, KLINE_REQUEST_KEYS);
      const interval = assertInterval(request.interval);
      const symbol = assertSymbol('symbol', request.symbol);
      const { start, end } = assertTimeRange(request, { start: -Infinity, end: Infinity });
      return market({ symbol, interval }).klines.filter((k) => k.openTime >= start && k.openTime < end);
    },
  };
}
