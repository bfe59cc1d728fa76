import { lstat, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Whether a process of this machine runs under `pid`: signal 0 tests without sending anything, and
 * EPERM means it runs under another user.
 */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * A leftover is removed only when untouched this long as well as its process gone: a writer on
 * another machine sharing the folder has a pid that means nothing here, but its file is fresh.
 */
const QUIET_MS = 60_000;

/**
 * Removes, in `folder`, what a writer killed mid-write (kill -9, a power cut) left: the entries
 * whose whole name `pattern` matches, its first group being the writer's pid, when that process
 * is gone and the entry has not changed for a minute. `kind` is what such an entry must be; any
 * other name, or an entry of another kind, is left. Failures are ignored: a sweep never stops the
 * work it precedes. Returns the names removed.
 */
export async function removeLeftovers(
  folder: string,
  pattern: RegExp,
  kind: 'file' | 'folder',
  now = Date.now(),
): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(folder);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const match = pattern.exec(name);
    if (!match || match[0] !== name) continue;
    const pid = Number(match[1]);
    if (!Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid || processAlive(pid)) continue;
    const path = join(folder, name);
    try {
      const stats = await lstat(path);
      if (kind === 'file' ? !stats.isFile() : !stats.isDirectory()) continue;
      if (now - stats.mtimeMs < QUIET_MS) continue;
      await rm(path, { recursive: kind === 'folder', force: true });
      removed.push(name);
    } catch {
      // Gone already, or not ours to remove: left as it is.
    }
  }
  return removed;
}

/**
 * A new folder of the system's temporary folder for this process alone, `PREFIX<pid>-XXXXXX`,
 * after removing those of the same prefix that processes killed before their clean-up left.
 */
export async function makeTemporaryFolder(prefix: string): Promise<string> {
  if (!/^[a-z][a-z0-9-]*-$/.test(prefix)) throw new Error(`temporary folder prefix ${prefix} must end in -`);
  const root = tmpdir();
  await removeLeftovers(root, new RegExp(`^${prefix}(\\d+)-[A-Za-z0-9]{6}$`), 'folder');
  return mkdtemp(join(root, `${prefix}${process.pid}-`));
}
