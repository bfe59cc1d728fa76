import type {
  DetectorAgreement,
  DetectorName,
  DetectorSummary,
  FeatureTable,
  FlagCounts,
  RunSummary,
  SplitName,
  WalkForwardSummary,
} from '../api.js';
import { ATTENTION_AUTOENCODER_FORMAT_VERSION } from '../detectors/attention-autoencoder.js';
import { DENSE_AUTOENCODER_FORMAT_VERSION } from '../detectors/dense-autoencoder.js';
import { ISOLATION_FOREST_FORMAT_VERSION } from '../detectors/isolation-forest.js';
import { PIPELINE_FORMAT_VERSION } from '../model-manifest.js';
import { isoTime } from '../outputs/csv.js';
import { jaccard, spearman } from '../ranking.js';
import { CORE_VERSION, siblingVersions, tensorflowVersion } from '../version.js';
import type { RowThresholds } from './row-thresholds.js';
import type { Run } from './run.js';
import type { ScoredTable, TrainedPipeline } from './trained-pipeline.js';

/** Everything a run's file set is made of: what `writeArtifacts` writes and the summary describes. */
export interface RunRecord {
  mode: 'run' | 'train' | 'detect';
  symbol: string;
  interval: RunSummary['interval'];
  /** `describe()` of the source. */
  source: string;
  outDir: string;
  /** The model folder written (run, train) or read (detect); undefined when none. */
  modelDir: string | undefined;
  charts: boolean;
  /** Configured detectors a partial run lacks. */
  missingDetectors: DetectorName[];
  pipeline: TrainedPipeline;
  table: FeatureTable;
  /** Split label of each row of `table`. */
  splits: readonly SplitName[];
  scored: ScoredTable;
  /** The threshold of each row, where it varies (adaptive thresholds, walk-forward folds). */
  rowThresholds?: RowThresholds;
  /** The folds of a walk-forward run. */
  walkForward?: WalkForwardSummary;
}

export function countFlags(flags: ArrayLike<number>, splits: readonly SplitName[]): FlagCounts {
  const counts = { total: 0, train: 0, validation: 0, test: 0 };
  for (let i = 0; i < flags.length; i++) {
    if (flags[i] === 1) {
      counts.total++;
      counts[splits[i]!]++;
    }
  }
  return counts;
}

/** summary.json of a run, `files` aside (the caller adds the set's files once it knows them). */
export function buildSummary(run: Run, record: RunRecord, files: Record<string, string>): RunSummary {
  const { pipeline, table, splits, scored } = record;
  const agreement = agreementOf(scored);
  const { total: _all, ...rowsPerSplit } = countFlags(new Uint8Array(splits.length).fill(1), splits);
  const detectors: RunSummary['detectors'] = {};
  for (const s of [...scored.detectors, scored.consensus]) {
    const history = pipeline.detectors.find((d) => d.detector.name === s.name)?.detector.history;
    const summary: DetectorSummary = {
      ...(s.name === 'consensus'
        ? {
            method:
              `mean over ${agreement.detectors.join(', ')} of each score's percentile among that detector's ` +
              'training scores',
          }
        : {}),
      threshold: judgedAsSaved(s.threshold, record.mode, record.rowThresholds?.[s.name]),
      ...thresholdRange(record.rowThresholds?.[s.name]),
      flagged: countFlags(s.flags, splits),
      ...(history && record.mode !== 'detect'
        ? {
            training: {
              epochsRun: history.epochsRun,
              bestEpoch: history.bestEpoch,
              bestValLoss: history.bestValLoss,
              stoppedEarly: history.stoppedEarly,
              samplesPerSecond: history.samplesPerSecond,
              elapsedMs: history.elapsedMs,
              ...(history.epochCap !== undefined
                ? { epochCap: history.epochCap, bestAtCap: history.bestEpoch === history.epochCap }
                : {}),
              ...(history.stillFalling !== undefined ? { stillFalling: history.stillFalling } : {}),
            },
          }
        : {}),
    };
    detectors[s.name] = summary;
  }
  return {
    runId: run.runId,
    mode: record.mode,
    partial: run.keepingFinished,
    ...(run.keepingFinished ? { missingDetectors: record.missingDetectors } : {}),
    symbol: record.symbol,
    interval: record.interval,
    source: record.source,
    createdAt: new Date().toISOString(),
    versions: {
      core: CORE_VERSION,
      ...siblingVersions(),
      tensorflow: tensorflowVersion(),
      node: process.version,
      formats: {
        pipeline: PIPELINE_FORMAT_VERSION,
        isolationForest: ISOLATION_FOREST_FORMAT_VERSION,
        autoencoder: DENSE_AUTOENCODER_FORMAT_VERSION,
        attention: ATTENTION_AUTOENCODER_FORMAT_VERSION,
      },
    },
    backend: run.backend ? { name: run.backend.name, description: run.backend.description } : null,
    rows: {
      candles: table.warmupRows + table.matrix.rows,
      warmupDropped: table.warmupRows,
      scored: table.matrix.rows,
      ...rowsPerSplit,
    },
    range: { from: isoTime(table.times[0]!), to: isoTime(table.times[table.times.length - 1]!) },
    trainedOn: pipeline.trainedOn,
    features: table.names,
    config: pipeline.config,
    detectors,
    agreement,
    ...(record.walkForward ? { walkForward: record.walkForward } : {}),
    timings: run.roundedTimings(),
    files,
  };
}

