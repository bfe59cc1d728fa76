import type * as Vega from 'vega';
import type * as VegaLite from 'vega-lite';

/**
 * Charts rendered offline: a Vega-Lite spec is compiled to Vega, rendered to SVG by a headless
 * view, and rasterised to PNG by resvg (no browser, no canvas, no network).
 */

/** Most points a line is drawn with; longer series are reduced to each bucket's min and max. */
const MAX_LINE_POINTS = 2000;

const DETECTOR_COLORS: Record<string, string> = {
  'isolation-forest': '#1f77b4',
  autoencoder: '#d62728',
  attention: '#9467bd',
  consensus: '#2ca02c',
};

/** The panel of one detector (or the consensus) in the price and score charts. */
export interface ChartDetector {
  name: string;
  scores: ArrayLike<number>;
  threshold: number;
  flags: ArrayLike<number>;
}

export type VegaLiteSpec = VegaLite.TopLevelSpec;

/** Renders a Vega-Lite spec to PNG bytes at 2× for sharp text. */
export async function renderChartPng(spec: VegaLiteSpec): Promise<Uint8Array> {
  // Loaded on first use: importing core should not pay for the chart renderer.
  const [vega, vegaLite, { Resvg }] = await Promise.all([
    import('vega'),
    import('vega-lite'),
    import('@resvg/resvg-js'),
  ]);
  // Silent loggers: the core never prints (warnings would land in the user's terminal UI).
  const compiled = vegaLite.compile(spec, { logger: silentLogger(vega.None) }).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none', logLevel: vega.None });
  try {
    const svg = await view.toSVG();
    const png = new Resvg(svg, {
      fitTo: { mode: 'zoom', value: 2 },
      background: 'white',
      font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' },
    })
      .render()
      .asPng();
    return new Uint8Array(png.buffer, png.byteOffset, png.byteLength);
  } finally {
    view.finalize();
  }
}

function silentLogger(none: number): Vega.LoggerInterface {
  const logger = {
    level(): number {
      return none;
    },
    error: () => logger,
    warn: () => logger,
    info: () => logger,
    debug: () => logger,
  };
  return logger as unknown as Vega.LoggerInterface;
}

/**
 * Indices of the points kept to draw a long line: per bucket its first, lowest and highest point,
 * so spikes (the point of these charts) survive the reduction.
 */
export function downsampleIndices(values: ArrayLike<number>, maxPoints = MAX_LINE_POINTS): number[] {
  const n = values.length;
  if (n <= maxPoints) return Array.from({ length: n }, (_, i) => i);
  const buckets = Math.max(1, Math.floor(maxPoints / 3));
  const kept: number[] = [];
  for (let b = 0; b < buckets; b++) {
    const start = Math.floor((b * n) / buckets);
    const end = Math.floor(((b + 1) * n) / buckets);
    let low = -1;
    let high = -1;
    for (let i = start; i < end; i++) {
      const v = values[i]!;
      if (!Number.isFinite(v)) continue;
      if (low < 0 || v < values[low]!) low = i;
      if (high < 0 || v > values[high]!) high = i;
    }
    const bucket = new Set([start, low, high].filter((i) => i >= 0));
    kept.push(...[...bucket].sort((a, b) => a - b));
  }
  return kept;
}

const TIME_AXIS = { field: 'time', type: 'temporal', scale: { type: 'utc' }, axis: { title: null } } as const;

/** Where the validation and test rows start (Unix ms), drawn as labelled vertical lines. */
export interface SplitBoundaries {
  validation?: number;
  test?: number;
}

function splitLayers(boundaries: SplitBoundaries | undefined): object[] {
  const values = [
    ...(boundaries?.validation !== undefined ? [{ time: boundaries.validation, label: 'validation →' }] : []),
    ...(boundaries?.test !== undefined ? [{ time: boundaries.test, label: 'test →' }] : []),
  ];
  if (values.length === 0) return [];
  return [
    {
      data: { values },
      mark: { type: 'rule', color: '#999', strokeDash: [2, 2] },
      encoding: { x: TIME_AXIS },
    },
    {
      data: { values },
      mark: { type: 'text', align: 'left', baseline: 'top', dx: 3, dy: 2, fontSize: 10, color: '#777' },
      encoding: { x: TIME_AXIS, y: { value: 0 }, text: { field: 'label' } },
    },
  ];
}

