import { describe, expect, it } from 'vitest';
// The package's entry: the README presents these as the core's chart API.
import {
  agreementSpec,
  type ChartDetector,
  chartSubject,
  lossSpec,
  priceAnomaliesSpec,
  renderChartPng,
  renderChartSvg,
  scoresSpec,
} from '../src/index.js';
import { downsampleIndices } from '../src/outputs/charts.js';

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const HOUR = 3_600_000;

function pngSize(png: Uint8Array): { width: number; height: number } {
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

/**
 * The drawn elements (paths, lines, texts) of the mark groups whose class names `name` (a mark
 * name such as `flags_0`, or a role such as `role-axis-label`) in vega's SVG.
 */
function marks(svg: string, name: string): string[] {
  const found: string[] = [];
  // Leaf mark groups only (vega names a mark's group `<name>_marks`; they hold no nested group;
  // an empty one is written `<g .../>`).
  for (const [, classes, , inner = ''] of svg.matchAll(
    /<g class="(mark-[a-z]+ [^"]*)"[^>]*?(?:\/>()|>([\s\S]*?)<\/g>)/g,
  )) {
    const names = classes!.split(' ');
    if (!names.includes(name) && !names.includes(`${name}_marks`)) continue;
    found.push(...(inner.match(/<(path|line|text)\b[^>]*?(\/>|>[^<]*<\/text>)/g) ?? []));
  }
  return found;
}

const texts = (elements: string[]) => elements.map((element) => element.replace(/<[^>]+>/g, ''));

/** The y of a horizontal rule, from its `translate(x,y)`. */
const ruleY = (element: string) => Number(/translate\([-\d.]+,([-\d.]+)\)/.exec(element)![1]);

function series(n: number, start: number, step: number) {
  const times = Float64Array.from({ length: n }, (_, i) => start + i * step);
  const close = Float64Array.from({ length: n }, (_, i) => 100 + Math.sin(i / 10));
  return { times, close };
}

