import { describe, expect, it } from 'vitest';
import { ChartPool } from '../src/outputs/chart-pool.js';
import { agreementSpec, renderChartPng, scoresSpec, type VegaLiteSpec } from '../src/outputs/charts.js';

const HOUR = 3_600_000;

/** Four different small charts: each must come back as the PNG this thread draws of it. */
function specs(): VegaLiteSpec[] {
  return [0, 1, 2, 3].map((k) => {
    if (k === 3) {
      return agreementSpec(
        ['a', 'b'],
        [
          [1, 0.5],
          [0.5, 1],
        ],
        [
          [1, 0.2],
          [0.2, 1],
        ],
      );
    }
    const times = Float64Array.from({ length: 200 }, (_, i) => Date.UTC(2024, 0, 1) + i * HOUR);
    const scores = Float64Array.from(
      { length: 200 },
      (_, i) => Math.abs(Math.sin(i / (k + 2))) + (i === 50 * k ? 4 : 0),
    );
    const flags = scores.map((s) => (s > 2 ? 1 : 0));
    return scoresSpec(times, [{ name: `detector-${k}`, scores, threshold: 2, flags }]);
  });
}

describe('ChartPool', () => {
  it('draws every chart, in this thread and its worker, the same PNG as drawn here', async () => {
    const all = specs();
    const expected = await Promise.all(all.map((spec) => renderChartPng(spec)));
    const pool = ChartPool.start();
    const drawn: (Uint8Array | undefined)[] = [];
    try {
      await pool.renderAll(all, async (i, png) => {
        expect(drawn[i]).toBeUndefined();
        drawn[i] = png;
      });
    } finally {
      await pool.close();
    }
    expect(drawn.map((png) => Buffer.from(png!).toString('base64'))).toEqual(
      expected.map((png) => Buffer.from(png).toString('base64')),
    );
    expect(pool.threadRendered).toBeGreaterThan(0);
  }, 120_000);

  it('draws what is left here when its thread is gone', async () => {
    const all = specs();
    const pool = ChartPool.start();
    await pool.close();
    const drawn = new Set<number>();
    await pool.renderAll(all, async (i) => {
      drawn.add(i);
    });
    expect([...drawn].sort()).toEqual([0, 1, 2, 3]);
    expect(pool.threadRendered).toBe(0);
  }, 120_000);

  it('begins no chart once told to stop', async () => {
    const all = specs();
    const pool = ChartPool.start();
    let done = 0;
    try {
      await pool.renderAll(
        all,
        async () => {
          done += 1;
        },
        () => done === 0,
      );
    } finally {
      await pool.close();
    }
    // Both threads may have begun one chart before the first was done; none after.
    expect(done).toBeGreaterThanOrEqual(1);
    expect(done).toBeLessThanOrEqual(2);
  }, 120_000);

  it('rejects with the renderer message for a chart that cannot be drawn', async () => {
    const pool = ChartPool.start();
    const bad = { mark: 'no-such-mark', data: { values: [] } } as unknown as VegaLiteSpec;
    const here = await renderChartPng(bad).then(
      () => 'drawn',
      (error: Error) => error.message,
    );
    expect(here).not.toBe('drawn');
    try {
      await expect(pool.renderAll([bad, bad], async () => {})).rejects.toThrow(here);
    } finally {
      await pool.close();
    }
  }, 120_000);
});
