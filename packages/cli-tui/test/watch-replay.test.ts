import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateSampleMarket, type Kline, KlineStore, writeKlinesCsv } from '@crypto-anomaly/data';
import { beforeAll, describe, expect, it } from 'vitest';
import { trainQuickModel } from './helpers/watch-model.js';

/**
 * `watch --replay` through the built binary, off a terminal: a sample market written as `fetch --csv`
 * writes it, a model trained by `crypto-anomaly train` on the candles before, the alerts on stdout
 * as JSON lines, in the alerts file, and the scores in a real DuckDB store; then a SIGKILL in the
 * middle of a replay and a restart.
 */
const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const env = { ...process.env, CI: 'true', NO_COLOR: '1' };
let work: string;
let klines: Kline[];
/** Candles of the replayed file. */
let replayed: Kline[];

const cli = (...args: string[]) =>
  spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env, cwd: work, timeout: 240_000 });

const jsonLines = (text: string) =>
  text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);

async function scoredOpenTimes(store: string): Promise<number[]> {
  const opened = await KlineStore.open(store);
  try {
    const rows = await opened.query(
      "SELECT open_time, count(*) AS n FROM scores WHERE symbol = 'BTCUSDT' GROUP BY open_time ORDER BY open_time",
    );
    for (const row of rows) expect(Number(row['n'])).toBe(4); // three detectors and the consensus
    return rows.map((row) => Number(row['open_time']));
  } finally {
    await opened.close();
  }
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'watch-replay-'));
  klines = generateSampleMarket({ symbol: 'BTCUSDT', interval: '1h', count: 1_500, seed: 11 }).klines;
  replayed = klines.slice(1_000);
  await writeKlinesCsv(join(work, 'BTCUSDT-1h.csv'), replayed);
  await trainQuickModel(work, klines.slice(0, 1_000), 'BTCUSDT', '1h');
});

