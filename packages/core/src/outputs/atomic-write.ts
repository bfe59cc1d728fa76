import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { writeFileAtomically } from '@crypto-anomaly/data';
import { CoreError } from '../errors.js';

/**
 * Writes a file atomically, through the data package's one atomic write (a temporary file beside
 * the target, flushed and renamed over it): a crash or abort mid-write leaves the old file (or
 * none), never half a file. Creates the folder; failures are `IO` errors naming the file.
 * `contents` may come in pieces (an iterable of strings, written as they are produced).
 */
export async function writeFileAtomic(
  path: string,
  contents: string | Uint8Array | Iterable<string>,
): Promise<void> {
  try {
    await mkdir(dirname(path), { recursive: true });
    await writeFileAtomically(path, (temporary) => writeFile(temporary, contents));
  } catch (error) {
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
