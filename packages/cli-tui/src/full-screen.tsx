import { type Instance, type RenderOptions, render } from 'ink';
import type { ReactElement } from 'react';

export interface TerminalSize {
  columns: number;
  rows: number;
}

/**
 * Renders a full-screen app that takes the terminal's size as a prop, and re-renders it with the
 * new size the moment the terminal is resized, before Ink's own redraw.
 *
 * Ink redraws on 'resize' at once. An app that learnt the size from a hook's state drew that frame
 * at the old width (state updates wait for a microtask), so a shrunk window wrapped it into a
 * garble until the next redraw. `rerender` commits synchronously, so the listener put in front of
 * Ink's has the new size in the tree when Ink draws.
 */
export function renderFullScreen(
  app: (size: TerminalSize) => ReactElement,
  options: RenderOptions,
): Instance {
  const stdout = options.stdout ?? process.stdout;
  // 80x24 where the stream does not say (a pipe).
  const read = (): TerminalSize => ({ columns: stdout.columns || 80, rows: stdout.rows || 24 });
  const instance = render(app(read()), options);
  const onResize = () => instance.rerender(app(read()));
  stdout.prependListener('resize', onResize);
  const unmount = instance.unmount;
  instance.unmount = (...args) => {
    stdout.off('resize', onResize);
    unmount(...args);
  };
  return instance;
}
