import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { isCoreError, selectBackend } from '../src/index.js';

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
    expect((error as Error).message).toMatch(/--backend wasm/);
  });
});
