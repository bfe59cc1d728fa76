import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { csvSource, type KlineSource, sampleSource } from '@crypto-anomaly/data';
import { afterAll, describe, expect, it } from 'vitest';
import { type PipelineConfigInput, runPipeline } from '../src/index.js';
import golden from './fixtures/golden-outputs.json' with { type: 'json' };

// The redesign of the engine was to change no output: these runs must write, byte for byte, the
// CSV files the engine wrote before it (hashes recorded then, in fixtures/golden-outputs.json).
const shared = resolve(dirname(fileURLToPath(import.meta.url)), '../../../../shared/data/binance');
const daily = join(shared, 'BTCUSDT_1d.csv');
const folders: string[] = [];

async function outputHashes(
  source: KlineSource,
  interval: '1h' | '1d',
  options: { epochs?: number; config?: PipelineConfigInput } = {},
): Promise<Record<string, string>> {
  const root = await mkdtemp(join(tmpdir(), 'golden-'));
  folders.push(root);
  const result = await runPipeline({
    source,
    symbol: 'BTCUSDT',
    interval,
    outDir: join(root, 'out'),
    modelDir: false,
    charts: false,
    ...options,
  });
  const hashes: Record<string, string> = {};
  for (const path of Object.values(result.files)) {
    if (!path.endsWith('.csv')) continue;
    hashes[basename(path)] = createHash('sha256')
      .update(await readFile(path))
      .digest('hex');
  }
  return hashes;
}

afterAll(async () => {
  for (const folder of folders) await rm(folder, { recursive: true, force: true });
});

describe('outputs are the same as before the redesign', () => {
  it('on the bundled sample, quick settings (2 epochs, 50 trees)', async () => {
    const hashes = await outputHashes(sampleSource(), '1h', {
      epochs: 2,
      config: { isolationForest: { nEstimators: 50 } },
    });
    expect(hashes).toEqual(golden.cases['sample-quick']);
  }, 120_000);

  it('on the bundled sample, default settings', async () => {
    expect(await outputHashes(sampleSource(), '1h')).toEqual(golden.cases.sample);
  }, 300_000);

  it.skipIf(!existsSync(daily))(
    'on BTCUSDT_1d.csv (the shared Binance history), default settings',
    async () => {
      expect(await outputHashes(csvSource(daily), '1d')).toEqual(golden.cases.BTCUSDT_1d);
    },
    300_000,
  );
});
