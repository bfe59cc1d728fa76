import type { DashboardStore } from '../dashboard-store.js';
import { type QuitKey, useDashboardKeys } from '../hooks/use-dashboard-keys.js';
import { useDashboardStore } from '../hooks/use-dashboard-store.js';
import { useNow } from '../hooks/use-now.js';
import { Dashboard } from './Dashboard.js';

export interface DashboardAppProps {
  store: DashboardStore;
  /** Called on q or Ctrl+C: the command stops its work (AbortSignal) or, once done, exits. */
  onQuit: (how: QuitKey) => void;
  /** The terminal's size (`renderFullScreen` passes it, and the new one on every resize). */
  size: { columns: number; rows: number };
}

/** The live dashboard: subscribes to the store, fills the size it is given, handles keys. */
export function DashboardApp({ store, onQuit, size }: DashboardAppProps) {
  const state = useDashboardStore(store);
  useDashboardKeys(store.dispatch, onQuit);
  // Elapsed times and ETAs tick once a second while work runs.
  const now = useNow(1000, state.phase === 'running' || state.phase === 'stopping');
  const { columns, rows } = size;
  // One row short of the terminal: a frame as tall as the screen makes Ink clear and redraw it.
  return <Dashboard state={state} width={columns} height={rows - 1} now={now} />;
}
