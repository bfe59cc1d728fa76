import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSampleMarket, KlineStore, type StoredAlert, type StoredScore } from '../src/index.js';

let directory: string;
beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'score-alert-tables-'));
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

const t0 = Date.UTC(2024, 0, 1);
const minute = 60_000;

function scores(openTime: number, symbol = 'BTCUSDT', score = 0.5): StoredScore[] {
  return ['isolation-forest', 'autoencoder', 'consensus'].map((detector, i) => ({
    symbol,
    interval: '1m',
    openTime,
    detector,
    score: score + i,
    threshold: 2,
    flagged: score + i > 2,
  }));
}

function alert(openTime: number, detector = 'consensus', symbol = 'BTCUSDT'): StoredAlert {
  const id = `${symbol}:1m:${openTime}:${detector}`;
  return { id, symbol, interval: '1m', openTime, detector, payload: JSON.stringify({ id, reason: 'test' }) };
}

describe('score and alert tables', () => {
  it('keep scores and alerts across a restart; an alert id is stored once', async () => {
    const path = join(directory, 'restart.duckdb');
    let store = await KlineStore.open(path);
    expect(await store.lastScoredOpenTime('BTCUSDT', '1m')).toBeUndefined();
    expect(await store.saveScores([...scores(t0), ...scores(t0 + minute), ...scores(t0, 'ETHUSDT')])).toBe(9);
    expect(await store.lastScoredOpenTime('BTCUSDT', '1m')).toBe(t0 + minute);
    // Scored again (after a restart that re-scored the last candle): replaced, not doubled.
    await store.saveScores(scores(t0 + minute, 'BTCUSDT', 1.5));
    expect(
      await store.query(
        'SELECT detector, score, flagged FROM scores WHERE symbol = $1 AND open_time = $2 ORDER BY detector',
        ['BTCUSDT', BigInt(t0 + minute)],
      ),
    ).toEqual([
      { detector: 'autoencoder', score: 2.5, flagged: true },
      { detector: 'consensus', score: 3.5, flagged: true },
      { detector: 'isolation-forest', score: 1.5, flagged: false },
    ]);

    const first = [alert(t0), alert(t0, 'autoencoder'), alert(t0 + minute)];
    expect(await store.saveAlerts(first)).toEqual(first.map((a) => a.id));
    // The same alert again, and a batch with one old, one new and a repeat of the new one.
    expect(await store.saveAlerts([alert(t0)])).toEqual([]);
    const mixed = [alert(t0 + minute), alert(t0 + 2 * minute), alert(t0 + 2 * minute)];
    expect(await store.saveAlerts(mixed)).toEqual([alert(t0 + 2 * minute).id]);
    await store.close();

    // A restart: the same file, reopened.
    store = await KlineStore.open(path);
    expect(await store.lastScoredOpenTime('BTCUSDT', '1m')).toBe(t0 + minute);
    expect(await store.lastScoredOpenTime('ETHUSDT', '1m')).toBe(t0);
    expect(await store.lastScoredOpenTime('ETHUSDT', '1h')).toBeUndefined();
    // Read back: the pair's rows oldest first, detectors by name, the re-scored candle's new rows.
    const read = await store.scores('BTCUSDT', '1m');
    expect(read.map((r) => [r.openTime - t0, r.detector, r.score, r.flagged])).toEqual([
      [0, 'autoencoder', 1.5, false],
      [0, 'consensus', 2.5, true],
      [0, 'isolation-forest', 0.5, false],
      [minute, 'autoencoder', 2.5, true],
      [minute, 'consensus', 3.5, true],
      [minute, 'isolation-forest', 1.5, false],
    ]);
    expect(read[0]).toEqual({ ...scores(t0)[1]!, score: 1.5 });
    expect(await store.scores('BTCUSDT', '1m', { start: t0 + minute })).toHaveLength(3);
    expect(await store.scores('BTCUSDT', '1m', { end: t0 + minute })).toHaveLength(3);
    expect(await store.scores('ETHUSDT', '1m')).toHaveLength(3);
    expect(await store.scores('ETHUSDT', '1h')).toEqual([]);
    expect(await store.saveAlerts(first)).toEqual([]);
    expect(await store.saveAlerts([alert(t0 + 3 * minute, 'consensus', 'ETHUSDT')])).toHaveLength(1);

    const recent = await store.alertsSince(t0 + minute);
    expect(recent.map((a) => a.id)).toEqual([
      'ETHUSDT:1m:1704067380000:consensus',
      'BTCUSDT:1m:1704067320000:consensus',
      'BTCUSDT:1m:1704067260000:consensus',
    ]);
    expect(recent[1]).toEqual(alert(t0 + 2 * minute));
    expect((await store.alertsSince(t0, { symbol: 'BTCUSDT', limit: 2 })).map((a) => a.openTime)).toEqual([
      t0 + 2 * minute,
      t0 + minute,
    ]);
    expect(await store.alertsSince(t0, { interval: '1h' })).toEqual([]);
    expect(await store.saveAlerts([])).toEqual([]);
    expect(await store.saveScores([])).toBe(0);
    await store.close();
  });

  it('are added to a store file written before they existed, its klines kept', async () => {
    const path = join(directory, 'old.duckdb');
    // The layout of a store from before: klines and coverage only.
    const instance = await DuckDBInstance.create(path);
    const connection = await instance.connect();
    await connection.run(`CREATE TABLE klines (symbol VARCHAR NOT NULL, interval VARCHAR NOT NULL,
      open_time BIGINT NOT NULL, open DOUBLE NOT NULL, high DOUBLE NOT NULL, low DOUBLE NOT NULL,
      close DOUBLE NOT NULL, volume DOUBLE NOT NULL, close_time BIGINT NOT NULL,
      quote_asset_volume DOUBLE NOT NULL, number_of_trades BIGINT NOT NULL,
      taker_buy_base_asset_volume DOUBLE NOT NULL, taker_buy_quote_asset_volume DOUBLE NOT NULL,
      ignore DOUBLE NOT NULL, PRIMARY KEY (symbol, interval, open_time))`);
    await connection.run(
      'CREATE TABLE coverage (symbol VARCHAR NOT NULL, interval VARCHAR NOT NULL, start_time BIGINT NOT NULL, end_time BIGINT NOT NULL)',
    );
    const [k] = generateSampleMarket({ count: 1, interval: '1m' }).klines;
    await connection.run(
      'INSERT INTO klines VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)',
      [
        'BTCUSDT',
        '1m',
        BigInt(k!.openTime),
        k!.open,
        k!.high,
        k!.low,
        k!.close,
        k!.volume,
        BigInt(k!.closeTime),
        k!.quoteAssetVolume,
        BigInt(k!.numberOfTrades),
        k!.takerBuyBaseAssetVolume,
        k!.takerBuyQuoteAssetVolume,
        0,
      ],
    );
    connection.closeSync();
    instance.closeSync();

    const store = await KlineStore.open(path);
    expect(await store.klines('BTCUSDT', '1m')).toEqual([k]);
    expect(await store.saveAlerts([alert(t0)])).toEqual([alert(t0).id]);
    await store.saveScores(scores(t0));
    expect(await store.lastScoredOpenTime('BTCUSDT', '1m')).toBe(t0);
    await store.close();
  });

  it('saves a burst of 4,000 scores in one call', async () => {
    const store = await KlineStore.open(join(directory, 'burst.duckdb'));
    const rows = Array.from({ length: 1000 }, (_, i) => scores(t0, `S${i}USDT`)).flat();
    const more = rows.map((r) => ({ ...r, detector: `${r.detector}-2` })).slice(0, 1000);
    expect(await store.saveScores([...rows, ...more])).toBe(4000);
    expect(await store.query('SELECT count(*)::INTEGER AS n FROM scores')).toEqual([{ n: 4000 }]);
    await store.close();
  });

  it('refuses malformed rows naming the field, and stores nothing of the batch', async () => {
    const store = await KlineStore.open(join(directory, 'bad.duckdb'));
    await expect(store.saveScores([...scores(t0), { ...scores(t0)[0]!, openTime: -1 }])).rejects.toThrow(
      /scores\[3\]\.openTime/,
    );
    await expect(store.saveAlerts([{ ...alert(t0), id: '' }])).rejects.toThrow(
      /alerts\[0\] needs a non-empty string id/,
    );
    await expect(store.saveAlerts([{ ...alert(t0), symbol: 'btc' }])).rejects.toThrow(/alerts\[0\]\.symbol/);
    // A score or threshold that is not a finite number is not a score the store can keep.
    for (const [field, value] of [
      ['score', Number.NaN],
      ['score', Number.POSITIVE_INFINITY],
      ['threshold', Number.NEGATIVE_INFINITY],
      ['threshold', Number.NaN],
      ['score', '0.5'],
    ] as const) {
      const rows = [...scores(t0), { ...scores(t0 + minute)[0]!, [field]: value }];
      const error = await store.saveScores(rows as StoredScore[]).catch((caught) => caught);
      expect(error?.code, `${field} ${String(value)}`).toBe('INVALID_ARGUMENT');
      expect(error.message).toMatch(new RegExp(`^scores\\[3\\]\\.${field} must be a finite number, got `));
      await expect(store.saveBurst({ scores: rows as StoredScore[] })).rejects.toThrow(/scores\[3\]/);
    }
    await expect(store.saveScores([{ ...scores(t0)[0]!, flagged: 1 as never }])).rejects.toThrow(
      /scores\[0\]\.flagged must be true or false, got 1/,
    );
    expect(await store.lastScoredOpenTime('BTCUSDT', '1m')).toBeUndefined();
    expect(await store.alertsSince(0)).toEqual([]);
    await store.close();
  });

  it('refuses a misspelt key of a burst or an alert query instead of ignoring it', async () => {
    const store = await KlineStore.open(':memory:');
    // { score: [...] } would have saved nothing and answered { scores: 0 }.
    await expect(store.saveBurst({ score: scores(t0) } as never)).rejects.toThrow(
      /^unknown key score in saveBurst burst \(the keys there are scores, klines, alerts\)\.$/,
    );
    await store.saveAlerts([alert(t0), alert(t0, 'consensus', 'ETHUSDT')]);
    // { symbols } would have listed every symbol's alerts.
    await expect(store.alertsSince(0, { symbols: 'BTCUSDT' } as never)).rejects.toThrow(
      /^unknown key symbols in alertsSince query \(the keys there are symbol, interval, limit\)\.$/,
    );
    expect(await store.alertsSince(0, { symbol: 'BTCUSDT', limit: undefined })).toHaveLength(1);
    await store.close();
  });
});
