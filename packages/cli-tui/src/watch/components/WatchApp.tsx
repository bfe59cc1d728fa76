import { useSyncExternalStore } from 'react';
import type { QuitKey } from '../../hooks/use-dashboard-keys.js';
import { useWatchKeys } from '../use-watch-keys.js';
import type { WatchStateStore } from '../watch-store.js';
import { WatchDashboard } from './WatchDashboard.js';

export interface WatchAppProps {
  store: WatchStateStore;
  onQuit: (how: QuitKey) => void;
  /** The terminal's size (`renderFullScreen` passes it, and the new one on every resize). */
  size: { columns: number; rows: number };
}

/** The live watch dashboard: subscribes to the store, fills the size it is given, handles keys. */
export function WatchApp({ store, onQuit, size }: WatchAppProps) {
  const state = useSyncExternalStore(store.subscribe, store.getState, store.getState);
  useWatchKeys(store.dispatch, state.view, onQuit);
  const { columns, rows } = size;
  // One row short of the terminal: a frame as tall as the screen makes Ink clear and redraw it.
  return <WatchDashboard state={state} width={columns} height={rows - 1} />;
}
