import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { FOLDER_MARKER_FILE, type FolderMarker } from '../api.js';
import { CoreError } from '../errors.js';
import { writeFileAtomic, writeJsonAtomic } from '../outputs/atomic-write.js';
import { newRunId, readFolderMarker } from '../outputs/owned-folder.js';
import { EVALUATION_FILES, type EvaluationReport } from './api.js';

/**
 * Where `evaluate` writes `evaluation.json` and its chart: beside a run's files (by default), or in
 * a folder of its own. It never overwrites a file it did not write: a folder that holds our marker
 * may take the two files (the marker then lists them, so a later run into the folder still knows
 * every file in it as ours); an absent or empty folder is created and marked; anything else, and
 * an `evaluation.json` the marker does not list, is refused with `TARGET_NOT_OURS` before any work.
 */

const OUR_FILES: readonly string[] = [EVALUATION_FILES.report, EVALUATION_FILES.chart];

type Target = { dir: string; marker: FolderMarker | undefined };

/**
 * Internal hook where a test lets a run replace the folder while an evaluation is written, after
 * its files and before its marker. Not exported from the package.
 */
export const evaluationTestHooks: { beforeMarker?: (target: string) => Promise<void> | void } = {};

function notOurs(dir: string, what: string): CoreError {
  return new CoreError(
    'TARGET_NOT_OURS',
    `${dir} ${what}, so the evaluation is not written there: give --out a new or empty folder, ` +
      "or the evaluated run's own folder (nothing was written).",
  );
}

/** Checks that the evaluation may be written into `dir` (see the module comment); returns its state. */
export async function prepareEvaluationTarget(dir: string): Promise<Target> {
  const target = resolve(dir);
  let entries: string[];
  try {
    if (!(await stat(target)).isDirectory()) throw notOurs(target, 'is a file, not a folder');
    entries = await readdir(target);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { dir: target, marker: undefined };
    if (error instanceof CoreError) throw error;
    throw new CoreError('TARGET_NOT_WRITABLE', `Cannot read ${target}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (entries.length === 0) return { dir: target, marker: undefined };
  const marker = await readFolderMarker(target);
  if (!marker) {
    throw notOurs(
      target,
      `is not empty (${entries.slice(0, 3).join(', ')}) and was not written by crypto-anomaly`,
    );
  }
  if (marker.kind !== 'outputs') throw notOurs(target, 'holds a saved model');
  const foreign = OUR_FILES.filter((file) => entries.includes(file) && !marker.files.includes(file));
  if (foreign.length > 0) {
    throw notOurs(target, `holds ${foreign.join(' and ')}, which crypto-anomaly did not write`);
  }
  return { dir: target, marker };
}

/**
 * Writes `evaluation.json` (and the chart's PNG when given, else removes a chart of an earlier
 * evaluation, which would no longer match) into `dir`, each file atomically, and lists them in
 * the folder's marker. Returns the paths written.
 */
export async function writeEvaluation(
  dir: string,
  report: EvaluationReport,
  chartPng?: Uint8Array,
): Promise<{ report: string; chart?: string }> {
  const { dir: target, marker } = await prepareEvaluationTarget(dir);
  // Another run's folder keeps its own evaluation: its report shows that one, of its own scores.
  if (report.from && marker?.files.includes('summary.json') && marker.runId !== report.from['runId']) {
    throw notOurs(
      target,
      `is the output folder of another run (${marker.runId}), whose own evaluation this would replace`,
    );
  }
  try {
    await mkdir(target, { recursive: true });
  } catch (error) {
    throw new CoreError('TARGET_NOT_WRITABLE', `Cannot create ${target}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const written: string[] = [EVALUATION_FILES.report];
  // NaN (an undefined measure) becomes null, as JSON.stringify writes it.
  await writeJsonAtomic(join(target, EVALUATION_FILES.report), report);
  if (chartPng) {
    await writeFileAtomic(join(target, EVALUATION_FILES.chart), chartPng);
    written.push(EVALUATION_FILES.chart);
  } else if (marker?.files.includes(EVALUATION_FILES.chart)) {
    await rm(join(target, EVALUATION_FILES.chart), { force: true });
  }
  await evaluationTestHooks.beforeMarker?.(target);
  // The marker is read again just before it is rewritten, keeping every field it has. A run that
  // swapped its new set in meanwhile (its folder is replaced whole) owns the folder now: this
  // evaluation, of the set that was there, must not be listed as part of it.
  const now = await readFolderMarker(target);
  if (now?.runId !== marker?.runId) {
    for (const file of written) {
      if (!now?.files.includes(file)) await rm(join(target, file), { force: true });
    }
    throw new CoreError(
      'TARGET_NOT_OURS',
      `${target} was replaced by ${now ? `run ${now.runId}` : 'another writer'} while the evaluation was written, ` +
        'so it was not kept there: evaluate again (the new run is evaluated then).',
    );
  }
  const current = marker
    ? (JSON.parse(await readFile(join(target, FOLDER_MARKER_FILE), 'utf8')) as FolderMarker)
    : undefined;
  const files = [...(current?.files ?? []).filter((file) => !OUR_FILES.includes(file)), ...written].sort();
  const next: FolderMarker = current
    ? { ...current, files }
    : {
        format: 'crypto-anomaly-folder',
        kind: 'outputs',
        runId: newRunId(),
        createdAt: new Date().toISOString(),
        files,
        partial: false,
        writer: { pid: process.pid, host: hostname() },
      };
  await writeJsonAtomic(join(target, FOLDER_MARKER_FILE), next);
  return {
    report: join(target, EVALUATION_FILES.report),
    ...(chartPng ? { chart: join(target, EVALUATION_FILES.chart) } : {}),
  };
}
