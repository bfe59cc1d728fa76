import { useInput, useStdin } from 'ink';
import type { DashboardAction } from '../api.js';

/**
 * The dashboard's keys: q (or Ctrl+C) quits through `onQuit`, tab / shift-tab and the arrows
 * switch panes, l toggles the log scale. Inactive where stdin cannot be put in raw mode.
 */
export function useDashboardKeys(dispatch: (action: DashboardAction) => void, onQuit: () => void): void {
  const { isRawModeSupported } = useStdin();
  useInput(
    (input, key) => {
      if (input === 'q' || (key.ctrl && input === 'c') || key.escape) onQuit();
      else if ((key.tab && key.shift) || key.leftArrow || key.upArrow) dispatch({ type: 'previous-pane' });
      else if (key.tab || key.rightArrow || key.downArrow) dispatch({ type: 'next-pane' });
      else if (input === 'l' || input === 'L') dispatch({ type: 'toggle-log-scale' });
    },
    { isActive: isRawModeSupported === true },
  );
}
