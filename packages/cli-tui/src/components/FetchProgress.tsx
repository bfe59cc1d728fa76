import { Box, Text } from 'ink';
import type { FetchState } from '../api.js';
import {
  formatCount,
  formatDuration,
  formatEta,
  formatPercent,
  formatRate,
  progressBar,
  truncate,
} from '../format.js';

export interface FetchProgressProps {
  fetch: FetchState;
  width: number;
}

/**
 * Download progress: a bar when the range's row count is known, pages, rows, rate and ETA, and
 * rate-limit or retry waits shown as waits (not as a stalled download).
 */
export function FetchProgress({ fetch, width }: FetchProgressProps) {
  const fraction = fetch.done ? 1 : fetch.expectedRows ? fetch.rows / fetch.expectedRows : undefined;
  const facts = [
    `${formatCount(fetch.pages)} pages`,
    `${formatCount(fetch.rows)} rows`,
    fetch.done ? 'done' : formatRate(fetch.rowsPerSecond, 'rows'),
    ...(fetch.done ? [] : [formatEta(fetch.etaMs)]),
  ].join(' · ');
  const label = 'fetch ';
  const percent = fraction !== undefined ? ` ${formatPercent(fraction).padStart(4)} ` : ' ';
  const barWidth =
    fraction !== undefined
      ? Math.max(0, Math.min(30, width - label.length - percent.length - facts.length - 1))
      : 0;
  const waiting = !fetch.done && fetch.waitingMs !== undefined && fetch.waitingMs > 0;
  return (
    <Box flexDirection="column" width={width}>
      <Text wrap="truncate">
        <Text bold>{label}</Text>
        {barWidth > 0 && fraction !== undefined ? (
          <Text color="cyan">{progressBar(fraction, barWidth)}</Text>
        ) : null}
        <Text>{truncate(`${percent}${facts}`, Math.max(0, width - label.length - barWidth))}</Text>
      </Text>
      {waiting ? (
        <Text color="yellow" wrap="truncate">
          {truncate(
            `  waiting ${formatDuration(fetch.waitingMs)}${fetch.waitReason ? `: ${fetch.waitReason}` : ''}${fetch.message ? ` (${fetch.message})` : ''}`,
            width,
          )}
        </Text>
      ) : null}
    </Box>
  );
}
