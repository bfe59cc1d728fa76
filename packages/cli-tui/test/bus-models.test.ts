import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSampleMarket, KlineStore, writeKlinesCsv } from '@crypto-anomaly/data';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  busClient,
  type NatsServer,
  natsSkipReason,
  type Running,
  run,
  start,
  startNatsServer,
  stop,
  waitFor,
} from './helpers/nats-server.js';

/**
 * Models in the bus' object store: a worker started with no model folder scores two pairs with
 * version 1; version 2 is pushed mid-stream and the same worker process switches to it at a candle
 * boundary. Every candle is scored once; each score says which version scored it, and its scores
 * equal those of the single-process watch --replay with that version's model.
 */
const SYMBOLS = ['AAAUSDT', 'BBBUSDT'];
const CANDLES = 240;
const HALF = 120;
let work: string;
const fullFiles: string[] = [];
const firstHalf: string[] = [];
const secondHalf: string[] = [];
/** Model (a, b) → `SYMBOL:openTime` → consensus score, from watch --replay with that model. */
const expected = new Map<string, Map<string, number>>();
/** Symbol → open time of its first candle of the second half. */
const secondHalfStart = new Map<string, number>();

function train(name: string, trees: number, seed: number) {
  writeFileSync(
    join(work, `${name}.json`),
    JSON.stringify({
      seed,
      sample: { count: 800 },
      pipeline: { detectors: ['isolation-forest'], isolationForest: { nEstimators: trees } },
    }),
  );
  const trained = run(
    work,
    'train',
    '--config',
    `${name}.json`,
    '--symbol',
    'AAAUSDT',
    '--interval',
    '1m',
    '--no-charts',
    '--out',
    name,
  );
  expect(trained.status, trained.stderr).toBe(0);
}

async function replayScores(model: string): Promise<Map<string, number>> {
  const store = `single-${model}.duckdb`;
  const watched = run(
    work,
    'watch',
    '--replay',
    fullFiles.join(','),
    '--model',
    model,
    '--model-for-all',
    '--thresholds',
    'fitted',
    '--store',
    store,
    '--json',
  );
  expect(watched.status, watched.stderr).toBe(0);
  const opened = await KlineStore.open(join(work, store));
  try {
    const rows = await opened.query(
      "SELECT symbol, open_time, score FROM scores WHERE detector = 'isolation-forest'",
    );
    return new Map(rows.map((row) => [`${row['symbol']}:${Number(row['open_time'])}`, Number(row['score'])]));
  } finally {
    await opened.close();
  }
}

