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
  /** Lines it may take, the heading included; fewer than the stages fold finished ones into one. */
  maxLines?: number;
}

/** One line of the list: a stage, or several folded into a count. */
export interface StageLine {
  status: StageStatus;
  name: string;
  elapsedMs: number | undefined;
}

/**
 * The lines that fit `maxLines` (heading included). When every stage does not fit, the finished
 * ones at the top fold into "N done" with their summed time, then the waiting ones at the end into
 * "N more": the running and failed stages, what a user watches for, stay on their own lines.
 */
export function stageLines(stages: readonly StageState[], maxLines: number, now?: number): StageLine[] {
  const own = stages.map((stage) => ({
    status: stage.status,
    name: stage.name,
    elapsedMs: stageElapsedMs(stage, now),
  }));
  const room = maxLines - 1;
  if (own.length <= room) return own;
  let finished = 0;
  while (finished < own.length && (own[finished]!.status === 'done' || own[finished]!.status === 'skipped')) {
    finished++;
  }
  const lines: StageLine[] = [...own];
  if (finished > 1) {
    lines.splice(0, finished, {
      status: 'done',
      name: `${finished} done`,
      elapsedMs: spanMs(stages.slice(0, finished)),
    });
  }
  if (lines.length > room) {
    let waiting = 0;
    while (waiting < lines.length && lines[lines.length - 1 - waiting]!.status === 'pending') waiting++;
    // Keep as many waiting stages as fit beside the "N more" line.
    const keep = Math.max(0, room - (lines.length - waiting) - 1);
    if (waiting - keep > 1) {
      lines.splice(lines.length - waiting + keep, waiting - keep, {
        status: 'pending',
        name: `${waiting - keep} more`,
        elapsedMs: undefined,
      });
    }
  }
  return lines.slice(0, Math.max(0, room));
}

/**
 * The wall time from the first stage's start to the last one's end (the autoencoders train side
 * by side, so their times do not add up); the sum where a start is not known.
 */
function spanMs(stages: readonly StageState[]): number {
  const starts = stages.map((stage) => stage.startedAt);
  if (starts.every((start) => start !== undefined)) {
    const first = Math.min(...(starts as number[]));
    const last = Math.max(...stages.map((stage) => stage.startedAt! + (stage.elapsedMs ?? 0)));
    return last - first;
  }
  return stages.reduce((sum, stage) => sum + (stage.elapsedMs ?? 0), 0);
}

/** The pipeline's stages, one per line: status icon, name, and wall time (ticking while it runs). */
export function StageList({ stages, width, now, maxLines = Number.POSITIVE_INFINITY }: StageListProps) {
  if (maxLines < 1) return null;
  const timeWidth = 6;
  const nameWidth = Math.max(4, width - 2 - 1 - timeWidth);
  return (
    <Box flexDirection="column" width={width}>
      <Text bold>{fit('Stages', width)}</Text>
      {stageLines(stages, maxLines, now).map((stage) => {
        const { icon, color } = ICONS[stage.status];
        const time = stage.elapsedMs !== undefined ? formatDuration(stage.elapsedMs) : '';
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