function detector(name: string, scores: Float64Array, threshold: number): ChartDetector {
  return { name, scores, threshold, flags: scores.map((s) => (s > threshold ? 1 : 0)) };
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

  it('price chart: dates with years, a point per flagged candle, label bands, linear scale', async () => {
    // 300 hourly candles across a new year: the labels must say which year.
    const { times, close } = series(300, Date.UTC(2023, 11, 28), HOUR);
    const scores = Float64Array.from({ length: 300 }, (_, i) => ([40, 41, 200].includes(i) ? 5 : 1));
    const svg = await renderChartSvg(
      priceAnomaliesSpec('TEST', times, close, [detector('isolation-forest', scores, 2)], {
        labels: [
          { start: times[39]!, end: times[42]! },
          { start: times[250]!, end: times[250]! },
          // Outside the rows: not drawn, and the time axis is not stretched to reach them.
          { start: Date.UTC(2010, 0, 1), end: Date.UTC(2010, 1, 1) },
          { start: Date.UTC(2030, 0, 1), end: Date.UTC(2030, 0, 2) },
        ],
        boundaries: { validation: times[200]!, test: times[250]! },
      }),
    );
    expect(marks(svg, 'flags_0')).toHaveLength(3);
    expect(marks(svg, 'label_bands_0')).toHaveLength(2);
    const dates = texts(marks(svg, 'role-axis-label')).filter((label) => /[A-Z][a-z]{2}/.test(label));
    expect(dates.length).toBeGreaterThan(3);
    for (const label of dates) expect(label).toMatch(/\b(2023|2024)\b/);
    expect(dates.some((label) => label.includes('2023'))).toBe(true);
    expect(dates.some((label) => label.includes('2024'))).toBe(true);
    expect(svg).toContain("Y-axis titled 'close' for a linear scale");
    expect(svg).toContain('TEST: close price and flagged candles');
  });

  it('price chart: a log scale for a long history, and a sample titled as a sample', async () => {
    // Two years of daily candles, from 10 to 100 (a factor of 10 > 3).
    const n = 730;
    const times = Float64Array.from({ length: n }, (_, i) => Date.UTC(2022, 0, 1) + i * 24 * HOUR);
    const close = Float64Array.from({ length: n }, (_, i) => 10 * 10 ** (i / (n - 1)));
    const flags = new Float64Array(n);
    const svg = await renderChartSvg(
      priceAnomaliesSpec(
        'BTCUSDT',
        times,
        close,
        [{ name: 'consensus', scores: flags, threshold: 1, flags }],
        { source: 'bundled sample market (seed 42, 1h, 5000 candles from 2024-01-01)' },
      ),
    );
    expect(svg).toContain("Y-axis titled 'close (log scale)' for a log scale");
    const dates = texts(marks(svg, 'role-axis-label')).filter((label) => /^[A-Z]/.test(label));
    for (const label of dates) expect(label).toMatch(/\b20(22|23|24)\b/);
    expect(svg).toContain('Synthetic sample market (not real BTCUSDT prices)');
    expect(chartSubject('ETHUSDT', 'Binance REST ETHUSDT')).toBe('ETHUSDT');
    expect(chartSubject('SAMPLE', 'bundled sample market (seed 42, 1h)')).toBe('Synthetic sample market');
  });

  it('consensus panel: the threshold rule inside the panel, the tail spread out, a point per flag', async () => {
    // Mean percentiles in [0, 1]: the bulk uniform, four rows past a 0.99 threshold.
    const n = 500;
    const { times } = series(n, Date.UTC(2024, 5, 1), HOUR);
    const scores = Float64Array.from({ length: n }, (_, i) => (i * 0.618034) % 0.98);
    for (const [i, s] of [
      [100, 0.995],
      [101, 0.999],
      [300, 0.9995],
      [450, 0.992],
    ] as const)
      scores[i] = s;
    const svg = await renderChartSvg(scoresSpec(times, [detector('consensus', scores, 0.99)]));
    expect(marks(svg, 'flags_0')).toHaveLength(4);
    const [rule] = marks(svg, 'threshold_0');
    // 130 px high: the threshold is well inside, not on the top edge as on a linear 0..1 axis.
    expect(ruleY(rule!)).toBeGreaterThan(20);
    expect(ruleY(rule!)).toBeLessThan(110);
    const ticks = texts(marks(svg, 'role-axis-label'));
    expect(ticks).toEqual(expect.arrayContaining(['0.5', '0.9', '0.99', '0.999']));
    expect(svg).toContain('threshold 0.99');
  });

  it('score panels: a heavy-tailed score gets a log axis, a threshold above every score stays inside', async () => {
    const n = 400;
    const { times } = series(n, Date.UTC(2024, 0, 1), HOUR);
    const heavy = Float64Array.from({ length: n }, (_, i) => (i % 50 === 0 ? 80 : 0.5 + (i % 7) / 10));
    const calm = Float64Array.from({ length: n }, (_, i) => 0.4 + (i % 10) / 100);
    const svg = await renderChartSvg(
      scoresSpec(times, [detector('autoencoder', heavy, 20), detector('isolation-forest', calm, 0.7)]),
    );
    expect(svg).toContain("Y-axis titled 'score (log)' for a log scale");
    expect(svg).toContain("Y-axis titled 'score' for a linear scale");
    expect(marks(svg, 'flags_0')).toHaveLength(8);
    expect(marks(svg, 'flags_1')).toHaveLength(0);
    for (const name of ['threshold_0', 'threshold_1']) {
      const [rule] = marks(svg, name);
      expect(ruleY(rule!)).toBeGreaterThanOrEqual(0);
      expect(ruleY(rule!)).toBeLessThanOrEqual(130);
    }
  });

  it('loss chart: the y axis fits curves between 0.6 and 2, the best epoch is marked', async () => {
    const epochs = Array.from({ length: 12 }, (_, i) => ({
      epoch: i + 1,
      loss: 0.6 + 1.4 / (i + 1),
      valLoss: i === 6 ? 0.7 : 0.75 + 1.2 / (i + 1),
    }));
    const svg = await renderChartSvg(lossSpec([{ detector: 'autoencoder', epochs }]));
    expect(svg).toContain("Y-axis titled 'loss' for a linear scale");
    const values = texts(marks(svg, 'role-axis-label')).map(Number);
    const yTicks = values.filter((v) => !Number.isInteger(v));
    // Fitted: ticks within the curves' range (0.6 to 2), not a 0.1-10 log axis.
    expect(Math.min(...yTicks)).toBeGreaterThanOrEqual(0.5);
    expect(Math.max(...yTicks)).toBeLessThanOrEqual(2.2);
    expect(marks(svg, 'best_epoch_0')).toHaveLength(1);
    expect(svg).toContain('best epoch 7');
    // Curves over decades keep a log axis.
    const wide = epochs.map((e, i) => ({ ...e, loss: 100 / 3 ** i, valLoss: 120 / 3 ** i }));
    const logSvg = await renderChartSvg(lossSpec([{ detector: 'attention', epochs: wide, bestEpoch: 12 }]));
    expect(logSvg).toContain("Y-axis titled 'loss (log scale)' for a log scale");
    expect(logSvg).toContain('best epoch 12');
    // Two panels side by side keep their own curves and best epoch (marks are named per panel).
    const both = await renderChartSvg(
      lossSpec([
        { detector: 'autoencoder', epochs },
        { detector: 'attention', epochs: wide, bestEpoch: 12 },
      ]),
    );
    const ruleX = (element: string) => Number(/translate\(([-\d.]+),/.exec(element)![1]);
    const [best7] = marks(both, 'best_epoch_0');
    const [best12] = marks(both, 'best_epoch_1');
    // 420 px wide panels over epochs 1..12: epoch 7 at 6/11 of the width, epoch 12 at the end.
    expect(ruleX(best7!)).toBeCloseTo((420 * 6) / 11, 0);
    expect(ruleX(best12!)).toBeCloseTo(420, 0);
    expect(marks(both, 'loss_lines_0').length).toBeGreaterThan(0);
    expect(marks(both, 'loss_lines_1').length).toBeGreaterThan(0);
  });

  it('renders every chart to a PNG offline', async () => {
    const { times, close } = series(300, Date.UTC(2024, 0, 1), HOUR);
    const scores = Float64Array.from({ length: 300 }, (_, i) => (i === 150 ? 5 : Math.abs(Math.cos(i))));
    const d = detector('isolation-forest', scores, 2);
    const specs = [
      priceAnomaliesSpec('TEST', times, close, [d]),
      scoresSpec(times, [d]),
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
