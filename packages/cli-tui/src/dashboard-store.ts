import type { DashboardAction, DashboardState } from './api.js';
import { dashboardReducer, initialDashboardState } from './dashboard-reducer.js';

/** The dashboard's state outside React: the command dispatches, the Ink app subscribes. */
export interface DashboardStore {
  getState(): DashboardState;
  dispatch(action: DashboardAction): void;
  /** Calls `listener` after every change; returns the unsubscribe function. */
  subscribe(listener: () => void): () => void;
}

export function createDashboardStore(
  title: string,
  mode: DashboardState['mode'] = 'pipeline',
): DashboardStore {
  let state = initialDashboardState(title, mode);
  const listeners = new Set<() => void>();
  return {
    getState: () => state,
    dispatch(action) {
      const next = dashboardReducer(state, action);
      if (next === state) return;
      state = next;
      for (const listener of listeners) listener();
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
