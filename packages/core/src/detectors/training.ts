import type * as TF from '@tensorflow/tfjs-core';
import type { DetectorName, PipelineEventListener, TrainingHistory } from '../api.js';
import { CoreError } from '../errors.js';
import { createRandom, shuffleInPlace } from '../tf/random.js';
import { tf } from '../tf/tensorflow.js';

/** Detectors trained by this loop. */
export type TrainedDetectorName = Exclude<DetectorName, 'isolation-forest'>;

/** What the loop needs from a model: steps on batches, a validation loss, weight snapshots. */
export interface TrainingTask {
  readonly detector: TrainedDetectorName;
  /** Training samples (rows or windows), addressed by index 0..samples-1. */
  readonly samples: number;
  /**
   * One optimisation step on the samples at `indices`; returns the batch's mean loss as a scalar
   * tensor that the loop reads only when it reports (reading every batch costs a sync) and disposes.
   */
  trainStep(indices: Int32Array): TF.Scalar;
  /** Called before each epoch's batches (e.g. to move a sampling offset). */
  beginEpoch?(epoch: number): void;
  /** Mean loss on the validation samples, or undefined when there are none. */
  validationLoss(): number | undefined;
  /** Copies of the weights (kept by the loop until replaced) and their restore. */
  snapshot(): TF.Tensor[];
  restore(snapshot: TF.Tensor[]): void;
}

export interface TrainingSettings {
  epochs: number;
  batchSize: number;
  /** Epochs without improvement of the monitored loss before stopping. */
  patience: number;
  /**
   * Smallest relative fall of the monitored loss below its best that counts as an improvement
   * (0.001 = 0.1%): a loss still creeping down by less is a plateau, and patience runs out on it.
   * The lowest loss's weights are kept either way. Default 0 (any fall counts).
   */
  minImprovement?: number;
  /** Seeds the batch order. */
  seed: number;
  onEvent?: PipelineEventListener;
  signal?: AbortSignal;
}

/** Loss curves and how training ended; saved with the model, drawn by the charts. */

/** Batch progress events per epoch at most (each reads one loss back from the backend). */
const BATCH_EVENTS_PER_EPOCH = 10;

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * The shared training loop of the autoencoders: seeded shuffled mini-batches, one validation loss
 * per epoch, early stopping once the loss has not fallen by `minImprovement` (relative) for
 * `patience` epochs, and the best epoch's weights restored at the end (a `log` warning when that
 * is the last epoch allowed: training stopped on the cap, not on a plateau).
 * Between batches it checks `signal` (throwing its reason, an AbortError by default) and, a few
 * times per epoch, reports a `batch` event and yields to the event loop so a UI can draw.
 */
