import { render } from 'ink-testing-library';
import { describe, expect, it, vi } from 'vitest';
import { DashboardApp } from '../src/components/DashboardApp.js';
import { createDashboardStore } from '../src/dashboard-store.js';
import { epochEvent, finishedAction, pipeline, plain } from './fixtures.js';

const tick = () => new Promise((resolve) => setTimeout(resolve, 60));

/** The last label of the loss chart's epoch axis: the x axis spans the epochs run so far. */
const lastEpochLabel = (frame: string) => {
  const axis = plain(frame)
    .split('\n')
    .find((line) => / epoch( +\d+)+\s*$/.test(line));
  return Number(axis?.match(/(\d+)\s*$/)?.[1]);
};

describe('DashboardApp', () => {
  it('redraws the loss chart as epoch events arrive through the store', async () => {
    const store = createDashboardStore('crypto-anomaly run');
    const { lastFrame, unmount } = render(
      <DashboardApp store={store} onQuit={() => {}} size={{ columns: 80, rows: 24 }} />,
    );
    store.dispatch(pipeline({ type: 'stage', stage: 'autoencoder', status: 'start' }));
    const seen: string[] = [];
    for (let epoch = 1; epoch <= 12; epoch++) {
      store.dispatch(pipeline(epochEvent(epoch, { epochs: 12 })));
      await tick();
      seen.push(lastFrame()!);
    }
    expect(plain(seen[0])).toMatch(/epoch 1\/12/);
    expect(plain(seen[11])).toMatch(/epoch 12\/12 · done/);
    expect(new Set(seen).size).toBe(12);
    expect(seen.map(lastEpochLabel)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    for (const line of plain(seen[11]).split('\n')) expect(line.length).toBeLessThanOrEqual(80);
    expect(plain(seen[11]).split('\n').length).toBeLessThanOrEqual(23);
    unmount();
  });

  it('switches panes with tab and the arrows, toggles the log scale with l, quits with q', async () => {
    const store = createDashboardStore('crypto-anomaly run');
    const onQuit = vi.fn();
    const { lastFrame, stdin, unmount } = render(
      <DashboardApp store={store} onQuit={onQuit} size={{ columns: 80, rows: 24 }} />,
    );
    store.dispatch(pipeline(epochEvent(3)));
    await tick();
    expect(plain(lastFrame())).toMatch(/\(linear\)/);
    stdin.write('l');
    await tick();
    expect(plain(lastFrame())).toMatch(/\(log scale\)/);
    expect(store.getState().logScale).toBe(true);
    stdin.write('\t');
    await tick();
    expect(store.getState().pane).toBe('attention');
    expect(plain(lastFrame())).toMatch(/attention: waiting for the first epoch/);
    stdin.write('\u001b[C'); // right arrow
    await tick();
    expect(store.getState().pane).toBe('isolation-forest');
    stdin.write('\u001b[D'); // left arrow
    await tick();
    expect(store.getState().pane).toBe('attention');
    expect(onQuit).not.toHaveBeenCalled();
    stdin.write('q');
    await tick();
    expect(onQuit).toHaveBeenCalledTimes(1);
    unmount();
  });

  it("ticks the running stage's elapsed time between events, then shows its wall time once done", async () => {
    const store = createDashboardStore('crypto-anomaly run');
    const { lastFrame, unmount } = render(
      <DashboardApp store={store} onQuit={() => {}} size={{ columns: 80, rows: 24 }} />,
    );
    store.dispatch({
      type: 'pipeline',
      event: { type: 'stage', stage: 'features', status: 'start' },
      at: Date.now() - 65_000,
    });
    await tick();
    const shown = () => plain(lastFrame()).match(/● features\s+(\d+m \d+s|\S+)/)?.[1];
    const first = shown();
    expect(first).toMatch(/^1m 0\ds$/);
    // No event arrives, yet the time moves on (the clock ticks once a second).
    const deadline = Date.now() + 10_000;
    while (shown() === first && Date.now() < deadline) await tick();
    expect(shown()).not.toBe(first);
    store.dispatch(pipeline({ type: 'stage', stage: 'features', status: 'done', elapsedMs: 70_000 }));
    await tick();
    expect(plain(lastFrame())).toMatch(/✓ features\s+1m 10s/);
    unmount();
  });

  it('ends on the top anomalies table', async () => {
    const store = createDashboardStore('crypto-anomaly run');
    const { lastFrame, unmount } = render(
      <DashboardApp store={store} onQuit={() => {}} size={{ columns: 80, rows: 24 }} />,
    );
    store.dispatch(pipeline(epochEvent(3)));
    store.dispatch(finishedAction('/tmp/out'));
    await tick();
    const frame = plain(lastFrame());
    expect(frame).toMatch(/consensus \(threshold 0\.6\)/);
    expect(frame).toMatch(/finished in 1m 01s · q exit/);
    unmount();
  });
});