describe('crypto-anomaly watch --replay (non-TTY)', () => {
  it('prints each alert and a final status as JSON lines, nothing else; the file and the store agree', async () => {
    const result = cli(
      'watch',
      '--replay',
      'BTCUSDT-1h.csv',
      '--model',
      'models',
      '--store',
      'replay.duckdb',
      '--json',
      '--alerts-file',
      'alerts.jsonl',
      '--cooldown',
      '3h',
    );
    expect(result.status, result.stderr).toBe(0);
    const lines = jsonLines(result.stdout);
    const status = lines.filter((line) => line['type'] === 'status');
    const alerts = lines.filter((line) => line['type'] === undefined);
    expect(status).toHaveLength(1);
    expect(status[0]).toMatchObject({ final: true, mode: 'replay', connection: 'finished', symbols: 1 });
    expect(alerts.length).toBeGreaterThan(0);
    expect(status[0]!['alerts']).toBe(alerts.length);
    for (const alert of alerts) {
      expect(Object.keys(alert).sort()).toEqual(
        [
          'id',
          'symbol',
          'interval',
          'openTime',
          'time',
          'close',
          'logReturn',
          'returnVolatilityMultiple',
          'volume',
          'volumeMedianMultiple',
          'detector',
          'thresholdKind',
          'scores',
          'topFeatures',
          'reason',
          'via',
        ].sort(),
      );
      expect(alert['via']).toBe('replay');
      expect(alert['id']).toBe(`BTCUSDT:1h:${alert['openTime']}:${alert['detector']}`);
      expect(alert['time']).toBe(new Date(alert['openTime'] as number).toISOString());
      // The detectors' thresholds adapt (DSPOT by default); the consensus keeps its fitted one.
      expect(alert['thresholdKind']).toBe(alert['detector'] === 'consensus' ? 'fitted' : 'dspot');
      expect((alert['scores'] as unknown[]).length).toBe(4);
      expect(typeof alert['reason']).toBe('string');
    }
    // The cool-down: never two alerts of the pair less than 3 hours apart.
    const times = alerts.map((alert) => alert['openTime'] as number);
    for (let i = 1; i < times.length; i++)
      expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(3 * 3_600_000);
    expect(jsonLines(readFileSync(join(work, 'alerts.jsonl'), 'utf8'))).toEqual(alerts);
    expect(result.stderr).toMatch(/BTCUSDT: warmed up on \d+ candles from the replay/);
    // Every candle after the warm-up scored once, in the store.
    const scored = await scoredOpenTimes(join(work, 'replay.duckdb'));
    const firstScored = replayed.length - (status[0]!['candles'] as number);
    expect(scored).toEqual(replayed.slice(firstScored).map((k) => k.openTime));

    // Run again on the same store: everything was scored already, nothing is sent again.
    const again = cli(
      'watch',
      '--replay',
      'BTCUSDT-1h.csv',
      '--model',
      'models',
      '--store',
      'replay.duckdb',
      '--json',
      '--alerts-file',
      'alerts.jsonl',
      '--cooldown',
      '3h',
    );
    expect(again.status, again.stderr).toBe(0);
    expect(jsonLines(again.stdout)).toEqual([
      expect.objectContaining({ type: 'status', candles: 0, alerts: 0 }),
    ]);
    expect(jsonLines(readFileSync(join(work, 'alerts.jsonl'), 'utf8'))).toEqual(alerts);
  });

  it('after a SIGKILL mid-replay, a restart scores each remaining candle once and writes no alert twice', async () => {
    const args = [
      'watch',
      '--replay',
      'BTCUSDT-1h.csv',
      '--model',
      'models',
      '--store',
      'killed.duckdb',
      '--json',
      '--alerts-file',
      'killed.jsonl',
      '--cooldown',
      '0',
      // 10 ms between two hourly candles: each is scored and saved as it comes, as live, so the
      // kill lands between candles rather than after a batch of them.
      '--speed',
      '360000',
    ];
    const child: ChildProcess = spawn(process.execPath, [bin, ...args], { env, cwd: work });
    let stdout = '';
    child.stdout!.on('data', (chunk) => (stdout += chunk));
    let ended = false;
    const exited = new Promise((resolve) => child.on('exit', resolve)).then(() => (ended = true));
    // Killed once a few alerts are out: in the middle of the replay.
    while (!ended && stdout.split('\n').length < 4) await new Promise((r) => setTimeout(r, 20));
    child.kill('SIGKILL');
    await exited;
    expect(stdout).not.toMatch(/"final":true/);
    const before = await scoredOpenTimes(join(work, 'killed.duckdb'));
    expect(before.length).toBeGreaterThan(0);

    const restart = cli(...args);
    expect(restart.status, restart.stderr).toBe(0);
    const final = jsonLines(restart.stdout).find((line) => line['type'] === 'status')!;
    const after = await scoredOpenTimes(join(work, 'killed.duckdb'));
    // The restart scored exactly the candles the killed run had not: none twice, none missed.
    expect(before.length + (final['candles'] as number)).toBe(after.length);
    expect(after).toEqual(replayed.slice(replayed.length - after.length).map((k) => k.openTime));
    const ids = jsonLines(readFileSync(join(work, 'killed.jsonl'), 'utf8')).map((alert) => alert['id']);
    expect(ids.length).toBeGreaterThan(0);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it.skipIf(!existsSync('/dev/full'))(
    'stops when the alerts file cannot be written (a full disk), and a restart writes every alert once',
    () => {
      const args = [
        'watch',
        '--replay',
        'BTCUSDT-1h.csv',
        '--model',
        'models',
        '--json',
        '--thresholds',
        'fitted',
      ];
      const reference = cli(...args, '--store', 'full-ref.duckdb', '--alerts-file', 'full-ref.jsonl');
      expect(reference.status, reference.stderr).toBe(0);
      const expected = jsonLines(readFileSync(join(work, 'full-ref.jsonl'), 'utf8')).map(
        (alert) => alert['id'],
      );
      expect(expected.length).toBeGreaterThan(1);
      // /dev/full: every write fails with ENOSPC, as on a full disk.
      const full = cli(...args, '--store', 'full.duckdb', '--alerts-file', '/dev/full');
      expect(full.status).toBe(1);
      expect(full.stderr).toMatch(/--alerts-file \/dev\/full could not be written \(ENOSPC\)/);
      // Space again: the restart resumes at the candle whose alert was not kept, and the file gets them all.
      const resumed = cli(...args, '--store', 'full.duckdb', '--alerts-file', 'full.jsonl');
      expect(resumed.status, resumed.stderr).toBe(0);
      expect(jsonLines(readFileSync(join(work, 'full.jsonl'), 'utf8')).map((alert) => alert['id'])).toEqual(
        expected,
      );
    },
  );

  it('never writes a replay over other candles a store holds, and keeps nothing without --store', async () => {
    // A store of "fetched" BTCUSDT 1h candles at the replayed times: another market (seed 12).
    const fetched = generateSampleMarket({
      symbol: 'BTCUSDT',
      interval: '1h',
      count: 1_500,
      seed: 12,
    }).klines;
    const realStore = join(work, 'real.duckdb');
    let store = await KlineStore.open(realStore);
    await store.upsert('BTCUSDT', '1h', fetched);
    await store.close();
    const refused = cli(
      'watch',
      '--replay',
      'BTCUSDT-1h.csv',
      '--model',
      'models',
      '--store',
      realStore,
      '--json',
    );
    expect(refused.status).toBe(2);
    expect(refused.stderr).toMatch(
      /the replay would write over 500 BTCUSDT 1h candles that .*real\.duckdb holds with different ones \(at .* the store has close .*, the replay .*\); nothing was written/,
    );
    expect(refused.stderr).toMatch(/--store replay\.duckdb/);
    expect(refused.stdout).toBe('');
    store = await KlineStore.open(realStore);
    try {
      expect(await store.klines('BTCUSDT', '1h')).toEqual(fetched);
      expect(await store.scores('BTCUSDT', '1h')).toEqual([]);
    } finally {
      await store.close();
    }

    // The same candles as the store holds replay into it (nothing is replaced by other prices).
    const sameStore = join(work, 'same.duckdb');
    store = await KlineStore.open(sameStore);
    await store.upsert('BTCUSDT', '1h', replayed.slice(0, 200));
    await store.close();
    const same = cli(
      'watch',
      '--replay',
      'BTCUSDT-1h.csv',
      '--model',
      'models',
      '--store',
      sameStore,
      '--json',
    );
    expect(same.status, same.stderr).toBe(0);

    // Without --store a replay keeps nothing: the default store is not even created.
    // Its own temporary folder (TMPDIR), so that what the replay leaves there can be seen alone.
    const privateTmp = mkdtempSync(join(work, 'tmp-'));
    const defaultStore = join(work, 'default-store', 'klines.duckdb');
    const kept = spawnSync(
      process.execPath,
      [bin, 'watch', '--replay', 'BTCUSDT-1h.csv', '--model', 'models', '--json'],
      {
        encoding: 'utf8',
        env: { ...env, CRYPTO_ANOMALY_STORE: defaultStore, TMPDIR: privateTmp },
        cwd: work,
        timeout: 240_000,
      },
    );
    expect(kept.status, kept.stderr).toBe(0);
    expect(kept.stderr).toMatch(/a throwaway store, removed at the end \(kept with --store FILE\)/);
    expect(jsonLines(kept.stdout).at(-1)).toMatchObject({ final: true, connection: 'finished' });
    expect(existsSync(defaultStore)).toBe(false);
    // The throwaway store lived in a temporary folder of its own, gone with the replay.
    expect(readdirSync(privateTmp)).toEqual([]);
    // A webhook's journal lives beside the store: a replay that keeps none must be given one.
    const noJournal = cli(
      'watch',
      '--replay',
      'BTCUSDT-1h.csv',
      '--model',
      'models',
      '--webhook',
      'https://127.0.0.1:9/hook',
    );
    expect(noJournal.status).toBe(2);
    expect(noJournal.stderr).toMatch(
      /--webhook-journal: is needed for --webhook with a replay that keeps no store/,
    );
  });

  it('refuses a pair without a model, naming the command that trains it, before opening anything', () => {
    const result = cli(
      'watch',
      '--symbols',
      'BTCUSDT,ETHUSDT',
      '--interval',
      '1h',
      '--model',
      'models',
      '--store',
      'none.duckdb',
    );
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/no model for ETHUSDT 1h/);
    expect(result.stderr).toMatch(
      /crypto-anomaly train --source binance --symbol ETHUSDT --interval 1h --since \d{4}-\d{2}-\d{2} --out \S*models\/ETHUSDT_1h/,
    );
    expect(result.stdout).toBe('');
    expect(existsSync(join(work, 'none.duckdb'))).toBe(false);
    // A replay names a command that trains on what is replayed, not on Binance.
    const sample = cli(
      'watch',
      '--replay',
      'sample',
      '--symbols',
      'ETHUSDT',
      '--interval',
      '1h',
      '--model',
      'models',
    );
    expect(sample.status).toBe(2);
    expect(sample.stderr).toMatch(
      /crypto-anomaly train --source sample --symbol ETHUSDT --interval 1h --out \S*models\/ETHUSDT_1h/,
    );
    expect(sample.stderr).not.toMatch(/--source binance/);
    // A folder named for 1m holding a model trained on 1h candles is refused, saying so.
    cpSync(join(work, 'models', 'BTCUSDT_1h'), join(work, 'other', 'BTCUSDT_1m'), { recursive: true });
    const wrong = cli(
      'watch',
      '--replay',
      'sample',
      '--symbols',
      'BTCUSDT',
      '--interval',
      '1m',
      '--model',
      'other',
    );
    expect(wrong.status).toBe(2);
    expect(wrong.stderr).toMatch(
      /other\/BTCUSDT_1m holds a model trained on BTCUSDT 1h candles, not 1m: its windows count 1h candles/,
    );
    expect(wrong.stderr).toMatch(/hint: train a model on 1m candles into that folder/);
  });

  it('fails (exit 1) when no pair can be watched, naming each reason, where it said nothing and exited 0', async () => {
    await writeKlinesCsv(join(work, 'BTCUSDT-1h-short.csv'), replayed.slice(0, 50));
    const result = cli('watch', '--replay', 'BTCUSDT-1h-short.csv', '--model', 'models', '--json');
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(
      /error: no pair could be watched\nBTCUSDT: only 50 candles before the first to score, its model needs \d+/,
    );
  });
});
