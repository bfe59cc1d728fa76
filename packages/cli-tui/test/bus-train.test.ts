import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kvm } from '@nats-io/kv';
import { Objm } from '@nats-io/obj';
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
 * train --bus: three pairs fanned out to two workers through the work queue; each job trained once,
 * by one worker, each model stored as version 1 of its pair; the progress on train.progress.PAIR.
 */
describe.skipIf(natsSkipReason !== undefined)('the bus: training fanned out to the workers', () => {
  let server: NatsServer;
  let work: string;
  const running: Running[] = [];
  beforeAll(async () => {
    server = await startNatsServer();
    work = mkdtempSync(join(tmpdir(), 'bus-train-'));
    writeFileSync(
      join(work, 'forest.json'),
      JSON.stringify({
        sample: { count: 600 },
        pipeline: { detectors: ['isolation-forest'], isolationForest: { nEstimators: 20 } },
      }),
    );
  });
  /** train --bus for these pairs at 1m, the forest alone. */
  const trainArgs = (symbols: string) =>
    [
      'train',
      '--bus',
      server.url,
      '--config',
      'forest.json',
      '--symbols',
      symbols,
      '--interval',
      '1m',
    ] as const;
  afterAll(async () => {
    for (const process of running) await stop(process);
    await server?.dispose();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('3 pairs, 2 workers: every job done once, 3 model versions stored', async () => {
    const workers = ['t1', 't2'].map((name) => {
      const worker = start(work, 'worker', '--bus', server.url, '--model-cache', 'cache', '--name', name);
      running.push(worker);
      return worker;
    });
    const client = await busClient(server.url);
    // Both workers waiting for a job before any is sent, so each gets one.
    await waitFor('both workers waiting for jobs', async () => {
      try {
        return (await client.jsm.consumers.info('JOBS', 'trainers')).num_waiting >= 2;
      } catch {
        return false;
      }
    });
    const trained = run(work, ...trainArgs('AAAUSDT,BBBUSDT,CCCUSDT'));
    expect(trained.status, trained.stderr).toBe(0);
    const outcomes = trained.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { pair: string; status: string; version: number; worker: string });
    expect(outcomes.map(({ pair, status, version }) => ({ pair, status, version }))).toEqual(
      ['AAAUSDT_1m', 'BBBUSDT_1m', 'CCCUSDT_1m'].map((pair) => ({ pair, status: 'done', version: 1 })),
    );
    // Progress per pair: one start, one done, by the worker the command named.
    const events = (await client.read('TRAINING')).map(
      (message) => JSON.parse(message.data) as { pair: string; type: string; worker: string },
    );
    for (const outcome of outcomes) {
      const of = events.filter((event) => event.pair === outcome.pair);
      expect(
        of.map((event) => event.type),
        outcome.pair,
      ).toEqual(['started', 'done']);
      expect(new Set(of.map((event) => event.worker))).toEqual(new Set([outcome.worker]));
    }
    expect(new Set(outcomes.map((outcome) => outcome.worker))).toEqual(new Set(['t1', 't2']));
    expect(trained.stderr).toMatch(/AAAUSDT_1m: t\d: done in [\d.]+ s on 600 candles, stored as v1/);
    // The work queue is empty; three objects stored, one version each.
    expect(await client.count('JOBS')).toBe(0);
    const store = await new Objm(client.js).open('ca-models');
    expect((await store.list()).map((info) => info.name).sort()).toEqual([
      'AAAUSDT_1m/v1',
      'BBBUSDT_1m/v1',
      'CCCUSDT_1m/v1',
    ]);
    const kv = await new Kvm(client.js).open('ca-models');
    for (const pair of ['AAAUSDT_1m', 'BBBUSDT_1m', 'CCCUSDT_1m']) {
      expect((await kv.get(`models.${pair}`))?.json<{ version: number }>().version).toBe(1);
    }
    await client.close();
    for (const worker of workers) expect(await stop(worker), worker.stderr()).toBe(143);
  });

  it('jobs with nobody to train them: train --bus says so, and they are trained once a worker starts', async () => {
    const client = await busClient(server.url);
    const workersAlive = async () => {
      const kv = await new Kvm(client.js).open('ca-workers');
      const keys: string[] = [];
      for await (const key of await kv.keys()) keys.push(key);
      return keys;
    };
    // The first test's workers are gone (a stopped worker deletes its key).
    expect(await workersAlive()).toEqual([]);
    const train = (symbol: string) => {
      const process = start(work, ...trainArgs(symbol));
      running.push(process);
      return process;
    };
    const alone = train('DDDUSDT');
    await waitFor('train --bus saying no worker is alive', () =>
      /no worker is alive on the bus/.test(alone.stderr()),
    );
    expect(alone.stderr()).toContain(
      `the 1 job waits on jobs.train until one starts: crypto-anomaly worker --bus ${server.url}`,
    );
    // A worker that only scores does not count.
    const scorer = start(work, 'worker', '--bus', server.url, '--train-jobs', '0', '--name', 'scorer');
    running.push(scorer);
    await waitFor('the scoring worker registered', async () => (await workersAlive()).includes('scorer'));
    const second = train('EEEUSDT');
    await waitFor('train --bus seeing a worker that does not train', () =>
      /1 worker is alive, none taking training jobs \(--train-jobs 0\)/.test(second.stderr()),
    );
    expect(second.stderr()).not.toMatch(/no worker is alive/);
    // Once a training worker starts, both queued jobs are trained.
    const trainer = start(work, 'worker', '--bus', server.url, '--name', 't3');
    running.push(trainer);
    expect(await alone.exited, alone.stderr()).toBe(0);
    expect(await second.exited, second.stderr()).toBe(0);
    expect(JSON.parse(alone.stdout())).toMatchObject({ pair: 'DDDUSDT_1m', status: 'done', worker: 't3' });
    expect(JSON.parse(second.stdout())).toMatchObject({ pair: 'EEEUSDT_1m', status: 'done', worker: 't3' });
    await client.close();
    for (const worker of [scorer, trainer]) expect(await stop(worker), worker.stderr()).toBe(143);
  });
});
