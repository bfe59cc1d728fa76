import { Box, Text } from 'ink';
import type { ScoredState } from '../api.js';
import { fit, formatCount } from '../format.js';
import { TABLE_ORDER } from '../summary.js';

export interface FlaggedCountsProps {
  scored: Partial<Record<(typeof TABLE_ORDER)[number], ScoredState>>;
  width: number;
}

/** The lines `FlaggedCounts` takes: its heading, a detector each, and the row count. */
export function flaggedCountsLines(scored: FlaggedCountsProps['scored']): number {
  const shown = TABLE_ORDER.filter((name) => scored[name] !== undefined).length;
  return shown === 0 ? 0 : shown + 2;
}

/** Rows each detector flagged, in all and in the test split, consensus first; as each one scores. */
export function FlaggedCounts({ scored, width }: FlaggedCountsProps) {
  const shown = TABLE_ORDER.filter((name) => scored[name] !== undefined);
  if (shown.length === 0) return null;
  const withTest = width >= 22;
  const countWidth = 6;
  const nameWidth = Math.max(4, width - countWidth * (withTest ? 2 : 1));
  const rows = Math.max(...shown.map((name) => scored[name]!.rows));
  const label = (name: string) => (name.length > nameWidth && name === 'isolation-forest' ? 'iforest' : name);
  const line = (name: string, all: string, test: string) =>
    fit(name, nameWidth) + fit(all, countWidth, 'right') + (withTest ? fit(test, countWidth, 'right') : '');
  return (
    <Box flexDirection="column" width={width}>
      <Text bold wrap="truncate">
        {line('Flagged', 'all', 'test')}
      </Text>
      {shown.map((name) => {
        const { flagged } = scored[name]!;
        return (
          <Text key={name} wrap="truncate">
            {line(label(name), formatCount(flagged.total), formatCount(flagged.test))}
          </Text>
        );
      })}
      <Text dimColor wrap="truncate">
        {fit(`of ${formatCount(rows)} rows`, width)}
      </Text>
    </Box>
  );
}
