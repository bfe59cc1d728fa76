import { writeFile } from 'node:fs/promises';
import type {
  AnomalyKind,
  AnomalyLabel,
  Interval,
  Kline,
  MarketRegime,
  SampleKlineSource,
  SampleMarket,
  SampleMarketInput,
  SampleMarketOptions,
} from './api.js';
import { writeFileAtomically } from './atomic-file.js';
import { DataError } from './errors.js';
import { assertInterval, nextOpenTime } from './intervals.js';
import { SeededRandom } from './random.js';
import {
  assertFiniteNumber,
  assertInteger,
  assertPositiveNumber,
  assertRange,
  assertSymbol,
  assertTimeRange,
  assertTimestamp,
  describeValue,
} from './validate.js';

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

/** The anomaly kinds in the order the generator draws them (part of what a seed fixes). */
export const ANOMALY_KINDS: readonly AnomalyKind[] = Object.freeze([
  'flash-crash',
  'pump-and-dump',
  'volume-spike',
  'volatility-break',
  'stale-price',
]);

export const DEFAULT_REGIMES: readonly MarketRegime[] = Object.freeze([
  Object.freeze({
    name: 'normal',
    volatilityMultiplier: 1,
    volumeMultiplier: 1,
    dailyDrift: 0.0008,
    meanDurationDays: 40,
  }),
  Object.freeze({
    name: 'calm',
    volatilityMultiplier: 0.55,
    volumeMultiplier: 0.7,
    dailyDrift: 0.0003,
    meanDurationDays: 30,
  }),
  Object.freeze({
    name: 'turbulent',
    volatilityMultiplier: 2,
    volumeMultiplier: 1.7,
    dailyDrift: -0.002,
    meanDurationDays: 10,
  }),
]);

export const SAMPLE_MARKET_DEFAULTS: Readonly<SampleMarketOptions> = Object.freeze({
  seed: 42,
  interval: '1h',
  start: Date.UTC(2024, 0, 1),
  count: 5000,
  symbol: 'BTCUSDT',
  startPrice: 42_000,
  tickSize: 0.01,
  dailyVolatility: 0.03,
  degreesOfFreedom: 5,
  garchAlpha: 0.07,
  garchBeta: 0.91,
  regimes: DEFAULT_REGIMES,
  dailyVolume: 30_000,
  volumeReturnSensitivity: 0.2,
  volumePersistence: 0.995,
  volumeNoise: 0.9,
  candleVolumeNoise: 0.25,
  tradesPerUnit: 40,
  anomaliesPerThousand: Object.freeze({
    'flash-crash': 1,
    'pump-and-dump': 1,
    'volume-spike': 2,
    'volatility-break': 0.5,
    'stale-price': 1,
  }),
});

/** Fills defaults in and checks every field, naming the bad one. */
export function resolveSampleMarketOptions(options: SampleMarketInput = {}): SampleMarketOptions {
  const resolved: SampleMarketOptions = {
    ...SAMPLE_MARKET_DEFAULTS,
    ...withoutUndefined(options),
    anomaliesPerThousand: {
      ...SAMPLE_MARKET_DEFAULTS.anomaliesPerThousand,
      ...withoutUndefined(options.anomaliesPerThousand ?? {}),
    },
  };
  assertInteger('seed', resolved.seed, 0, 0xffffffff);
  assertInterval(resolved.interval);
  assertTimestamp('start', resolved.start);
  assertInteger('count', resolved.count, 1, 10_000_000);
  assertSymbol('symbol', resolved.symbol);
  assertPositiveNumber('startPrice', resolved.startPrice);
  assertPositiveNumber('tickSize', resolved.tickSize);
  if (resolved.tickSize > resolved.startPrice) {
    throw new DataError(
      'INVALID_ARGUMENT',
      `tickSize (${resolved.tickSize}) must be smaller than startPrice (${resolved.startPrice}).`,
    );
  }
  assertPositiveNumber('dailyVolatility', resolved.dailyVolatility);
  assertFiniteNumber('degreesOfFreedom', resolved.degreesOfFreedom);
  if (resolved.degreesOfFreedom <= 2) {
    throw new DataError(
      'INVALID_ARGUMENT',
      `degreesOfFreedom must be greater than 2 (the variance is infinite otherwise), got ${resolved.degreesOfFreedom}.`,
    );
  }
  assertRange('garchAlpha', resolved.garchAlpha, 0, 1);
  assertRange('garchBeta', resolved.garchBeta, 0, 1);
  if (resolved.garchAlpha + resolved.garchBeta >= 1) {
    throw new DataError(
      'INVALID_ARGUMENT',
      `garchAlpha + garchBeta must be below 1 for a stationary variance, got ${resolved.garchAlpha} + ${resolved.garchBeta}.`,
    );
  }
  if (!Array.isArray(resolved.regimes) || resolved.regimes.length === 0) {
    throw new DataError(
      'INVALID_ARGUMENT',
      `regimes must be a non-empty array of MarketRegime, got ${describeValue(resolved.regimes)}.`,
    );
  }
  resolved.regimes.forEach((regime, index) => {
    assertPositiveNumber(`regimes[${index}].volatilityMultiplier`, regime.volatilityMultiplier);
    assertPositiveNumber(`regimes[${index}].volumeMultiplier`, regime.volumeMultiplier);
    assertFiniteNumber(`regimes[${index}].dailyDrift`, regime.dailyDrift);
    assertPositiveNumber(`regimes[${index}].meanDurationDays`, regime.meanDurationDays);
  });
  assertPositiveNumber('dailyVolume', resolved.dailyVolume);
  assertRange('volumeReturnSensitivity', resolved.volumeReturnSensitivity, 0, 10);
  assertRange('volumePersistence', resolved.volumePersistence, 0, 0.9999);
  assertRange('volumeNoise', resolved.volumeNoise, 0, 5);
  assertRange('candleVolumeNoise', resolved.candleVolumeNoise, 0, 5);
  assertPositiveNumber('tradesPerUnit', resolved.tradesPerUnit);
  for (const key of Object.keys(resolved.anomaliesPerThousand)) {
    if (!ANOMALY_KINDS.includes(key as AnomalyKind)) {
      throw new DataError(
        'INVALID_ARGUMENT',
        `anomaliesPerThousand has an unknown kind "${key}". Use: ${ANOMALY_KINDS.join(', ')}.`,
      );
    }
  }
  for (const kind of ANOMALY_KINDS) {
    assertRange(`anomaliesPerThousand['${kind}']`, resolved.anomaliesPerThousand[kind], 0, 50);
  }
  return resolved;
}

