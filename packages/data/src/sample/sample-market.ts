import type { AnomalyLabel, Kline, SampleMarket, SampleMarketInput, SampleMarketOptions } from '../api.js';
import { nextOpenTime } from '../intervals.js';
import { type Adjustments, placeEvents, planEvents } from './anomalies.js';
import { resolveSampleMarketOptions } from './market-options.js';
import { SeededRandom } from './random.js';

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

/**
 * Generates a labelled sample market: regime-switching (Markov) returns with GARCH(1,1) variance
 * and Student-t shocks, volume tied to |return| and regime, consistent OHLC, and injected,
 * labelled anomalies. Deterministic for a seed.
 */
export function generateSampleMarket(options: SampleMarketInput = {}): SampleMarket {
  const opts = resolveSampleMarketOptions(options);
  const count = opts.count;
  const random = new SeededRandom(opts.seed);

  const openTimes = new Float64Array(count + 1);
  openTimes[0] = opts.start;
  for (let i = 0; i < count; i++) openTimes[i + 1] = nextOpenTime(opts.interval, openTimes[i]!);

  const returns = new Float64Array(count);
  const sigma = new Float64Array(count);
  const baseSigma = new Float64Array(count);
  const shocks = new Float64Array(count);
  const logVolume = new Float64Array(count);
  const regimes = opts.regimes;
  let regime = 0;
  let variance = 1;
  let previousShock = 0;
  let slowVolume = 0;
  const meanAbsShock = 0.8;
  for (let i = 0; i < count; i++) {
    const days = (openTimes[i + 1]! - openTimes[i]!) / DAY_MS;
    if (regimes.length > 1 && random.next() < Math.min(0.5, days / regimes[regime]!.meanDurationDays)) {
      const other = random.integer(0, regimes.length - 2);
      regime = other >= regime ? other + 1 : other;
    }
    const state = regimes[regime]!;
    variance =
      1 - opts.garchAlpha - opts.garchBeta + opts.garchAlpha * previousShock ** 2 + opts.garchBeta * variance;
    // Capped so that one draw far in the t tail cannot produce an absurd candle (a -80% hour).
    variance = Math.min(variance, 9);
    const shock = clamp(random.standardizedStudentT(opts.degreesOfFreedom), -6, 6);
    previousShock = shock;
    shocks[i] = shock;
    const candleBase = opts.dailyVolatility * Math.sqrt(days);
    const candleSigma = candleBase * state.volatilityMultiplier * Math.sqrt(variance);
    baseSigma[i] = candleBase;
    sigma[i] = candleSigma;
    returns[i] = state.dailyDrift * days + candleSigma * shock;

    const persistence = opts.volumePersistence ** days;
    slowVolume =
      persistence * slowVolume + Math.sqrt(1 - persistence ** 2) * opts.volumeNoise * random.normal();
    const seasonal =
      days < 1 ? 0.25 * Math.cos((2 * Math.PI * ((openTimes[i]! % DAY_MS) / HOUR_MS - 15)) / 24) : 0;
    logVolume[i] =
      Math.log(opts.dailyVolume * days * state.volumeMultiplier) +
      // Volume follows volatility: the persistent conditional part and this candle's own shock.
      0.5 * Math.log(variance) +
      opts.volumeReturnSensitivity * (Math.min(Math.abs(shock), 5) - meanAbsShock) +
      slowVolume +
      seasonal +
      opts.candleVolumeNoise * random.normal();
  }

  const adjustments: Adjustments = {
    returns,
    shocks,
    baseSigma,
    sigma,
    volumeFactor: new Float64Array(count).fill(1),
    rangeFactor: new Float64Array(count).fill(1),
    extraLowWick: new Float64Array(count),
    flat: new Uint8Array(count),
  };
  const placed = placeEvents(planEvents(opts, random), count, random);
  const describers = placed.map((event) => event.plan.apply(event.start, adjustments, random));

  const klines = buildCandles(opts, openTimes, logVolume, baseSigma, adjustments, random);
  const labels: AnomalyLabel[] = placed.map((event, index) => ({
    kind: event.plan.kind,
    startTime: openTimes[event.start]!,
    endTime: openTimes[event.start + event.plan.length - 1]!,
    startIndex: event.start,
    endIndex: event.start + event.plan.length - 1,
    description: describers[index]!(klines),
  }));
  labels.sort((a, b) => a.startIndex - b.startIndex);
  return { symbol: opts.symbol, interval: opts.interval, klines, labels, options: opts };
}

