import { Worker } from 'node:worker_threads';
import type { TrainThreadReply, TrainThreadRequest } from './train-thread-main.js';

/**
 * Trains one pair in a worker thread (train-thread-main.ts) and resolves with the folder its model
 * was saved in once it is. Rejects when training fails or the thread dies; on `signal` the thread
 * is asked to stop (training stops at its next batch), and ended 2 s later if it has not.
 */
export function trainInThread(
  request: TrainThreadRequest,
  signal: AbortSignal,
  onEpoch: (event: Extract<TrainThreadReply, { type: 'epoch' }>) => void = () => {},
): Promise<{ modelDir: string; ms: number; candles: number }> {
  return new Promise((resolve, reject) => {
    const thread = new Worker(new URL('./train-thread-main.js', import.meta.url), { workerData: request });
    let settled = false;
    const settle = (done: () => void) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      done();
    };
    const onAbort = () => {
      thread.postMessage({ type: 'stop' });
      setTimeout(() => void thread.terminate(), 2_000).unref();
      settle(() => reject(signal.reason ?? new Error('stopped')));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    thread.on('message', (reply: TrainThreadReply) => {
      if (reply.type === 'epoch') onEpoch(reply);
      else if (reply.type === 'trained') settle(() => resolve(reply));
      else settle(() => reject(new Error(reply.message)));
    });
    thread.on('error', (error) => settle(() => reject(error)));
    thread.on('exit', (code) =>
      settle(() =>
        reject(new Error(`the training thread ended (exit code ${code}) before the model was saved`)),
      ),
    );
  });
}
