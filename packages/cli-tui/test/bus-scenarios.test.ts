import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSampleMarket, type Kline, KlineStore, writeKlinesCsv } from '@crypto-anomaly/data';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  busClient,
  type NatsServer,
  natsSkipReason,
  type Running,
  run,
  type Stored,
  start,
  startNatsServer,
  stop,
  waitFor,
} from './helpers/nats-server.js';

/**
 * The distributed mode end to end, through the built binary and a real nats-server: ingest
 * processes replaying CSV files, workers scoring, the streams read back. The model is the
 * isolation forest alone (trained in a second): these scenarios are about delivery.
 */
const SYMBOLS = [
  'AAAUSDT',
  'BBBUSDT',
  'CCCUSDT',
  'DDDUSDT',
  'EEEUSDT',
  'FFFUSDT',
  'GGGUSDT',
  'HHHUSDT',
  'IIIUSDT',
  'JJJUSDT',
];
const CANDLES = 200;
let work: string;
let files: string[];
const candles = new Map<string, Kline[]>();
/** What the single-process watch --replay scores and alerts on the same files and model. */
let expectedScores: Set<string>;
/** `SYMBOL:openTime:detector` → score and threshold, from watch --replay's store. */
let expectedDetectorScores: Map<string, { score: number; threshold: number }>;
let expectedAlerts: Map<string, unknown>;

const workerFlags = ['--model', 'model', '--model-for-all', '--lease-ttl', '3s'];

