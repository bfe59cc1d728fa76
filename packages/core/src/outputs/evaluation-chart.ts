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
const TIME_AXIS = { field: 'time', type: 'temporal', scale: { type: 'utc' }, axis: { title: null } } as const;
const BAND_COLOR = '#f4a261';
const FLAG_COLOR = '#d62728';

function bandLayer(input: EvaluationChartInput): object[] {
  if (input.labels.length === 0) return [];
  return [
    {
      data: { values: input.labels.map((label) => ({ time: label.from, end: label.to + input.intervalMs })) },
      mark: { type: 'rect', color: BAND_COLOR, opacity: 0.3 },
      encoding: { x: TIME_AXIS, x2: { field: 'end' } },
    },
  ];
}

/** The chart's Vega-Lite spec: a price panel, then one score panel per detector. */
export function evaluationChartSpec(input: EvaluationChartInput): VegaLiteSpec {
  const { times, close } = input;
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
      ...bandLayer(input),
      {
        data: { values: line },
        mark: { type: 'line', color: '#555', strokeWidth: 1 },
        encoding: {
          x: TIME_AXIS,
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
        encoding: { x: TIME_AXIS, y: { field: 'value', type: 'quantitative' } },
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
        `${detector.name} score (dashed: threshold; ${points.length} flagged)`,
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