function buildCandles(
  opts: SampleMarketOptions,
  openTimes: Float64Array,
  logVolume: Float64Array,
  baseSigma: Float64Array,
  adj: Adjustments,
  random: SeededRandom,
): Kline[] {
  const tick = opts.tickSize;
  const decimals = Math.max(0, Math.min(12, Math.ceil(-Math.log10(tick) - 1e-9)));
  const toTick = (value: number, mode: 'round' | 'ceil' | 'floor') =>
    Number((Math[mode](value / tick) * tick).toFixed(decimals));
  const klines: Kline[] = new Array(openTimes.length - 1);
  let previousClose = Math.max(tick, toTick(opts.startPrice, 'round'));
  for (let i = 0; i < klines.length; i++) {
    const open = previousClose;
    const openTime = openTimes[i]!;
    const closeTime = openTimes[i + 1]! - 1;
    if (adj.flat[i]) {
      klines[i] = {
        openTime,
        open,
        high: open,
        low: open,
        close: open,
        volume: 0,
        closeTime,
        quoteAssetVolume: 0,
        numberOfTrades: 0,
        takerBuyBaseAssetVolume: 0,
        takerBuyQuoteAssetVolume: 0,
        ignore: 0,
      };
      continue;
    }
    const close = Math.max(tick, toTick(open * Math.exp(adj.returns[i]!), 'round'));
    const wick = 0.6 * adj.sigma[i]! * adj.rangeFactor[i]!;
    const top = Math.max(open, close);
    const bottom = Math.min(open, close);
    const high = Math.max(top, toTick(top * Math.exp(Math.abs(random.normal()) * wick), 'ceil'));
    const lowRaw = bottom * Math.exp(-Math.abs(random.normal()) * wick) * (1 - adj.extraLowWick[i]!);
    const low = Math.min(bottom, Math.max(tick, toTick(lowRaw, 'floor')));
    const volume = Math.max(0.00001, round(Math.exp(logVolume[i]!) * adj.volumeFactor[i]!, 5));
    const trades = Math.max(1, Math.round(volume * opts.tradesPerUnit * Math.exp(0.15 * random.normal())));
    const averagePrice = (open + high + low + close) / 4;
    const quoteAssetVolume = round(volume * averagePrice, 4);
    const buyShare = clamp(
      0.5 + 0.2 * Math.tanh(adj.returns[i]! / baseSigma[i]!) + 0.04 * random.normal(),
      0.02,
      0.98,
    );
    const takerBuyBaseAssetVolume = Math.min(volume, round(volume * buyShare, 5));
    const takerBuyQuoteAssetVolume = Math.min(
      quoteAssetVolume,
      round(takerBuyBaseAssetVolume * averagePrice, 4),
    );
    klines[i] = {
      openTime,
      open,
      high,
      low,
      close,
      volume,
      closeTime,
      quoteAssetVolume,
      numberOfTrades: trades,
      takerBuyBaseAssetVolume,
      takerBuyQuoteAssetVolume,
      ignore: 0,
    };
    previousClose = close;
  }
  return klines;
}

function round(value: number, decimals: number): number {
  const scale = 10 ** decimals;
  return Math.round(value * scale) / scale;
}

function clamp(value: number, low: number, high: number): number {
  return Math.min(high, Math.max(low, value));
}
