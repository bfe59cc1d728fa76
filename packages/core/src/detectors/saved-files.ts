import { lstat, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CoreError } from '../errors.js';

/** The files a detector's `save(dir)` writes: its state, and for a network its TensorFlow.js model. */
export const DETECTOR_FILE = 'detector.json';

/**
 * Refuses (`TARGET_NOT_OURS`, nothing written) a detector's `save(dir)` when a file it would write
 * is there and was not written by a save: a `detector.json` that is not a saved detector's state, a
 * `model.json` that is not a TensorFlow.js model, a `weights.bin` without such a `model.json`
 * beside it, or any of them a folder or a symbolic link. A save replaces an earlier save's files.
 */
export async function assertDetectorFilesReplaceable(dir: string, files: readonly string[]): Promise<void> {
  for (const file of files) {
    const path = join(dir, file);
    const stats = await lstat(path).catch(() => undefined);
    if (!stats) continue;
    const ours =
      stats.isFile() &&
      (file === 'weights.bin' ? await isSavedModel(join(dir, 'model.json')) : await isSavedJson(path, file));
    if (!ours) {
      throw new CoreError(
        'TARGET_NOT_OURS',
        `${path} exists and was not written by a detector's save, so nothing was saved into ${dir}: ` +
          'save into a new or empty folder, or one an earlier save wrote.',
      );
    }
  }
}

async function readJson(path: string): Promise<Record<string, unknown> | undefined> {
  try {
    const value = JSON.parse(await readFile(path, 'utf8')) as unknown;
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

async function isSavedModel(path: string): Promise<boolean> {
  const json = await readJson(path);
  return json !== undefined && 'modelTopology' in json && Array.isArray(json['weightsManifest']);
}

async function isSavedJson(path: string, file: string): Promise<boolean> {
  if (file === 'model.json') return isSavedModel(path);
  const json = await readJson(path);
  return json !== undefined && typeof json['name'] === 'string' && typeof json['formatVersion'] === 'number';
}
