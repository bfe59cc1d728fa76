import type * as Vega from 'vega';
import type * as VegaLite from 'vega-lite';
import { quantileOf } from '../thresholds.js';

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
  /**
   * Each row's own threshold, when it has one (SPOT/DSPOT, walk-forward folds): the flags follow
   * it, and it is drawn as a line instead of the one rule at `threshold`.
   */
  thresholds?: ArrayLike<number>;
  flags: ArrayLike<number>;
}

/** The range of a detector's per-row thresholds, or undefined when it has one threshold. */
export function thresholdRange(detector: ChartDetector): { low: number; high: number } | undefined {
  if (!detector.thresholds) return undefined;
  let low = Number.POSITIVE_INFINITY;
  let high = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < detector.thresholds.length; i++) {
    const value = detector.thresholds[i]!;
    if (!Number.isFinite(value)) continue;
    low = Math.min(low, value);
    high = Math.max(high, value);
  }
  return low < high ? { low, high } : undefined;
}

/** The threshold as a short text: one value, or the range a per-row threshold moved in. */
export function thresholdText(detector: ChartDetector): string {
  const range = thresholdRange(detector);
  return range
    ? `threshold adapts ${formatScore(range.low)}-${formatScore(range.high)}`
    : `threshold ${formatScore(detector.threshold)}`;
}

export type VegaLiteSpec = VegaLite.TopLevelSpec;

/** Loads the chart renderer on first use: importing core should not pay for it. */
async function renderer() {
  const [vega, vegaLite] = await Promise.all([import('vega'), import('vega-lite')]);
  return { vega, vegaLite };
}

/** Compiles a Vega-Lite spec to a Vega spec (what a browser's vega runtime draws), silently. */
export async function compileChart(spec: VegaLiteSpec): Promise<Vega.Spec> {
  const { vega, vegaLite } = await renderer();
  // Silent loggers: the core never prints (warnings would land in the user's terminal UI).
  return vegaLite.compile(spec, { logger: silentLogger(vega.None) }).spec;
}

