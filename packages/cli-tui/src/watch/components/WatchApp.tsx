import { useSyncExternalStore } from 'react';
import { useTerminalSize } from '../../hooks/use-terminal-size.js';
import { useWatchKeys } from '../use-watch-keys.js';
import type { WatchStateStore } from '../watch-store.js';
import { WatchDashboard } from './WatchDashboard.js';

export interface WatchAppProps {
  store: WatchStateStore;
  onQuit: () => void;
  /** Fixed size instead of the terminal's (tests). */
  size?: { columns: number; rows: number };
}

/** The live watch dashboard: subscribes to the store, follows the terminal size, handles keys. */
export function WatchApp({ store, onQuit, size }: WatchAppProps) {
  const state = useSyncExternalStore(store.subscribe, store.getState, store.getState);
  const terminal = useTerminalSize();
  useWatchKeys(store.dispatch, state.view, onQuit);
  const { columns, rows } = size ?? terminal;
  // One row short of the terminal: a frame as tall as the screen makes Ink clear and redraw it.
  return <WatchDashboard state={state} width={columns} height={rows - 1} />;
}