beforeAll(async () => {
  if (natsSkipReason) return;
  work = mkdtempSync(join(tmpdir(), 'bus-scenarios-'));
  files = [];
  for (const [index, symbol] of SYMBOLS.entries()) {
    const klines = generateSampleMarket({ symbol, interval: '1m', count: CANDLES, seed: 100 + index }).klines;
    candles.set(symbol, klines);
    const file = join(work, `${symbol}-1m.csv`);
    await writeKlinesCsv(file, klines);
    files.push(file);
  }
  writeFileSync(
    join(work, 'forest.json'),
    JSON.stringify({
      sample: { count: 800 },
      pipeline: { detectors: ['isolation-forest'], isolationForest: { nEstimators: 30 } },
    }),
  );
  const trained = run(
    work,
    'train',
    '--config',
    'forest.json',
    '--symbol',
    'AAAUSDT',
    '--interval',
    '1m',
    '--no-charts',
    '--out',
    'model',
  );
  expect(trained.status, trained.stderr).toBe(0);
  const watched = run(
    work,
    'watch',
    '--replay',
    files.join(','),
    '--model',
    'model',
    '--model-for-all',
    '--thresholds',
    'fitted',
    '--store',
    'single.duckdb',
    '--json',
  );
  expect(watched.status, watched.stderr).toBe(0);
  const store = await KlineStore.open(join(work, 'single.duckdb'));
  try {
    const scores = await store.query('SELECT symbol, open_time, detector, score, threshold FROM scores');
    expectedScores = new Set(scores.map((row) => `${row['symbol']}:${Number(row['open_time'])}`));
    expectedDetectorScores = new Map(
      scores.map((row) => [
        `${row['symbol']}:${Number(row['open_time'])}:${row['detector']}`,
        { score: Number(row['score']), threshold: Number(row['threshold']) },
      ]),
    );
    const alerts = await store.query('SELECT id, payload FROM alerts');
    expectedAlerts = new Map(alerts.map((row) => [String(row['id']), JSON.parse(String(row['payload']))]));
  } finally {
    await store.close();
  }
  // Every pair scored, after its warm-up.
  expect(new Set([...expectedScores].map((key) => key.split(':')[0])).size).toBe(SYMBOLS.length);
  expect(expectedAlerts.size).toBeGreaterThan(0);
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

/** Scores and alerts on the bus, each message once, checked against watch --replay's. */
async function checkAgainstSingleProcess(url: string) {
  const client = await busClient(url);
  try {
    const scores = await client.read('SCORES');
    const alerts = await client.read('ALERTS');
    const scoreKeys = scores.map((message) => {
      const score = JSON.parse(message.data) as { symbol: string; openTime: number };
      return `${score.symbol}:${score.openTime}`;
    });
    // No candle scored twice on the bus, none missing, none extra.
    expect(new Set(scoreKeys).size).toBe(scoreKeys.length);
    expect(new Set(scoreKeys)).toEqual(expectedScores);
    // Every detector's score as the single process scored it.
    const differences: string[] = [];
    for (const message of scores) {
      const score = JSON.parse(message.data) as {
        symbol: string;
        openTime: number;
        detectors: { name: string; score: number; threshold: number }[];
      };
      for (const detector of score.detectors) {
        const key = `${score.symbol}:${score.openTime}:${detector.name}`;
        const expected = expectedDetectorScores.get(key);
        if (
          !expected ||
          Math.abs(expected.score - detector.score) > 1e-9 * Math.max(1, Math.abs(expected.score))
        ) {
          differences.push(
            `${key} by ${workerOf(message)}: ${detector.score} (threshold ${detector.threshold}), single process ${expected?.score} (threshold ${expected?.threshold})`,
          );
        }
      }
    }
    expect(differences).toEqual([]);
    const alertIds = alerts.map((message) => (JSON.parse(message.data) as { id: string }).id);
    expect(new Set(alertIds).size).toBe(alertIds.length);
    // The same alerts as the single process, field for field, bit for bit.
    const onBus = new Map(
      alerts.map((message) => [(JSON.parse(message.data) as { id: string }).id, message.data]),
    );
    expect(
      [...onBus.keys()].filter((id) => !expectedAlerts.has(id)),
      'alerts the single process has not',
    ).toEqual([]);
    expect(
      [...expectedAlerts.keys()].filter((id) => !onBus.has(id)),
      'alerts missing from the bus',
    ).toEqual([]);
    for (const [id, data] of onBus) expect(JSON.parse(data), id).toEqual(expectedAlerts.get(id));
    return { scores, alerts };
  } finally {
    await client.close();
  }
}

/** A nats-server for one describe block, and the processes launched against it (stopped after). */
function busFixture() {
  const fixture = {
    server: undefined as unknown as NatsServer,
    running: [] as Running[],
    launch(...args: string[]): Running {
      const process = start(work, ...args);
      fixture.running.push(process);
      return process;
    },
  };
  beforeAll(async () => {
    fixture.server = await startNatsServer();
  });
  afterAll(async () => {
    for (const process of fixture.running) await stop(process);
    await fixture.server?.dispose();
  });
  return fixture;
}

const workerOf = (message: Stored) => message.headers['Ca-Worker'];

describe.skipIf(natsSkipReason !== undefined)('the bus: ingest and workers on a real nats-server', () => {
  const bus = busFixture();

  it('two ingest processes store each candle once; two workers score each exactly once, alerts equal to watch --replay', async () => {
    const ingests = [
      bus.launch('ingest', '--bus', bus.server.url, '--replay', files.join(',')),
      bus.launch('ingest', '--bus', bus.server.url, '--replay', files.join(',')),
    ];
    const codes = await Promise.all(ingests.map((ingest) => ingest.exited));
    expect(codes, ingests.map((ingest) => ingest.stderr()).join('\n')).toEqual([0, 0]);
    const counts = ingests.map(
      (ingest) => JSON.parse(ingest.stdout().trim()) as { published: number; duplicates: number },
    );
    const total = SYMBOLS.length * CANDLES;
    expect(counts[0]!.published + counts[1]!.published).toBe(total);
    const client = await busClient(bus.server.url);
    expect(await client.count('KLINES')).toBe(total);

    const workers = [
      bus.launch('worker', '--bus', bus.server.url, ...workerFlags, '--name', 'w1'),
      bus.launch('worker', '--bus', bus.server.url, ...workerFlags, '--name', 'w2'),
    ];
    await waitFor('every candle scored', async () => (await client.count('SCORES')) >= expectedScores.size);
    await client.close();
    for (const worker of workers) expect(await stop(worker), worker.stderr()).toBe(143);
    const { scores } = await checkAgainstSingleProcess(bus.server.url);
    // Both workers had a share of the pairs.
    expect(new Set(scores.map(workerOf))).toEqual(new Set(['w1', 'w2']));
  });
});

describe.skipIf(natsSkipReason !== undefined)('the bus when a part dies', () => {
  const bus = busFixture();

  it('a worker killed mid-stream: its pairs move to the other, nothing lost, nothing twice', async () => {
    // Candles trickle in (2,400 times real time: 25 ms a minute), so the kill lands mid-stream.
    const ingest = bus.launch(
      'ingest',
      '--bus',
      bus.server.url,
      '--replay',
      files.join(','),
      '--speed',
      '2400',
    );
    const w1 = bus.launch('worker', '--bus', bus.server.url, ...workerFlags, '--name', 'k1');
    const w2 = bus.launch('worker', '--bus', bus.server.url, ...workerFlags, '--name', 'k2');
    const client = await busClient(bus.server.url);
    // Both own pairs and have scored some of them.
    await waitFor('both workers scoring', async () => {
      const scores = await client.read('SCORES');
      const by = new Set(scores.map(workerOf));
      return by.has('k1') && by.has('k2') && scores.length >= expectedScores.size / 5;
    });
    w1.child.kill('SIGKILL');
    expect(await w1.exited).toBe('SIGKILL');
    const atKill = await client.count('SCORES');
    expect(atKill).toBeLessThan(expectedScores.size);
    expect(await ingest.exited, ingest.stderr()).toBe(0);
    await waitFor('every candle scored', async () => (await client.count('SCORES')) >= expectedScores.size);
    await client.close();
    expect(await stop(w2), w2.stderr()).toBe(143);
    const { scores } = await checkAgainstSingleProcess(bus.server.url);
    // After the kill, every pair's last candles were scored by the survivor.
    const last = new Map<string, Stored>();
    for (const message of scores) last.set(message.subject, message);
    expect(new Set([...last.values()].map(workerOf))).toEqual(new Set(['k2']));
    expect(w2.stderr()).toMatch(/taken, warmed up on \d+ candles \(up to the last scored\)/);
  });
});

describe.skipIf(natsSkipReason !== undefined)('the bus across a server restart', () => {
  const bus = busFixture();

  it('ingest, workers and watch --bus reconnect and resume: every candle stored and scored once, every alert shown', async () => {
    // watch --bus on a bus nothing has run on yet: it waits for the streams' first messages.
    const watch = bus.launch('watch', '--bus', bus.server.url, '--json', '--status-every', '1');
    await waitFor('watch --bus running', () => /"candles"|watching/.test(watch.stdout() + watch.stderr()));
    expect(watch.child.exitCode, watch.stderr()).toBeNull();
    await waitFor('its header', () => /watching /.test(watch.stderr()));
    expect(watch.stderr()).toMatch(/watching every pair on the bus \(every interval, live\)/);
    const ingest = bus.launch(
      'ingest',
      '--bus',
      bus.server.url,
      '--replay',
      files.join(','),
      '--speed',
      '2400',
    );
    const worker = bus.launch('worker', '--bus', bus.server.url, ...workerFlags, '--name', 'r1');
    let client = await busClient(bus.server.url);
    await waitFor('scoring under way', async () => (await client.count('SCORES')) >= expectedScores.size / 5);
    await client.close();
    await bus.server.restart();
    client = await busClient(bus.server.url);
    const afterRestart = await client.count('SCORES');
    expect(afterRestart).toBeLessThan(expectedScores.size);
    expect(await ingest.exited, ingest.stderr()).toBe(0);
    expect(await client.count('KLINES')).toBe(SYMBOLS.length * CANDLES);
    await waitFor('every candle scored', async () => (await client.count('SCORES')) >= expectedScores.size);
    await client.close();
    expect(await stop(worker), worker.stderr()).toBe(143);
    expect(worker.stderr()).toMatch(/connection lost/);
    const { alerts } = await checkAgainstSingleProcess(bus.server.url);
    // watch --bus showed every alert of the bus once, those published after the restart too.
    const onBus = alerts.map((message) => (JSON.parse(message.data) as { id: string }).id);
    const shown = () =>
      watch
        .stdout()
        .split('\n')
        .filter((line) => line.startsWith('{"id"'))
        .map((line) => (JSON.parse(line) as { id: string }).id);
    await waitFor('watch --bus showing every alert', () => shown().length >= onBus.length, 60_000);
    expect(new Set(shown())).toEqual(new Set(onBus));
    expect(shown()).toHaveLength(onBus.length);
    expect(await stop(watch), watch.stderr()).toBe(143);
  });
});
