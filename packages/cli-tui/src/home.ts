import { homedir } from 'node:os';
import { join } from 'node:path';

/** `~` or `~/…` as the user's home folder, as a shell expands it (`~user` is left as it is). */
export function expandHome(path: string): string {
  return /^~(\/|$)/.test(path) ? join(homedir(), path.slice(1)) : path;
}
