/** A pure reducer's state outside React: the command dispatches, an Ink app subscribes. */
export interface ReducerStore<State, Action> {
  getState(): State;
  dispatch(action: Action): void;
  /** Calls `listener` after every change; returns the unsubscribe function. */
  subscribe(listener: () => void): () => void;
}

export function createReducerStore<State, Action>(
  initial: State,
  reducer: (state: State, action: Action) => State,
): ReducerStore<State, Action> {
  let state = initial;
  const listeners = new Set<() => void>();
  return {
    getState: () => state,
    dispatch(action) {
      const next = reducer(state, action);
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
