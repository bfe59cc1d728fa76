/**
 * The store writes of `crypto-anomaly watch`, per burst: one candle for each of 200 pairs, 4 score
 * rows and 1 alert per pair (so 200 candles, 800 score rows and 200 alerts a burst), 100 bursts,
 * into a real DuckDB file that already holds 1000 candles of history per pair.
 *
 * - `one pair at a time`: what the watch loop does today, `upsert` per pair, then `saveAlerts`,
 *   then `saveScores` (202 transactions a burst);
 * - `batched`: `upsertMany` for the burst's candles, then `saveAlerts` and `saveScores`
 *   (3 transactions a burst);
 * - `one transaction`: `saveBurst` with the candles, scores and alerts together.
 *
 * Usage: pnpm --filter @crypto-anomaly/data bench-store-writes [pairs] [bursts] [variant...]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  generateSampleMarket,
  type Interval,
  type Kline,
  KlineStore,
  type StoredAlert,
  type StoredScore,
} from '../src/index.js';

const pairs = Number(process.argv[2] ?? 200);
const bursts = Number(process.argv[3] ?? 100);
const variants = process.argv.slice(4);
const HISTORY = 1000;
const DETECTORS = ['isolation-forest', 'autoencoder', 'lstm', 'consensus'];
const interval: Interval = '1m';

const symbols = Array.from({ length: pairs }, (_, i) => `P${String(i).padStart(3, '0')}USDT`);
const series: Kline[] = generateSampleMarket({ interval, count: HISTORY + bursts }).klines;

interface Burst {
  candles: { symbol: string; interval: Interval; klines: Kline[] }[];
  scores: StoredScore[];
  alerts: StoredAlert[];
}

function burst(index: number): Burst {
  const kline = series[HISTORY + index]!;
  const candles = symbols.map((symbol) => ({ symbol, interval, klines: [kline] }));
  const scores = symbols.flatMap((symbol) =>
    DETECTORS.map((detector, d) => ({
      symbol,
      interval,
      openTime: kline.openTime,
      detector,
      score: d + index / bursts,
      threshold: 2,
      flagged: d >= 2,
    })),
  );
  const alerts = symbols.map((symbol) => {
    const id = `${symbol}:${interval}:${kline.openTime}:consensus`;
    return {
      id,
      symbol,
      interval,
      openTime: kline.openTime,
      detector: 'consensus',
      payload: JSON.stringify({ id, score: 3, threshold: 2, reason: 'bench' }),
    };
  });
  return { candles, scores, alerts };
}

type Write = (store: KlineStore, burst: Burst) => Promise<void>;

const WRITES: Record<string, Write> = {
  'one pair at a time': async (store, b) => {
    for (const c of b.candles) await store.upsert(c.symbol, c.interval, c.klines);
    const fresh = await store.saveAlerts(b.alerts);
    if (fresh.length !== b.alerts.length) throw new Error('an alert was not new');
    await store.saveScores(b.scores);
  },
  batched: async (store, b) => {
    await store.upsertMany(b.candles);
    const fresh = await store.saveAlerts(b.alerts);
    if (fresh.length !== b.alerts.length) throw new Error('an alert was not new');
    await store.saveScores(b.scores);
  },
  'one transaction': async (store, b) => {
    const written = await store.saveBurst({ klines: b.candles, scores: b.scores, alerts: b.alerts });
    if (written.newAlertIds.length !== b.alerts.length) throw new Error('an alert was not new');
  },
};

console.log(
  `node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? 'unknown'}); ` +
    `${pairs} pairs x ${bursts} bursts (1 candle, ${DETECTORS.length} scores, 1 alert per pair)`,
);
const directory = await mkdtemp(join(tmpdir(), 'store-writes-bench-'));
try {
  for (const [name, write] of Object.entries(WRITES)) {
    if (variants.length > 0 && !variants.includes(name)) continue;
    const store = await KlineStore.open(join(directory, `${name.replace(/\W+/g, '-')}.duckdb`));
    try {
      for (const symbol of symbols) await store.upsert(symbol, interval, series.slice(0, HISTORY));
      const planned = Array.from({ length: bursts }, (_, i) => burst(i));
      const t0 = performance.now();
      for (const b of planned) await write(store, b);
      const ms = performance.now() - t0;
      const [{ klines, scores, alerts }] = (await store.query(
        `SELECT (SELECT count(*) FROM klines) AS klines, (SELECT count(*) FROM scores) AS scores,
                (SELECT count(*) FROM alerts) AS alerts`,
      )) as [{ klines: bigint; scores: bigint; alerts: bigint }];
      const expected = [pairs * (HISTORY + bursts), pairs * bursts * DETECTORS.length, pairs * bursts];
      if (
        Number(klines) !== expected[0] ||
        Number(scores) !== expected[1] ||
        Number(alerts) !== expected[2]
      ) {
        throw new Error(`${name}: stored ${klines}/${scores}/${alerts} rows, expected ${expected.join('/')}`);
      }
      console.log(
        `${name}: ${(ms / 1000).toFixed(2)} s, ${(ms / bursts).toFixed(1)} ms per burst, ` +
          `${((ms / bursts / pairs) * 1000).toFixed(0)} µs per candle`,
      );
    } finally {
      await store.close();
    }
  }
} finally {
  await rm(directory, { recursive: true, force: true });
}