/** Drops keys set to undefined, so `{ seed: undefined }` keeps the default seed. */
function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** What the anomaly injection changes, per candle. */
interface Adjustments {
  returns: Float64Array;
  /** The standardized shock of each candle and the base (multiplier 1) volatility. */
  shocks: Float64Array;
  baseSigma: Float64Array;
  sigma: Float64Array;
  volumeFactor: Float64Array;
  rangeFactor: Float64Array;
  extraLowWick: Float64Array;
  flat: Uint8Array;
}

interface PlannedEvent {
  kind: AnomalyKind;
  length: number;
  /** Writes the event into the adjustments at `start` and returns its description. */
  apply(start: number, adjustments: Adjustments, random: SeededRandom): (klines: Kline[]) => string;
}

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

function planEvents(opts: SampleMarketOptions, random: SeededRandom): PlannedEvent[] {
  const plans: PlannedEvent[] = [];
  for (const kind of ANOMALY_KINDS) {
    const rate = opts.anomaliesPerThousand[kind];
    const events = rate > 0 ? Math.max(1, Math.round((rate * opts.count) / 1000)) : 0;
    for (let k = 0; k < events; k++) plans.push(planEvent(kind, random));
  }
  // Longest first, so the long volatility breaks find room before short events fill the series.
  return plans.sort((a, b) => b.length - a.length);
}

