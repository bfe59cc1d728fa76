import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createReducerStore } from '../src/reducer-store.js';

const add = (state: number, by: number) => (by === 0 ? state : state + by);

describe('createReducerStore', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('tells every change at once by default, and nothing for an action that changes nothing', () => {
    const store = createReducerStore(0, add);
    const seen: number[] = [];
    store.subscribe(() => seen.push(store.getState()));
    store.dispatch(1);
    store.dispatch(0);
    store.dispatch(2);
    expect(seen).toEqual([1, 3]);
  });

  it('with minIntervalMs, tells a burst of changes twice: at its start and once after, with the last state', () => {
    const store = createReducerStore(0, add, { minIntervalMs: 100 });
    const seen: number[] = [];
    store.subscribe(() => seen.push(store.getState()));
    // 500 batch events in one go, as training sends them.
    for (let i = 0; i < 500; i++) store.dispatch(1);
    expect(seen).toEqual([1]);
    expect(store.getState()).toBe(500);
    vi.advanceTimersByTime(99);
    expect(seen).toEqual([1]);
    vi.advanceTimersByTime(1);
    expect(seen).toEqual([1, 500]);
    // A change after a quiet spell is told at once.
    vi.advanceTimersByTime(1000);
    store.dispatch(1);
    expect(seen).toEqual([1, 500, 501]);
  });

  it('flush tells a waiting change at once (the last frame before the screen closes), and only once', () => {
    const store = createReducerStore(0, add, { minIntervalMs: 100 });
    const seen: number[] = [];
    store.subscribe(() => seen.push(store.getState()));
    store.dispatch(1);
    store.dispatch(1);
    store.flush();
    expect(seen).toEqual([1, 2]);
    vi.advanceTimersByTime(1000);
    store.flush();
    expect(seen).toEqual([1, 2]);
  });
});
