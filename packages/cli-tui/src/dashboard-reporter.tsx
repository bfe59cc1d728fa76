import { DashboardApp } from './components/DashboardApp.js';
import { createDashboardStore } from './dashboard-store.js';
import { ExitCode } from './exit-codes.js';
import { renderFullScreen } from './full-screen.js';
import type { QuitKey } from './hooks/use-dashboard-keys.js';
import type { Reporter, ReporterOptions } from './reporter-api.js';

/**
 * The Ink dashboard as a `Reporter`. q or Ctrl+C while work runs aborts the controller (the
 * engine stops at a safe point); once the run finished, q exits.
 */
export function createDashboardReporter({ title, mode, controller }: ReporterOptions): Reporter {
  // Training sends an event per batch, hundreds a second, and each notification re-renders the
  // screen on the thread that trains the dense autoencoder: told at most 15 times a second (the
  // frame rate), the sample's run takes 5.1 s instead of 13.6 s in a 100x30 terminal (medians of
  // 4 paired runs), its dense autoencoder stage 1.4 s instead of 9.5 s.
  const store = createDashboardStore(title, mode, { minIntervalMs: 1000 / 15 });
  let quitAfterFinish: (() => void) | undefined;
  const onQuit = (how: QuitKey) => {
    if (quitAfterFinish) quitAfterFinish();
    // Ctrl+C is the terminal's interrupt, raw mode or not: the work stops as on SIGINT (exit 130,
    // and a second one leaves at once), as the help's exit codes say.
    else if (how === 'ctrl-c') process.kill(process.pid, 'SIGINT');
    else if (!controller.signal.aborted) {
      store.dispatch({ type: 'stopping' });
      controller.abort(new Error('stopped by the user'));
    } else {
      // A second q or Ctrl+C while the work winds down: leave at once.
      instance.unmount();
      process.exit(ExitCode.runtimeFailure);
    }
  };
  const instance = renderFullScreen((size) => <DashboardApp store={store} onQuit={onQuit} size={size} />, {
    exitOnCtrlC: false,
    patchConsole: true,
    maxFps: 15,
  });
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    const { phase } = store.getState();
    if (controller.signal.aborted && (phase === 'running' || phase === 'stopping')) {
      store.dispatch({ type: 'stopped' });
      store.flush();
      // Let Ink draw that last state (it renders at most 15 frames a second) before unmounting.
      await new Promise((resolve) => setTimeout(resolve, 120));
    }
    store.flush();
    instance.unmount();
    await instance.waitUntilExit().catch(() => {});
  };
  return {
    signal: controller.signal,
    line: (message) =>
      store.dispatch({ type: 'pipeline', event: { type: 'log', level: 'info', message }, at: Date.now() }),
    // Stamped with the clock the dashboard ticks with, for elapsed times and ETAs.
    event: (event) => store.dispatch({ type: 'pipeline', event, at: Date.now() }),
    fetchStarted: (expectedRows) =>
      store.dispatch({ type: 'fetch-start', ...(expectedRows !== undefined ? { expectedRows } : {}) }),
    fetchProgress: (progress) => store.dispatch({ type: 'fetch-progress', progress }),
    fetchDone: () => store.dispatch({ type: 'fetch-done' }),
    async finished(outcome) {
      store.dispatch({ type: 'finished', outcome });
      store.flush();
      // Without a keyboard (stdin not a terminal) nobody can press q: leave the final frame and go.
      if (!process.stdin.isTTY) return;
      await new Promise<void>((resolve) => {
        quitAfterFinish = resolve;
      });
    },
    close,
  };
}
