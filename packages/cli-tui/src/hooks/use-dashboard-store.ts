import { useSyncExternalStore } from 'react';
import type { DashboardState } from '../api.js';
import type { DashboardStore } from '../dashboard-store.js';

/** The store's current state; re-renders on every change (Ink caps the frame rate). */
export function useDashboardStore(store: DashboardStore): DashboardState {
  return useSyncExternalStore(store.subscribe, store.getState, store.getState);
}
