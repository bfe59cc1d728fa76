import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateSampleMarket, type Kline, KlineStore, writeKlinesCsv } from '@crypto-anomaly/data';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trainQuickModel } from './helpers/watch-model.js';

/**
 * `watch` through the built binary, off a terminal, in replay: the webhook against a real HTTP
 * server on 127.0.0.1, `--replay-store` on a real DuckDB file, `--model-for-all`, and alerts equal
 * to what `crypto-anomaly detect` flags on the same candles with the same model and thresholds.
 */
const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const env = { ...process.env, CI: 'true', NO_COLOR: '1' };
const HOUR = 3_600_000;
let work: string;
let btc: Kline[];
let eth: Kline[];

const cli = (...args: string[]) =>
  spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env, cwd: work, timeout: 240_000 });

/** Runs the binary without blocking this process, where the webhook's server answers. */
function cliAsync(...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { env, cwd: work });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('exit', (status) => resolve({ status, stdout, stderr }));
  });
}

const jsonLines = (text: string) =>
  text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);

async function withStore<T>(file: string, use: (store: KlineStore) => Promise<T>): Promise<T> {
  const store = await KlineStore.open(join(work, file));
  try {
    return await use(store);
  } finally {
    await store.close();
  }
}

/** Scored open times of a symbol, each checked to carry the three detectors and the consensus. */
async function scoredOpenTimes(file: string, symbol: string): Promise<number[]> {
  return withStore(file, async (store) => {
    const rows = await store.query(
      'SELECT open_time, count(*) AS n FROM scores WHERE symbol = $1 GROUP BY open_time ORDER BY open_time',
      [symbol],
    );
    for (const row of rows) expect(Number(row['n'])).toBe(4);
    return rows.map((row) => Number(row['open_time']));
  });
}

/** The HTTP server the webhook posts to: answers 503 to the first POST, 200 to the rest. */
interface Hook {
  url: string;
  received: { id: string; key: IncomingHttpHeaders[string]; status: number }[];
  server: Server;
}
let hook: Hook;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'watch-e2e-'));
  btc = generateSampleMarket({ symbol: 'BTCUSDT', interval: '1h', count: 1_500, seed: 11 }).klines;
  eth = generateSampleMarket({ symbol: 'ETHUSDT', interval: '1h', count: 500, seed: 12 }).klines;
  await writeKlinesCsv(join(work, 'BTCUSDT-1h.csv'), btc.slice(1_000));
  await writeKlinesCsv(join(work, 'ETHUSDT-1h.csv'), eth);
  await trainQuickModel(work, btc.slice(0, 1_000), 'BTCUSDT', '1h');

  const received: Hook['received'] = [];
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      const status = received.length === 0 ? 503 : 200;
      const alert = JSON.parse(body) as { id: string };
      received.push({ id: alert.id, key: request.headers['idempotency-key'], status });
      response.writeHead(status, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  hook = { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, received, server };
}, 300_000);

afterAll(async () => {
  await new Promise((resolve) => hook?.server.close(resolve));
});