/** Price with each detector's flagged candles marked, one panel per detector. */
export function priceAnomaliesSpec(
  symbol: string,
  times: ArrayLike<number>,
  close: ArrayLike<number>,
  detectors: readonly ChartDetector[],
  boundaries?: SplitBoundaries,
): VegaLiteSpec {
  const line = downsampleIndices(close).map((i) => ({ time: times[i]!, close: close[i]! }));
  return {
    title: `${symbol}: close price and flagged candles`,
    vconcat: detectors.map((detector) => {
      const points: { time: number; close: number }[] = [];
      for (let i = 0; i < close.length; i++) {
        if (detector.flags[i] === 1) points.push({ time: times[i]!, close: close[i]! });
      }
      return {
        width: 900,
        height: 160,
        title: { text: `${detector.name} (${points.length} flagged)`, anchor: 'start', fontSize: 12 },
        layer: [
          {
            data: { values: line },
            mark: { type: 'line', color: '#555', strokeWidth: 1 },
            encoding: {
              x: TIME_AXIS,
              y: { field: 'close', type: 'quantitative', scale: { zero: false }, title: 'close' },
            },
          },
          {
            data: { values: points },
            mark: {
              type: 'point',
              filled: true,
              size: 28,
              color: DETECTOR_COLORS[detector.name] ?? '#d62728',
            },
            encoding: { x: TIME_AXIS, y: { field: 'close', type: 'quantitative' } },
          },
          ...splitLayers(boundaries),
        ],
      };
    }),
  } as VegaLiteSpec;
}

/** Each detector's score over time with its threshold, one panel per detector. */
export function scoresSpec(
  times: ArrayLike<number>,
  detectors: readonly ChartDetector[],
  boundaries?: SplitBoundaries,
): VegaLiteSpec {
  return {
    title: 'Anomaly scores over time (dashed: threshold)',
    vconcat: detectors.map((detector) => {
      const values = downsampleIndices(detector.scores)
        .filter((i) => Number.isFinite(detector.scores[i]!))
        .map((i) => ({ time: times[i]!, score: detector.scores[i]! }));
      return {
        width: 900,
        height: 130,
        title: { text: detector.name, anchor: 'start', fontSize: 12 },
        layer: [
          {
            data: { values },
            mark: { type: 'line', strokeWidth: 1, color: DETECTOR_COLORS[detector.name] ?? '#1f77b4' },
            encoding: {
              x: TIME_AXIS,
              y: { field: 'score', type: 'quantitative', scale: { zero: false }, title: 'score' },
            },
          },
          {
            data: { values: [{ threshold: detector.threshold }] },
            mark: { type: 'rule', color: 'black', strokeDash: [4, 3] },
            encoding: { y: { field: 'threshold', type: 'quantitative' } },
          },
          ...splitLayers(boundaries),
        ],
      };
    }),
  } as VegaLiteSpec;
}

/** One autoencoder's finished epochs. */
export interface LossHistory {
  detector: string;
  epochs: { epoch: number; loss: number; valLoss: number }[];
}

/** Training and validation loss per epoch, one panel per autoencoder. */
export function lossSpec(histories: readonly LossHistory[]): VegaLiteSpec {
  return {
    title: 'Training and validation loss',
    hconcat: histories.map(({ detector, epochs }) => ({
      width: 420,
      height: 220,
      title: { text: detector, anchor: 'start', fontSize: 12 },
      data: {
        values: epochs.flatMap(({ epoch, loss, valLoss }) => [
          { epoch, loss, kind: 'training' },
          { epoch, loss: valLoss, kind: 'validation' },
        ]),
      },
      mark: { type: 'line', point: true },
      encoding: {
        x: { field: 'epoch', type: 'quantitative', axis: { tickMinStep: 1 } },
        y: { field: 'loss', type: 'quantitative', scale: { type: 'log' } },
        color: { field: 'kind', type: 'nominal', title: null },
      },
    })),
  } as VegaLiteSpec;
}

/** Pairwise agreement: Jaccard of flagged sets and Spearman correlation of scores, as heatmaps. */
export function agreementSpec(
  names: readonly string[],
  jaccardMatrix: readonly (readonly number[])[],
  spearmanMatrix: readonly (readonly number[])[],
): VegaLiteSpec {
  const panel = (title: string, matrix: readonly (readonly number[])[], domain: [number, number]) => {
    const values = names.flatMap((a, i) =>
      names.map((b, j) => ({ a, b, value: matrix[i]![j]!, label: matrix[i]![j]!.toFixed(2) })),
    );
    return {
      width: 260,
      height: 260,
      title: { text: title, fontSize: 12 },
      data: { values },
      encoding: {
        x: { field: 'a', type: 'nominal', sort: names, title: null },
        y: { field: 'b', type: 'nominal', sort: names, title: null },
      },
      layer: [
        {
          mark: 'rect',
          encoding: {
            color: { field: 'value', type: 'quantitative', scale: { domain, scheme: 'blues' }, legend: null },
          },
        },
        {
          mark: { type: 'text', fontSize: 13 },
          encoding: {
            text: { field: 'label', type: 'nominal' },
            color: { condition: { test: 'datum.value > 0.6', value: 'white' }, value: 'black' },
          },
        },
      ],
    };
  };
  return {
    title: 'Agreement between detectors',
    resolve: { scale: { color: 'independent' } },
    hconcat: [
      panel('Jaccard index of flagged rows', jaccardMatrix, [0, 1]),
      panel('Spearman rank correlation of scores', spearmanMatrix, [-1, 1]),
    ],
  } as VegaLiteSpec;
}