/**
 * The threshold as the summary shows it. An adaptive one (SPOT/DSPOT) that did not adapt here
 * (detect judges every row against the value the model saved; watch is what adapts) says so,
 * instead of its description's "then adapts row by row".
 */
function judgedAsSaved(
  threshold: DetectorSummary['threshold'],
  mode: RunRecord['mode'],
  rowThresholds: Float64Array | undefined,
): DetectorSummary['threshold'] {
  const kind = threshold.method.kind;
  if (mode !== 'detect' || rowThresholds || (kind !== 'spot' && kind !== 'dspot')) return threshold;
  const started = threshold.description.replace(/, then adapts row by row to the scores after training$/, '');
  return {
    ...threshold,
    description: `${started}; detect judges every row against this saved value (watch adapts it as candles close)`,
  };
}

/** The range of a threshold that varied row by row, and its last value. */
function thresholdRange(thresholds: Float64Array | undefined): Pick<DetectorSummary, 'rowThresholds'> {
  if (!thresholds || thresholds.length === 0) return {};
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const value of thresholds) {
    min = Math.min(min, value);
    max = Math.max(max, value);
  }
  return { rowThresholds: { min, max, last: thresholds[thresholds.length - 1]! } };
}

/** Pairwise agreement of the detectors: Jaccard of flagged rows, Spearman of scores. */
export function agreementOf(scored: ScoredTable): DetectorAgreement {
  const names = scored.detectors.map((d) => d.name as DetectorName);
  const jaccardMatrix = scored.detectors.map((a) =>
    scored.detectors.map((b) => round(jaccard(a.flags, b.flags))),
  );
  const spearmanMatrix = scored.detectors.map((a) =>
    scored.detectors.map((b) => round(a === b ? 1 : spearman(a.scores, b.scores))),
  );
  const pairs: DetectorAgreement['pairs'] = {};
  for (let i = 0; i < names.length; i++) {
    for (let j = i + 1; j < names.length; j++) {
      pairs[`${names[i]} / ${names[j]}`] = {
        jaccard: jaccardMatrix[i]![j]!,
        spearman: spearmanMatrix[i]![j]!,
      };
    }
  }
  return { detectors: names, pairs, jaccard: jaccardMatrix, spearman: spearmanMatrix };
}

function round(value: number): number {
  return Number.isFinite(value) ? Math.round(value * 10_000) / 10_000 : value;
}
