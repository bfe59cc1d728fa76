import { Box, Text } from 'ink';
import type { StageState, StageStatus } from '../api.js';
import { stageElapsedMs } from '../dashboard-reducer.js';
import { fit, formatDuration } from '../format.js';

const ICONS: Record<StageStatus, { icon: string; color: string }> = {
  pending: { icon: '○', color: 'gray' },
  running: { icon: '●', color: 'yellow' },
  done: { icon: '✓', color: 'green' },
  skipped: { icon: '–', color: 'gray' },
  failed: { icon: '✗', color: 'red' },
};

export interface StageListProps {
  stages: readonly StageState[];
  width: number;
  /** The clock (`Date.now()`): the running stage's elapsed time counts from its start to it. */
  now?: number;
}

/** The pipeline's stages, one per line: status icon, name, and wall time (ticking while it runs). */
export function StageList({ stages, width, now }: StageListProps) {
  const timeWidth = 6;
  const nameWidth = Math.max(4, width - 2 - 1 - timeWidth);
  return (
    <Box flexDirection="column" width={width}>
      <Text bold>{fit('Stages', width)}</Text>
      {stages.map((stage) => {
        const { icon, color } = ICONS[stage.status];
        const elapsed = stageElapsedMs(stage, now);
        const time = elapsed !== undefined ? formatDuration(elapsed) : '';
        const running = stage.status === 'running';
        return (
          <Text key={stage.name} wrap="truncate">
            <Text color={color}>{icon} </Text>
            <Text dimColor={stage.status === 'pending' || stage.status === 'skipped'} bold={running}>
              {fit(stage.name, nameWidth)}
            </Text>
            <Text dimColor={!running} bold={running}>
              {' '}
              {fit(time, timeWidth, 'right')}
            </Text>
          </Text>
        );
      })}
    </Box>
  );
}
