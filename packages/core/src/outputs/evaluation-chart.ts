import { downsampleIndices, renderChartPng, type VegaLiteSpec } from './charts.js';

/**
 * The evaluation chart: the price, then each detector's score, with the labelled spans drawn as
 * bands behind them and the flagged candles as points. Rendered as the run's charts are
 * (vega-lite → vega SVG → resvg PNG, offline).
 */

/** One panel of the evaluation chart: a detector's (or the consensus') scores and flags. */
export interface EvaluationChartDetector {
  readonly name: string;
  readonly scores: ArrayLike<number>;
  readonly flags: ArrayLike<number>;
  /** Drawn dashed; NaN draws none (scores judged by a threshold of their own, as a stream's). */
  readonly threshold: number;
}

export interface EvaluationChartInput {
  readonly title: string;
  /** Open times (ms) of the evaluated rows. */
  readonly times: ArrayLike<number>;
  readonly close: ArrayLike<number>;
  readonly detectors: readonly EvaluationChartDetector[];
  /** Labelled spans as open times of their first and last candle (ms). */
  readonly labels: readonly { readonly from: number; readonly to: number }[];
  /** A candle's length (ms): a band runs to the end of its last candle. */
  readonly intervalMs: number;
}

const WIDTH = 900;
const BAND_COLOR = '#f4a261';
/** Narrowest band drawn, as a share of the time axis: a one-candle event in years stays visible. */
const MIN_BAND_SHARE = 0.003;
const FLAG_COLOR = '#d62728';

/** The time axis; over years of history its ticks name the year (vega's default names months). */
function timeAxis(times: ArrayLike<number>) {
  const span = times.length > 1 ? times[times.length - 1]! - times[0]! : 0;
  const years = span > 2 * 365 * 86_400_000;
  return {
    field: 'time',
    type: 'temporal',
    scale: { type: 'utc' },
    axis: { title: null, ...(years ? { format: '%Y', tickCount: 'year' } : {}) },
  } as const;
}

/** Each labelled span, from its first candle's open to its last candle's close, at least a few pixels wide. */
export function labelBands(input: EvaluationChartInput): { time: number; end: number }[] {
  const { times } = input;
  const span = times.length > 1 ? times[times.length - 1]! + input.intervalMs - times[0]! : input.intervalMs;
  const least = span * MIN_BAND_SHARE;
  return input.labels.map((label) => {
    const time = label.from;
    const end = label.to + input.intervalMs;
    const widen = Math.max(0, least - (end - time)) / 2;
    return { time: time - widen, end: end + widen };
  });
}

function bandLayer(input: EvaluationChartInput, axis: ReturnType<typeof timeAxis>): object[] {
  if (input.labels.length === 0) return [];
  return [
    {
      data: { values: labelBands(input) },
      mark: { type: 'rect', color: BAND_COLOR, opacity: 0.4 },
      encoding: { x: axis, x2: { field: 'end' } },
    },
  ];
}

/** The chart's Vega-Lite spec: a price panel, then one score panel per detector. */
export function evaluationChartSpec(input: EvaluationChartInput): VegaLiteSpec {
  const { times, close } = input;
  const axis = timeAxis(times);
  const priceLine = downsampleIndices(close).map((i) => ({ time: times[i]!, value: close[i]! }));
  const consensus =
    input.detectors.find((detector) => detector.name === 'consensus') ?? input.detectors.at(-1);
  const pricePoints: { time: number; value: number }[] = [];
  for (let i = 0; i < close.length; i++) {
    if (consensus?.flags[i] === 1) pricePoints.push({ time: times[i]!, value: close[i]! });
  }
  const panel = (
    title: string,
    yTitle: string,
    line: { time: number; value: number }[],
    points: { time: number; value: number }[],
    threshold?: number,
  ) => ({
    width: WIDTH,
    height: 120,
    title: { text: title, anchor: 'start', fontSize: 12 },
    layer: [
      ...bandLayer(input, axis),
      {
        data: { values: line },
        mark: { type: 'line', color: '#555', strokeWidth: 1 },
        encoding: {
          x: axis,
          y: { field: 'value', type: 'quantitative', scale: { zero: false }, title: yTitle },
        },
      },
      ...(threshold !== undefined && Number.isFinite(threshold)
        ? [
            {
              data: { values: [{ threshold }] },
              mark: { type: 'rule', color: 'black', strokeDash: [4, 3] },
              encoding: { y: { field: 'threshold', type: 'quantitative' } },
            },
          ]
        : []),
      {
        data: { values: points },
        mark: { type: 'point', filled: true, size: 24, color: FLAG_COLOR },
        encoding: { x: axis, y: { field: 'value', type: 'quantitative' } },
      },
    ],
  });
  const panels = [
    panel(
      `close, ${consensus?.name ?? 'no'} flags (${pricePoints.length}) as points`,
      'close',
      priceLine,
      pricePoints,
    ),
    ...input.detectors.map((detector) => {
      const line = downsampleIndices(detector.scores)
        .filter((i) => Number.isFinite(detector.scores[i]!))
        .map((i) => ({ time: times[i]!, value: detector.scores[i]! }));
      const points: { time: number; value: number }[] = [];
      for (let i = 0; i < times.length; i++) {
        if (detector.flags[i] === 1 && Number.isFinite(detector.scores[i]!)) {
          points.push({ time: times[i]!, value: detector.scores[i]! });
        }
      }
      return panel(
        `${detector.name} score (${Number.isFinite(detector.threshold) ? 'dashed: threshold; ' : ''}${points.length} flagged)`,
        'score',
        line,
        points,
        detector.threshold,
      );
    }),
  ];
  return {
    title: `${input.title} (bands: labelled spans)`,
    vconcat: panels,
  } as VegaLiteSpec;
}

/** The evaluation chart as PNG bytes. */
export async function renderEvaluationChart(input: EvaluationChartInput): Promise<Uint8Array> {
  return renderChartPng(evaluationChartSpec(input));
}
