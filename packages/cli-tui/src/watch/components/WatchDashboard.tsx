import { Box, Text } from 'ink';
import { truncate } from '../../format.js';
import { selectedRow, type WatchState } from '../watch-reducer.js';
import { AlertFeed } from './AlertFeed.js';
import { ConnectionBar } from './ConnectionBar.js';
import { SymbolDetail } from './SymbolDetail.js';
import { SymbolTable } from './SymbolTable.js';

const KEYS_DETAIL = '↑/↓ other pair · esc back · q quit';

/** The watch dashboard: title, connection, the pairs (or one pair's detail), the alert feed, notes, keys. */
export function WatchDashboard({
  state,
  width,
  height,
}: {
  state: WatchState;
  width: number;
  height: number;
}) {
  const row = state.view === 'detail' ? selectedRow(state) : undefined;
  const body = Math.max(6, height - 4);
  const note = state.notes.at(-1);
  return (
    <Box flexDirection="column" width={width} height={height}>
      <Text bold color="cyan" wrap="truncate">
        {truncate(state.title, width)}
      </Text>
      <ConnectionBar state={state} width={width} />
      {row ? (
        <SymbolDetail row={row} state={state} width={width} height={body} />
      ) : (
        <>
          <SymbolTable state={state} width={width} height={Math.max(3, Math.ceil(body * 0.55))} />
          <AlertFeed feed={state.feed} width={width} height={body - Math.max(3, Math.ceil(body * 0.55))} />
        </>
      )}
      <Text color="red" wrap="truncate">
        {note ? truncate(note, width) : ' '}
      </Text>
      <Text dimColor wrap="truncate">
        {state.view === 'detail'
          ? KEYS_DETAIL
          : `↑/↓ select · enter detail · s sort (by ${state.sort}) · q quit`}
      </Text>
    </Box>
  );
}
