import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { CoreError } from '../errors.js';

let counter = 0;

/**
 * Writes a file atomically: the bytes go to a temporary file beside the target, which is then
 * renamed over it. A crash or abort mid-write leaves the old file (or none), never half a file.
 */
export async function writeFileAtomic(path: string, contents: string | Uint8Array): Promise<void> {
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}.${++counter}.tmp`);
  try {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(temporary, contents);
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw new CoreError('IO', `Could not write ${path}: ${(error as Error).message}`, { cause: error });
  }
}

export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`);
}

/** Throws an AbortError-like CoreError when the signal is aborted. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    const reason = signal.reason instanceof Error ? signal.reason : undefined;
    throw reason ?? new DOMException('The pipeline was aborted.', 'AbortError');
  }
}
