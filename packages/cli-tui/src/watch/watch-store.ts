import { initialWatchState, type WatchAction, type WatchState, watchReducer } from './watch-reducer.js';

/** The watch dashboard's state outside React: the loop dispatches, the Ink app subscribes. */
export interface WatchStateStore {
  getState(): WatchState;
  dispatch(action: WatchAction): void;
  subscribe(listener: () => void): () => void;
}

export function createWatchStore(title: string, mode: 'live' | 'replay' = 'live'): WatchStateStore {
  let state = initialWatchState(title, mode);
  const listeners = new Set<() => void>();
  return {
    getState: () => state,
    dispatch(action) {
      const next = watchReducer(state, action);
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
