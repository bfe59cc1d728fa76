import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

// Run with `eval` so the same launcher works from dist/ (installed) and src/ (tests, through tsx,
// which the thread registers first: a worker does not inherit the loader of the thread that
// started it). The module's `run` export is the thread's body.
const THREAD_SOURCE = `
import('node:worker_threads').then(async ({ workerData }) => {
  if (workerData.tsx) (await import(workerData.tsx)).register();
  (await import(workerData.entry)).run();
});
`;

/**
 * Starts a worker thread running the `run` export of `module` (a path relative to `from`, the
 * caller's `import.meta.url`, without extension: `.js` in dist/, `.ts` in src/), with `data` as
 * its `workerData`.
 */
export function startWorker(module: string, from: string, data: object): Worker {
  const fromSource = from.endsWith('.ts');
  const entry = new URL(`${module}.${fromSource ? 'ts' : 'js'}`, from).href;
  let tsx: string | undefined;
  if (fromSource) {
    // tsx's ESM API (its package maps `import` to index.mjs; require.resolve gives index.cjs).
    const api = createRequire(from).resolve('tsx/esm/api');
    tsx = pathToFileURL(api).href.replace(/\.cjs$/, '.mjs');
  }
  return new Worker(THREAD_SOURCE, {
    eval: true,
    workerData: { ...data, entry, ...(tsx ? { tsx } : {}) },
    ...(tsx ? { execArgv: ['--conditions=@crypto-anomaly/source'] } : {}),
  });
}
