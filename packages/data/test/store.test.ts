import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  defaultStoreLocation,
  defaultStorePath,
  generateSampleMarket,
  isDataError,
  type Kline,
  KlineStore,
  legacyStorePath,
  mergeRanges,
  STORE_PATH_ENV,
  storeSource,
  subtractRanges,
} from '../src/index.js';

let directory: string;
beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'kline-store-'));
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

const HOUR = 3_600_000;

describe('KlineStore', () => {
  it('stores, reads back exactly, and upserts idempotently', async () => {
    const path = join(directory, 'a', 'klines.duckdb');
    const { klines } = generateSampleMarket({ count: 5000, seed: 3 });
    const store = await KlineStore.open(path);
    try {
      expect(store.path).toBe(path);
      expect(await store.lastOpenTime('BTCUSDT', '1h')).toBeUndefined();
      expect(await store.upsert('BTCUSDT', '1h', klines)).toBe(5000);
      expect(await store.upsert('BTCUSDT', '1h', klines.slice(100, 2000))).toBe(1900);
      expect(await store.count('BTCUSDT', '1h')).toBe(5000);
      expect(await store.klines('BTCUSDT', '1h')).toEqual(klines);
      const changed = { ...klines[10]!, close: klines[10]!.close + 1 };
      await store.upsert('BTCUSDT', '1h', [changed]);
      const range = await store.klines('BTCUSDT', '1h', {
        start: klines[10]!.openTime,
        end: klines[12]!.openTime,
      });
      expect(range).toEqual([changed, klines[11]]);
      expect(await store.lastOpenTime('BTCUSDT', '1h')).toBe(klines.at(-1)!.openTime);
      expect(await store.firstOpenTime('BTCUSDT', '1h')).toBe(klines[0]!.openTime);
      expect(await store.count('ETHUSDT', '1h')).toBe(0);
      expect(await store.pairs()).toEqual([
        {
          symbol: 'BTCUSDT',
          interval: '1h',
          rows: 5000,
          firstOpenTime: klines[0]!.openTime,
          lastOpenTime: klines.at(-1)!.openTime,
        },
      ]);
    } finally {
      await store.close();
    }
    // Reopening the file finds the same rows.
    const again = await KlineStore.open(path);
    expect(await again.count('BTCUSDT', '1h')).toBe(5000);
    const source = storeSource(again);
    expect(source.describe()).toBe(`local kline store ${path}`);
    expect(
      await source.load({ symbol: 'BTCUSDT', interval: '1h', start: klines[4998]!.openTime }),
    ).toHaveLength(2);
    await again.close();
    await expect(again.count('BTCUSDT', '1h')).rejects.toThrow(/is closed/);
  });

  it('keeps the last of repeated open times within one upsert', async () => {
    const store = await KlineStore.open(':memory:');
    const [a] = generateSampleMarket({ count: 1 }).klines;
    await store.upsert('BTCUSDT', '1h', [a!, { ...a!, close: 1 }]);
    expect((await store.klines('BTCUSDT', '1h'))[0]!.close).toBe(1);
    await store.close();
  });

  it('finds gaps and the ranges still missing, counting answered spans as present', async () => {
    const store = await KlineStore.open(join(directory, 'gaps.duckdb'));
    const { klines } = generateSampleMarket({ count: 100 });
    const start = klines[0]!.openTime;
    const holey = klines.filter((_, i) => !(i >= 10 && i < 13) && i !== 50);
    await store.upsert('BTCUSDT', '1h', holey);
    expect(await store.findGaps('BTCUSDT', '1h')).toEqual([
      { start: start + 10 * HOUR, end: start + 13 * HOUR, missing: 3 },
      { start: start + 50 * HOUR, end: start + 51 * HOUR, missing: 1 },
    ]);
    const wanted = { start: start - 5 * HOUR, end: start + 110 * HOUR };
    expect(await store.missingRanges('BTCUSDT', '1h', wanted)).toEqual([
      { start: start - 5 * HOUR, end: start },
      { start: start + 10 * HOUR, end: start + 13 * HOUR },
      { start: start + 50 * HOUR, end: start + 51 * HOUR },
      { start: start + 100 * HOUR, end: start + 110 * HOUR },
    ]);
    // The exchange answered for hours 10-12 with nothing (an outage): no longer missing.
    await store.upsert('BTCUSDT', '1h', [], { start: start + 10 * HOUR, end: start + 13 * HOUR });
    expect(await store.coverage('BTCUSDT', '1h')).toEqual([
      { start: start + 10 * HOUR, end: start + 13 * HOUR },
    ]);
    expect(await store.missingRanges('BTCUSDT', '1h', wanted)).toHaveLength(3);
    await store.upsert('BTCUSDT', '1h', [], { start: start + 13 * HOUR, end: start + 20 * HOUR });
    await store.upsert('BTCUSDT', '1h', [], { start: start + 30 * HOUR, end: start + 31 * HOUR });
    expect(await store.compactCoverage('BTCUSDT', '1h')).toBe(2);
    expect(await store.query('SELECT count(*) AS n FROM coverage')).toEqual([{ n: 2n }]);
    expect(await store.coverage('BTCUSDT', '1h')).toEqual([
      { start: start + 10 * HOUR, end: start + 20 * HOUR },
      { start: start + 30 * HOUR, end: start + 31 * HOUR },
    ]);
    await store.close();
  });

  it('finds calendar-month gaps for 1M', async () => {
    const store = await KlineStore.open(':memory:');
    const month = (m: number) => Date.UTC(2024, m, 1);
    const base = generateSampleMarket({ count: 1 }).klines[0]!;
    await store.upsert(
      'BTCUSDT',
      '1M',
      [0, 1, 4].map((m) => ({ ...base, openTime: month(m), closeTime: month(m + 1) - 1 })),
    );
    expect(await store.findGaps('BTCUSDT', '1M')).toEqual([{ start: month(2), end: month(4), missing: 2 }]);
    await store.close();
  });

  it('refuses bad arguments and unopenable paths with typed errors', async () => {
    const store = await KlineStore.open(':memory:');
    await expect(store.klines('BTCUSDT', '1h', { start: 10, end: 5 })).rejects.toThrow(/is after end/);
    await expect(store.klines('btc', '1h')).rejects.toThrow(/symbol must be an exchange symbol/);
    const bad = { ...generateSampleMarket({ count: 1 }).klines[0]!, open: Number.NaN };
    await expect(store.upsert('BTCUSDT', '1h', [bad])).rejects.toThrow(/open = NaN/);
    // One kline instead of an array, and values of the wrong type, are DataErrors that say so.
    const one = generateSampleMarket({ count: 1 }).klines[0]!;
    const notArray = await store.upsert('BTCUSDT', '1h', one as never).catch((caught) => caught);
    expect(isDataError(notArray) && notArray.code).toBe('INVALID_ARGUMENT');
    expect(notArray.message).toMatch(
      /^klines must be an array of klines, got \{"openTime":.*: to store one kline, pass \[kline\]\.$/,
    );
    await expect(store.upsert('BTCUSDT', '1h', [{ ...one, close: '42000' } as never])).rejects.toThrow(
      /has close = "42000", not a finite number\./,
    );
    await expect(store.upsert('BTCUSDT', '1h', [{ ...one, closeTime: '1' } as never])).rejects.toThrow(
      /has closeTime = "1", not an integer/,
    );
    await expect(store.upsert('BTCUSDT', '1h', [null as never])).rejects.toThrow(/a kline must be an object/);
    await expect(
      store.upsertMany([{ symbol: 'BTCUSDT', interval: '1h', klines: [{ ...one, volume: null } as never] }]),
    ).rejects.toThrow(/volume = null, not a finite number/);
    expect(await store.count('BTCUSDT', '1h')).toBe(0);
    await store.close();
    // A misspelt range key would have read every row.
    const full = await KlineStore.open(':memory:');
    await full.upsert('BTCUSDT', '1h', generateSampleMarket({ count: 30 }).klines);
    for (const read of [
      () => full.klines('BTCUSDT', '1h', { strt: 10 } as never),
      () => full.count('BTCUSDT', '1h', { strt: 10 } as never),
      () => full.findGaps('BTCUSDT', '1h', { strt: 10 } as never),
      () => full.scores('BTCUSDT', '1h', { strt: 10 } as never),
    ]) {
      await expect(read()).rejects.toThrow(
        /^unknown key strt in [a-zA-Z]+ range \(the keys there are start, end\)\.$/,
      );
    }
    await expect(full.klines('BTCUSDT', '1h', { strt: 10 } as never)).rejects.toThrow(/in klines range/);
    await expect(
      storeSource(full).load({ symbol: 'BTCUSDT', interval: '1h', ned: 5 } as never),
    ).rejects.toThrow(
      /^unknown key ned in the load request \(the keys there are end, symbol, interval, start\)\.$/,
    );
    expect(await full.klines('BTCUSDT', '1h', { start: undefined, end: undefined })).toHaveLength(30);
    await full.close();
    // A path under a plain file cannot be created.
    const file = join(directory, 'plain-file');
    await writeFile(file, 'not a folder');
    const error = await KlineStore.open(join(file, 'x.duckdb')).catch((caught) => caught);
    expect(isDataError(error) && error.code).toBe('STORE');
    expect(error.message).toMatch(/CRYPTO_ANOMALY_STORE/);
  });

  it('calls a damaged file damaged, says how to rebuild it, and never deletes it', async () => {
    // A valid store with some blocks overwritten, a file that is not a database, and a truncated one.
    const valid = join(directory, 'to-damage.duckdb');
    const store = await KlineStore.open(valid);
    await store.upsert('BTCUSDT', '1h', generateSampleMarket({ count: 5000, seed: 4 }).klines);
    await store.close();
    const bytes = await readFile(valid);
    const flipped = Buffer.from(bytes);
    for (let i = 3 * 4096; i < flipped.length; i += 97) flipped[i]! ^= 0xff;
    const cases = {
      'flipped.duckdb': flipped,
      'truncated.duckdb': bytes.subarray(0, 100),
    };
    for (const [name, content] of Object.entries(cases)) {
      const path = join(directory, name);
      await writeFile(path, content);
      const error = await KlineStore.open(path).catch((caught) => caught);
      expect(isDataError(error) && error.code, name).toBe('STORE_DAMAGED');
      expect(error.message).toContain(path);
      expect(error.message).toMatch(/is damaged .*nothing deleted.*fresh fetch into a new file/);
      expect(error.message).not.toMatch(/another process/i);
      expect((await readFile(path)).equals(content), name).toBe(true);
    }
    // A file that is no DuckDB database at all (a user's notes given as the store) is named as such.
    for (const [name, content] of Object.entries({
      'notes.txt': Buffer.from('my precious notes\nline two\n'),
      'garbage.duckdb': Buffer.alloc(20_000, 7),
    })) {
      const path = join(directory, name);
      await writeFile(path, content);
      const error = await KlineStore.open(path).catch((caught) => caught);
      expect(isDataError(error) && error.code, name).toBe('TARGET_NOT_OURS');
      expect(error.message).toContain(
        `${path} is not a kline store: it is not a DuckDB database file at all`,
      );
      expect(error.message).not.toMatch(/damaged/);
      expect((await readFile(path)).equals(content), name).toBe(true);
    }
    const notes = await KlineStore.open(join(directory, 'notes.txt')).catch((caught) => caught);
    expect(notes.message).toContain('(it begins "my precious notes line two")');
  });

  it('gives the klines of a range a chunk at a time, the same as all at once', async () => {
    const store = await KlineStore.open(join(directory, 'chunks.duckdb'));
    try {
      const all = generateSampleMarket({ count: 1234, seed: 8 }).klines;
      await store.upsert('BTCUSDT', '1h', all);
      const chunks: Kline[][] = [];
      for await (const chunk of store.klineChunks('BTCUSDT', '1h', {}, 500)) chunks.push(chunk);
      expect(chunks.map((chunk) => chunk.length)).toEqual([500, 500, 234]);
      expect(chunks.flat()).toEqual(await store.klines('BTCUSDT', '1h'));
      const range = { start: all[100]!.openTime, end: all[700]!.openTime };
      const inRange: Kline[] = [];
      for await (const chunk of store.klineChunks('BTCUSDT', '1h', range, 250)) inRange.push(...chunk);
      expect(inRange).toEqual(all.slice(100, 700));
    } finally {
      await store.close();
    }
  });

  it("refuses another program's DuckDB database, creating no table in it; a store with a table of the user's added is fine", async () => {
    const tablesOf = async (path: string) => {
      const instance = await DuckDBInstance.create(path);
      const connection = await instance.connect();
      try {
        const reader = await connection.runAndReadAll(
          "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' ORDER BY 1",
        );
        return reader.getRows().map((row) => String(row[0]));
      } finally {
        connection.closeSync();
        instance.closeSync();
      }
    };
    const make = async (path: string, sql: string) => {
      const instance = await DuckDBInstance.create(path);
      const connection = await instance.connect();
      await connection.run(sql);
      connection.closeSync();
      instance.closeSync();
    };
    const trades = join(directory, 'mydb.duckdb');
    await make(trades, 'CREATE TABLE trades (id INTEGER, price DOUBLE)');
    const refused = await KlineStore.open(trades).catch((caught) => caught);
    expect(isDataError(refused) && refused.code).toBe('TARGET_NOT_OURS');
    expect(refused.message).toContain(
      `${trades} is a DuckDB database of another program (its tables: trades)`,
    );
    expect(await tablesOf(trades)).toEqual(['trades']);
    // Its own klines table, not the store's.
    const other = join(directory, 'other-klines.duckdb');
    await make(other, 'CREATE TABLE klines (symbol VARCHAR, note VARCHAR)');
    const refusedOther = await KlineStore.open(other).catch((caught) => caught);
    expect(isDataError(refusedOther) && refusedOther.code).toBe('TARGET_NOT_OURS');
    expect(await tablesOf(other)).toEqual(['klines']);
    // A store the user added a table to opens.
    const mine = join(directory, 'mine.duckdb');
    await (await KlineStore.open(mine)).close();
    await make(mine, 'CREATE TABLE notes (text VARCHAR)');
    const store = await KlineStore.open(mine);
    await store.close();
  });

  it('tells a store held by another process from a damaged one', async () => {
    const path = join(directory, 'held.duckdb');
    const holder = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '-e',
        `import('../src/index.ts').then(async ({ KlineStore }) => { await KlineStore.open(${JSON.stringify(path)}); console.log('held'); setInterval(() => {}, 1000); })`,
      ],
      { cwd: join(dirname(fileURLToPath(import.meta.url))), stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      await once(holder.stdout!, 'data');
      const error = await KlineStore.open(path).catch((caught) => caught);
      expect(isDataError(error) && error.code).toBe('STORE');
      expect(error.message).toMatch(/Another process is using it/);
      expect(error.message).not.toMatch(/damaged/);
    } finally {
      holder.kill('SIGKILL');
      await once(holder, 'exit');
    }
  });

  it('takes its default path from the environment', () => {
    const saved = process.env[STORE_PATH_ENV];
    try {
      process.env[STORE_PATH_ENV] = join(directory, 'env.duckdb');
      expect(defaultStorePath()).toBe(join(directory, 'env.duckdb'));
      delete process.env[STORE_PATH_ENV];
      expect(defaultStorePath()).toMatch(/crypto-anomaly\/klines\.duckdb$/);
    } finally {
      if (saved === undefined) delete process.env[STORE_PATH_ENV];
      else process.env[STORE_PATH_ENV] = saved;
    }
  });

  it('defaults to the XDG data folder, and to the old ~/.crypto-anomaly/ while only it holds a store', () => {
    const home = join(directory, 'home');
    const legacy = join(home, '.crypto-anomaly', 'klines.duckdb');
    const xdg = join(directory, 'xdg-data', 'crypto-anomaly', 'klines.duckdb');
    const env = { HOME: home, XDG_DATA_HOME: join(directory, 'xdg-data') };
    expect(defaultStoreLocation(env)).toEqual({ path: xdg, source: 'xdg' });
    // XDG_DATA_HOME unset, or relative (invalid by the spec): ~/.local/share.
    const share = join(home, '.local', 'share', 'crypto-anomaly', 'klines.duckdb');
    expect(defaultStoreLocation({ HOME: home })).toEqual({ path: share, source: 'xdg' });
    expect(defaultStoreLocation({ HOME: home, XDG_DATA_HOME: 'relative' })).toEqual({
      path: share,
      source: 'xdg',
    });
    mkdirSync(dirname(legacy), { recursive: true });
    writeFileSync(legacy, '');
    expect(defaultStoreLocation(env)).toEqual({ path: legacy, source: 'legacy' });
    expect(legacyStorePath(env)).toBe(legacy);
    // Once the new one exists it wins; the old file is left where it is.
    mkdirSync(dirname(xdg), { recursive: true });
    writeFileSync(xdg, '');
    expect(defaultStoreLocation(env)).toEqual({ path: xdg, source: 'xdg' });
    expect(existsSync(legacy)).toBe(true);
    expect(defaultStoreLocation({ ...env, [STORE_PATH_ENV]: 'x.duckdb' })).toEqual({
      path: resolve('x.duckdb'),
      source: 'env',
    });
  });
});

describe('range arithmetic', () => {
  it('merges and subtracts half-open ranges', () => {
    expect(
      mergeRanges([
        { start: 5, end: 7 },
        { start: 0, end: 2 },
        { start: 2, end: 3 },
        { start: 6, end: 9 },
      ]),
    ).toEqual([
      { start: 0, end: 3 },
      { start: 5, end: 9 },
    ]);
    expect(
      subtractRanges({ start: 0, end: 10 }, [
        { start: 2, end: 4 },
        { start: 8, end: 12 },
      ]),
    ).toEqual([
      { start: 0, end: 2 },
      { start: 4, end: 8 },
    ]);
    expect(subtractRanges({ start: 0, end: 10 }, [{ start: -1, end: 11 }])).toEqual([]);
  });
});
