import { Box, Text } from 'ink';
import type { TrainedDetector, TrainingState } from '../api.js';
import { trainingEta } from '../dashboard-reducer.js';
import { earlyStopText, formatDuration, formatNumber, formatRate, truncate } from '../format.js';
import {
  BETWEEN_POINTS_GLYPH,
  MARKER_GLYPH,
  MARKER_OWNER,
  POINT_GLYPH,
  renderLineChart,
} from '../line-chart.js';

/** Train as a line, validation as points: told apart by glyph as well as by colour (NO_COLOR). */
const SERIES_COLORS = ['cyan', 'magenta'] as const;
const MARKER_COLOR = 'yellow';

export interface LossChartProps {
  detector: TrainedDetector;
  /** Undefined until the detector's first epoch ends. */
  training: TrainingState | undefined;
  width: number;
  /** Rows for the whole pane: two status lines, the chart, its epoch axis and a legend. */
  height: number;
  logScale: boolean;
  /** Wall time of the detector's stage so far (or in all, once it ended). */
  elapsedMs?: number;
  /** The clock (`Date.now()`) the ETA counts down with between epochs. */
  now?: number;
}

/** "ETA 4.0s" on a plateau (the early stop), "ETA 4.0s–1m 34s" while the loss still improves. */
function etaText(training: TrainingState, now: number | undefined): string {
  if (training.earlyStop || training.epoch >= training.epochs) return 'done';
  const eta = trainingEta(training, now);
  if (!eta) return 'ETA --';
  const soonest = formatDuration(eta.soonestMs);
  const latest = formatDuration(eta.latestMs);
  return eta.plateau || soonest === latest ? `ETA ${soonest}` : `ETA ${soonest}–${latest}`;
}

/** The parts joined by " · ", each optional part kept only where it fits: nothing is cut mid-word. */
function fitParts(width: number, required: readonly string[], optional: readonly string[]): string {
  let text = required.join(' · ');
  for (const part of optional) {
    if (text.length + 3 + part.length <= width) text += ` · ${part}`;
  }
  return truncate(text, width);
}

/** The first variant that fits `width` (the last one, cut, when none does). */
function firstFitting(width: number, variants: readonly string[]): string {
  return truncate(variants.find((text) => text.length <= width) ?? variants[variants.length - 1]!, width);
}

function statusLines(
  training: TrainingState,
  width: number,
  elapsedMs: number | undefined,
  now: number | undefined,
): [string, string] {
  // Epoch and ETA first; the batch, elapsed time and rate where the width leaves room.
  const first = fitParts(
    width,
    [`epoch ${training.epoch}/${training.epochs}`, etaText(training, now)],
    [
      ...(training.batch ? [`batch ${training.batch.batch}/${training.batch.batches}`] : []),
      ...(elapsedMs !== undefined ? [`${formatDuration(elapsedMs)} elapsed`] : []),
      formatRate(training.samplesPerSecond, 'samples'),
    ],
  );
  const best = `best val loss ${formatNumber(training.bestValLoss)}`;
  const left = training.patienceLeft;
  const epochs = left === 1 ? 'epoch' : 'epochs';
  let second: string;
  if (training.earlyStop) {
    second = firstFitting(width, [
      `${best} · ${earlyStopText(training.earlyStop.epoch, training.earlyStop.bestEpoch)}`,
      earlyStopText(training.earlyStop.epoch, training.earlyStop.bestEpoch),
      `early-stopped at ${training.earlyStop.epoch}, best ${training.earlyStop.bestEpoch}`,
    ]);
  } else if (training.epoch >= training.epochs) {
    // Ran its whole epoch budget: no early stop is coming any more.
    second = firstFitting(width, [
      `${best} · ran all ${training.epochs} epochs`,
      `ran all ${training.epochs} epochs`,
    ]);
  } else if (!Number.isFinite(left)) {
    second = firstFitting(width, [`${best} · early stopping: off`]);
  } else if (left < training.patience) {
    second = firstFitting(width, [
      `${best} · early stop in ${left} ${epochs} unless val loss improves`,
      `${best} · early stop in ${left} ${epochs}`,
      `early stop in ${left} ${epochs}`,
    ]);
  } else {
    second = firstFitting(width, [`${best} · improving, patience ${left}`, `${best} · patience ${left}`]);
  }
  return [first, second];
}

/**
 * Training and validation loss of one autoencoder: the x axis spans the epochs run so far (it
 * grows as they end, whatever the planned cap), with epoch labels, the best epoch marked, and a
 * y scale fitted to both curves.
 */
