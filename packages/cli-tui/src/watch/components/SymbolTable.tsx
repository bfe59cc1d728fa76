import { Box, Text } from 'ink';
import { fit, formatDuration, formatNumber } from '../../format.js';
import { type SymbolRow, selectedIndex, sortedRows, type WatchState } from '../watch-reducer.js';
import { ScoreBar } from './ScoreBar.js';

/** Short column names of the detectors, in the order the model lists them. */
export const DETECTOR_LABELS: Record<string, string> = {
  'isolation-forest': 'forest',
  autoencoder: 'dense',
  attention: 'attn',
  consensus: 'consensus',
};

const DETECTORS = ['isolation-forest', 'autoencoder', 'attention', 'consensus'];

function sinceAlert(row: SymbolRow, state: WatchState): string {
  if (row.lastAlertOpenTime === undefined) return '-';
  return formatDuration(Math.max(0, (state.latestOpenTime ?? row.lastAlertOpenTime) - row.lastAlertOpenTime));
}

/** The pairs: last close, change, each detector's score against its threshold, time since the last alert. */
export function SymbolTable({ state, width, height }: { state: WatchState; width: number; height: number }) {
  const rows = sortedRows(state);
  const selected = selectedIndex(state, rows);
  // Fixed columns, then the detectors share what is left (at least 5 columns each).
  // At least 3 columns each, so 60 columns hold the row: a row wider than the window made the
  // layout squeeze the close column, cutting digits off the price (8242.9 shown as 865).
  const fixed = 10 + 12 + 8 + 8;
  const barWidth = Math.max(3, Math.floor((width - fixed - 2) / DETECTORS.length) - 1);
  const visible = Math.max(1, height - 1);
  const first = Math.max(0, Math.min(selected - visible + 1, rows.length - visible));
  const header =
    fit(' pair', 10) +
    fit('close', 12, 'right') +
    fit('change', 8, 'right') +
    ' ' +
    DETECTORS.map((name) => fit(DETECTOR_LABELS[name]!, barWidth)).join(' ') +
    fit('alert', 8, 'right');
  return (
    <Box flexDirection="column" width={width} height={height}>
      <Text bold wrap="truncate">
        {header}
      </Text>
      {rows.slice(first, first + visible).map((row, index) => {
        const isSelected = first + index === selected;
        const change = row.change === undefined ? '-' : `${(row.change * 100).toFixed(2)}%`;
        return (
          <Box key={row.symbol}>
            {/* The selection is marked with › as well as reversed: NO_COLOR drops the reverse video. */}
            <Text inverse={isSelected} wrap="truncate">
              {fit(`${isSelected ? '›' : ' '}${row.symbol}`, 10)}
            </Text>
            {/* Never squeezed: a price cut short reads as another number. */}
            <Box flexShrink={0}>
              <Text>{fit(row.close === undefined ? '-' : formatNumber(row.close, 6), 12, 'right')}</Text>
            </Box>
            <Text color={row.change === undefined ? undefined : row.change < 0 ? 'red' : 'green'}>
              {fit(change, 8, 'right')}{' '}
            </Text>
            {row.stopped !== undefined ? (
              <Text color="red" wrap="truncate">
                {fit(`stopped: ${row.stopped}`, barWidth * DETECTORS.length + DETECTORS.length - 1)}
              </Text>
            ) : (
              DETECTORS.map((name) => (
                <Box key={name} width={barWidth + 1}>
                  <ScoreBar score={row.scores.find((s) => s.name === name)} width={barWidth} />
                </Box>
              ))
            )}
            <Text>{fit(sinceAlert(row, state), 8, 'right')}</Text>
          </Box>
        );
      })}
    </Box>
  );
}
