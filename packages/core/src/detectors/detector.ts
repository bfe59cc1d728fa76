import type {
  DetectorName,
  FittedThreshold,
  Matrix,
  PipelineEventListener,
  ThresholdMethod,
  TrainingHistory,
} from '../api.js';
import { CoreError } from '../errors.js';
import { DEFAULT_THRESHOLD, fitThreshold } from '../thresholds.js';
import { keysOf } from '../validate.js';

/** What a detector's `fit` may be given beyond the training rows. */
export interface FitContext {
  /** Rows for early stopping and validation loss (autoencoders); ignored by the forest. */
  validation?: Matrix;
  onEvent?: PipelineEventListener;
  /** Aborting stops training at the next batch; the detector is then left unfitted. */
  signal?: AbortSignal;
}

/** The keys a detector's `fit` reads of its context. */
export const FIT_CONTEXT_KEYS = keysOf<FitContext>({ validation: true, onEvent: true, signal: true });

/** The keys a detector's static `load` reads of what it expects of the folder. */
export const LOAD_KEYS = keysOf<{ featureCount?: number }>({ featureCount: true });

/**
 * The one interface of the three detectors, in PyOD's vocabulary: `fit` on training rows,
 * `decisionFunction` = anomaly score per row (higher = more anomalous), `predict` = 0/1 against the
 * `threshold` fitted on the training scores, and per-feature `featureContributions` so each flagged
 * row says which features made it anomalous.
 */
export interface Detector {
  readonly name: DetectorName;
  /** The fitted threshold; undefined before `fit`. */
  readonly threshold: FittedThreshold | undefined;
  fit(train: Matrix, context?: FitContext): Promise<this>;
  decisionFunction(X: Matrix): Promise<Float64Array>;
  predict(X: Matrix): Promise<Uint8Array>;
  /** rows × features, larger = that feature contributed more to the row's score. */
  featureContributions(X: Matrix): Promise<Matrix>;
  /**
   * Both of the above from one pass, where a detector's scores come from its contributions (the
   * autoencoders: a score is the mean of the row's squared errors). Optional.
   */
  scoresWithContributions?(X: Matrix): Promise<{ scores: Float64Array; contributions: Matrix }>;
  /** Writes everything needed to score again into `dir` (created if missing). */
  save(dir: string): Promise<void>;
  /** The training curve (autoencoders, after fit or load); undefined for the forest. */
  readonly history: TrainingHistory | undefined;
  /**
   * Rows before a row that its score reads (the attention window less one); 0 when each row is
   * scored alone. A caller scoring a long series in chunks carries this many rows over.
   */
  readonly contextRows: number;
  /** Frees what the detector holds (the autoencoders' tensors); call when done with it. */
  dispose(): void;
}

/** Shared threshold and predict logic; subclasses implement fitting and scoring. */
export abstract class BaseDetector implements Detector {
  abstract readonly name: DetectorName;
  threshold: FittedThreshold | undefined;
  abstract readonly history: TrainingHistory | undefined;

  constructor(protected readonly thresholdMethod: ThresholdMethod = DEFAULT_THRESHOLD) {}

  abstract fit(train: Matrix, context?: FitContext): Promise<this>;
  abstract decisionFunction(X: Matrix): Promise<Float64Array>;
  abstract featureContributions(X: Matrix): Promise<Matrix>;
  abstract save(dir: string): Promise<void>;

  /** Call at the end of `fit` with the scores of the training rows. */
  protected fitThresholdOn(trainingScores: Float64Array): FittedThreshold {
    this.threshold = fitThreshold(trainingScores, this.thresholdMethod);
    return this.threshold;
  }

  protected requireFitted(): FittedThreshold {
    if (!this.threshold) {
      throw new CoreError(
        'NOT_FITTED',
        `The ${this.name} detector is not fitted: call fit() or load a saved model first.`,
      );
    }
    return this.threshold;
  }

  get contextRows(): number {
    return 0;
  }

  dispose(): void {}

  async predict(X: Matrix): Promise<Uint8Array> {
    const { value } = this.requireFitted();
    const scores = await this.decisionFunction(X);
    return Uint8Array.from(scores, (score) => (score > value ? 1 : 0));
  }
}