export function LossChart({ detector, training, width, height, logScale, elapsedMs, now }: LossChartProps) {
  if (!training || training.history.length === 0) {
    return (
      <Box flexDirection="column" width={width} height={height}>
        <Text dimColor wrap="truncate">
          {truncate(
            training?.batch
              ? `${detector}: epoch ${training.batch.epoch}, batch ${training.batch.batch}/${training.batch.batches}`
              : `${detector}: waiting for the first epoch`,
            width,
          )}
        </Text>
      </Box>
    );
  }
  const [first, second] = statusLines(training, width, elapsedMs, now);
  const firstEpoch = training.history[0]!.epoch;
  const withAxis = height >= 9;
  const chartHeight = Math.max(2, height - 3 - (withAxis ? 2 : 0));
  const bestIndex = training.bestEpoch - firstEpoch;
  const chart = renderLineChart(
    [
      { name: 'train', values: training.history.map((point) => point.loss) },
      { name: 'validation', values: training.history.map((point) => point.valLoss), style: 'points' },
    ],
    {
      width,
      height: chartHeight,
      logScale,
      xPoints: training.history.length,
      // One epoch is its own best: a marker would only fill its column.
      markers: bestIndex >= 0 && training.history.length > 1 ? [bestIndex] : [],
      ...(withAxis ? { xAxis: { first: firstEpoch, title: 'epoch' } } : {}),
    },
  );
  const last = training.history[training.history.length - 1]!;
  return (
    <Box flexDirection="column" width={width}>
      <Text wrap="truncate">{first}</Text>
      <Text wrap="truncate" color={training.earlyStop ? 'yellow' : undefined}>
        {second}
      </Text>
      {chart.lines.map((line, row) => (
        <Text key={row} wrap="truncate">
          {segments(line, chart.owners[row] ?? []).map((segment, index) => (
            <Text key={index} color={colorOf(segment.owner)}>
              {segment.text}
            </Text>
          ))}
        </Text>
      ))}
      {chart.axis.map((line, row) => (
        <Text key={`axis-${row}`} wrap="truncate" color="gray">
          {line}
        </Text>
      ))}
      <Legend
        width={width}
        train={formatNumber(last.loss)}
        validation={formatNumber(last.valLoss)}
        bestEpoch={training.bestEpoch}
        logScale={logScale}
      />
    </Box>
  );
}

/** What each glyph means: `─` train, `•·` validation, `┊` the best epoch; and the y scale. */
function Legend(props: {
  width: number;
  train: string;
  validation: string;
  bestEpoch: number;
  logScale: boolean;
}) {
  const train = `─ train ${props.train}`;
  const best = `${MARKER_GLYPH} best ${props.bestEpoch}`;
  const scale = props.logScale ? '  (log scale)' : '  (linear)';
  // The longest wording that fits: "validation" may become "val", the scale "(log)" or nothing.
  const variants: [name: string, scale: string][] = [
    ['validation', scale],
    ['val', scale],
    ['val', props.logScale ? '  (log)' : ''],
    ['val', ''],
  ];
  const length = ([name, tail]: [string, string]) =>
    train.length + 2 + 3 + name.length + props.validation.length + 2 + best.length + tail.length;
  const [name, tail] = variants.find((variant) => length(variant) <= props.width) ?? variants[3]!;
  const validation = `${POINT_GLYPH}${BETWEEN_POINTS_GLYPH} ${name} ${props.validation}`;
  return (
    <Text wrap="truncate">
      <Text color={SERIES_COLORS[0]}>{train}</Text>
      <Text>{'  '}</Text>
      <Text color={SERIES_COLORS[1]}>{validation}</Text>
      <Text>{'  '}</Text>
      <Text color={MARKER_COLOR}>{best}</Text>
      <Text dimColor>{tail}</Text>
    </Text>
  );
}

function colorOf(owner: number): string {
  if (owner === MARKER_OWNER) return MARKER_COLOR;
  return owner >= 0 ? (SERIES_COLORS[owner] ?? 'gray') : 'gray';
}

/** Splits a chart row into runs drawn by the same series, so each run gets one colour. */
function segments(line: string, owners: readonly number[]): { text: string; owner: number }[] {
  const result: { text: string; owner: number }[] = [];
  const characters = [...line];
  characters.forEach((character, index) => {
    const owner = owners[index] ?? -1;
    const previous = result[result.length - 1];
    if (previous && previous.owner === owner) previous.text += character;
    else result.push({ text: character, owner });
  });
  return result;
}
