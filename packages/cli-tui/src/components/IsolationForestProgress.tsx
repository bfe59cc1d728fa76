import { Box, Text } from 'ink';
import type { StageState } from '../api.js';
import { formatDuration, formatNumber, formatPercent, progressBar, truncate } from '../format.js';

export interface IsolationForestProgressProps {
  progress: { treesBuilt: number; trees: number } | undefined;
  stage: StageState | undefined;
  /** The fitted threshold, once the forest has scored every row. */
  threshold?: number | undefined;
  width: number;
}

/** Trees built so far, the stage's state and its closing message (e.g. the fitted threshold). */
export function IsolationForestProgress({ progress, stage, threshold, width }: IsolationForestProgressProps) {
  const status = stage?.status ?? 'pending';
  if (!progress && status === 'pending') {
    return <Text dimColor>{truncate('isolation forest: waiting for its stage', width)}</Text>;
  }
  const built = progress?.treesBuilt ?? 0;
  const trees = progress?.trees ?? 0;
  const fraction = status === 'done' ? 1 : trees > 0 ? built / trees : 0;
  const counts = trees > 0 ? ` ${formatPercent(fraction).padStart(4)} ${built}/${trees} trees` : ` ${status}`;
  const barWidth = Math.max(0, Math.min(40, width - counts.length - 1));
  return (
    <Box flexDirection="column" width={width}>
      <Text bold wrap="truncate">
        {truncate('Isolation forest', width)}
      </Text>
      <Text wrap="truncate">
        <Text color="cyan">{progressBar(fraction, barWidth)}</Text>
        {counts}
      </Text>
      {stage?.elapsedMs !== undefined ? (
        <Text wrap="truncate">{truncate(`${status} in ${formatDuration(stage.elapsedMs)}`, width)}</Text>
      ) : null}
      {stage?.message ? <Text wrap="truncate">{truncate(stage.message, width)}</Text> : null}
      {threshold !== undefined && Number.isFinite(threshold) ? (
        <Text wrap="truncate">{truncate(`threshold ${formatNumber(threshold, 4)}`, width)}</Text>
      ) : null}
    </Box>
  );
}
