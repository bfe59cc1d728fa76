import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  AttentionAutoencoder,
  DenseAutoencoder,
  isCoreError,
  type Matrix,
  runPipeline,
  selectBackend,
} from '../src/index.js';
import { createRandom } from '../src/tf/random.js';

describe('selectBackend', () => {
  it('falls back from tfjs-node to wasm when tfjs-node is not installed, and says so', async () => {
    const info = await selectBackend('auto');
    expect(info.name).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(info.description).toMatch(/tfjs-node not used/);
  });

  it('uses the cpu backend when asked', async () => {
    const info = await selectBackend('cpu');
    expect(info.name).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
  });

  it('refuses "node" with a hint when tfjs-node is missing', async () => {
    const error = await selectBackend('node').catch((caught: unknown) => caught);
    expect(isCoreError(error) && error.code).toBe('BACKEND_UNAVAILABLE');
    expect((error as Error).message).toMatch(/"wasm" backend/);
  });

  it('refuses any other preference, naming the accepted ones, and keeps the backend in use', async () => {
    await selectBackend('wasm');
    for (const value of ['gpu', 'WASM', '', null]) {
      const error = await selectBackend(value as never).catch((caught: unknown) => caught);
      expect(isCoreError(error) && error.code).toBe('INVALID_ARGUMENT');
      expect((error as Error).message).toBe(
        `backend must be one of "auto", "node", "wasm", "cpu", got ${value === null ? 'null' : JSON.stringify(value)}.`,
      );
    }
    expect(tf.getBackend()).toBe('wasm');
  });

  it('is refused by the pipeline where it enters, before any candle loads', async () => {
    const source = {
      describe: () => 'a source the check comes before',
      load: () => Promise.reject(new Error('loaded candles before checking the backend')),
    };
    for (const backend of ['gpu', '']) {
      const error = await runPipeline({
        source,
        symbol: 'BTCUSDT',
        interval: '1h',
        outDir: '/nonexistent/never-written',
        backend: backend as never,
      }).catch((caught: unknown) => caught);
      expect(isCoreError(error) && error.code).toBe('INVALID_ARGUMENT');
      expect((error as Error).message).toMatch(/^backend must be one of "auto", "node", "wasm", "cpu"/);
    }
  });

  it('trains both autoencoders on the cpu backend too, deterministically, close to wasm', async () => {
    const random = createRandom(11);
    const rows = 120;
    const data = new Float64Array(rows * 3);
    for (let r = 0; r < rows; r++) {
      const a = Math.sin(r / 4) + (random() - 0.5) * 0.1;
      data.set([a, Math.cos(r / 6), a * 2], r * 3);
    }
    const X: Matrix = { data, rows, cols: 3 };
    const scoresOn = async (backend: 'cpu' | 'wasm') => {
      await selectBackend(backend);
      const dense = await new DenseAutoencoder({ hiddenLayers: [4, 2], epochs: 3, batchSize: 16 }).fit(X);
      const attention = await new AttentionAutoencoder({
        windowSize: 4,
        modelDim: 8,
        heads: 2,
        feedForwardDim: 8,
        latentDim: 4,
        epochs: 2,
        batchSize: 16,
      }).fit(X);
      const scores = [await dense.decisionFunction(X), await attention.decisionFunction(X)];
      dense.dispose();
      attention.dispose();
      return scores;
    };
    const cpu = await scoresOn('cpu');
    expect(await scoresOn('cpu')).toEqual(cpu);
    const wasm = await scoresOn('wasm');
    // Same seed, other backend: the same weights and batches, float32 rounding apart.
    for (let d = 0; d < 2; d++) {
      for (let i = 0; i < rows; i++) expect(wasm[d]![i]!).toBeCloseTo(cpu[d]![i]!, 3);
    }
  });
});