beforeAll(async () => {
  if (natsSkipReason) return;
  work = mkdtempSync(join(tmpdir(), 'bus-models-'));
  mkdirSync(join(work, 'part1'));
  mkdirSync(join(work, 'part2'));
  for (const [index, symbol] of SYMBOLS.entries()) {
    const klines = generateSampleMarket({ symbol, interval: '1m', count: CANDLES, seed: 300 + index }).klines;
    secondHalfStart.set(symbol, klines[HALF]!.openTime);
    const name = `${symbol}-1m.csv`;
    await writeKlinesCsv(join(work, name), klines);
    await writeKlinesCsv(join(work, 'part1', name), klines.slice(0, HALF));
    await writeKlinesCsv(join(work, 'part2', name), klines.slice(HALF));
    fullFiles.push(join(work, name));
    firstHalf.push(join(work, 'part1', name));
    secondHalf.push(join(work, 'part2', name));
  }
  train('model-a', 30, 1);
  train('model-b', 12, 2);
  expected.set('1', await replayScores('model-a'));
  expected.set('2', await replayScores('model-b'));
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe.skipIf(natsSkipReason !== undefined)('the bus: models in the object store', () => {
  let server: NatsServer;
  const running: Running[] = [];
  beforeAll(async () => {
    server = await startNatsServer();
  });
  afterAll(async () => {
    for (const process of running) await stop(process);
    await server?.dispose();
  });

  it('a worker switches a pair to a pushed version mid-stream, without a restart: none lost, none twice', async () => {
    const pairs = SYMBOLS.map((symbol) => `${symbol}_1m`).join(',');
    const pushed = run(work, 'models', 'push', '--bus', server.url, '--model', 'model-a', '--pairs', pairs);
    expect(pushed.status, pushed.stderr).toBe(0);
    // Trained on AAAUSDT 1m: pushed as BBBUSDT_1m with a warning, as AAAUSDT_1m without.
    expect(pushed.stderr).toContain(
      'warning: BBBUSDT_1m gets the model trained on AAAUSDT 1m: its thresholds were fitted to another market',
    );
    expect(pushed.stderr).not.toMatch(/warning: AAAUSDT_1m/);
    expect(
      pushed.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line).version),
    ).toEqual([1, 1]);

    const ingest1 = run(work, 'ingest', '--bus', server.url, '--replay', firstHalf.join(','));
    expect(ingest1.status, ingest1.stderr).toBe(0);
    const worker = start(
      work,
      'worker',
      '--bus',
      server.url,
      '--model-cache',
      'cache',
      '--thresholds',
      'fitted',
      '--lease-ttl',
      '3s',
      '--name',
      'm1',
    );
    running.push(worker);
    const client = await busClient(server.url);
    const scoredOf = (version: string) => [...expected.get(version)!.keys()];
    const firstScored = scoredOf('1').filter(
      (key) => Number(key.split(':')[1]) < secondHalfStart.get(key.split(':')[0]!)!,
    );
    await waitFor('the first half scored', async () => (await client.count('SCORES')) >= firstScored.length);

    // Version 2 arrives while the worker is running, then the rest of the candles.
    const pushed2 = run(work, 'models', 'push', '--bus', server.url, '--model', 'model-b', '--pairs', pairs);
    expect(pushed2.status, pushed2.stderr).toBe(0);
    expect(
      pushed2.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line).version),
    ).toEqual([2, 2]);
    const ingest2 = start(work, 'ingest', '--bus', server.url, '--replay', secondHalf.join(','));
    running.push(ingest2);
    expect(await ingest2.exited, ingest2.stderr()).toBe(0);
    await waitFor('every candle scored', async () => (await client.count('SCORES')) >= scoredOf('1').length);
    await waitFor('both pairs switched', () => (worker.stderr().match(/model v1 → v2/g) ?? []).length === 2);
    const scores = await client.read('SCORES');
    await client.close();
    // The same process all along.
    expect(worker.child.exitCode, worker.stderr()).toBeNull();
    expect(await stop(worker), worker.stderr()).toBe(143);

    const keys = scores.map((message) => {
      const score = JSON.parse(message.data) as { symbol: string; openTime: number };
      return `${score.symbol}:${score.openTime}`;
    });
    expect(new Set(keys).size).toBe(keys.length);
    expect(new Set(keys)).toEqual(new Set(scoredOf('1')));
    const versions = new Map<string, string[]>();
    const differences: string[] = [];
    for (const [index, message] of scores.entries()) {
      const version = message.headers['Ca-Model-Version'] ?? 'none';
      const score = JSON.parse(message.data) as {
        symbol: string;
        detectors: { name: string; score: number }[];
      };
      versions.set(score.symbol, [...(versions.get(score.symbol) ?? []), version]);
      const forest = score.detectors.find((detector) => detector.name === 'isolation-forest')!.score;
      const want = expected.get(version)?.get(keys[index]!);
      if (want === undefined || Math.abs(want - forest) > 1e-9)
        differences.push(`${keys[index]} v${version}: ${forest}, watch --replay with that model ${want}`);
    }
    expect(differences).toEqual([]);
    for (const symbol of SYMBOLS) {
      const sequence = versions.get(symbol)!.join('');
      // Version 1 on the first half, then 2 from some candle on: one switch, no going back.
      expect(sequence, symbol).toMatch(/^1+2+$/);
      expect(sequence.indexOf('2'), symbol).toBeGreaterThanOrEqual(
        firstScored.filter((key) => key.startsWith(symbol)).length,
      );
    }
    // Each version unpacked once on this machine.
    expect(readdirSync(join(work, 'cache', 'AAAUSDT_1m')).sort()).toEqual(['v1', 'v2']);
  });

  it('a model pushed for another interval is pushed with a warning that says why it will misjudge', () => {
    const pushed = run(
      work,
      'models',
      'push',
      '--bus',
      server.url,
      '--model',
      'model-a',
      '--pairs',
      'AAAUSDT_1h',
    );
    expect(pushed.status, pushed.stderr).toBe(0);
    expect(pushed.stderr).toContain(
      'warning: AAAUSDT_1h gets the model trained on AAAUSDT 1m: its windows count 1m candles',
    );
    expect(pushed.stderr).toContain('train one on 1h');
    expect(JSON.parse(pushed.stdout)).toMatchObject({ pair: 'AAAUSDT_1h', version: 1 });
  });

  it('models push says which folders it skipped; models list shows each pair with its versions', () => {
    const root = join(work, 'to-push');
    mkdirSync(root);
    cpSync(join(work, 'model-b'), join(root, 'BBBUSDT_1m'), { recursive: true });
    cpSync(join(work, 'model-b'), join(root, 'btc'), { recursive: true });
    const pushed = run(work, 'models', 'push', '--bus', server.url, '--model', root);
    expect(pushed.status, pushed.stderr).toBe(0);
    expect(pushed.stderr).toContain(`note: ${join(root, 'btc')} skipped: not named SYMBOL_INTERVAL`);
    expect(JSON.parse(pushed.stdout)).toMatchObject({ pair: 'BBBUSDT_1m', version: 3 });

    const listed = run(work, 'models', 'list', '--bus', server.url, '--json');
    expect(listed.status, listed.stderr).toBe(0);
    const models = (
      JSON.parse(listed.stdout) as { models: { pair: string; version: number; kept: number[] }[] }
    ).models;
    expect(models.map(({ pair, version, kept }) => ({ pair, version, kept }))).toEqual([
      { pair: 'AAAUSDT_1h', version: 1, kept: [1] },
      { pair: 'AAAUSDT_1m', version: 2, kept: [1, 2] },
      { pair: 'BBBUSDT_1m', version: 3, kept: [1, 2, 3] },
    ]);
    const table = run(work, 'models', 'list', '--bus', server.url);
    expect(table.status, table.stderr).toBe(0);
    const lines = table.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^pair\s+latest\s+bytes\s+pushed \(UTC\)\s+by\s+kept$/);
    expect(lines[3]).toMatch(/^BBBUSDT_1m\s+v3\s+[\d,]+\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+\S+\s+v1 v2 v3$/);

    // A model folder itself: its detectors' subfolders are its own, not folders skipped.
    const itself = run(work, 'models', 'push', '--bus', server.url, '--model', 'model-a');
    expect(itself.status, itself.stderr).toBe(0);
    expect(
      readdirSync(join(work, 'model-a'), { withFileTypes: true }).some((entry) => entry.isDirectory()),
    ).toBe(true);
    expect(itself.stderr).not.toContain('skipped');
  });
});
