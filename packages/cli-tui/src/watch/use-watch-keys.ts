import { useInput, useStdin } from 'ink';
import type { QuitKey } from '../hooks/use-dashboard-keys.js';
import type { WatchAction } from './watch-reducer.js';

/**
 * The watch dashboard's keys: ↑/↓ (or k/j) select a pair, enter opens its detail, esc goes back,
 * s changes the sort, q (or Ctrl+C) quits. Inactive where stdin cannot be put in raw mode.
 */
export function useWatchKeys(
  dispatch: (action: WatchAction) => void,
  view: 'table' | 'detail',
  onQuit: (how: QuitKey) => void,
): void {
  const { isRawModeSupported } = useStdin();
  useInput(
    (input, key) => {
      if (key.ctrl && input === 'c') onQuit('ctrl-c');
      else if (input === 'q') onQuit('key');
      else if (key.escape || key.backspace || key.leftArrow) dispatch({ type: 'close-detail' });
      else if (key.return || key.rightArrow) dispatch({ type: 'open-detail' });
      else if (key.upArrow || input === 'k') dispatch({ type: 'select', delta: -1 });
      else if (key.downArrow || input === 'j') dispatch({ type: 'select', delta: 1 });
      else if (input === 's' && view === 'table') dispatch({ type: 'sort-next' });
    },
    { isActive: isRawModeSupported === true },
  );
}
