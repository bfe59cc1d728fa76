import { realpathSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import {
  type AnomalyRow,
  type DetectorName,
  FEATURE_NAMES,
  type PipelineResult,
  type SplitName,
} from '../api.js';
import { CoreError } from '../errors.js';
import { writeFileAtomic, writeJsonAtomic } from '../outputs/atomic-write.js';
import { ChartPool } from '../outputs/chart-pool.js';
import {
  agreementSpec,
  type LossHistory,
  lossSpec,
  priceAnomaliesSpec,
  scoresSpec,
  type VegaLiteSpec,
} from '../outputs/charts.js';
import { anomaliesCsv, processedDataCsv, type ScoredHistory, topAnomalyRows } from '../outputs/csv.js';
import { FolderSet, isInside, prepareTarget, readFolderMarker } from '../outputs/owned-folder.js';
import type { Run } from './run.js';
import { agreementOf, buildSummary, type RunRecord } from './summary.js';
import type { TrainedPipeline } from './trained-pipeline.js';

/** Rows per detector (and consensus) in `PipelineResult.topAnomalies`. */
export const TOP_ANOMALIES = 10;

/** File names of the outputs, by detector (the names users and the CLI look for). */
export const ANOMALY_FILES: Readonly<Record<DetectorName | 'consensus', string>> = Object.freeze({
  'isolation-forest': 'anomalies_isolation_forest.csv',
  autoencoder: 'anomalies_autoencoder.csv',
  attention: 'anomalies_attention.csv',
  consensus: 'anomalies_consensus.csv',
});

export const CHART_FILES = Object.freeze({
  chartPrice: 'chart_price_anomalies.png',
  chartScores: 'chart_scores.png',
  chartLoss: 'chart_training_loss.png',
  chartAgreement: 'chart_agreement.png',
});

/** The model folder of a run when it is the default `<outDir>/model`: then it is part of the set. */
export function nestedModel(outDir: string, modelDir: string | undefined): boolean {
  return modelDir !== undefined && resolve(modelDir) === join(resolve(outDir), 'model');
}

/**
 * Refuses, before any work, folders that would overwrite each other: outputs and model in one
 * folder, or one inside the other (except the default `<outDir>/model`); for `detect`, outputs
 * that would replace the model it reads.
 */
export function assertSeparateFolders(
  mode: 'run' | 'train' | 'detect',
  outDir: string | undefined,
  modelDir: string | undefined,
) {
  if (outDir === undefined || modelDir === undefined) return;
  // Through symbolic links too: `--model latest/model --out runs/btc` with latest -> runs/btc.
  const [out, model] = [realPathOf(outDir), realPathOf(modelDir)];
  const clash =
    mode === 'detect'
      ? isInside(model, out) || isInside(out, model)
      : model === out || isInside(out, model) || (isInside(model, out) && !nestedModel(out, model));
  if (clash) {
    throw new CoreError(
      'INVALID_ARGUMENT',
      mode === 'detect'
        ? `outDir ${out} and modelDir ${model} overlap: writing the outputs would replace the model being read. ` +
            'Write the outputs to another folder.'
        : `outDir ${out} and modelDir ${model} overlap: each would replace the other. Use two separate ` +
            'folders (the model may be <outDir>/model).',
    );
  }
}

/** `path` resolved, with the part of it that exists through its symbolic links (realpath). */
function realPathOf(path: string): string {
  const absolute = resolve(path);
  for (let existing = absolute; ; existing = dirname(existing)) {
    try {
      return join(realpathSync(existing), relative(existing, absolute));
    } catch {
      if (dirname(existing) === existing) return absolute;
    }
  }
}

/**
 * Every check of the folders a run will write, before it loads or trains anything: separate
 * folders, each absent, empty or ours (`TARGET_NOT_OURS`), and creatable (`TARGET_NOT_WRITABLE`).
 */
export async function prepareFolders(
  mode: RunRecord['mode'],
  outDir: string | undefined,
  modelDir: string | undefined,
): Promise<string[]> {
  assertSeparateFolders(mode, outDir, modelDir);
  const targets: string[] = [];
  if (outDir !== undefined) targets.push(await prepareTarget(outDir, 'outputs'));
  if (
    modelDir !== undefined &&
    mode !== 'detect' &&
    !(outDir !== undefined && nestedModel(outDir, modelDir))
  ) {
    targets.push(await prepareTarget(modelDir, 'model'));
  }
  // The folders that hold a complete set now (a marker not partial, or a folder from before markers).
  const complete: string[] = [];
  for (const target of targets) {
    const entries = await readdir(target).catch(() => []);
    if (entries.length === 0) continue;
    if ((await readFolderMarker(target))?.partial !== true) complete.push(target);
  }
  return complete;
}

/**
 * Writes the whole set (CSV files, the model when it lives in `<outDir>/model`, the charts,
 * summary.json) into a temporary sibling of `outDir`, then swaps it in with one rename: a reader
 * sees the previous set or this one, never a mix. A model elsewhere is saved (and swapped) first.
 */
export async function writeArtifacts(
  run: Run,
  record: RunRecord,
  chartPool: ChartPool = ChartPool.none(),
): Promise<PipelineResult> {
  const { pipeline, table, splits, scored } = record;
  const context = record;
  const files: Record<string, string> = {};
  const all = [...scored.detectors, scored.consensus];
  const histories = all.map(
    (s): ScoredHistory => ({
      times: table.times,
      close: table.close,
      splits,
      scores: s.scores,
      threshold: s.threshold.value,
      ...(record.rowThresholds?.[s.name] ? { thresholds: record.rowThresholds[s.name] } : {}),
      flags: s.flags,
      contributions: s.contributions,
      featureNames: table.names,
      topFeatures: pipeline.config.topFeatures,
    }),
  );
  const set = await FolderSet.open(context.outDir, 'outputs', run.runId);
  const outDir = set.target;
  try {
    await run.stage('outputs', async () => {
      const processedName = `${context.symbol.toUpperCase()}_processed_data.csv`;
      files['processedData'] = set.finalPath(processedName);
      await writeFileAtomic(
        set.stagingPath(processedName),
        processedDataCsv(
          table.times,
          table.close,
          splits,
          table.names,
          table.matrix,
          scored.scaled,
          table.classic ? { names: FEATURE_NAMES, matrix: table.classic } : undefined,
        ),
      );
      for (let i = 0; i < all.length; i++) {
        run.throwIfAborted();
        const name = all[i]!.name;
        files[name] = set.finalPath(ANOMALY_FILES[name]);
        await writeFileAtomic(set.stagingPath(ANOMALY_FILES[name]), anomaliesCsv(histories[i]!));
      }
      if (context.modelDir) {
        const nested = nestedModel(outDir, context.modelDir);
        const save = { runId: run.runId, partial: run.keepingFinished };
        // detect reads the model: it is not among the files written.
        if (context.mode !== 'detect') {
          await pipeline.save(nested ? set.stagingPath('model') : context.modelDir, save);
          files['model'] = resolve(context.modelDir);
        }
      }
    });
    if (context.charts && !run.keepingFinished) {
      await run.stage('charts', async () => {
        // The first row of each later split in this history, if it has any.
        const firstOf = (split: SplitName) => {
          const index = splits.indexOf(split);
          return index > 0 ? { [split]: table.times[index]! } : {};
        };
        const boundaries = { ...firstOf('validation'), ...firstOf('test') };
        const panels = all.map((s) => ({
          name: s.name,
          scores: s.scores,
          threshold: s.threshold.value,
          ...(record.rowThresholds?.[s.name] ? { thresholds: record.rowThresholds[s.name] } : {}),
          flags: s.flags,
        }));
        const chartFiles: [keyof typeof CHART_FILES, VegaLiteSpec][] = [
          [
            'chartPrice',
            priceAnomaliesSpec(context.symbol, table.times, table.close, panels, {
              boundaries,
              source: context.source,
            }),
          ],
          ['chartScores', scoresSpec(table.times, panels, { boundaries })],
        ];
        const losses = lossHistories(pipeline);
        if (losses.length > 0) chartFiles.push(['chartLoss', lossSpec(losses)]);
        const agreement = agreementOf(scored);
        if (agreement.detectors.length > 1) {
          chartFiles.push([
            'chartAgreement',
            agreementSpec(agreement.detectors, agreement.jaccard, agreement.spearman),
          ]);
        }
        // Stopped while drawing: the charts drawn so far stay, the rest is skipped.
        const drawn = new Set<number>();
        await chartPool.renderAll(
          chartFiles.map(([, spec]) => spec),
          async (i, png) => {
            await writeFileAtomic(set.stagingPath(CHART_FILES[chartFiles[i]![0]]), png);
            drawn.add(i);
          },
          () => !run.keepingFinished && !run.signal?.aborted,
        );
        run.throwIfAborted();
        // Listed in the charts' order, whichever was drawn first.
        chartFiles.forEach(([role], i) => {
          if (drawn.has(i)) files[role] = set.finalPath(CHART_FILES[role]);
        });
      });
    } else {
      run.skip('charts', context.charts ? 'stopped early: skipped to finish promptly' : 'charts disabled');
    }
    const partial = run.partial(context.missingDetectors);
    files['summary'] = set.finalPath('summary.json');
    // summary.json once, last, with every file of the set and every stage's timing.
    const summary = buildSummary(run, record, { ...files });
    await writeJsonAtomic(set.stagingPath('summary.json'), summary);
    await set.commit({ partial: partial !== undefined });
    const topAnomalies = Object.fromEntries(
      all.map((s, i) => [s.name, topAnomalyRows(histories[i]!, TOP_ANOMALIES)]),
    ) as Record<DetectorName | 'consensus', AnomalyRow[]>;
    return { outDir, files, summary, topAnomalies, runId: run.runId, ...(partial ? { partial } : {}) };
  } catch (error) {
    await set.discard();
    throw error;
  }
}

function lossHistories(pipeline: TrainedPipeline): LossHistory[] {
  const out: LossHistory[] = [];
  for (const { detector } of pipeline.detectors) {
    const history = detector.history;
    if (history && history.loss.length > 0) {
      out.push({
        detector: detector.name,
        epochs: history.loss.map((loss, i) => ({ epoch: i + 1, loss, valLoss: history.valLoss[i]! })),
        bestEpoch: history.bestEpoch,
      });
    }
  }
  return out;
}
