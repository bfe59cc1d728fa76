import type * as TF from '@tensorflow/tfjs-core';
import { BACKEND_PREFERENCES, type BackendPreference } from './api.js';
import { CoreError } from './errors.js';
import { loadTensorFlow } from './tf/tensorflow.js';
import { assertOneOf } from './validate.js';

/**
 * Refuses anything but a `BackendPreference`: a typo or another case ('gpu', 'WASM') would
 * otherwise fall through to the plain JavaScript backend, 2-4 times slower, without a word.
 */
export function assertBackendPreference(name: string, value: unknown): BackendPreference {
  return assertOneOf(name, value, BACKEND_PREFERENCES);
}

export interface BackendInfo {
  /** The preference asked for. */
  requested: BackendPreference;
  /** The backend now in use, as TensorFlow.js names it (`tensorflow` is tfjs-node). */
  name: 'tensorflow' | 'wasm' | 'cpu';
  /** One line for people: which backend and why. */
  description: string;
}

// Not a dependency (its installer downloads libtensorflow, which often fails): used only when
// the user installed it. A variable keeps bundlers and tsc from resolving it at build time.
const TFJS_NODE = '@tensorflow/tfjs-node';

async function tryNode(): Promise<string | undefined> {
  try {
    const tf = await loadTensorFlow();
    await import(TFJS_NODE);
    if (await tf.setBackend('tensorflow')) return undefined;
    return 'tfjs-node loaded but its backend did not initialise';
  } catch (error) {
    return `${TFJS_NODE} is not installed or cannot load (${(error as Error).message.split('\n')[0]})`;
  }
}

async function tryWasm(): Promise<string | undefined> {
  try {
    const tf = await loadTensorFlow();
    await import('@tensorflow/tfjs-backend-wasm');
    if (await tf.setBackend('wasm')) return undefined;
    return 'the wasm backend did not initialise';
  } catch (error) {
    return `@tensorflow/tfjs-backend-wasm cannot load (${(error as Error).message})`;
  }
}

/** The backend chosen last (by `selectBackend` or `useBackend`); undefined before the first choice. */
let current: BackendInfo | undefined;

/**
 * Selects and initialises the TensorFlow.js backend: tfjs-node when it can be imported, else
 * the WebAssembly backend (single-threaded in Node), else the plain JavaScript `cpu` backend.
 * Loads TensorFlow.js first if nothing has yet.
 */
export async function selectBackend(requested: BackendPreference = 'auto'): Promise<BackendInfo> {
  current = await choose(assertBackendPreference('backend', requested));
  return current;
}

/**
 * The one place the backend is chosen for a run: the backend in use when there is one and the
 * caller has no preference (or the same one), else `selectBackend(preference ?? 'auto')`. The
 * autoencoders call it before they touch a tensor; a pipeline calls it once with the user's choice.
 */
export async function useBackend(preference?: BackendPreference): Promise<BackendInfo> {
  if (current && (preference === undefined || preference === current.requested)) return current;
  return selectBackend(preference ?? 'auto');
}

/** The preference that selects `backend` again (in a worker thread, say). */
export function preferenceOf(backend: BackendInfo): BackendPreference {
  return backend.name === 'tensorflow' ? 'node' : backend.name;
}

/** The backend in use, if one was chosen. */
export function currentBackend(): BackendInfo | undefined {
  return current;
}

async function choose(requested: BackendPreference): Promise<BackendInfo> {
  const reasons: string[] = [];
  if (requested === 'node' || requested === 'auto') {
    const failure = await tryNode();
    if (!failure) {
      return { requested, name: 'tensorflow', description: 'tfjs-node (native TensorFlow)' };
    }
    if (requested === 'node') {
      throw new CoreError(
        'BACKEND_UNAVAILABLE',
        `Backend "node" is unavailable: ${failure}. Install @tensorflow/tfjs-node@4.22.0 where it can ` +
          'download libtensorflow, or choose the "wasm" backend.',
      );
    }
    reasons.push(failure);
  }
  if (requested === 'wasm' || requested === 'auto') {
    const failure = await tryWasm();
    if (!failure) {
      const why = reasons.length > 0 ? ` (tfjs-node not used: ${reasons.join('; ')})` : '';
      return { requested, name: 'wasm', description: `tfjs-backend-wasm, single-threaded${why}` };
    }
    if (requested === 'wasm') {
      throw new CoreError(
        'BACKEND_UNAVAILABLE',
        `Backend "wasm" is unavailable: ${failure}. Choose the "cpu" backend.`,
      );
    }
    reasons.push(failure);
  }
  const tf = await loadTensorFlow();
  await import('@tensorflow/tfjs-backend-cpu');
  await tf.setBackend('cpu');
  await tf.ready();
  writeFirstTensorQuietly(tf);
  const why = reasons.length > 0 ? ` (faster backends unavailable: ${reasons.join('; ')})` : '';
  return { requested, name: 'cpu', description: `tfjs cpu backend, plain JavaScript${why}` };
}

/**
 * The cpu backend prints a banner to stderr on its first tensor ("Hi, looks like you are running
 * TensorFlow.js in Node.js..."), and the core never prints. TensorFlow.js's PROD flag silences
 * its warnings (in tfjs 4.22 it guards nothing else: no kernel or NaN check); it is set only
 * around that first tensor, so a caller's own TensorFlow.js keeps its warnings.
 */
function writeFirstTensorQuietly(tf: typeof TF): void {
  const env = tf.env();
  const prod = env.getBool('PROD');
  env.set('PROD', true);
  try {
    tf.tensor1d([0]).dispose();
  } finally {
    env.set('PROD', prod);
  }
}
