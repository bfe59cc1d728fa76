import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  generateSampleMarket,
  isDataError,
  type Kline,
  KlineStore,
  type PairKlines,
  type StoredAlert,
  type StoredScore,
} from '../src/index.js';

let directory: string;
beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'batched-writes-'));
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

const series = (seed: number, count = 50): Kline[] =>
  generateSampleMarket({ seed, interval: '1m', count }).klines;

function scoresOf(symbol: string, openTime: number, score = 0.5): StoredScore[] {
  return ['isolation-forest', 'autoencoder', 'lstm', 'consensus'].map((detector, i) => ({
    symbol,
    interval: '1m',
    openTime,
    detector,
    score: score + i,
    threshold: 2,
    flagged: score + i > 2,
  }));
}

function alertOf(symbol: string, openTime: number, payload = '{"reason":"test"}'): StoredAlert {
  return {
    id: `${symbol}:1m:${openTime}:consensus`,
    symbol,
    interval: '1m',
    openTime,
    detector: 'consensus',
    payload,
  };
}

async function count(store: KlineStore, table: string): Promise<number> {
  const [row] = await store.query(`SELECT count(*)::INTEGER AS n FROM ${table}`);
  return row!.n as number;
}

describe('batched store writes', () => {
  it('upsertMany stores many pairs as upsert would, replaces on a repeat and lets the last repeated key win', async () => {
    const a = series(1);
    const b = series(2);
    const c = series(3, 10);
    const batched = await KlineStore.open(join(directory, 'many.duckdb'));
    const oneByOne = await KlineStore.open(join(directory, 'one-by-one.duckdb'));
    try {
      const items: PairKlines[] = [
        { symbol: 'AAAUSDT', interval: '1m', klines: a },
        { symbol: 'BBBUSDT', interval: '1m', klines: b },
        { symbol: 'AAAUSDT', interval: '5m', klines: c },
      ];
      expect(await batched.upsertMany(items)).toBe(110);
      for (const item of items) await oneByOne.upsert(item.symbol, item.interval, item.klines);
      for (const item of items) {
        expect(await batched.klines(item.symbol, item.interval)).toEqual(item.klines);
        expect(await batched.klines(item.symbol, item.interval)).toEqual(
          await oneByOne.klines(item.symbol, item.interval),
        );
      }

      // The same burst again: nothing doubles.
      expect(await batched.upsertMany(items)).toBe(110);
      expect(await count(batched, 'klines')).toBe(110);

      // Stored rows replaced, new ones added, and a key given twice (in two items) stored once, the last.
      const changed = { ...a[10]!, close: a[10]!.close + 1, high: a[10]!.high + 1 };
      const twice = { ...a[10]!, close: a[10]!.close + 2, high: a[10]!.high + 2 };
      const next = { ...a[49]!, openTime: a[49]!.openTime + 60_000, closeTime: a[49]!.closeTime + 60_000 };
      expect(
        await batched.upsertMany([
          { symbol: 'AAAUSDT', interval: '1m', klines: [changed, next] },
          { symbol: 'BBBUSDT', interval: '1m', klines: [] },
          { symbol: 'AAAUSDT', interval: '1m', klines: [twice] },
        ]),
      ).toBe(2);
      const stored = await batched.klines('AAAUSDT', '1m');
      expect(stored).toHaveLength(51);
      expect(stored[10]).toEqual(twice);
      expect(stored[50]).toEqual(next);
      expect(await batched.klines('BBBUSDT', '1m')).toEqual(b);
      expect(await batched.upsertMany([])).toBe(0);
    } finally {
      await batched.close();
      await oneByOne.close();
    }
  });

  it('upsertMany refuses a bad item, naming it, before writing anything', async () => {
    const store = await KlineStore.open(join(directory, 'refused.duckdb'));
    try {
      const good = { symbol: 'AAAUSDT', interval: '1m' as const, klines: series(1, 5) };
      const bad = { symbol: 'bad symbol', interval: '1m' as const, klines: series(2, 5) };
      const error = await store.upsertMany([good, bad]).catch((e: unknown) => e);
      expect(isDataError(error) && error.code).toBe('INVALID_ARGUMENT');
      expect((error as Error).message).toContain('items[1].symbol');
      const notANumber = { ...good, klines: [{ ...good.klines[0]!, close: Number.NaN }] };
      await expect(store.upsertMany([good, notANumber])).rejects.toThrow(/close = NaN/);
      expect(await count(store, 'klines')).toBe(0);
    } finally {
      await store.close();
    }
  });

  it('saveBurst writes candles, scores and alerts in one transaction; an alert id comes back new once', async () => {
    const path = join(directory, 'burst.duckdb');
    const [k0, k1] = series(4, 2);
    const symbols = ['AAAUSDT', 'BBBUSDT', 'CCCUSDT'];
    const burst = (k: Kline, score: number) => ({
      klines: symbols.map((symbol) => ({ symbol, interval: '1m' as const, klines: [k] })),
      scores: symbols.flatMap((symbol) => scoresOf(symbol, k.openTime, score)),
      alerts: symbols.slice(0, 2).map((symbol) => alertOf(symbol, k.openTime)),
    });
    let store = await KlineStore.open(path);
    expect(await store.saveBurst(burst(k0!, 0.5))).toEqual({
      klines: 3,
      scores: 12,
      newAlertIds: ['AAAUSDT:1m:1704067200000:consensus', 'BBBUSDT:1m:1704067200000:consensus'],
    });
    // The same burst scored again (a restart): scores replaced, the alerts not new.
    const again = await store.saveBurst(burst(k0!, 1.5));
    expect(again.newAlertIds).toEqual([]);
    expect(
      await store.query('SELECT score FROM scores WHERE symbol = $1 AND detector = $2', ['BBBUSDT', 'lstm']),
    ).toEqual([{ score: 3.5 }]);
    await store.close();

    store = await KlineStore.open(path);
    try {
      expect((await store.saveBurst(burst(k0!, 0.5))).newAlertIds).toEqual([]);
      const next = await store.saveBurst({ ...burst(k1!, 0.5), alerts: [alertOf('CCCUSDT', k1!.openTime)] });
      expect(next.newAlertIds).toEqual([`CCCUSDT:1m:${k1!.openTime}:consensus`]);
      expect(await store.klines('CCCUSDT', '1m')).toEqual([k0, k1]);
      expect(await store.lastScoredOpenTime('AAAUSDT', '1m')).toBe(k1!.openTime);
      expect([
        await count(store, 'klines'),
        await count(store, 'scores'),
        await count(store, 'alerts'),
      ]).toEqual([6, 24, 3]);
      expect(await store.saveBurst({})).toEqual({ klines: 0, scores: 0, newAlertIds: [] });
    } finally {
      await store.close();
    }
  });

  it('saveBurst leaves nothing behind when the database refuses a row part way', async () => {
    const path = join(directory, 'refusing.duckdb');
    // A store whose alerts table refuses long payloads: the failure comes from DuckDB, after the
    // candles and scores of the burst were already written inside the transaction.
    await (await KlineStore.open(path)).close();
    const instance = await DuckDBInstance.create(path);
    const connection = await instance.connect();
    await connection.run('DROP TABLE alerts');
    await connection.run(`CREATE TABLE alerts (
      id VARCHAR PRIMARY KEY, symbol VARCHAR NOT NULL, interval VARCHAR NOT NULL, open_time BIGINT NOT NULL,
      detector VARCHAR NOT NULL, payload VARCHAR NOT NULL CHECK (length(payload) < 40), stored_at BIGINT NOT NULL)`);
    connection.closeSync();
    instance.closeSync();

    const store = await KlineStore.open(path);
    try {
      const [k] = series(5, 1);
      const error = await store
        .saveBurst({
          klines: [{ symbol: 'AAAUSDT', interval: '1m', klines: [k!] }],
          scores: scoresOf('AAAUSDT', k!.openTime),
          alerts: [alertOf('AAAUSDT', k!.openTime), alertOf('BBBUSDT', k!.openTime, 'x'.repeat(80))],
        })
        .catch((e: unknown) => e);
      expect(isDataError(error) && error.code).toBe('STORE');
      expect([
        await count(store, 'klines'),
        await count(store, 'scores'),
        await count(store, 'alerts'),
      ]).toEqual([0, 0, 0]);
      // The store goes on: the next burst is written.
      expect((await store.saveBurst({ alerts: [alertOf('AAAUSDT', k!.openTime)] })).newAlertIds).toHaveLength(
        1,
      );
    } finally {
      await store.close();
    }
  });

  it('saveScores and saveAlerts take thousands of rows in one call, repeated keys once', async () => {
    const store = await KlineStore.open(join(directory, 'large.duckdb'));
    try {
      const t = Date.UTC(2024, 0, 1);
      const symbols = Array.from({ length: 1500 }, (_, i) => `S${i}USDT`);
      const scores = symbols.flatMap((symbol) => scoresOf(symbol, t));
      // One key twice in the call: the last row wins.
      const repeated = { ...scores[0]!, score: 9 };
      expect(await store.saveScores([...scores, repeated])).toBe(6001);
      expect(await count(store, 'scores')).toBe(6000);
      expect(
        await store.query('SELECT score FROM scores WHERE symbol = $1 AND detector = $2', [
          scores[0]!.symbol,
          scores[0]!.detector,
        ]),
      ).toEqual([{ score: 9 }]);

      const alerts = symbols.map((symbol) => alertOf(symbol, t));
      const everyThird = alerts.filter((_, i) => i % 3 === 0);
      expect(await store.saveAlerts(everyThird)).toEqual(everyThird.map((a) => a.id));
      const fresh = await store.saveAlerts([...alerts].reverse());
      expect(fresh).toEqual(
        alerts
          .filter((_, i) => i % 3 !== 0)
          .map((a) => a.id)
          .reverse(),
      );
      expect(await count(store, 'alerts')).toBe(1500);
      expect(await count(store, 'score_stage')).toBe(0);
      expect(await count(store, 'alert_stage')).toBe(0);
    } finally {
      await store.close();
    }
  });
});
