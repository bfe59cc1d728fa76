import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  ANOMALY_FILES,
  type HtmlReportDetector,
  type HtmlReportInput,
  parseEventsCsv,
} from '@crypto-anomaly/core';
import { parse } from 'csv-parse/sync';
import { CliError } from './errors.js';

/**
 * What `report DIR --html` draws, read back from a run's folder: each detector's
 * `anomalies_<detector>.csv` (time, close, split, score, threshold, flag and top features) and
 * summary.json (thresholds, source, the run's facts).
 */

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const isObject = (value: Json | undefined): value is { [key: string]: Json } =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** A run's anomalies CSV, parsed: one entry per row. */
interface AnomaliesFile {
  times: Float64Array;
  close: Float64Array;
  splits: string[];
  scores: Float64Array;
  thresholds: Float64Array;
  flags: Uint8Array;
  reasons: string[];
}

const REQUIRED = ['time', 'close', 'split', 'score', 'threshold', 'is_anomaly'] as const;

function readAnomaliesCsv(text: string, file: string): AnomaliesFile {
  let records: string[][];
  try {
    records = parse(text, { skip_empty_lines: true }) as string[][];
  } catch (error) {
    throw new CliError('RUNTIME', `${file} is not a readable CSV (${(error as Error).message})`, {
      hint: 'the file was changed or cut short; run the pipeline again to rewrite it',
      cause: error,
    });
  }
  const header = records[0] ?? [];
  const column = Object.fromEntries(REQUIRED.map((name) => [name, header.indexOf(name)])) as Record<
    (typeof REQUIRED)[number],
    number
  >;
  const missing = REQUIRED.filter((name) => column[name] < 0);
  if (missing.length > 0) {
    throw new CliError(
      'RUNTIME',
      `${file} has no ${missing.join(', ')} column: it is not an anomalies file of a run`,
      {
        hint: 'give the --out folder of a run, as written by crypto-anomaly run, train --out or detect',
      },
    );
  }
  const features: [number, number][] = [];
  for (let k = 1; header.includes(`top_feature_${k}`); k++) {
    features.push([header.indexOf(`top_feature_${k}`), header.indexOf(`top_share_${k}`)]);
  }
  const rows = records.slice(1);
  const out: AnomaliesFile = {
    times: new Float64Array(rows.length),
    close: new Float64Array(rows.length),
    splits: [],
    scores: new Float64Array(rows.length),
    thresholds: new Float64Array(rows.length),
    flags: new Uint8Array(rows.length),
    reasons: [],
  };
  const number = (cell: string | undefined) =>
    cell === undefined || cell === '' ? Number.NaN : Number(cell);
  rows.forEach((row, i) => {
    const time = Date.parse(row[column.time] ?? '');
    if (!Number.isFinite(time)) {
      throw new CliError('RUNTIME', `${file} line ${i + 2}: "${row[column.time] ?? ''}" is not a time`, {
        hint: 'the file was changed; run the pipeline again to rewrite it',
      });
    }
    out.times[i] = time;
    out.close[i] = number(row[column.close]);
    out.splits.push(row[column.split] ?? '');
    out.scores[i] = number(row[column.score]);
    out.thresholds[i] = number(row[column.threshold]);
    out.flags[i] = row[column.is_anomaly] === '1' ? 1 : 0;
    out.reasons.push(
      features
        .filter(([name]) => (row[name] ?? '') !== '')
        .map(([name, share]) => `${row[name]} ${Math.round(number(row[share]) * 100)}%`)
        .join(', '),
    );
  });
  return out;
}

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
    const parsed = readAnomaliesCsv(await readFile(file, 'utf8'), file);
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
  if (labelsFile) input.labels = await readLabels(labelsFile);
  return input;
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
