import { parentPort, workerData } from 'node:worker_threads';
import * as core from '@crypto-anomaly/core';
import type { Interval, Kline } from '@crypto-anomaly/data';

/** What the main thread hands the worker: one symbol's history and where its model goes. */
export interface TrainRequest {
  symbol: string;
  interval: Interval;
  modelDir: string;
  /** The candles to train on, oldest first (from the store, REST or the replayed history). */
  klines: Kline[];
  /** Where they came from, one line for people. */
  describe: string;
  epochs?: number;
  backend?: 'auto' | 'wasm' | 'node' | 'cpu';
}

/** What the worker answers: once, when the model is saved or training failed. */
export type TrainReply =
  | { type: 'trained'; modelDir: string; ms: number }
  | { type: 'failed'; message: string };

/**
 * `watch --train-missing`: trains one symbol's pipeline in a worker thread (core's `trainPipeline`,
 * TensorFlow.js included), so the main thread keeps scoring the other symbols. The model is saved
 * into `modelDir` (atomically, as `train --out` does); the main thread then loads it.
 */
async function main(): Promise<void> {
  const request = workerData as TrainRequest;
  const controller = new AbortController();
  parentPort?.on('message', (message: { type?: string }) => {
    if (message?.type === 'stop') controller.abort(new Error('stopped'));
  });
  const started = performance.now();
  try {
    const result = await core.trainPipeline({
      source: { describe: () => request.describe, load: async () => request.klines },
      symbol: request.symbol,
      interval: request.interval,
      modelDir: request.modelDir,
      charts: false,
      ...(request.epochs !== undefined ? { epochs: request.epochs } : {}),
      ...(request.backend !== undefined ? { backend: request.backend } : {}),
      signal: controller.signal,
    });
    result.pipeline.dispose();
    parentPort?.postMessage({
      type: 'trained',
      modelDir: result.modelDir,
      ms: performance.now() - started,
    } satisfies TrainReply);
  } catch (error) {
    parentPort?.postMessage({
      type: 'failed',
      message: (error as Error)?.message?.split('\n')[0] ?? String(error),
    } satisfies TrainReply);
  }
  parentPort?.close();
}

void main();
