import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { sampleSource } from '@crypto-anomaly/data';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import type { FeatureTable, PipelineEvent } from '../src/api.js';
import { selectBackend } from '../src/backend.js';
import { resolvePipelineConfig } from '../src/config.js';
import { AttentionAutoencoder, attentionScoring } from '../src/detectors/attention-autoencoder.js';
import { computeFeatures } from '../src/features.js';
import { type FitResult, fitPipeline } from '../src/pipeline/fit.js';
import { Run } from '../src/pipeline/run.js';

/** The training threads started, each with its exit code once it has ended; a hook on each start. */
const trainingThreads = vi.hoisted(() => [] as { exitCode?: number }[]);
const threadHooks = vi.hoisted(() => ({ started: undefined as (() => void) | undefined }));
vi.mock('../src/worker-thread.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../src/worker-thread.js')>();
  return {
    ...actual,
    startWorker: (module: string, from: string, data: object): Worker => {
      const thread = actual.startWorker(module, from, data);
      if (module === './fit-thread-main') {
        const seen: { exitCode?: number } = {};
        trainingThreads.push(seen);
        thread.on('exit', (code) => {
          seen.exitCode = code;
        });
        threadHooks.started?.();
      }
      return thread;
    },
  };
});

// A small attention model and a short history: the point is the thread, not the model.
const config = resolvePipelineConfig(
  {
    detectors: ['isolation-forest', 'attention'],
    isolationForest: { nEstimators: 20 },
    attention: {
      windowSize: 4,
      modelDim: 8,
      heads: 2,
      feedForwardDim: 8,
      latentDim: 4,
      epochs: 3,
      batchSize: 32,
    },
  },
  { seed: 7 },
);
let table: FeatureTable;

beforeAll(async () => {
  await selectBackend('wasm');
  const klines = await sampleSource({ count: 400, seed: 3 }).load({ symbol: 'BTCUSDT', interval: '1h' });
  table = computeFeatures(klines);
});

async function fit(threads: boolean, events: PipelineEvent[] = [], signal?: AbortSignal): Promise<FitResult> {
  const run = new Run((event) => events.push(event), signal);
  return fitPipeline(run, table, {
    config,
    symbol: 'BTCUSDT',
    interval: '1h',
    source: 'sample',
    backend: 'wasm',
    threads,
  });
}

describe('fitting the attention autoencoder in a worker thread', () => {
  it('gives the same weights, threshold, history and scores as fitting in this thread', async () => {
    const here = await fit(false);
    const threadEvents: PipelineEvent[] = [];
    const there = await fit(true, threadEvents);
    try {
      const [a, b] = [here, there].map((r) => r.scored.detectors.find((d) => d.name === 'attention')!);
      expect(b!.scores).toEqual(a!.scores);
      expect(b!.contributions.data).toEqual(a!.contributions.data);
      expect(b!.threshold).toEqual(a!.threshold);
      expect(there.scored.consensus.scores).toEqual(here.scored.consensus.scores);
      const history = (r: FitResult) =>
        r.pipeline.detectors.find((d) => d.detector.name === 'attention')!.detector.history!;
      expect(history(there).valLoss).toEqual(history(here).valLoss);
      expect(history(there).bestEpoch).toBe(history(here).bestEpoch);
      // The loaded-back detector scores as the thread did.
      const attention = there.pipeline.detectors.find((d) => d.detector.name === 'attention')!.detector;
      expect(await attention.decisionFunction(there.scored.scaled)).toEqual(b!.scores);
      // The thread's epochs reached this thread's listener, and the stage order stayed whole.
      expect(threadEvents.filter((e) => e.type === 'epoch' && e.detector === 'attention')).toHaveLength(
        history(there).epochsRun,
      );
      const done = threadEvents.flatMap((e) => (e.type === 'stage' && e.status === 'done' ? [e.stage] : []));
      expect(done).toEqual(['preprocess', 'isolation-forest', 'attention', 'consensus']);
      expect(there.scored.detectors.map((d) => d.name)).toEqual(['isolation-forest', 'attention']);
    } finally {
      here.pipeline.dispose();
      there.pipeline.dispose();
    }
  }, 120_000);

  it('stops the thread when the run is aborted, with the abort reason', async () => {
    trainingThreads.length = 0;
    const controller = new AbortController();
    const events: PipelineEvent[] = [];
    const outcome = fit(true, events, controller.signal).then(
      () => 'finished',
      (error: unknown) => error,
    );
    // Abort once the thread reports its first batch.
    const reason = new Error('stopped by the test');
    reason.name = 'AbortError';
    const started = setInterval(() => {
      if (events.some((e) => e.type === 'batch' && e.detector === 'attention')) {
        clearInterval(started);
        controller.abort(reason);
      }
    }, 5);
    expect(await outcome).toBe(reason);
    clearInterval(started);
    // The thread had ended when the run rejected, by itself at its next batch (exit code 0): not
    // by the 2 s fallback's terminate() (exit code 1), nor after the run, keeping the process up.
    expect(trainingThreads).toEqual([{ exitCode: 0 }]);
  }, 120_000);

  it('ends a thread still loading TensorFlow.js at once when the run is aborted', async () => {
    trainingThreads.length = 0;
    const controller = new AbortController();
    const reason = new Error('stopped by the test');
    threadHooks.started = () => setImmediate(() => controller.abort(reason));
    try {
      const outcome = await fit(true, [], controller.signal).then(
        () => 'finished',
        (error: unknown) => error,
      );
      expect(outcome).toBe(reason);
      // Ended (terminated: it could not hear a request to stop before TensorFlow.js had loaded)
      // before the run rejected, not 2 s later.
      expect(trainingThreads).toEqual([{ exitCode: expect.any(Number) }]);
    } finally {
      threadHooks.started = undefined;
    }
  }, 120_000);
});

describe('scoring a long history on two threads', () => {
  it('gives the same errors as scoring it on one', async () => {
    const rows = 1500;
    const data = new Float64Array(rows * 4);
    for (let r = 0; r < rows; r++) {
      data.set([Math.sin(r / 3), Math.cos(r / 5), Math.sin(r / 7), Math.cos(r / 11)], r * 4);
    }
    const X = { data, rows, cols: 4 };
    const detector = await new AttentionAutoencoder({
      windowSize: 6,
      modelDim: 8,
      heads: 2,
      feedForwardDim: 8,
      latentDim: 4,
      epochs: 1,
      seed: 2,
    }).fit({ data: data.subarray(0, 400 * 4), rows: 400, cols: 4 });
    const saved = { ...attentionScoring };
    try {
      attentionScoring.threadFrom = Number.POSITIVE_INFINITY;
      const one = await detector.featureContributions(X);
      attentionScoring.threadFrom = 64;
      const before = attentionScoring.threadsRun;
      const two = await detector.featureContributions(X);
      // Machines of one core score on one thread only.
      if (availableParallelism() > 1) expect(attentionScoring.threadsRun).toBe(before + 1);
      expect(two.data).toEqual(one.data);
    } finally {
      Object.assign(attentionScoring, saved);
      detector.dispose();
    }
  }, 120_000);
});
