import { createReducerStore, type ReducerStore, type ReducerStoreOptions } from '../reducer-store.js';
import { initialWatchState, type WatchAction, type WatchState, watchReducer } from './watch-reducer.js';

/** The watch dashboard's state outside React: the loop dispatches, the Ink app subscribes. */
export type WatchStateStore = ReducerStore<WatchState, WatchAction>;

export function createWatchStore(
  title: string,
  mode: 'live' | 'replay' = 'live',
  options: ReducerStoreOptions = {},
): WatchStateStore {
  return createReducerStore(initialWatchState(title, mode), watchReducer, options);
}
