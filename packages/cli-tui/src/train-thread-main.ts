import { parentPort, workerData } from 'node:worker_threads';
import * as core from '@crypto-anomaly/core';
import * as data from '@crypto-anomaly/data';
import type { TrainJobSource } from './bus/bus-api.js';

/**
 * Where a thread's training candles come from: handed over (`watch --train-missing`: the store's or
 * the replayed history), or built in the thread (`train --bus`: a job's source on its worker).
 */
export type TrainHistory = TrainJobSource | { kind: 'klines'; klines: data.Kline[]; describe: string };

/** What the thread is handed: one pair to train and the folder to save its model in. */
export interface TrainThreadRequest {
  symbol: string;
  interval: data.Interval;
  modelDir: string;
  history: TrainHistory;
  since?: number;
  until?: number;
  epochs?: number;
  seed?: number;
  backend?: 'auto' | 'wasm' | 'node' | 'cpu';
  /** A config file's `pipeline` section. */
  config?: unknown;
}

/** What it posts: each epoch, then once the model is saved or training failed. */
export type TrainThreadReply =
  | { type: 'epoch'; detector: string; epoch: number; epochs: number; loss: number }
  | { type: 'trained'; modelDir: string; ms: number; candles: number }
  | { type: 'failed'; message: string };

/** The candles of `request.history`, and the store to close afterwards (if one was opened). */
async function sourceOf(
  request: TrainThreadRequest,
  signal: AbortSignal,
): Promise<{ source: data.KlineSource; store?: data.KlineStore }> {
  const { history } = request;
  if (history.kind === 'klines') {
    return { source: { describe: () => history.describe, load: async () => history.klines } };
  }
  if (history.kind === 'sample') {
    return {
      source: data.sampleSource({
        symbol: request.symbol,
        interval: request.interval,
        ...(history.seed !== undefined ? { seed: history.seed } : {}),
        ...(history.count !== undefined ? { count: history.count } : {}),
        ...(history.start !== undefined ? { start: history.start } : {}),
      }),
    };
  }
  const store = await data.KlineStore.open(history.store);
  const range = {
    ...(request.since !== undefined ? { since: request.since } : {}),
    ...(request.until !== undefined ? { until: request.until } : {}),
  };
  const source =
    history.kind === 'binance'
      ? data.binanceSource(store, history.baseUrl ? { baseUrl: history.baseUrl } : {}, {
          ...range,
          archive: false,
          signal,
        })
      : data.storeSource(store);
  return { source, store };
}

/**
 * Trains one pair's pipeline in a worker thread (core's `trainPipeline`, TensorFlow.js included),
 * so the thread that started it keeps scoring the other pairs; used by `watch --train-missing` and
 * by the workers of `train --bus`. The model is saved into `modelDir` as `train --out` saves it.
 */
async function main(): Promise<void> {
  const request = workerData as TrainThreadRequest;
  const controller = new AbortController();
  parentPort?.on('message', (message: { type?: string }) => {
    if (message?.type === 'stop') controller.abort(new Error('stopped'));
  });
  const started = performance.now();
  let store: data.KlineStore | undefined;
  let candles = 0;
  try {
    const opened = await sourceOf(request, controller.signal);
    store = opened.store;
    const counted: data.KlineSource = {
      describe: () => opened.source.describe(),
      async load(range) {
        const klines = await opened.source.load(range);
        candles = klines.length;
        return klines;
      },
    };
    const result = await core.trainPipeline({
      source: counted,
      symbol: request.symbol,
      interval: request.interval,
      ...(request.since !== undefined ? { since: request.since } : {}),
      ...(request.until !== undefined ? { until: request.until } : {}),
      modelDir: request.modelDir,
      charts: false,
      ...(request.epochs !== undefined ? { epochs: request.epochs } : {}),
      ...(request.seed !== undefined ? { seed: request.seed } : {}),
      ...(request.backend !== undefined ? { backend: request.backend } : {}),
      ...(request.config !== undefined ? { config: request.config as core.PipelineConfigInput } : {}),
      onEvent: (event) => {
        if (event.type === 'epoch') {
          parentPort?.postMessage({
            type: 'epoch',
            detector: event.detector,
            epoch: event.epoch,
            epochs: event.epochs,
            loss: event.loss,
          } satisfies TrainThreadReply);
        }
      },
      signal: controller.signal,
    });
    result.pipeline.dispose();
    parentPort?.postMessage({
      type: 'trained',
      modelDir: result.modelDir,
      ms: performance.now() - started,
      candles,
    } satisfies TrainThreadReply);
  } catch (error) {
    parentPort?.postMessage({
      type: 'failed',
      message: (error as Error)?.message?.split('\n')[0] ?? String(error),
    } satisfies TrainThreadReply);
  } finally {
    await store?.close().catch(() => undefined);
  }
  parentPort?.close();
}

void main();
