import type { AnomalyKind, MarketRegime, SampleMarketInput, SampleMarketOptions } from '../api.js';
import { DataError } from '../errors.js';
import { assertInterval } from '../intervals.js';
import {
  assertFiniteNumber,
  assertInteger,
  assertKnownKeys,
  assertPositiveNumber,
  assertRange,
  assertSymbol,
  assertTimestamp,
  describeValue,
  keysOf,
} from '../validate.js';

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

const REGIME_KEYS = keysOf<MarketRegime>({
  name: true,
  volatilityMultiplier: true,
  volumeMultiplier: true,
  dailyDrift: true,
  meanDurationDays: true,
});

/** Fills defaults in and checks every field, naming the bad one. */
export function resolveSampleMarketOptions(options: SampleMarketInput = {}): SampleMarketOptions {
  assertKnownKeys('sample market options', options, Object.keys(SAMPLE_MARKET_DEFAULTS));
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
    assertKnownKeys(`regimes[${index}]`, regime, REGIME_KEYS);
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
