import { rm } from 'node:fs/promises';
import type { BackendPreference, DetectorName, Matrix, PipelineConfig, PipelineEvent } from '../api.js';
import { loadDetector, type PipelineDetector } from '../detectors/registry.js';
import { CoreError, type CoreErrorCode } from '../errors.js';
import { startWorker } from '../worker-thread.js';

/** What a training thread is handed: one detector to fit on rows of one scaled matrix. */
export interface FitThreadRequest {
  name: Exclude<DetectorName, 'isolation-forest'>;
  config: PipelineConfig;
  /** Every row (scored at the end); the training and validation rows are ranges of it. */
  scaled: Matrix;
  train: { start: number; end: number };
  validation: { start: number; end: number };
  backend: BackendPreference;
}

/** What it posts: each event, then the scores of every row and the saved model's folder, or a failure. */
export type FitThreadReply =
  | { type: 'event'; event: PipelineEvent }
  | { type: 'fitted'; dir: string; scores: Float64Array; contributions: Float64Array }
  | { type: 'failed'; name: string; message: string; code?: CoreErrorCode };

/** A detector fitted in a thread, loaded back here, with its scores of every row. */
export interface ThreadFitted {
  detector: PipelineDetector;
  scores: Float64Array;
  contributions: Matrix;
}

/** The thread's error again: a CoreError with its code, else an Error of the same name. */
function threadError(reply: Extract<FitThreadReply, { type: 'failed' }>): Error {
  if (reply.code !== undefined) return new CoreError(reply.code, reply.message);
  const error = new Error(reply.message);
  error.name = reply.name;
  return error;
}

/**
 * Fits one autoencoder in a worker thread with its own TensorFlow.js backend, so it trains on the
 * second core while this thread fits the others. Its events are re-emitted here as they come; the
 * thread scores every row, saves the model to a temporary folder, and the model is loaded back from
 * it (then removed). Same seed and backend, same weights and scores as fitting here (tested). On
 * `signal` a thread that is training is asked to stop: it does at its next batch and ends by
 * itself (it is terminated 2 s later if it has not); one still loading TensorFlow.js, which could
 * not hear the request before it has loaded and has nothing to lose, is terminated at once. The
 * promise settles once the thread has ended, so nothing of it outlives the run: with the abort
 * reason, or with the detector when the thread had sent it before it saw the request.
 */
export async function fitInThread(
  request: FitThreadRequest,
  options: { onEvent?: (event: PipelineEvent) => void; signal?: AbortSignal },
): Promise<ThreadFitted> {
  const { signal } = options;
  signal?.throwIfAborted();
  const thread = startWorker('./fit-thread-main', import.meta.url, request);
  const fitted = await new Promise<Extract<FitThreadReply, { type: 'fitted' }>>((resolve, reject) => {
    let settled = false;
    /** Set on abort: the thread's last reply, kept until it has ended. */
    let stopping: { reply?: FitThreadReply } | undefined;
    const settle = (done: () => void) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      done();
    };
    /** The thread has sent something: it has loaded TensorFlow.js and is training (or past it). */
    let heard = false;
    const onAbort = () => {
      stopping = {};
      if (!heard) {
        void thread.terminate();
        return;
      }
      thread.postMessage({ type: 'stop' });
      setTimeout(() => void thread.terminate(), 2_000).unref();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    thread.on('message', (reply: FitThreadReply) => {
      heard = true;
      if (reply.type === 'event') options.onEvent?.(reply.event);
      else if (stopping) stopping.reply = reply;
      else if (reply.type === 'fitted') settle(() => resolve(reply));
      else {
        settle(() => reject(threadError(reply)));
      }
    });
    thread.on('error', (error) => settle(() => reject(error)));
    // Every message the thread posted comes before its 'exit'.
    thread.on('exit', (code) =>
      settle(() => {
        if (stopping?.reply?.type === 'fitted') resolve(stopping.reply);
        else if (stopping) reject(signal!.reason);
        else
          reject(
            new Error(`the ${request.name} training thread ended (exit code ${code}) before it finished`),
          );
      }),
    );
  });
  void thread.terminate();
  try {
    const detector = await loadDetector(request.name, fitted.dir, request.scaled.cols);
    return {
      detector,
      scores: fitted.scores,
      contributions: { data: fitted.contributions, rows: request.scaled.rows, cols: request.scaled.cols },
    };
  } finally {
    await rm(fitted.dir, { recursive: true, force: true });
  }
}
