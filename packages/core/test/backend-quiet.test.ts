import * as tf from '@tensorflow/tfjs-core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DenseAutoencoder, type Matrix, selectBackend } from '../src/index.js';

// A file of its own: TensorFlow.js's cpu backend prints its banner once per process, on its first
// tensor, so no other test may have used that backend before this one.
afterEach(() => {
  vi.restoreAllMocks();
});

describe('the cpu backend', () => {
  it('prints nothing while an autoencoder trains on it (the core never prints)', async () => {
    const printed: string[] = [];
    const capture = (...args: unknown[]) => {
      printed.push(args.map(String).join(' '));
    };
    for (const method of ['log', 'info', 'warn', 'error'] as const) {
      vi.spyOn(console, method).mockImplementation(capture);
    }
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      capture(chunk);
      return true;
    });
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      capture(chunk);
      return true;
    });
    const rows = 64;
    const X: Matrix = {
      data: Float64Array.from({ length: rows * 3 }, (_, i) => Math.sin(i)),
      rows,
      cols: 3,
    };
    const info = await selectBackend('cpu');
    const detector = await new DenseAutoencoder({ hiddenLayers: [2], epochs: 2, batchSize: 16 }).fit(X);
    const scores = await detector.decisionFunction(X);
    detector.dispose();
    vi.restoreAllMocks();
    expect(info.name).toBe('cpu');
    expect(scores).toHaveLength(rows);
    expect(printed).toEqual([]);
    // The flag that silenced it is the caller's again: their own TensorFlow.js still warns.
    expect(tf.env().getBool('PROD')).toBe(false);
  });
});
