import { randomBytes } from 'node:crypto';
import { lstat, mkdir, open, readlink, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { removeLeftovers } from './leftovers.js';

/**
 * Writes a file so that a reader finds the old content or the new, never half of it: `write` fills
 * a temporary file beside the target (the same folder, so the rename stays on one file system),
 * which is flushed to disk and renamed over the target. On failure the temporary file is removed
 * and the target is left as it was. Every file the package writes goes through here. The temporary
 * file of an earlier write to the same target whose process was killed is removed first.
 */
export async function writeFileAtomically<T>(
  path: string,
  write: (temporaryPath: string) => Promise<T>,
): Promise<T> {
  const target = resolve(path);
  const temporary = join(
    dirname(target),
    `.${basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.partial`,
  );
  try {
    // A missing folder is created, as a run's --out folder is.
    await mkdir(dirname(target), { recursive: true });
    // A write to this target killed before its rename (kill -9) left its temporary file.
    await removeLeftovers(
      dirname(target),
      new RegExp(`^\\.${escapeRegExp(basename(target))}\\.(\\d+)\\.[0-9a-f]{8}\\.partial$`),
      'file',
    );
    const result = await write(temporary);
    const handle = await open(temporary, 'r+');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, target);
    return result;
  } catch (error) {
    await rm(temporary, { force: true });
    // A system error (a full disk, a lost mount) names the file it was writing, not the hidden one.
    const system = error as NodeJS.ErrnoException;
    if (
      typeof system?.code === 'string' &&
      typeof system.syscall === 'string' &&
      !system.message.includes(target)
    ) {
      system.message = `cannot write ${target}: ${system.message}`;
    }
    throw error;
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * What a write to `path` would replace: nothing (no file, or an empty one), a folder, a symbolic
 * link (which the rename of writeFileAtomically would replace, link and all: the writer refuses
 * it), or a file whose first `bytes` bytes are given, for the writer to tell whether it wrote that
 * file itself (a header, a signature) before replacing it.
 */
export async function existingTarget(
  path: string,
  bytes: number,
): Promise<
  { kind: 'none' } | { kind: 'folder' } | { kind: 'link'; to: string } | { kind: 'file'; head: Buffer }
> {
  let size: number;
  try {
    const stats = await lstat(path);
    if (stats.isSymbolicLink()) return { kind: 'link', to: await readlink(path) };
    if (stats.isDirectory()) return { kind: 'folder' };
    size = stats.size;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'none' };
    throw error;
  }
  if (size === 0) return { kind: 'none' };
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(Math.min(size, bytes));
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    return { kind: 'file', head: buffer.subarray(0, bytesRead) };
  } finally {
    await handle.close();
  }
}
