import { Text } from 'ink';
import { formatDuration, truncate } from '../../format.js';
import type { WatchState } from '../watch-reducer.js';

/** One line: the connection (or replay), back-fills, messages per second, lag, counts. */
export function connectionText(state: WatchState): { text: string; color: string } {
  const c = state.connection;
  const parts: string[] = [];
  let color = 'green';
  switch (c.state) {
    case 'starting':
      parts.push('starting: warming up');
      color = 'yellow';
      break;
    case 'replaying':
      parts.push('replaying');
      break;
    case 'connecting':
      parts.push(`connecting (connection ${c.connection})`);
      color = 'yellow';
      break;
    case 'connected':
      parts.push('connected');
      break;
    case 'reconnecting':
      parts.push(`reconnecting: attempt ${c.attempt}, wait ${formatDuration(c.waitMs)} (${c.reason})`);
      color = 'red';
      break;
    case 'finished':
      parts.push('finished');
      color = 'cyan';
      break;
  }
  const backfilling = Object.values(state.backfilling);
  if (backfilling.length > 0) {
    parts.push(
      `back-filling ${backfilling.reduce((a, b) => a + b, 0)} candles (${backfilling.length} pairs)`,
    );
  }
  if (state.messagesPerSecond !== undefined) parts.push(`${state.messagesPerSecond.toFixed(1)} msg/s`);
  if (state.lag.last !== undefined) parts.push(`lag ${formatDuration(state.lag.last)}`);
  parts.push(`${state.candles} candles · ${state.alerts} alerts · ${state.suppressed} suppressed`);
  return { text: parts.join(' · '), color };
}

export function ConnectionBar({ state, width }: { state: WatchState; width: number }) {
  const { text, color } = connectionText(state);
  return (
    <Text color={color} wrap="truncate">
      {truncate(text, width)}
    </Text>
  );
}