describe('crypto-anomaly watch through the binary (replay, non-TTY)', () => {
  it('POSTs each alert to the webhook once, retrying one answered 503; a second run sends nothing', async () => {
    const args = [
      'watch',
      '--replay',
      'BTCUSDT-1h.csv',
      '--model',
      'models',
      '--store',
      'hook.duckdb',
      '--json',
      '--alerts-file',
      'hook.jsonl',
      '--webhook',
      hook.url,
      '--cooldown',
      '0',
    ];
    const result = await cliAsync(...args);
    expect(result.status, result.stderr).toBe(0);
    const alerts = jsonLines(readFileSync(join(work, 'hook.jsonl'), 'utf8'));
    expect(alerts.length).toBeGreaterThan(1);
    const ids = alerts.map((alert) => alert['id'] as string);
    // The first POST was refused with 503 and sent again; every alert accepted exactly once.
    expect(hook.received[0]!.status).toBe(503);
    expect(
      hook.received.filter((post) => post.id === hook.received[0]!.id).map((post) => post.status),
    ).toEqual([503, 200]);
    const accepted = hook.received.filter((post) => post.status === 200);
    expect(accepted.map((post) => post.id).sort()).toEqual([...ids].sort());
    for (const post of hook.received) expect(post.key).toBe(post.id);
    expect(result.stderr).toMatch(/webhook attempt 1 for \S+ failed \(HTTP 503\); retrying in \d+ ms/);

    const posts = hook.received.length;
    const again = await cliAsync(...args);
    expect(again.status, again.stderr).toBe(0);
    expect(hook.received.length).toBe(posts);
  });

  it('--replay-store replays the store between --since and --until: each candle after the warm-up once', async () => {
    await withStore('stored.duckdb', (store) => store.upsert('BTCUSDT', '1h', btc));
    const since = btc[1_100]!.openTime;
    const until = btc[1_400]!.openTime;
    const result = cli(
      'watch',
      '--replay-store',
      '--symbols',
      'BTCUSDT',
      '--interval',
      '1h',
      '--since',
      new Date(since).toISOString(),
      '--until',
      new Date(until).toISOString(),
      '--model',
      'models',
      '--store',
      'stored.duckdb',
      '--json',
    );
    expect(result.status, result.stderr).toBe(0);
    const warm = Number(/BTCUSDT: warmed up on (\d+) candles from the replay/.exec(result.stderr)?.[1]);
    expect(warm).toBeGreaterThan(0);
    const expected = btc.slice(1_100 + warm, 1_400).map((k) => k.openTime);
    expect(await scoredOpenTimes('stored.duckdb', 'BTCUSDT')).toEqual(expected);
    const final = jsonLines(result.stdout).find((line) => line['type'] === 'status');
    expect(final).toMatchObject({ final: true, candles: expected.length });
    expect(expected.at(-1)).toBe(until - HOUR);
    // A store that is not there is named, not created.
    const missing = cli(
      'watch',
      '--replay-store',
      '--symbols',
      'BTCUSDT',
      '--interval',
      '1h',
      '--model',
      'models',
      '--store',
      'typo.duckdb',
      '--json',
    );
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(
      /no kline store at .*typo\.duckdb: nothing to replay, and none was created/,
    );
    expect(existsSync(join(work, 'typo.duckdb'))).toBe(false);
  });

  it('--model-for-all scores a pair without a model of its own with the one given, and warns', async () => {
    const result = cli(
      'watch',
      '--replay',
      'BTCUSDT-1h.csv,ETHUSDT-1h.csv',
      '--model',
      'models/BTCUSDT_1h',
      '--model-for-all',
      '--store',
      'all.duckdb',
      '--json',
    );
    expect(result.status, result.stderr).toBe(0);
    expect(result.stderr).toMatch(
      /warning: ETHUSDT is scored with the model trained on BTCUSDT 1h \(--model-for-all\)/,
    );
    expect(result.stderr).not.toMatch(/warning: BTCUSDT/);
    const final = jsonLines(result.stdout).find((line) => line['type'] === 'status')!;
    expect(final['symbols']).toBe(2);
    const btcScored = await scoredOpenTimes('all.duckdb', 'BTCUSDT');
    const ethScored = await scoredOpenTimes('all.duckdb', 'ETHUSDT');
    expect(btcScored.at(-1)).toBe(btc.at(-1)!.openTime);
    expect(ethScored.at(-1)).toBe(eth.at(-1)!.openTime);
    expect(btcScored.length + ethScored.length).toBe(final['candles']);
    expect(ethScored.length).toBeGreaterThan(400);
  });

  it('--model-for-all scores candles of another interval with the model given, and warns', async () => {
    const fourHours = generateSampleMarket({ symbol: 'ETHUSDT', interval: '4h', count: 300, seed: 13 });
    await writeKlinesCsv(join(work, 'ETHUSDT-4h.csv'), fourHours.klines);
    const result = cli(
      'watch',
      '--replay',
      'ETHUSDT-4h.csv',
      '--model',
      'models/BTCUSDT_1h',
      '--model-for-all',
      '--store',
      'four-hours.duckdb',
      '--json',
    );
    expect(result.status, result.stderr).toBe(0);
    expect(result.stderr).toMatch(
      /warning: ETHUSDT 4h is scored with the model trained on BTCUSDT 1h \(--model-for-all\): its windows count 1h candles/,
    );
    const scored = await scoredOpenTimes('four-hours.duckdb', 'ETHUSDT');
    expect(scored.at(-1)).toBe(fourHours.klines.at(-1)!.openTime);
  });

  it('--thresholds fitted: the stored alerts are what detect flags on the same candles with the same model', async () => {
    const watched = cli(
      'watch',
      '--replay',
      'BTCUSDT-1h.csv',
      '--model',
      'models',
      '--store',
      'fitted.duckdb',
      '--json',
      '--thresholds',
      'fitted',
      '--cooldown',
      '0',
    );
    expect(watched.status, watched.stderr).toBe(0);
    const detected = cli(
      'detect',
      '--model',
      'models/BTCUSDT_1h',
      '--source',
      'csv',
      '--input',
      'BTCUSDT-1h.csv',
      '--out',
      'detected',
      '--no-charts',
    );
    expect(detected.status, detected.stderr).toBe(0);

    const firstScored = (await scoredOpenTimes('fitted.duckdb', 'BTCUSDT'))[0]!;
    const flagged = new Set<string>();
    const files = {
      'isolation-forest': 'anomalies_isolation_forest.csv',
      autoencoder: 'anomalies_autoencoder.csv',
      attention: 'anomalies_attention.csv',
      consensus: 'anomalies_consensus.csv',
    };
    for (const [detector, file] of Object.entries(files)) {
      const [header, ...rows] = readFileSync(join(work, 'detected', file), 'utf8')
        .trim()
        .split('\n');
      const columns = header!.split(',');
      const time = columns.indexOf('time');
      const anomaly = columns.indexOf('is_anomaly');
      expect(rows.length).toBeGreaterThan(400);
      for (const row of rows) {
        const cells = row.split(',');
        const openTime = Date.parse(cells[time]!);
        // The replayed range after the warm-up: what watch scored.
        if (cells[anomaly] === '1' && openTime >= firstScored) flagged.add(`${openTime} ${detector}`);
      }
    }
    // Every alert is stored, those the cool-down held back from the sinks included.
    const stored = await withStore('fitted.duckdb', (store) =>
      store.query("SELECT open_time, detector, payload FROM alerts WHERE symbol = 'BTCUSDT'"),
    );
    for (const row of stored) expect(JSON.parse(row['payload'] as string).thresholdKind).toBe('fitted');
    const alerted = new Set(stored.map((row) => `${Number(row['open_time'])} ${row['detector']}`));
    expect(flagged.size).toBeGreaterThan(3);
    expect([...alerted].sort()).toEqual([...flagged].sort());
  });
});