export async function runTraining(task: TrainingTask, settings: TrainingSettings): Promise<TrainingHistory> {
  const { epochs, batchSize, patience, onEvent, signal } = settings;
  const minImprovement = settings.minImprovement ?? 0;
  const random = createRandom(settings.seed);
  const order = new Int32Array(task.samples);
  const batches = Math.ceil(task.samples / batchSize);
  const reportEvery = Math.max(1, Math.ceil(batches / BATCH_EVENTS_PER_EPOCH));
  const history: TrainingHistory = {
    loss: [],
    valLoss: [],
    monitor: 'validation',
    bestEpoch: 0,
    bestValLoss: Number.POSITIVE_INFINITY,
    stoppedEarly: false,
    epochCap: epochs,
    epochsRun: 0,
    elapsedMs: 0,
    samplesPerSecond: 0,
  };
  let best: TF.Tensor[] | undefined;
  // Patience counts from the last epoch that improved by at least minImprovement.
  let lastImprovement = 0;
  let improvementBase = Number.POSITIVE_INFINITY;
  let trainingMs = 0;
  const started = performance.now();
  try {
    for (let epoch = 1; epoch <= epochs; epoch++) {
      signal?.throwIfAborted();
      const epochStarted = performance.now();
      for (let i = 0; i < order.length; i++) order[i] = i;
      shuffleInPlace(order, random);
      task.beginEpoch?.(epoch);
      const losses: TF.Scalar[] = [];
      const weights: number[] = [];
      try {
        for (let b = 0; b < batches; b++) {
          signal?.throwIfAborted();
          const indices = order.subarray(b * batchSize, Math.min((b + 1) * batchSize, order.length));
          const loss = task.trainStep(indices);
          losses.push(loss);
          weights.push(indices.length);
          if (onEvent && ((b + 1) % reportEvery === 0 || b === batches - 1)) {
            const value = (await loss.data())[0]!;
            onEvent({ type: 'batch', detector: task.detector, epoch, batch: b + 1, batches, loss: value });
            await yieldToEventLoop();
          }
        }
        // One read of the epoch's loss: the batch means weighted by batch size.
        const epochLoss = tf.tidy(() =>
          tf.div(tf.sum(tf.mul(tf.stack(losses), tf.tensor1d(weights))), task.samples),
        );
        const loss = (await epochLoss.data())[0]!;
        epochLoss.dispose();
        if (!Number.isFinite(loss)) {
          throw new CoreError(
            'INVALID_ARGUMENT',
            `The ${task.detector} training loss became ${loss} at epoch ${epoch}: training diverged. ` +
              'Lower learningRate, or check that the features are scaled (the preprocessor does this).',
          );
        }
        history.loss.push(loss);
      } finally {
        for (const loss of losses) loss.dispose();
      }
      const epochTrainingMs = performance.now() - epochStarted;
      trainingMs += epochTrainingMs;
      const validation = task.validationLoss();
      if (validation === undefined) history.monitor = 'training';
      const monitored = validation ?? history.loss[history.loss.length - 1]!;
      history.valLoss.push(monitored);
      history.epochsRun = epoch;
      if (monitored < history.bestValLoss || best === undefined) {
        history.bestValLoss = monitored;
        history.bestEpoch = epoch;
        if (best) for (const tensor of best) tensor.dispose();
        best = task.snapshot();
      }
      if (monitored < improvementBase * (1 - minImprovement) || lastImprovement === 0) {
        improvementBase = monitored;
        lastImprovement = epoch;
      }
      const sinceBest = epoch - lastImprovement;
      const elapsed = performance.now() - started;
      onEvent?.({
        type: 'epoch',
        detector: task.detector,
        epoch,
        epochs,
        loss: history.loss[history.loss.length - 1]!,
        valLoss: monitored,
        bestValLoss: history.bestValLoss,
        samplesPerSecond: task.samples / (epochTrainingMs / 1000),
        etaMs: (elapsed / epoch) * (epochs - epoch),
        patienceLeft: Math.max(0, patience - sinceBest),
      });
      if (sinceBest >= patience && epoch < epochs) {
        history.stoppedEarly = true;
        onEvent?.({ type: 'early-stop', detector: task.detector, epoch, bestEpoch: history.bestEpoch });
        break;
      }
      await yieldToEventLoop();
    }
    if (best) task.restore(best);
    const [before, last] = history.valLoss.slice(-2);
    history.stillFalling = before !== undefined && last !== undefined && last < before * (1 - minImprovement);
    if (history.bestEpoch === epochs && epochs > 1 && history.stillFalling) {
      onEvent?.({
        type: 'log',
        level: 'warn',
        message:
          `The ${task.detector} kept its last epoch (${epochs}, the cap) with the ${history.monitor} loss ` +
          `still falling by more than ${minImprovement * 100}% an epoch: it may be undertrained. Raise its epochs.`,
      });
    }
  } finally {
    if (best) for (const tensor of best) tensor.dispose();
  }
  history.elapsedMs = performance.now() - started;
  history.samplesPerSecond = (task.samples * history.epochsRun) / (trainingMs / 1000);
  return history;
}

export type { TrainingHistory } from '../api.js';
