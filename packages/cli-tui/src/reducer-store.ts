/** A pure reducer's state outside React: the command dispatches, an Ink app subscribes. */
export interface ReducerStore<State, Action> {
  getState(): State;
  dispatch(action: Action): void;
  /** Calls `listener` after changes (at most once per `minIntervalMs`); returns the unsubscribe function. */
  subscribe(listener: () => void): () => void;
  /** Tells the listeners now of a change still waiting for its turn (before a last frame). */
  flush(): void;
}

export interface ReducerStoreOptions {
  /**
   * Least time between two notifications: a change within it is told once, at its end, with the
   * state then. A dashboard re-renders on every notification, and training sends an event per
   * batch (hundreds a second), so the live dashboards set their frame time here. Default 0: every
   * change at once.
   */
  minIntervalMs?: number;
}

export function createReducerStore<State, Action>(
  initial: State,
  reducer: (state: State, action: Action) => State,
  options: ReducerStoreOptions = {},
): ReducerStore<State, Action> {
  let state = initial;
  const listeners = new Set<() => void>();
  const gap = options.minIntervalMs ?? 0;
  let lastTold = Number.NEGATIVE_INFINITY;
  let waiting: NodeJS.Timeout | undefined;
  const tell = () => {
    clearTimeout(waiting);
    waiting = undefined;
    lastTold = Date.now();
    for (const listener of listeners) listener();
  };
  return {
    getState: () => state,
    dispatch(action) {
      const next = reducer(state, action);
      if (next === state) return;
      state = next;
      if (waiting) return;
      const wait = lastTold + gap - Date.now();
      if (wait <= 0) tell();
      else waiting = setTimeout(tell, wait);
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    flush() {
      if (waiting) tell();
    },
  };
}
