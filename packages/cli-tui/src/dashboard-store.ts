import type { DashboardAction, DashboardState } from './api.js';
import { dashboardReducer, initialDashboardState } from './dashboard-reducer.js';
import { createReducerStore, type ReducerStore, type ReducerStoreOptions } from './reducer-store.js';

/** The dashboard's state outside React: the command dispatches, the Ink app subscribes. */
export type DashboardStore = ReducerStore<DashboardState, DashboardAction>;

export function createDashboardStore(
  title: string,
  mode: DashboardState['mode'] = 'pipeline',
  options: ReducerStoreOptions = {},
): DashboardStore {
  return createReducerStore(initialDashboardState(title, mode), dashboardReducer, options);
}
