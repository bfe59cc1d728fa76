import { renderFullScreen } from '../full-screen.js';
import { WatchApp } from './components/WatchApp.js';
import type { WatchDisplay } from './plain-display.js';
import { createWatchStore } from './watch-store.js';

/** The Ink dashboard of `watch`; q (or Ctrl+C) resolves `quit`, and the command stops the loop. */
export function createDashboardDisplay(title: string, mode: 'live' | 'replay'): WatchDisplay {
  // A replay at full speed dispatches thousands of events a second: the screen is told at most
  // 10 times a second, its frame rate, so rendering does not take the scoring's time.
  const store = createWatchStore(title, mode, { minIntervalMs: 100 });
  let onQuit: () => void = () => {};
  const quit = new Promise<void>((resolve) => {
    onQuit = resolve;
  });
  const instance = renderFullScreen(
    (size) => (
      <WatchApp
        store={store}
        // Ctrl+C while watching stops as SIGINT does (exit 130); q, or any key once a replay finished, leaves.
        onQuit={(how) =>
          how === 'ctrl-c' && !store.getState().finished ? process.kill(process.pid, 'SIGINT') : onQuit()
        }
        size={size}
      />
    ),
    {
      exitOnCtrlC: false,
      patchConsole: true,
      maxFps: 10,
    },
  );
  return {
    event: (event) => store.dispatch({ type: 'event', event }),
    note: (line) =>
      store.dispatch({
        type: 'event',
        event: { type: 'sink-error', sink: 'watch', message: line, at: Date.now() },
      }),
    quit,
    async close({ stopped = false } = {}) {
      store.flush();
      // A finished replay stays on screen until q; a stopped run (a signal, q) leaves at once.
      if (!stopped && store.getState().finished && process.stdin.isTTY) await quit;
      instance.unmount();
      await instance.waitUntilExit().catch(() => {});
    },
  };
}
