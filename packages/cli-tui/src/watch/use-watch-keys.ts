import { useInput, useStdin } from 'ink';
import type { WatchAction } from './watch-reducer.js';

/**
 * The watch dashboard's keys: ↑/↓ (or k/j) select a pair, enter opens its detail, esc goes back,
 * s changes the sort, q (or Ctrl+C) quits. Inactive where stdin cannot be put in raw mode.
 */
export function useWatchKeys(
  dispatch: (action: WatchAction) => void,
  view: 'table' | 'detail',
  onQuit: () => void,
): void {
  const { isRawModeSupported } = useStdin();
  useInput(
    (input, key) => {
      if (input === 'q' || (key.ctrl && input === 'c')) onQuit();
      else if (key.escape || key.backspace || key.leftArrow) dispatch({ type: 'close-detail' });
      else if (key.return || key.rightArrow) dispatch({ type: 'open-detail' });
      else if (key.upArrow || input === 'k') dispatch({ type: 'select', delta: -1 });
      else if (key.downArrow || input === 'j') dispatch({ type: 'select', delta: 1 });
      else if (input === 's' && view === 'table') dispatch({ type: 'sort-next' });
    },
    { isActive: isRawModeSupported === true },
  );
}
