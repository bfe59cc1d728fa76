/**
 * How autoencoder options change detection on the labelled sample market (data's default: 5000
 * hourly candles with injected events): ROC-AUC and PR-AUC over every scored row and over the
 * test rows, for each option variant and seed, through the real pipeline (features,
 * preprocessing, one detector). Backs the defaults in docs/autoencoders.md.
 *
 *   pnpm exec tsx bench/autoencoder-quality.ts [--detector autoencoder|attention]
 *     [--variants '{"relu":{"activation":"relu"},"sigmoid":{"activation":"sigmoid"}}'] [--seeds 1,2,3]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { sampleSource } from '@crypto-anomaly/data';
import { averagePrecision, computeFeatures, rocAuc, trainPipeline } from '../src/index.js';

const { values } = parseArgs({
  options: {
    detector: { type: 'string', default: 'autoencoder' },
    variants: {
      type: 'string',
      default: JSON.stringify({
        relu: { activation: 'relu' },
        tanh: { activation: 'tanh' },
        elu: { activation: 'elu' },
        sigmoid: { activation: 'sigmoid' },
      }),
    },
    seeds: { type: 'string', default: '1,2,3' },
    backend: { type: 'string', default: 'wasm' },
  },
});
const detector = values.detector as 'autoencoder' | 'attention';
const variants = JSON.parse(values.variants) as Record<string, Record<string, unknown>>;
const seeds = values.seeds.split(',').map(Number);
const sample = sampleSource({ seed: 42 });
const market = sample.market();
const fmt = (v: number) => v.toFixed(3);

console.log(`${detector} on the sample market (seed 42, ${market.klines.length} hourly candles)\n`);
console.log('| variant | seed | ROC-AUC | PR-AUC | ROC-AUC (test) | PR-AUC (test) | train + score (s) |');
console.log('|---|---:|---:|---:|---:|---:|---:|');
for (const [name, options] of Object.entries(variants)) {
  for (const seed of seeds) {
    const modelDir = await mkdtemp(join(tmpdir(), 'autoencoder-quality-'));
    const started = performance.now();
    const { pipeline } = await trainPipeline({
      source: sample,
      symbol: market.symbol,
      interval: '1h',
      seed,
      backend: values.backend as 'wasm',
      modelDir,
      config: { detectors: [detector], [detector]: { ...options, seed } },
    });
    const klines = await sample.load({ symbol: market.symbol, interval: '1h' });
    const table = computeFeatures(klines, pipeline.config.features);
    const scored = await pipeline.score(table);
    const seconds = (performance.now() - started) / 1000;
    const rows = table.matrix.rows;
    const labels = new Uint8Array(rows);
    for (const event of market.labels) {
      for (let i = Math.max(event.startIndex, table.warmupRows); i <= event.endIndex; i++) {
        labels[i - table.warmupRows] = 1;
      }
    }
    const scores = scored.detectors[0]!.scores;
    const testStart = rows - pipeline.trainedOn.rows.test;
    console.log(
      `| ${name} | ${seed} | ${fmt(rocAuc(scores, labels))} | ${fmt(averagePrecision(scores, labels))} | ` +
        `${fmt(rocAuc(scores.subarray(testStart), labels.subarray(testStart)))} | ` +
        `${fmt(averagePrecision(scores.subarray(testStart), labels.subarray(testStart)))} | ${seconds.toFixed(1)} |`,
    );
    pipeline.dispose();
    await rm(modelDir, { recursive: true, force: true });
  }
}
