import { Worker } from 'node:worker_threads';
import type { TrainReply, TrainRequest } from './train-worker.js';

/**
 * Trains one symbol's model in a worker thread (see train-worker.ts) and resolves with the folder
 * it was saved in once it is. Rejects when training fails or the worker dies; on `signal` the
 * worker is asked to stop, then ended.
 */
export function trainInWorker(
  request: TrainRequest,
  signal: AbortSignal,
): Promise<{ modelDir: string; ms: number }> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./train-worker.js', import.meta.url), { workerData: request });
    let settled = false;
    const settle = (done: () => void) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      done();
    };
    const onAbort = () => {
      worker.postMessage({ type: 'stop' });
      // Training stops at its next batch; a worker that does not is ended.
      setTimeout(() => void worker.terminate(), 2_000).unref();
      settle(() => reject(signal.reason ?? new Error('stopped')));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    worker.on('message', (reply: TrainReply) => {
      if (reply.type === 'trained') settle(() => resolve({ modelDir: reply.modelDir, ms: reply.ms }));
      else settle(() => reject(new Error(`training failed: ${reply.message}`)));
    });
    worker.on('error', (error) => settle(() => reject(new Error(`training failed: ${error.message}`))));
    worker.on('exit', (code) =>
      settle(() =>
        reject(new Error(`training failed: its worker ended (exit code ${code}) before the model was saved`)),
      ),
    );
  });
}
