import { randomBytes } from 'node:crypto';
import { access, lstat, mkdir, mkdtemp, readdir, readFile, rename, rm, rmdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { processAlive } from '@crypto-anomaly/data';
import { FOLDER_MARKER_FILE, type FolderKind, type FolderMarker } from '../api.js';
import { CoreError } from '../errors.js';
import { writeJsonAtomic } from './atomic-write.js';

/**
 * Folders this program owns: a run's outputs and a saved model. Each carries a marker file
 * (`.crypto-anomaly.json`) naming its kind, its run and every file of its set. A folder is only
 * ever replaced when it is absent, empty, or ours (marker of the right kind, nothing in it that
 * the marker does not list), and it is replaced whole: the new set is written into a sibling
 * temporary folder that one rename swaps in, so a reader sees the old set or the new one.
 */

/**
 * Internal hooks where tests simulate a crash (e.g. SIGKILL): after a set is complete and before
 * the swap, and between its two renames. Not exported from the package.
 */
export const folderTestHooks: {
  beforeSwap?: (target: string) => Promise<void> | void;
  betweenRenames?: (target: string) => Promise<void> | void;
} = {};

/** A new run id: sortable by time, unique enough for folder names. */
export function newRunId(): string {
  const time = new Date()
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `${time}-${randomBytes(3).toString('hex')}`;
}

/** The name of the folders a write is tried with (created and removed at once). */
const PROBE_PREFIX = '.crypto-anomaly-probe-';

/** Path of the temporary (`tmp`) or displaced (`old`) sibling of `target` for a run. */
function siblingOf(target: string, runId: string, suffix: 'tmp' | 'old'): string {
  return join(dirname(target), `.${basename(target)}.${runId}.${suffix}`);
}

/** The marker of `dir`, or undefined when it has none (or not one of ours). */
export async function readFolderMarker(dir: string): Promise<FolderMarker | undefined> {
  let value: Partial<FolderMarker>;
  try {
    value = JSON.parse(await readFile(join(dir, FOLDER_MARKER_FILE), 'utf8')) as Partial<FolderMarker>;
  } catch {
    return undefined;
  }
  const valid =
    value.format === 'crypto-anomaly-folder' &&
    (value.kind === 'outputs' || value.kind === 'model') &&
    typeof value.runId === 'string' &&
    Array.isArray(value.files) &&
    value.files.every((file) => typeof file === 'string');
  return valid ? (value as FolderMarker) : undefined;
}

/** Every file under `dir` (symbolic links included, not followed), as '/'-separated relative paths. */
async function filesUnder(dir: string): Promise<string[]> {
  return (await entriesUnder(dir)).files;
}

/** Every file and every folder under `dir`, as '/'-separated relative paths. */
async function entriesUnder(dir: string): Promise<{ files: string[]; folders: string[] }> {
  // A write probe of another run checking this folder at the same moment (assertRemovable) is not
  // a file of anyone's.
  const entries = (await readdir(dir, { recursive: true, withFileTypes: true })).filter(
    (entry) => !entry.name.startsWith(PROBE_PREFIX),
  );
  const path = (entry: (typeof entries)[number]) =>
    relative(dir, join(entry.parentPath, entry.name)).split(sep).join('/');
  return {
    files: entries
      .filter((entry) => !entry.isDirectory())
      .map(path)
      .sort(),
    folders: entries
      .filter((entry) => entry.isDirectory())
      .map(path)
      .sort(),
  };
}

/**
 * What under `dir` neither its marker lists nor its own model folder's does: files and folders we
 * did not write as part of this set. Only `model/` of a run's outputs vouches for its files (the
 * run's model, re-saved by `train --out DIR/model`); any other marked folder inside (a model saved
 * there by `train --out`, another run, an evaluation) is not part of the set and would be lost.
 */
async function foreignFiles(dir: string, marker: FolderMarker): Promise<string[]> {
  const listed = new Set([FOLDER_MARKER_FILE, ...marker.files]);
  const subMarker = marker.kind === 'outputs' ? await readFolderMarker(join(dir, 'model')) : undefined;
  const model = subMarker?.kind === 'model' ? new Set([FOLDER_MARKER_FILE, ...subMarker.files]) : undefined;
  const ours = (file: string) =>
    listed.has(file) || (file.startsWith('model/') && (model?.has(file.slice('model/'.length)) ?? false));
  const { files, folders } = await entriesUnder(dir);
  const foreign = files.filter((file) => !ours(file));
  // A folder holding none of the set's files (a user's, even empty) is not ours either.
  const kept = files.filter(ours);
  for (const folder of folders) {
    if (!kept.some((file) => file.startsWith(`${folder}/`))) foreign.push(`${folder}/`);
  }
  return foreign;
}

/**
 * Folders saved before markers existed, recognised only when every file has one of the names
 * this program writes (so nothing a user wrote can match) and the manifest or summary says so.
 */
const LEGACY_MODEL_FILE =
  /^(pipeline\.json|(isolation-forest|autoencoder|attention)\/(detector\.json|model\.json|weights\.bin))$/;
const LEGACY_OUTPUT_FILE =
  /^([A-Z0-9]+_processed_data\.csv|anomalies_(isolation_forest|autoencoder|attention|consensus)\.csv|summary\.json|chart_(price_anomalies|scores|training_loss|agreement)\.png)$/;

async function isLegacyFolder(dir: string, kind: FolderKind, files: string[]): Promise<boolean> {
  const readJson = async (path: string): Promise<Record<string, unknown> | undefined> =>
    JSON.parse(await readFile(path, 'utf8').catch(() => 'null')) ?? undefined;
  try {
    if (kind === 'model') {
      if (!files.includes('pipeline.json') || !files.every((file) => LEGACY_MODEL_FILE.test(file)))
        return false;
      return (await readJson(join(dir, 'pipeline.json')))?.['format'] === 'crypto-anomaly-pipeline';
    }
    const inModel = files.filter((file) => file.startsWith('model/')).map((file) => file.slice(6));
    if (
      !files.includes('summary.json') ||
      !files.every((file) => LEGACY_OUTPUT_FILE.test(file) || file.startsWith('model/')) ||
      (inModel.length > 0 && !(await isLegacyFolder(join(dir, 'model'), 'model', inModel)))
    ) {
      return false;
    }
    const summary = await readJson(join(dir, 'summary.json'));
    return typeof summary?.['mode'] === 'string' && typeof summary?.['versions'] === 'object';
  } catch {
    return false;
  }
}

function describeFiles(files: readonly string[]): string {
  const shown = files.slice(0, 3).join(', ');
  return files.length > 3 ? `${shown} and ${files.length - 3} more` : shown;
}

const KIND_NAMES: Record<FolderKind, string> = { outputs: 'a run’s outputs', model: 'a saved model' };

function notOurs(
  target: string,
  kind: FolderKind,
  what: string,
  instead = 'choose a new or empty folder',
): CoreError {
  return new CoreError(
    'TARGET_NOT_OURS',
    `${target} ${what}, so crypto-anomaly will not replace it with ${KIND_NAMES[kind]}: ` +
      `${instead} (nothing was written).`,
  );
}

/**
 * Throws `TARGET_NOT_OURS` unless `target` is absent, an empty folder, or a folder this program
 * wrote of this kind with nothing else in it.
 */
async function assertReplaceable(target: string, kind: FolderKind): Promise<void> {
  let isDirectory: boolean;
  try {
    const stats = await lstat(target);
    if (stats.isSymbolicLink()) {
      throw notOurs(
        target,
        kind,
        'is a symbolic link, and crypto-anomaly replaces its folders whole (the link with them)',
        'give the folder it points to, or a new folder',
      );
    }
    isDirectory = stats.isDirectory();
  } catch (error) {
    if (error instanceof CoreError) throw error;
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new CoreError('TARGET_NOT_WRITABLE', `Cannot read ${target}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (!isDirectory) throw notOurs(target, kind, 'is a file, not a folder');
  const files = await filesUnder(target);
  if (files.length === 0) return;
  const marker = await readFolderMarker(target);
  if (marker) {
    if (marker.kind !== kind) throw notOurs(target, kind, `holds ${KIND_NAMES[marker.kind]}`);
    const foreign = await foreignFiles(target, marker);
    if (foreign.length > 0) {
      throw notOurs(
        target,
        kind,
        `holds files that are not part of the set crypto-anomaly wrote there (${describeFiles(foreign)})`,
      );
    }
    return;
  }
  if (await isLegacyFolder(target, kind, files)) return;
  throw notOurs(target, kind, `is not empty (${describeFiles(files)}) and was not written by crypto-anomaly`);
}

/** The closest folder that exists at or above `path`. */
async function closestExisting(path: string): Promise<string> {
  for (let current = path; ; current = dirname(current)) {
    try {
      await access(current);
      return current;
    } catch {
      if (dirname(current) === current) return current;
    }
  }
}

/** Throws `TARGET_NOT_WRITABLE` unless a folder can be created beside `target` (what the swap needs). */
async function assertWritableParent(target: string): Promise<void> {
  const existing = await closestExisting(dirname(target));
  try {
    // A real write, not access(): root passes every permission check, even in /proc.
    await rmdir(await mkdtemp(join(existing, PROBE_PREFIX)));
  } catch (error) {
    throw new CoreError(
      'TARGET_NOT_WRITABLE',
      `Cannot create ${target}: ${existing} is not writable (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}). ` +
        'Choose a folder you can write to (nothing was written).',
      { cause: error },
    );
  }
}

/** Whether the process that wrote a marker may still be running (always, if it ran on another host). */
function isAlive(writer: FolderMarker['writer'] | undefined): boolean {
  if (!writer) return false;
  return writer.host !== hostname() || processAlive(writer.pid);
}

/**
 * Repairs what a killed writer left beside `target`: when `target` is missing between the two
 * renames of a swap, the displaced set (`.NAME.<run>.old`) comes back; temporary and displaced
 * folders of writers that are gone are removed, but only when they carry our marker.
 */
async function recover(target: string, kind: FolderKind): Promise<void> {
  const parent = dirname(target);
  const prefix = `.${basename(target)}.`;
  let names: string[];
  try {
    // Only names this program gives (`.NAME.<run id>.tmp|old`, see siblingOf): a user's `.NAME.old`
    // backup, or any other name, is never touched.
    names = (await readdir(parent)).filter(
      (name) => name.startsWith(prefix) && RUN_SIBLING.test(name.slice(prefix.length)),
    );
  } catch {
    return;
  }
  const found: { path: string; runId: string; marker: FolderMarker; old: boolean }[] = [];
  for (const name of names) {
    const path = join(parent, name);
    const marker = await readFolderMarker(path);
    const runId = name.slice(prefix.length, -4);
    const old = name.endsWith('.old');
    // A temporary folder is marked with its own run id at once (FolderSet.open).
    if (marker?.kind === kind && (old || marker.runId === runId)) found.push({ path, runId, marker, old });
  }
  // A temporary folder is stale when its writer is gone; a displaced one when the run swapping it is.
  const writerOf = (runId: string) =>
    found.find((entry) => !entry.old && entry.runId === runId)?.marker.writer;
  const leftovers = found.filter((entry) =>
    entry.old ? !isAlive(writerOf(entry.runId)) : !isAlive(entry.marker.writer),
  );
  // Missing (or only an empty folder in its place): the newest displaced set comes back.
  const entries = await readdir(target).catch(() => undefined);
  const newest = leftovers
    .filter((leftover) => leftover.old)
    .sort((a, b) => a.marker.createdAt.localeCompare(b.marker.createdAt))
    .at(-1);
  if (newest && (entries === undefined || entries.length === 0)) {
    if (entries) await rmdir(target);
    await rename(newest.path, target);
    leftovers.splice(leftovers.indexOf(newest), 1);
  }
  for (const { path } of leftovers) {
    await rm(path, { recursive: true, force: true }).catch((error: NodeJS.ErrnoException) => {
      throw new CoreError(
        'TARGET_NOT_WRITABLE',
        `${path}, left by an earlier run into ${target} that was stopped or could not finish, cannot be removed ` +
          `(${error.code ?? error.message}). Make it writable (chmod -R u+w) or remove it, then run again ` +
          '(nothing was written).',
        { cause: error },
      );
    });
  }
}

/** A run id (newRunId) and the suffix of a temporary or displaced sibling. */
const RUN_SIBLING = /^\d{8}T\d{6}Z-[0-9a-f]{6}\.(tmp|old)$/;

/**
 * Throws `TARGET_NOT_WRITABLE` when the folder being replaced, or a folder in it, is read-only:
 * replacing it would fail half-way (the new set swapped in, the old one left beside it). A real
 * write, as in assertWritableParent.
 */
async function assertRemovable(target: string): Promise<void> {
  let folders: string[];
  try {
    folders = (await entriesUnder(target)).folders.map((folder) => join(target, folder));
  } catch {
    return; // absent
  }
  for (const folder of [target, ...folders]) {
    try {
      await rmdir(await mkdtemp(join(folder, PROBE_PREFIX)));
    } catch (error) {
      throw new CoreError(
        'TARGET_NOT_WRITABLE',
        `${target} cannot be replaced: ${folder} is read-only (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}). ` +
          'Make it writable (chmod -R u+w) or choose another folder (nothing was written).',
        { cause: error },
      );
    }
  }
}

/**
 * Checks, before any work, that a set of `kind` may be written to `target`: repairs what a killed
 * run left, refuses (`TARGET_NOT_OURS`) a folder that is not ours, and (`TARGET_NOT_WRITABLE`) one
 * that cannot be created. Returns the absolute target.
 */
export async function prepareTarget(dir: string, kind: FolderKind): Promise<string> {
  const target = resolve(dir);
  if (dirname(target) === target) throw notOurs(target, kind, 'is the root of the file system');
  await assertReplaceable(target, kind);
  if (isInside(process.cwd(), target)) {
    // The swap would pull the folder from under this process and the shell it runs in.
    throw new CoreError(
      'TARGET_NOT_OURS',
      `${target} is the current folder or holds it, and crypto-anomaly replaces its folders whole: ` +
        'choose a sub-folder instead, e.g. output (nothing was written).',
    );
  }
  await recover(target, kind);
  await assertReplaceable(target, kind);
  await assertRemovable(target);
  await assertWritableParent(target);
  return target;
}

/**
 * One set of files being written: into `staging`, a temporary sibling of `target`, then swapped
 * in whole by `commit`, or removed by `discard`.
 */
export class FolderSet {
  private constructor(
    readonly target: string,
    readonly kind: FolderKind,
    readonly runId: string,
    readonly staging: string,
  ) {}

  /** Prepares `dir` (see `prepareTarget`) and creates the temporary folder, marked as ours at once. */
  static async open(dir: string, kind: FolderKind, runId: string): Promise<FolderSet> {
    const target = await prepareTarget(dir, kind);
    const staging = siblingOf(target, runId, 'tmp');
    try {
      await mkdir(dirname(target), { recursive: true });
      await mkdir(staging);
    } catch (error) {
      throw new CoreError('TARGET_NOT_WRITABLE', `Cannot create ${staging}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    const set = new FolderSet(target, kind, runId, staging);
    await set.writeMarker([], false);
    return set;
  }

  /** Where a file of the set is written now (in the temporary folder). */
  stagingPath(name: string): string {
    return join(this.staging, name);
  }

  /** Where a file of the set will be once committed. */
  finalPath(name: string): string {
    return join(this.target, name);
  }

  private async writeMarker(files: string[], partial: boolean): Promise<void> {
    const marker: FolderMarker = {
      format: 'crypto-anomaly-folder',
      kind: this.kind,
      runId: this.runId,
      createdAt: new Date().toISOString(),
      files,
      partial,
      writer: { pid: process.pid, host: hostname() },
    };
    await writeJsonAtomic(join(this.staging, FOLDER_MARKER_FILE), marker);
  }

  /**
   * Lists the set in its marker and swaps it in: the old folder (checked again: still ours) is
   * renamed aside, the new one renamed in, the old one removed. Returns the files of the set.
   */
  async commit(options: { partial?: boolean } = {}): Promise<string[]> {
    const files = (await filesUnder(this.staging)).filter((file) => file !== FOLDER_MARKER_FILE);
    const previous = siblingOf(this.target, this.runId, 'old');
    let displaced = false;
    try {
      await this.writeMarker(files, options.partial ?? false);
      await folderTestHooks.beforeSwap?.(this.target);
      await assertReplaceable(this.target, this.kind);
      displaced = await rename(this.target, previous).then(
        () => true,
        (error: NodeJS.ErrnoException) => {
          if (error.code === 'ENOENT') return false;
          throw error;
        },
      );
      if (displaced) await folderTestHooks.betweenRenames?.(this.target);
      await rename(this.staging, this.target);
    } catch (error) {
      // The old set goes back where it was; the new one (ours, in its temporary folder) is dropped.
      if (displaced) await rename(previous, this.target).catch(() => {});
      await this.discard();
      if (error instanceof CoreError) throw error;
      throw new CoreError('IO', `Could not replace ${this.target}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    // The new set is in place; an old one that cannot be removed now (made read-only since the
    // checks) stays beside it, and the next run into this folder names it (recover).
    if (displaced) await rm(previous, { recursive: true, force: true }).catch(() => {});
    return files;
  }

  /** Removes the temporary folder (ours: created by `open`). */
  async discard(): Promise<void> {
    await rm(this.staging, { recursive: true, force: true });
  }
}

/** True when `inner` is `outer` or inside it. */
export function isInside(inner: string, outer: string): boolean {
  const path = relative(resolve(outer), resolve(inner));
  return path === '' || (path !== '..' && !path.startsWith(`..${sep}`) && !isAbsolute(path));
}
