import { parentPort, workerData } from 'node:worker_threads';
import * as core from '@crypto-anomaly/core';
import * as data from '@crypto-anomaly/data';
import type { TrainThreadReply, TrainThreadRequest } from './bus-api.js';

/**
 * A training job of `train --bus`, run by a worker in a thread of its own (core's `trainPipeline`,
 * TensorFlow.js included), so the worker's scoring goes on meanwhile.
 */
async function main(): Promise<void> {
  const { job, modelDir } = workerData as TrainThreadRequest;
  const controller = new AbortController();
  parentPort?.on('message', (message: { type?: string }) => {
    if (message?.type === 'stop') controller.abort(new Error('stopped'));
  });
  const started = performance.now();
  let store: data.KlineStore | undefined;
  let candles = 0;
  try {
    const range = {
      ...(job.since !== undefined ? { since: job.since } : {}),
      ...(job.until !== undefined ? { until: job.until } : {}),
    };
    let source: data.KlineSource;
    if (job.source.kind === 'sample') {
      source = data.sampleSource({
        symbol: job.symbol,
        interval: job.interval,
        ...(job.source.seed !== undefined ? { seed: job.source.seed } : {}),
        ...(job.source.count !== undefined ? { count: job.source.count } : {}),
        ...(job.source.start !== undefined ? { start: job.source.start } : {}),
      });
    } else {
      store = await data.KlineStore.open(job.source.store);
      source =
        job.source.kind === 'binance'
          ? data.binanceSource(store, job.source.baseUrl ? { baseUrl: job.source.baseUrl } : {}, {
              ...range,
              archive: false,
              signal: controller.signal,
            })
          : data.storeSource(store);
    }
    const counted: data.KlineSource = {
      describe: () => source.describe(),
      async load(request) {
        const klines = await source.load(request);
        candles = klines.length;
        return klines;
      },
    };
    const result = await core.trainPipeline({
      source: counted,
      symbol: job.symbol,
      interval: job.interval,
      ...range,
      modelDir,
      charts: false,
      ...(job.epochs !== undefined ? { epochs: job.epochs } : {}),
      ...(job.seed !== undefined ? { seed: job.seed } : {}),
      ...(job.backend !== undefined ? { backend: job.backend } : {}),
      ...(job.config !== undefined ? { config: job.config as core.PipelineConfigInput } : {}),
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
