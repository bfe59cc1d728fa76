/**
 * The anomalies planted in the sample market: each kind's recipe (what it does to returns,
 * volume and range, and the description its label gets), and where the events are placed.
 */
import type { AnomalyKind, Kline, SampleMarketOptions } from '../api.js';
import { ANOMALY_KINDS } from './market-options.js';
import type { SeededRandom } from './random.js';

/** What the anomaly injection changes, per candle. */
export interface Adjustments {
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

export interface PlannedEvent {
  kind: AnomalyKind;
  length: number;
  /** Writes the event into the adjustments at `start` and returns its description. */
  apply(start: number, adjustments: Adjustments, random: SeededRandom): (klines: Kline[]) => string;
}

export function planEvents(opts: SampleMarketOptions, random: SeededRandom): PlannedEvent[] {
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

export function placeEvents(
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

function pct(fraction: number): string {
  return (fraction * 100).toFixed(1);
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}
