import type { CommandContext } from '../src/program.js';

/** A command context that records what a command prints. */
export function captureContext(width = 100) {
  const out: string[] = [];
  const err: string[] = [];
  const context: CommandContext = {
    out: (line) => out.push(line),
    err: (line) => err.push(line),
    width: () => width,
  };
  return { context, out, err, stdout: () => out.join('\n'), stderr: () => err.join('\n') };
}
