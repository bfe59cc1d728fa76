import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  ANOMALY_FILES,
  type AnomaliesFile,
  EVALUATION_FILES,
  EVALUATION_FORMAT,
  type EvaluationReport,
  type HtmlReportDetector,
  type HtmlReportInput,
  parseEventsCsv,
  readAnomaliesFile,
} from '@crypto-anomaly/core';
import { CliError } from './errors.js';

/**
 * What `report DIR --html` draws, read back from a run's folder: each detector's
 * `anomalies_<detector>.csv` (time, close, split, score, threshold, flag and top features, read by
 * core's readAnomaliesFile, the reader `evaluate` uses too) and summary.json (thresholds, source,
 * the run's facts); and `evaluate`'s evaluation.json when it is this run's.
 */

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const isObject = (value: Json | undefined): value is { [key: string]: Json } =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * The report's input from a run's folder and its parsed summary.json; `labelsFile` is an events
 * CSV (a `time` column, or `start` and `end`) drawn as bands.
 */
export async function readRunForReport(
  folder: string,
  summary: Json,
  labelsFile?: string,
): Promise<HtmlReportInput> {
  const names = (Object.keys(ANOMALY_FILES) as (keyof typeof ANOMALY_FILES)[]).filter((name) =>
    existsSync(join(folder, ANOMALY_FILES[name])),
  );
  if (names.length === 0) {
    throw new CliError('RUNTIME', `${folder} has no anomalies_<detector>.csv to chart`, {
      hint: 'give the --out folder of a finished run, e.g. crypto-anomaly run --out DIR first',
    });
  }
  const detectors: HtmlReportDetector[] = [];
  let base: AnomaliesFile | undefined;
  for (const name of names) {
    const file = join(folder, ANOMALY_FILES[name]);
    const parsed = await readAnomaliesFile(file);
    if (!base) base = parsed;
    else if (
      parsed.times.length !== base.times.length ||
      parsed.times[0] !== base.times[0] ||
      parsed.times[parsed.times.length - 1] !== base.times[base.times.length - 1]
    ) {
      throw new CliError('RUNTIME', `${file} covers other rows than ${ANOMALY_FILES[names[0]!]}`, {
        hint: 'the folder mixes files of different runs; run the pipeline again to write one set',
      });
    }
    const fromSummary = isObject(summary) ? summary['detectors'] : undefined;
    const recorded = isObject(fromSummary) ? fromSummary[name] : undefined;
    const thresholdValue =
      isObject(recorded) && isObject(recorded['threshold']) ? recorded['threshold']['value'] : undefined;
    detectors.push({
      name,
      scores: parsed.scores,
      flags: parsed.flags,
      threshold:
        typeof thresholdValue === 'number'
          ? thresholdValue
          : (parsed.thresholds[parsed.thresholds.length - 1] ?? Number.NaN),
      // Each row's threshold as the CSV has it (SPOT/DSPOT, walk-forward folds): its flag followed it.
      thresholds: parsed.thresholds,
      reasons: parsed.reasons,
    });
  }
  const rows = base!;
  const firstOf = (split: string) => {
    const index = rows.splits.indexOf(split);
    return index > 0 ? { [split]: rows.times[index]! } : {};
  };
  const text = (key: string) =>
    isObject(summary) && typeof summary[key] === 'string' ? (summary[key] as string) : undefined;
  const input: HtmlReportInput = {
    symbol: text('symbol') ?? 'unknown symbol',
    times: rows.times,
    close: rows.close,
    splits: rows.splits,
    detectors,
    boundaries: { ...firstOf('validation'), ...firstOf('test') },
    summary,
    origin: `the run in ${folder}`,
  };
  const source = text('source');
  if (source) input.source = source;
  const interval = text('interval');
  if (interval) input.interval = interval;
  const evaluation = await readEvaluation(folder, text('runId'));
  if (evaluation) input.evaluation = evaluation;
  if (labelsFile) {
    input.labels = await readLabels(labelsFile);
    // Named, as the evaluation section names its own labels: the two may differ.
    input.labelsSource = labelsFile;
  } else if (evaluation?.events) {
    if (evaluation.labels) input.labelsSource = evaluation.labels.source;
    // The evaluation's labelled events, each over the candles it labelled, named by its label.
    input.labels = evaluation.events.flatMap((event) =>
      event.rows
        ? [
            {
              start: Date.parse(event.rows.from),
              end: Date.parse(event.rows.to),
              ...(event.label !== undefined ? { label: event.label } : {}),
            },
          ]
        : [],
    );
  }
  return input;
}

/**
 * The folder's evaluation.json, when `evaluate` wrote it for this run (its `from.runId` is the
 * summary's): one left by an earlier run in the folder, or unreadable, is not shown.
 */
async function readEvaluation(
  folder: string,
  runId: string | undefined,
): Promise<EvaluationReport | undefined> {
  const path = join(folder, EVALUATION_FILES.report);
  if (runId === undefined || !existsSync(path)) return undefined;
  try {
    const report = JSON.parse(await readFile(path, 'utf8')) as EvaluationReport;
    return report.format === EVALUATION_FORMAT && report.from?.['runId'] === runId ? report : undefined;
  } catch {
    return undefined;
  }
}

async function readLabels(file: string) {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new CliError(
      'RUNTIME',
      `cannot read --labels ${file} (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
      { hint: 'give an events CSV with a time column, or start and end columns', cause: error },
    );
  }
  try {
    return parseEventsCsv(text);
  } catch (error) {
    throw new CliError('RUNTIME', `--labels ${file}: ${(error as Error).message}`, {
      hint: 'give an events CSV with a time column, or start and end columns (UTC times)',
      cause: error,
    });
  }
}
