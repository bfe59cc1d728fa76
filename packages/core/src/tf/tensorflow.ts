import type * as TF from '@tensorflow/tfjs-core';

/**
 * TensorFlow.js core, once `loadTensorFlow()` has run; undefined before. Importing core does not
 * load TensorFlow.js (about 0.8 s and 60 MB): the autoencoders load it when they first train,
 * score or load, through `useBackend` in backend.ts, which also chooses the backend once. Modules
 * of the autoencoders read this live binding after awaiting that.
 */
export let tf: typeof TF = undefined as unknown as typeof TF;

let loading: Promise<typeof TF> | undefined;

/**
 * Loads tfjs-core and registers its gradients and chained ops (the parts of the `@tensorflow/tfjs`
 * umbrella core uses; see scripts/bundle-tfjs-gradients.mjs). Idempotent.
 */
export function loadTensorFlow(): Promise<typeof TF> {
  loading ??= (async () => {
    const core = await import('@tensorflow/tfjs-core');
    // Same depth from src/tf/ and dist/tf/: the bundle lives in the package's generated/ folder.
    await import(new URL('../../generated/tfjs-gradients.js', import.meta.url).href);
    tf = core;
    return core;
  })();
  return loading;
}

/** True once TensorFlow.js is loaded (by any caller). */
export function isTensorFlowLoaded(): boolean {
  return tf !== undefined;
}
