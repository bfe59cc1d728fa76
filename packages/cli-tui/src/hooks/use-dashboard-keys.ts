import { useInput, useStdin } from 'ink';
import type { DashboardAction } from '../api.js';

/** How the user quit a dashboard: q (or Esc), or Ctrl+C, which stops the work as SIGINT does. */
export type QuitKey = 'key' | 'ctrl-c';

/**
 * The dashboard's keys: q, Esc or Ctrl+C quit through `onQuit` (told which: Ctrl+C is the
 * terminal's interrupt), tab / shift-tab and the arrows switch panes, l toggles the log scale.
 * Inactive where stdin cannot be put in raw mode.
 */
export function useDashboardKeys(
  dispatch: (action: DashboardAction) => void,
  onQuit: (how: QuitKey) => void,
): void {
  const { isRawModeSupported } = useStdin();
  useInput(
    (input, key) => {
      if (key.ctrl && input === 'c') onQuit('ctrl-c');
      else if (input === 'q' || key.escape) onQuit('key');
      else if ((key.tab && key.shift) || key.leftArrow || key.upArrow) dispatch({ type: 'previous-pane' });
      else if (key.tab || key.rightArrow || key.downArrow) dispatch({ type: 'next-pane' });
      else if (input === 'l' || input === 'L') dispatch({ type: 'toggle-log-scale' });
    },
    { isActive: isRawModeSupported === true },
  );
}
