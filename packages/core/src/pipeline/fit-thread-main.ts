import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import type { Matrix } from '../api.js';
import { selectBackend } from '../backend.js';
import { createDetector } from '../detectors/registry.js';
import { isCoreError } from '../errors.js';
import type { FitThreadReply, FitThreadRequest } from './fit-thread.js';

function rowsOf(X: Matrix, start: number, end: number): Matrix {
  return { data: X.data.subarray(start * X.cols, end * X.cols), rows: end - start, cols: X.cols };
}

/**
 * The body of a detector's training thread (started by `fitInThread`): fits the detector on the
 * rows it was handed with its own TensorFlow.js backend, posts its events as they come, then the
 * scores and contributions of every row, then the folder it saved the model in. The thread then
 * ends by itself, stopped or not: the port it listens on no longer keeps it alive.
 */
export async function run(): Promise<void> {
  const port = parentPort!;
  const request = workerData as FitThreadRequest;
  const post = (reply: FitThreadReply, transfer: ArrayBuffer[] = []) => port.postMessage(reply, transfer);
  const controller = new AbortController();
  port.on('message', (message: { type: 'stop' }) => {
    if (message.type === 'stop') controller.abort();
  });
  try {
    await selectBackend(request.backend);
    const { scaled, train, validation } = request;
    const detector = createDetector(request.name, request.config);
    await detector.fit(rowsOf(scaled, train.start, train.end), {
      validation: rowsOf(scaled, validation.start, validation.end),
      onEvent: (event) => post({ type: 'event', event }),
      signal: controller.signal,
    });
    // Stopped as training ended: scoring every row and saving would hold the stopped run up.
    controller.signal.throwIfAborted();
    const { scores, contributions } = await detector.scoresWithContributions!(scaled);
    const dir = await mkdtemp(join(tmpdir(), `crypto-anomaly-${request.name}-`));
    await detector.save(dir);
    detector.dispose();
    post({ type: 'fitted', dir, scores, contributions: contributions.data }, [
      scores.buffer as ArrayBuffer,
      contributions.data.buffer as ArrayBuffer,
    ]);
  } catch (error) {
    const caught = error as Error;
    post({
      type: 'failed',
      name: caught.name,
      message: caught.message,
      ...(isCoreError(error) ? { code: error.code } : {}),
    });
  } finally {
    port.unref();
  }
}