function planEvent(kind: AnomalyKind, random: SeededRandom): PlannedEvent {
  switch (kind) {
    case 'flash-crash': {
      const crashLength = random.integer(1, 3);
      const recoveryLength = random.integer(3, 12);
      const depth = random.uniform(0.08, 0.2);
      const recovered = random.uniform(0.6, 1);
      return {
        kind,
        length: crashLength + recoveryLength,
        apply(start, adj, rng) {
          const crash = Math.log(1 - depth);
          for (let j = 0; j < crashLength; j++) {
            const i = start + j;
            adj.returns[i] = crash / crashLength + 0.1 * adj.sigma[i]! * rng.normal();
            adj.volumeFactor[i] = rng.uniform(4, 10);
            adj.rangeFactor[i] = 1.5;
            adj.extraLowWick[i] = rng.uniform(0, 0.3) * depth;
          }
          const weights = Array.from({ length: recoveryLength }, (_, k) => 0.75 ** k);
          const total = weights.reduce((sum, w) => sum + w, 0);
          weights.forEach((weight, k) => {
            const i = start + crashLength + k;
            adj.returns[i] = (-crash * recovered * weight) / total + 0.2 * adj.sigma[i]! * rng.normal();
            adj.volumeFactor[i] = 1 + 4 * weight;
          });
          return () =>
            `-${pct(depth)}% in ${plural(crashLength, 'candle')}, ${Math.round(recovered * 100)}% of the drop recovered in ${recoveryLength}`;
        },
      };
    }
    case 'pump-and-dump': {
      const pumpLength = random.integer(3, 8);
      const dumpLength = random.integer(2, 5);
      const rise = random.uniform(0.1, 0.3);
      const giveBack = random.uniform(0.85, 1.05);
      return {
        kind,
        length: pumpLength + dumpLength,
        apply(start, adj, rng) {
          const up = Math.log(1 + rise);
          for (let j = 0; j < pumpLength; j++) {
            const i = start + j;
            adj.returns[i] = up / pumpLength + 0.15 * adj.sigma[i]! * rng.normal();
            adj.volumeFactor[i] = 2 + (4 * (j + 1)) / pumpLength;
          }
          for (let j = 0; j < dumpLength; j++) {
            const i = start + pumpLength + j;
            adj.returns[i] = (-up * giveBack) / dumpLength + 0.15 * adj.sigma[i]! * rng.normal();
            adj.volumeFactor[i] = rng.uniform(4, 8);
          }
          return () =>
            `+${pct(rise)}% in ${plural(pumpLength, 'candle')} on rising volume, then -${pct(1 - (1 + rise) ** -giveBack)}% in ${dumpLength}`;
        },
      };
    }
    case 'volume-spike': {
      const length = random.integer(1, 3);
      const factor = random.uniform(6, 15);
      return {
        kind,
        length,
        apply(start, adj, rng) {
          for (let j = 0; j < length; j++) {
            const i = start + j;
            adj.returns[i] = 0.05 * adj.sigma[i]! * rng.normal();
            adj.volumeFactor[i] = factor;
            adj.rangeFactor[i] = 0.4;
          }
          return (klines) => {
            const first = klines[start]!;
            const last = klines[start + length - 1]!;
            const move = Math.abs(last.close / first.open - 1);
            return `volume x${factor.toFixed(1)} for ${plural(length, 'candle')} with a ${(move * 100).toFixed(2)}% price move`;
          };
        },
      };
    }
    case 'volatility-break': {
      const length = random.integer(24, 72);
      const factor = random.uniform(2, 3.5);
      return {
        kind,
        length,
        apply(start, adj) {
          // Relative to the base volatility, not the current one, so a break inside a turbulent
          // regime does not compound into absurd moves.
          for (let j = 0; j < length; j++) {
            const i = start + j;
            adj.sigma[i] = adj.baseSigma[i]! * factor;
            adj.returns[i] = adj.sigma[i]! * adj.shocks[i]!;
            adj.volumeFactor[i] = 1.6;
          }
          return () => `volatility at ${factor.toFixed(1)}x the base level for ${length} candles, then back`;
        },
      };
    }
    case 'stale-price': {
      const length = random.integer(6, 24);
      return {
        kind,
        length,
        apply(start, adj) {
          for (let j = 0; j < length; j++) {
            const i = start + j;
            adj.returns[i] = 0;
            adj.flat[i] = 1;
            adj.volumeFactor[i] = 0;
          }
          return (klines) => `price frozen at ${klines[start]!.open} for ${length} candles with no trades`;
        },
      };
    }
  }
}

function placeEvents(
  plans: PlannedEvent[],
  count: number,
  random: SeededRandom,
): { plan: PlannedEvent; start: number }[] {
  const margin = 12;
  const warmUp = Math.min(48, Math.floor(count / 10));
  const placed: { plan: PlannedEvent; start: number }[] = [];
  for (const plan of plans) {
    const last = count - plan.length - 1;
    if (last < warmUp) continue;
    for (let attempt = 0; attempt < 200; attempt++) {
      const start = random.integer(warmUp, last);
      const end = start + plan.length - 1;
      const clash = placed.some(
        (other) => start <= other.start + other.plan.length - 1 + margin && other.start <= end + margin,
      );
      if (!clash) {
        placed.push({ plan, start });
        break;
      }
    }
  }
  return placed;
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

function pct(fraction: number): string {
  return (fraction * 100).toFixed(1);
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

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
      const interval = assertInterval(request.interval);
      const symbol = assertSymbol('symbol', request.symbol);
      const { start, end } = assertTimeRange(request, { start: -Infinity, end: Infinity });
      return market({ symbol, interval }).klines.filter((k) => k.openTime >= start && k.openTime < end);
    },
  };
}

const LABEL_HEADER = 'kind,start_time,end_time,start_time_utc,end_time_utc,start_index,end_index,description';

/** Labels as CSV text (header line, one event per line), to save beside a run's outputs. */
export function labelsToCsv(labels: readonly AnomalyLabel[]): string {
  const lines = [LABEL_HEADER];
  for (const label of labels) {
    lines.push(
      [
        label.kind,
        label.startTime,
        label.endTime,
        new Date(label.startTime).toISOString(),
        new Date(label.endTime).toISOString(),
        label.startIndex,
        label.endIndex,
        csvField(label.description),
      ].join(','),
    );
  }
  return `${lines.join('\n')}\n`;
}

/** Writes `labelsToCsv(labels)` to a file (beside it first, then renamed into place). */
export async function writeLabelsCsv(path: string, labels: readonly AnomalyLabel[]): Promise<void> {
  await writeFileAtomically(path, (temporary) => writeFile(temporary, labelsToCsv(labels), 'utf8'));
}

function csvField(text: string): string {
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
