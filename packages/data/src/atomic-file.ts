import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';

/**
 * Writes a file so that a reader finds the old content or the new, never half of it: `write` fills
 * a temporary file beside the target (the same folder, so the rename stays on one file system),
 * which is flushed to disk and renamed over the target. On failure the temporary file is removed
 * and the target is left as it was. Every file the package writes goes through here.
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
    throw error;
  }
}
