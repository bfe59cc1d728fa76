import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_FEATURE_OPTIONS, warmupRowsFor } from '@crypto-anomaly/core';
import { generateSampleMarket, writeKlinesCsv } from '@crypto-anomaly/data';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  busClient,
  type NatsServer,
  natsSkipReason,
  run,
  start,
  startNatsServer,
  stop,
  waitFor,
} from './helpers/nats-server.js';

/** A malformed candle in the middle of a market's stream: parked after N deliveries, reported, not blocking. */
describe.skipIf(natsSkipReason !== undefined)('the bus: a poison candle', () => {
  let server: NatsServer;
  let work: string;
  beforeAll(async () => {
    server = await startNatsServer();
    work = mkdtempSync(join(tmpdir(), 'bus-poison-'));
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
  });
  afterAll(async () => {
    await server?.dispose();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('is parked on the dead-letter subject after 3 deliveries; the candles after it are scored', async () => {
    // The worker's first score: after the default features' warm-up (or after the explainability
    // context of 30 candles and one, if that is longer).
    const warmUp = Math.max(warmupRowsFor(DEFAULT_FEATURE_OPTIONS), 31);
    const klines = generateSampleMarket({ symbol: 'AAAUSDT', interval: '1m', count: 200, seed: 5 }).klines;
    const file = join(work, 'AAAUSDT-1m.csv');
    await writeKlinesCsv(file, klines.slice(0, 100));
    expect(run(work, 'ingest', '--bus', server.url, '--replay', file).status).toBe(0);
    const client = await busClient(server.url);
    await client.js.publish(
      'klines.1m.AAAUSDT',
      '{"symbol":"AAAUSDT","interval":"1m","kline":{"openTime":"soon"',
      {
        msgID: 'poison-1',
      },
    );
    await writeKlinesCsv(file, klines);
    const again = run(work, 'ingest', '--bus', server.url, '--replay', file);
    expect(again.status, again.stderr).toBe(0);
    expect(await client.count('KLINES')).toBe(201);

    const worker = start(
      work,
      'worker',
      '--bus',
      server.url,
      '--model',
      'model',
      '--model-for-all',
      '--lease-ttl',
      '3s',
      '--poison-after',
      '3',
    );
    try {
      await waitFor(
        'the candles scored and the poison parked',
        async () => (await client.count('DLQ')) === 1 && (await client.count('SCORES')) >= 200 - warmUp,
      );
    } finally {
      expect(await stop(worker), worker.stderr()).toBe(143);
    }
    const parked = await client.read('DLQ');
    expect(parked).toHaveLength(1);
    expect(parked[0]!.subject).toBe('dlq.klines.1m.AAAUSDT');
    expect(parked[0]!.headers['Ca-Deliveries']).toBe('3');
    expect(parked[0]!.headers['Ca-Subject']).toBe('klines.1m.AAAUSDT');
    expect(parked[0]!.headers['Ca-Reason']).toMatch(/not JSON/);
    expect(worker.stderr()).toMatch(/AAAUSDT 1m: candle at sequence 101 parked after 3 deliveries: not JSON/);
    // Every candle after the warm-up scored once, in order, those after the poison included.
    const scores = (await client.read('SCORES')).map(
      (message) => (JSON.parse(message.data) as { openTime: number }).openTime,
    );
    expect(scores).toEqual(klines.slice(warmUp).map((kline) => kline.openTime));
    await client.close();
  });
});
