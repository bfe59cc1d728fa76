/**
 * Reading the files of a saved model folder safely: every read stays inside the folder (links to
 * outside are refused), a file that is missing, not JSON or not what its schema says is a
 * `CoreError` `MODEL_INVALID` naming the file, the key and what to do. The manifest
 * (model-manifest.ts) and each detector's own files are read through here.
 */
import { readFile, realpath, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { z } from 'zod';
import { CoreError } from './errors.js';
import { isInside as isWithin } from './outputs/owned-folder.js';
import { describeValue } from './validate.js';

/** The manifest's file name in a model folder. */
export const MANIFEST_FILE = 'pipeline.json';

/** What to do about a damaged model folder; ends every `MODEL_INVALID` message. */
export const RETRAIN_HINT =
  'The model folder is damaged or was not written by crypto-anomaly: train it again ' +
  '(trainPipeline or runPipeline).';

/** A `MODEL_INVALID` error: `file`, then the problem (which names the key), then what to do. */
export function modelInvalid(file: string, problem: string, options?: { cause?: unknown }): CoreError {
  return new CoreError('MODEL_INVALID', `${file}: ${problem.replace(/\.$/, '')}. ${RETRAIN_HINT}`, options);
}

/** `a.b[2].c` from a zod issue path. */
function keyPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (text, key) =>
      typeof key === 'number' ? `${text}[${key}]` : text ? `${text}.${String(key)}` : String(key),
    '',
  );
}

function valueAt(value: unknown, path: readonly PropertyKey[]): unknown {
  let current = value;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}

function shortValue(value: unknown): string {
  const text = describeValue(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

const KIND_NAMES: Record<string, string> = {
  number: 'a finite number',
  int: 'an integer',
  string: 'a string',
  array: 'a list',
  object: 'an object',
  record: 'an object',
  boolean: 'true or false',
};

/** Issue messages phrased to follow a key: "detectors[1].threshold.value must be a finite number". */
const phrase: z.core.$ZodErrorMap = (issue) => {
  switch (issue.code) {
    case 'invalid_type':
      return `must be ${KIND_NAMES[issue.expected] ?? issue.expected}`;
    case 'too_small':
    case 'too_big': {
      const bound = issue.code === 'too_small' ? issue.minimum : issue.maximum;
      if (issue.origin === 'array') {
        return issue.code === 'too_small' && Number(bound) === 1
          ? 'must not be empty'
          : `must have ${issue.code === 'too_small' ? 'at least' : 'at most'} ${bound} entries`;
      }
      if (issue.origin === 'string') return 'must not be empty';
      const word =
        issue.code === 'too_small'
          ? issue.inclusive
            ? 'at least'
            : 'greater than'
          : issue.inclusive
            ? 'at most'
            : 'less than';
      return `must be ${word} ${bound}`;
    }
    case 'invalid_value':
      return issue.values.length === 1
        ? `must be ${JSON.stringify(issue.values[0])}`
        : `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'invalid_union':
      return 'options' in issue && Array.isArray(issue.options)
        ? `must be one of ${issue.options.map((v: unknown) => JSON.stringify(v)).join(', ')}`
        : 'has none of the accepted forms';
    default:
      return undefined;
  }
};

/**
 * Checks `value`, read from `file`, against `schema`; throws `MODEL_INVALID` naming the file and
 * each key at fault (the first three) with its value.
 */
export function parseModelFile<Schema extends z.ZodType>(
  schema: Schema,
  value: unknown,
  file: string,
  prefix: readonly PropertyKey[] = [],
): z.output<Schema> {
  const result = schema.safeParse(value, { error: phrase });
  if (result.success) return result.data;
  const problems = result.error.issues.slice(0, 3).map((issue) => {
    const key = keyPath([...prefix, ...issue.path]) || 'the top level';
    const actual = valueAt(value, issue.path);
    // A rule about a whole section reads as a sentence; one about a single value shows it.
    if (issue.code === 'custom' && actual !== null && typeof actual === 'object') {
      return `${key}: ${issue.message}`;
    }
    return actual === undefined && issue.path.length > 0
      ? `${key} is missing`
      : `${key} ${issue.message}, got ${shortValue(actual)}`;
  });
  const more = result.error.issues.length - problems.length;
  throw modelInvalid(file, problems.join('; ') + (more > 0 ? ` (and ${more} more)` : ''));
}

/** True when `path` is strictly inside `root` (both real paths). */
function isInside(root: string, path: string): boolean {
  return path !== root && isWithin(path, root);
}

/**
 * Reads a file of a saved model, refusing one that is (or links to) a file outside `root`. A
 * missing or unreadable file is an `IO` error (its cause keeps the errno).
 */
export async function readModelBytes(path: string, root: string): Promise<Buffer> {
  let real: string;
  try {
    real = await realpath(path);
  } catch (error) {
    throw new CoreError('IO', `Cannot read ${path}: ${(error as Error).message}.`, { cause: error });
  }
  const realRoot = await realpath(root);
  if (!isInside(realRoot, real)) {
    throw modelInvalid(
      path,
      `is a link to ${real}, outside the model folder ${realRoot}; refusing to read it`,
    );
  }
  try {
    return await readFile(real);
  } catch (error) {
    throw new CoreError('IO', `Cannot read ${path}: ${(error as Error).message}.`, { cause: error });
  }
}

/** `readModelBytes`, parsed as JSON: a file that is not JSON (e.g. truncated) is `MODEL_INVALID`. */
export async function readModelJson(path: string, root: string): Promise<unknown> {
  const text = (await readModelBytes(path, root)).toString('utf8');
  try {
    return JSON.parse(text);
  } catch (error) {
    throw modelInvalid(path, `is not valid JSON (${(error as Error).message})`, { cause: error });
  }
}

/** Builds the detector from saved options; the constructor's own checks name `options` in `path`. */
export function fromSavedOptions<Detector>(path: string, create: () => Detector): Detector {
  try {
    return create();
  } catch (error) {
    if (!(error instanceof CoreError)) throw error;
    throw modelInvalid(path, `options: ${error.message}`, { cause: error });
  }
}

/** True for an IO error whose file is missing (inside a model folder: a damaged folder). */
export function isMissingFile(error: unknown): boolean {
  return (
    error instanceof CoreError &&
    error.code === 'IO' &&
    (error.cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT'
  );
}

// ---------------------------------------------------------------------------------------------
// The manifest.

/**
 * The folder of `manifest.detectors[index]` inside the model folder `dir`, checked on disk: it
 * must exist, be a folder, and not be a link to outside `dir`.
 */
export async function detectorFolder(dir: string, folder: string, index: number): Promise<string> {
  const path = join(dir, MANIFEST_FILE);
  const key = `detectors[${index}].folder`;
  const target = resolve(dir, folder);
  let real: string;
  try {
    real = await realpath(target);
  } catch (error) {
    throw modelInvalid(path, `${key} names ${describeValue(folder)}, which is not in ${dir}`, {
      cause: error,
    });
  }
  const root = await realpath(dir);
  if (!isInside(root, real)) {
    throw modelInvalid(
      path,
      `${key} names ${describeValue(folder)}, a link to ${real}, outside the model folder ${root}; refusing to read it`,
    );
  }
  if (!(await stat(real)).isDirectory()) {
    throw modelInvalid(path, `${key} names ${describeValue(folder)}, which is not a folder`);
  }
  return target;
}
