import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sampleSource } from '@crypto-anomaly/data';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detectWithPipeline, isCoreError, type PipelineEvent, trainPipeline } from '../src/index.js';

// The isolation forest alone: the point is which candles a model is used on, not its scores.
const source = sampleSource({ count: 600, seed: 5 });
let dir: string;
let modelDir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'core-other-market-'));
  modelDir = join(dir, 'model');
  const trained = await trainPipeline({
    source,
    symbol: 'BTCUSDT',
    interval: '1h',
    modelDir,
    config: { detectors: ['isolation-forest'], isolationForest: { nEstimators: 30 } },
  });
  trained.pipeline.dispose();
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The split column of the consensus file, and the `warn` log events, of one detect. */
async function detect(outDir: string, options: Partial<Parameters<typeof detectWithPipeline>[0]> = {}) {
  const events: PipelineEvent[] = [];
  const result = await detectWithPipeline({
    modelDir,
    source,
    outDir: join(dir, outDir),
    charts: false,
    onEvent: (event) => events.push(event),
    ...options,
  });
  const [header, ...lines] = (await readFile(result.files['consensus']!, 'utf8')).trim().split('\n');
  const column = header!.split(',').indexOf('split');
  return {
    splits: new Set(lines.map((line) => line.split(',')[column])),
    rows: result.summary.rows,
    warnings: events.flatMap((e) => (e.type === 'log' && e.level === 'warn' ? [e.message] : [])),
  };
}

describe('detectWithPipeline on other candles than the model was trained on', () => {
  it('keeps the training split of the same pair and interval, without a warning', async () => {
    const same = await detect('same');
    expect(same.warnings).toEqual([]);
    expect(same.rows.train).toBeGreaterThan(0);
    expect(same.splits).toEqual(new Set(['train', 'validation', 'test']));
  });

  it('scores another symbol with a warning naming both, every row test: the model saw none', async () => {
    const other = await detect('eth', { symbol: 'ETHUSDT' });
    expect(other.warnings).toEqual([
      "the model was trained on BTCUSDT, not ETHUSDT: its scores are relative to BTCUSDT's behaviour; " +
        'a model trained on ETHUSDT gives reliable flags',
    ]);
    expect(other.splits).toEqual(new Set(['test']));
    expect(other.rows).toMatchObject({ train: 0, validation: 0, test: other.rows.scored });
  });

  it('refuses another interval unless allowOtherInterval, then warns and labels every row test', async () => {
    const error = await detect('minutes', { interval: '1m' }).catch((caught: unknown) => caught);
    expect(isCoreError(error) && error.code).toBe('MODEL_MISMATCH');
    expect((error as Error).message).toMatch(
      /trained on BTCUSDT 1h candles, not 1m: .*misjudge BTCUSDT 1m candles.*allowOtherInterval: true/,
    );
    expect(existsSync(join(dir, 'minutes'))).toBe(false);

    const allowed = await detect('minutes', { interval: '1m', allowOtherInterval: true });
    expect(allowed.warnings).toHaveLength(1);
    expect(allowed.warnings[0]).toMatch(/^the model was trained on 1h candles, not 1m: /);
    expect(allowed.splits).toEqual(new Set(['test']));
    expect(allowed.rows).toMatchObject({ train: 0, validation: 0 });
  });
});