/** Renders a Vega-Lite spec to SVG text (headless vega view, no browser). */
export async function renderChartSvg(spec: VegaLiteSpec): Promise<string> {
  const { vega } = await renderer();
  const view = new vega.View(vega.parse(await compileChart(spec)), { renderer: 'none', logLevel: vega.None });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Renders a Vega-Lite spec to PNG bytes at 2× for sharp text. */
export async function renderChartPng(spec: VegaLiteSpec): Promise<Uint8Array> {
  const [svg, { Resvg }] = await Promise.all([renderChartSvg(spec), import('@resvg/resvg-js')]);
  const png = new Resvg(svg, {
    fitTo: { mode: 'zoom', value: 2 },
    background: 'white',
    font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' },
  })
    .render()
    .asPng();
  return new Uint8Array(png.buffer, png.byteOffset, png.byteLength);
}

/**
 * Draws a tiny chart and throws it away: the first chart a thread draws costs about half a second
 * more than the next ones (loading and compiling the renderer). Never rejects.
 */
export async function warmUpChartRenderer(): Promise<void> {
  const identity = [
    [1, 0],
    [0, 1],
  ];
  await renderChartPng(agreementSpec(['a', 'b'], identity, identity)).catch(() => undefined);
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

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

type TimeInterval = 'hour' | 'day' | 'week' | 'month' | 'year';

/** Tick steps of a time axis, finest first, each with its label format (always with the year). */
const TIME_STEPS: readonly { interval: TimeInterval; step: number; ms: number; format: string }[] = [
  ...[1, 3, 6, 12].map((step) => ({
    interval: 'hour' as const,
    step,
    ms: step * HOUR,
    format: '%d %b %Y %H:%M',
  })),
  ...[1, 2].map((step) => ({ interval: 'day' as const, step, ms: step * DAY, format: '%d %b %Y' })),
  ...[1, 2].map((step) => ({ interval: 'week' as const, step, ms: step * 7 * DAY, format: '%d %b %Y' })),
  ...[1, 2, 3, 6].map((step) => ({
    interval: 'month' as const,
    step,
    ms: step * 30.44 * DAY,
    format: '%b %Y',
  })),
  ...[1, 2, 5, 10, 20].map((step) => ({
    interval: 'year' as const,
    step,
    ms: step * 365.25 * DAY,
    format: '%Y',
  })),
];

/** The span of a series of times (ms), 0 for fewer than two. */
export function spanOf(times: ArrayLike<number>): number {
  return times.length > 1 ? times[times.length - 1]! - times[0]! : 0;
}

/**
 * The x encoding of a time axis `width` pixels wide over `span` ms: ticks on whole hours, days,
 * weeks, months or years, as many as their labels fit, every label with its year.
 */
export function timeEncoding(span: number, width = 900): Record<string, unknown> {
  const fits = ({ ms, format }: (typeof TIME_STEPS)[number]) =>
    span / ms <= Math.max(2, Math.floor(width / (format.length * 5 + 30)));
  const { interval, step, format } = TIME_STEPS.find(fits) ?? TIME_STEPS[TIME_STEPS.length - 1]!;
  return {
    field: 'time',
    type: 'temporal',
    scale: { type: 'utc' },
    axis: { title: null, format, tickCount: { interval, step }, labelOverlap: true },
  };
}

/** Where the validation and test rows start (Unix ms), drawn as labelled vertical lines. */
export interface SplitBoundaries {
  validation?: number;
  test?: number;
}

/** A labelled span of time (both ends inclusive, Unix ms), drawn as a band behind a chart. */
export interface LabelBand {
  start: number;
  end: number;
  /** What the band is, e.g. the kind of event; shown in the HTML report's tooltip. */
  label?: string;
}

/** What the price and score charts draw besides the series. */
export interface ChartOptions {
  boundaries?: SplitBoundaries;
  /** Known anomalies (labels), drawn as bands. */
  labels?: readonly LabelBand[];
  /** `describe()` of the source: a sample market is titled as a sample, not by its symbol. */
  source?: string;
}

/** True when a source description is the bundled (synthetic) sample market's. */
export function isSampleSource(source: string | undefined): boolean {
  return source !== undefined && /\bsample market\b/i.test(source);
}

/** What a chart is of: the symbol, or the synthetic sample (its symbol is only a name). */
export function chartSubject(symbol: string, source?: string): string {
  if (!isSampleSource(source)) return symbol;
  return symbol === 'SAMPLE'
    ? 'Synthetic sample market'
    : `Synthetic sample market (not real ${symbol} prices)`;
}

function splitLayers(boundaries: SplitBoundaries | undefined, x: Record<string, unknown>): object[] {
  const values = [
    ...(boundaries?.validation !== undefined ? [{ time: boundaries.validation, label: 'validation →' }] : []),
    ...(boundaries?.test !== undefined ? [{ time: boundaries.test, label: 'test →' }] : []),
  ];
  if (values.length === 0) return [];
  return [
    {
      data: { values },
      mark: { type: 'rule', color: '#999', strokeDash: [2, 2] },
      encoding: { x },
    },
    {
      data: { values },
      mark: { type: 'text', align: 'left', baseline: 'top', dx: 3, dy: 2, fontSize: 10, color: '#777' },
      encoding: { x, y: { value: 0 }, text: { field: 'label' } },
    },
  ];
}

/**
 * Labelled spans as translucent orange bands behind a panel whose x encoding is `x` (from
 * `timeEncoding`); a span narrower than `minWidth` ms (e.g. one candle) is widened to it so it
 * shows. Put the layer first so the series draw over it.
 */
export function labelBandLayers(
  bands: readonly LabelBand[] | undefined,
  x: Record<string, unknown>,
  minWidth = 0,
  name = 'label_bands',
  times?: ArrayLike<number>,
): object[] {
  if (!bands || bands.length === 0) return [];
  // Clipped to the rows drawn: a label outside them would stretch the time axis to reach it
  // (2010 to 2030 around a 2017-2026 run) and squash the data into the middle.
  const first = times && times.length > 0 ? times[0]! : Number.NEGATIVE_INFINITY;
  const last = times && times.length > 0 ? times[times.length - 1]! : Number.POSITIVE_INFINITY;
  const values = bands
    .filter(({ start, end }) => end >= first && start <= last)
    .map(({ start, end, label }) => {
      const pad = Math.max(0, (minWidth - (end - start)) / 2);
      return {
        start: Math.max(first, start - pad),
        end: Math.min(last, end + pad),
        label: label ?? 'labelled anomaly',
      };
    });
  if (values.length === 0) return [];
  return [
    {
      name,
      data: { values },
      mark: { type: 'rect', color: '#ff7f0e', opacity: 0.22 },
      encoding: { x: { ...x, field: 'start' }, x2: { field: 'end' }, tooltip: { field: 'label' } },
    },
  ];
}

/** Whole panels are this wide; bands are at least this many pixels wide. */
const PANEL_WIDTH = 900;
const MIN_BAND_PIXELS = 2;

/** Log price axis when the close spans more than this factor (or the history a year or more). */
const LOG_PRICE_RATIO = 3;
const LOG_PRICE_SPAN = 365 * DAY;

/** Whether a price chart of this history uses a log scale: see LOG_PRICE_RATIO and LOG_PRICE_SPAN. */
export function usesLogPrice(times: ArrayLike<number>, close: ArrayLike<number>): boolean {
  let low = Number.POSITIVE_INFINITY;
  let high = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < close.length; i++) {
    const value = close[i]!;
    if (!Number.isFinite(value)) continue;
    low = Math.min(low, value);
    high = Math.max(high, value);
  }
  if (!(low > 0)) return false;
  return high / low > LOG_PRICE_RATIO || spanOf(times) >= LOG_PRICE_SPAN;
}

/** The price line of a panel (downsampled) and its y encoding. */
export function priceLine(
  times: ArrayLike<number>,
  close: ArrayLike<number>,
  width = PANEL_WIDTH,
  name = 'price_line',
): { layer: Record<string, unknown>; y: Record<string, unknown> } {
  const log = usesLogPrice(times, close);
  const values = downsampleIndices(close).map((i) => ({ time: times[i]!, close: close[i]! }));
  const y = {
    field: 'close',
    type: 'quantitative',
    scale: log ? { type: 'log', nice: false } : { zero: false },
    title: log ? 'close (log scale)' : 'close',
  };
  return {
    y,
    layer: {
      name,
      data: { values },
      mark: { type: 'line', color: '#555', strokeWidth: 1 },
      encoding: { x: timeEncoding(spanOf(times), width), y },
    },
  };
}

/** The flagged candles of one detector as points on the price line. */
export function flaggedPoints(
  times: ArrayLike<number>,
  close: ArrayLike<number>,
  flags: ArrayLike<number>,
): { time: number; close: number }[] {
  const points: { time: number; close: number }[] = [];
  for (let i = 0; i < close.length; i++) {
    if (flags[i] === 1) points.push({ time: times[i]!, close: close[i]! });
  }
  return points;
}

export function detectorColor(name: string): string {
  return DETECTOR_COLORS[name] ?? '#d62728';
}

/** Price with each detector's flagged candles marked, one panel per detector. */
export function priceAnomaliesSpec(
  symbol: string,
  times: ArrayLike<number>,
  close: ArrayLike<number>,
  detectors: readonly ChartDetector[],
  options: ChartOptions = {},
): VegaLiteSpec {
  const x = timeEncoding(spanOf(times), PANEL_WIDTH);
  const line = priceLine(times, close, PANEL_WIDTH);
  const minBand = (spanOf(times) / PANEL_WIDTH) * MIN_BAND_PIXELS;
  return {
    title: `${chartSubject(symbol, options.source)}: close price and flagged candles`,
    vconcat: detectors.map((detector, index) => {
      const points = flaggedPoints(times, close, detector.flags);
      return {
        width: PANEL_WIDTH,
        height: 160,
        title: { text: `${detector.name} (${points.length} flagged)`, anchor: 'start', fontSize: 12 },
        layer: [
          // Mark names are unique per panel: vega merges marks that share a name.
          ...labelBandLayers(options.labels, x, minBand, `label_bands_${index}`, times),
          { ...line.layer, name: `price_line_${index}` },
          {
            name: `flags_${index}`,
            data: { values: points },
            mark: {
              type: 'point',
              filled: true,
              size: 28,
              opacity: 0.9,
              color: detectorColor(detector.name),
            },
            encoding: { x, y: line.y },
          },
          ...splitLayers(options.boundaries, x),
        ],
      };
    }),
  } as VegaLiteSpec;
}

/** Consensus scores (mean percentiles, in [0, 1]) are drawn as 1 - score on a log axis, floored here. */
const TAIL_FLOOR = 1e-4;

/**
 * How a score panel's y axis is drawn: `tail` (for scores in [0, 1] that crowd near 1, as the
 * consensus' mean percentiles: 1 - score on a reversed log axis labelled with the score, so 0.9,
 * 0.99 and 0.999 are evenly apart), `log` (positive heavy-tailed scores: the 99th percentile over
 * 10× the median) or `linear`.
 */
export type ScoreScale = 'linear' | 'log' | 'tail';

export function scoreScaleOf(detector: ChartDetector): ScoreScale {
  if (detector.name === 'consensus') return 'tail';
  const finite = Array.from(detector.scores).filter(Number.isFinite);
  if (finite.length === 0 || finite.some((v) => v <= 0)) return 'linear';
  const median = quantileOf(finite, 0.5);
  return quantileOf(finite, 0.99) > 10 * median ? 'log' : 'linear';
}

/**
 * One score panel: the scores (downsampled), the threshold as a labelled dashed rule always inside
 * the panel, the flagged rows as points on top, and the label bands behind. `index` names its
 * marks (`scores_<i>`, `threshold_<i>`, `flags_<i>`).
 */
export function scorePanel(
  times: ArrayLike<number>,
  detector: ChartDetector,
  index: number,
  options: ChartOptions & { width?: number; height?: number } = {},
): Record<string, unknown> {
  const width = options.width ?? PANEL_WIDTH;
  const scale = scoreScaleOf(detector);
  const toY = scale === 'tail' ? (s: number) => Math.max(TAIL_FLOOR, 1 - s) : (s: number) => s;
  const values = downsampleIndices(detector.scores)
    .filter((i) => Number.isFinite(detector.scores[i]!))
    .map((i) => ({ time: times[i]!, y: toY(detector.scores[i]!) }));
  const flagged: { time: number; y: number; score: number }[] = [];
  for (let i = 0; i < times.length; i++) {
    const score = detector.scores[i]!;
    if (detector.flags[i] === 1 && Number.isFinite(score))
      flagged.push({ time: times[i]!, y: toY(score), score });
  }
  const threshold = toY(detector.threshold);
  const adapting = thresholdRange(detector) !== undefined;
  // A per-row threshold is drawn as a line through the same rows as the scores.
  const thresholdValues = adapting
    ? downsampleIndices(detector.scores)
        .filter((i) => Number.isFinite(detector.thresholds![i]!))
        .map((i) => ({ time: times[i]!, y: toY(detector.thresholds![i]!) }))
    : [];
  let low = threshold;
  let high = threshold;
  for (const { y } of [...values, ...thresholdValues]) {
    low = Math.min(low, y);
    high = Math.max(high, y);
  }
  for (const { y } of flagged) {
    low = Math.min(low, y);
    high = Math.max(high, y);
  }
  let y: Record<string, unknown>;
  if (scale === 'tail') {
    const bottom = Math.max(TAIL_FLOOR, Math.min(low, threshold) / 2);
    const ticks = [0.5, 0.1, 0.01, 0.001, 0.0001].filter((t) => t >= bottom);
    y = {
      field: 'y',
      type: 'quantitative',
      scale: { type: 'log', domain: [bottom, 1], reverse: true, nice: false },
      axis: { title: 'score (tail)', values: ticks, labelExpr: "format(1 - datum.value, '.4~f')" },
    };
  } else if (scale === 'log') {
    y = {
      field: 'y',
      type: 'quantitative',
      scale: { type: 'log', domain: [low / 1.5, high * 1.5] },
      axis: { title: 'score (log)' },
    };
  } else {
    const pad = (high - low) * 0.08 || Math.abs(high) * 0.1 || 1;
    y = {
      field: 'y',
      type: 'quantitative',
      scale: { domain: [low - pad, high + pad], nice: false, zero: false },
      axis: { title: 'score' },
    };
  }
  const x = timeEncoding(spanOf(times), width);
  const color = detectorColor(detector.name);
  return {
    width,
    height: options.height ?? 130,
    title: {
      text: `${detector.name}: ${flagged.length} flagged, ${thresholdText(detector)}`,
      anchor: 'start',
      fontSize: 12,
    },
    layer: [
      ...labelBandLayers(
        options.labels,
        x,
        (spanOf(times) / width) * MIN_BAND_PIXELS,
        `score_bands_${index}`,
        times,
      ),
      {
        name: `scores_${index}`,
        data: { values },
        mark: { type: 'line', strokeWidth: 0.7, color, opacity: 0.6 },
        encoding: { x, y },
      },
      ...(adapting
        ? [
            {
              name: `threshold_${index}`,
              data: { values: thresholdValues },
              mark: {
                type: 'line',
                interpolate: 'step-after',
                color: 'black',
                strokeDash: [5, 3],
                strokeWidth: 1.2,
              },
              encoding: { x, y: { field: 'y', type: 'quantitative' } },
            },
          ]
        : [
            {
              name: `threshold_${index}`,
              data: { values: [{ y: threshold }] },
              mark: { type: 'rule', color: 'black', strokeDash: [5, 3], strokeWidth: 1.2 },
              encoding: { y: { field: 'y', type: 'quantitative' } },
            },
            {
              data: { values: [{ y: threshold, text: `threshold ${formatScore(detector.threshold)}` }] },
              mark: {
                type: 'text',
                align: 'right',
                baseline: 'bottom',
                dy: -2,
                fontSize: 10,
                color: 'black',
              },
              encoding: {
                x: { value: width },
                y: { field: 'y', type: 'quantitative' },
                text: { field: 'text' },
              },
            },
          ]),
      {
        name: `flags_${index}`,
        data: { values: flagged },
        mark: { type: 'point', filled: true, size: 22, color, opacity: 1, stroke: 'white', strokeWidth: 0.5 },
        encoding: { x, y: { field: 'y', type: 'quantitative' } },
      },
      ...splitLayers(options.boundaries, x),
    ],
  };
}

function formatScore(value: number): string {
  return Number.isFinite(value) ? String(Number(value.toPrecision(4))) : String(value);
}

/** Each detector's score over time with its threshold, one panel per detector. */
export function scoresSpec(
  times: ArrayLike<number>,
  detectors: readonly ChartDetector[],
  options: ChartOptions = {},
): VegaLiteSpec {
  return {
    title: 'Anomaly scores over time (dashed: threshold; dots: flagged)',
    vconcat: detectors.map((detector, index) => scorePanel(times, detector, index, options)),
  } as unknown as VegaLiteSpec;
}

/** One autoencoder's finished epochs. */
export interface LossHistory {
  detector: string;
  epochs: { epoch: number; loss: number; valLoss: number }[];
  /** The epoch whose weights were kept; default the one with the lowest validation loss. */
  bestEpoch?: number;
}

/** Loss axes are logarithmic only when the curves span more than this factor. */
const LOG_LOSS_RATIO = 30;

/**
 * Training and validation loss per epoch, one panel per autoencoder: the y scale fitted to the
 * curves (log only when they span more than LOG_LOSS_RATIO), the best epoch marked.
 */
export function lossSpec(histories: readonly LossHistory[]): VegaLiteSpec {
  return {
    title: 'Training and validation loss',
    hconcat: histories.map(({ detector, epochs, bestEpoch }, index) => {
      const values = epochs.flatMap(({ epoch, loss, valLoss }) => [
        { epoch, loss, kind: 'training' },
        { epoch, loss: valLoss, kind: 'validation' },
      ]);
      const finite = values.map((v) => v.loss).filter((v) => Number.isFinite(v));
      const low = finite.length > 0 ? Math.min(...finite) : 0;
      const high = finite.length > 0 ? Math.max(...finite) : 1;
      const log = low > 0 && high / low > LOG_LOSS_RATIO;
      const pad = (high - low) * 0.08 || Math.abs(high) * 0.1 || 1;
      const domain = log ? [low / 1.2, high * 1.2] : [low - pad, high + pad];
      let best = bestEpoch;
      if (best === undefined) {
        let bestLoss = Number.POSITIVE_INFINITY;
        for (const { epoch, valLoss } of epochs) {
          if (valLoss < bestLoss) [best, bestLoss] = [epoch, valLoss];
        }
      }
      const lastEpoch = epochs.length > 0 ? Math.max(...epochs.map((e) => e.epoch)) : 1;
      const x = {
        field: 'epoch',
        type: 'quantitative',
        title: 'epoch',
        scale: { domain: [Math.min(1, lastEpoch), Math.max(2, lastEpoch)], nice: false },
        axis: { tickMinStep: 1, format: 'd' },
      };
      return {
        width: 420,
        height: 220,
        title: { text: detector, anchor: 'start', fontSize: 12 },
        layer: [
          {
            name: `loss_lines_${index}`,
            data: { values },
            mark: { type: 'line', point: true },
            encoding: {
              x,
              y: {
                field: 'loss',
                type: 'quantitative',
                title: log ? 'loss (log scale)' : 'loss',
                scale: log ? { type: 'log', domain } : { domain, nice: false, zero: false },
              },
              color: { field: 'kind', type: 'nominal', title: null },
            },
          },
          ...(best === undefined
            ? []
            : [
                {
                  name: `best_epoch_${index}`,
                  data: { values: [{ epoch: best, text: `best epoch ${best}` }] },
                  mark: { type: 'rule', color: '#2ca02c', strokeDash: [4, 3] },
                  encoding: { x },
                },
                {
                  data: { values: [{ epoch: best, text: `best epoch ${best}` }] },
                  mark: {
                    type: 'text',
                    align: 'left',
                    baseline: 'top',
                    dx: 3,
                    dy: 3,
                    fontSize: 10,
                    color: '#2ca02c',
                  },
                  encoding: { x, y: { value: 0 }, text: { field: 'text' } },
                },
              ]),
        ],
      };
    }),
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
