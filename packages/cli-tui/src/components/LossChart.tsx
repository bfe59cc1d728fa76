import { Box, Text } from 'ink';
import type { TrainedDetector, TrainingState } from '../api.js';
import { formatEta, formatNumber, formatRate, truncate } from '../format.js';
import { renderLineChart } from '../line-chart.js';

const SERIES_COLORS = ['cyan', 'magenta'] as const;

export interface LossChartProps {
  detector: TrainedDetector;
  /** Undefined until the detector's first epoch ends. */
  training: TrainingState | undefined;
  width: number;
  /** Rows for the whole pane: two status lines, the chart and a legend. */
  height: number;
  logScale: boolean;
}

function statusLines(training: TrainingState): [string, string] {
  const progress = training.batch ? ` (batch ${training.batch.batch}/${training.batch.batches})` : '';
  const first = [
    `epoch ${training.epoch}/${training.epochs}${progress}`,
    training.earlyStop || training.epoch >= training.epochs ? 'done' : formatEta(training.etaMs),
    formatRate(training.samplesPerSecond, 'samples'),
  ].join(' · ');
  const stopping = training.earlyStop
    ? `early-stopped at epoch ${training.earlyStop.epoch} (best epoch ${training.earlyStop.bestEpoch})`
    : Number.isFinite(training.patienceLeft)
      ? `early stopping: patience ${training.patienceLeft}`
      : 'early stopping: off';
  return [first, `best val loss ${formatNumber(training.bestValLoss)} · ${stopping}`];
}

/** Training and validation loss of one autoencoder as a line chart that grows as epochs end. */
export function LossChart({ detector, training, width, height, logScale }: LossChartProps) {
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
  const [first, second] = statusLines(training);
  const chartHeight = Math.max(2, height - 3);
  const chart = renderLineChart(
    [
      { name: 'train', values: training.history.map((point) => point.loss) },
      { name: 'validation', values: training.history.map((point) => point.valLoss) },
    ],
    { width, height: chartHeight, logScale, xPoints: Math.max(training.epochs, training.history.length) },
  );
  const last = training.history[training.history.length - 1]!;
  return (
    <Box flexDirection="column" width={width}>
      <Text wrap="truncate">{truncate(first, width)}</Text>
      <Text wrap="truncate" color={training.earlyStop ? 'yellow' : undefined}>
        {truncate(second, width)}
      </Text>
      {chart.lines.map((line, row) => (
        <Text key={row} wrap="truncate">
          {segments(line, chart.owners[row] ?? []).map((segment, index) => (
            <Text key={index} color={segment.owner >= 0 ? SERIES_COLORS[segment.owner] : 'gray'}>
              {segment.text}
            </Text>
          ))}
        </Text>
      ))}
      <Text wrap="truncate">
        <Text color={SERIES_COLORS[0]}>── train {formatNumber(last.loss)}</Text>
        <Text>{'  '}</Text>
        <Text color={SERIES_COLORS[1]}>── validation {formatNumber(last.valLoss)}</Text>
        <Text dimColor>{logScale ? '  (log scale)' : '  (linear)'}</Text>
      </Text>
    </Box>
  );
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
