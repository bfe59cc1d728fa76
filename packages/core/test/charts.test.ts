import { describe, expect, it } from 'vitest';
import {
  agreementSpec,
  downsampleIndices,
  lossSpec,
  priceAnomaliesSpec,
  renderChartPng,
  scoresSpec,
} from '../src/outputs/charts.js';

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function pngSize(png: Uint8Array): { width: number; height: number } {
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

describe('charts', () => {
  it('downsampling keeps every bucket extreme (spikes survive)', () => {
    const values = Float64Array.from({ length: 10_000 }, (_, i) => Math.sin(i / 100));
    values[7777] = 50;
    values[1234] = -50;
    const kept = downsampleIndices(values, 300);
    expect(kept.length).toBeLessThanOrEqual(300);
    expect(kept).toContain(7777);
    expect(kept).toContain(1234);
    expect(kept).toEqual([...kept].sort((a, b) => a - b));
    expect(downsampleIndices([1, 2, 3])).toEqual([0, 1, 2]);
  });

  it('renders every chart to a PNG offline', async () => {
    const n = 300;
    const times = Float64Array.from({ length: n }, (_, i) => Date.UTC(2024, 0, 1) + i * 3_600_000);
    const close = Float64Array.from({ length: n }, (_, i) => 100 + Math.sin(i / 10));
    const scores = Float64Array.from({ length: n }, (_, i) => (i === 150 ? 5 : Math.abs(Math.cos(i))));
    const detector = {
      name: 'isolation-forest',
      scores,
      threshold: 2,
      flags: scores.map((s) => (s > 2 ? 1 : 0)),
    };
    const specs = [
      priceAnomaliesSpec('TEST', times, close, [detector]),
      scoresSpec(times, [detector]),
      lossSpec([
        {
          detector: 'autoencoder',
          epochs: [
            { epoch: 1, loss: 1, valLoss: 1.1 },
            { epoch: 2, loss: 0.5, valLoss: 0.6 },
          ],
        },
      ]),
      agreementSpec(
        ['a', 'b'],
        [
          [1, 0.5],
          [0.5, 1],
        ],
        [
          [1, 0.2],
          [0.2, 1],
        ],
      ),
    ];
    for (const spec of specs) {
      const png = await renderChartPng(spec);
      expect(Array.from(png.subarray(0, 8))).toEqual(PNG_SIGNATURE);
      const { width, height } = pngSize(png);
      expect(width).toBeGreaterThan(200);
      expect(height).toBeGreaterThan(100);
    }
  });
});
