/**
 * Checks core's NAB scorer against the published NAB v1.1 scoreboard: for each detector, reads
 * its raw per-row anomaly scores (numenta/NAB's `results/<detector>/<category>/<detector>_<file>.csv`),
 * optimises the threshold per profile as NAB does, scores every file, normalises, and compares
 * with the published totals (`final_results.json`) and per-file scores (`*_scores.csv`).
 *
 *   pnpm exec tsx bench/nab-scoreboard.ts <NAB results folder> [--data ../../../shared/data]
 *     [--detectors numenta,windowedGaussian,random,null]
 *
 * The results folder is the `results/` folder of a numenta/NAB checkout (about 300 MB for all
 * detectors; only the named detectors' folders are read). Prints Markdown tables.
 *
 * A check as well: at the published threshold, each detector's normalised total and every
 * per-file raw score must be within `--tolerance` (default 0.1) of the published ones, with the
 * same TP/TN/FP/FN counts per file. Exits 1 when a detector fails that, or when fewer than two
 * detectors could be checked per file (a detector whose published per-file table does not cover
 * every file, such as random's, is checked on its total only and said so).
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  NAB_PROFILE_NAMES,
  NAB_PROFILES,
  type NabProfileName,
  type NabSeries,
} from '../src/evaluation/api.js';
import { parseNabWindows, parseTime } from '../src/evaluation/labels.js';
import { scoreNabCorpus } from '../src/evaluation/nab.js';

const repoRoot = resolve(fileURLToPath(new URL('../../..', import.meta.url)));
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    data: { type: 'string', default: join(repoRoot, '..', 'shared', 'data') },
    detectors: { type: 'string', default: 'numenta,windowedGaussian,random,null' },
    tolerance: { type: 'string', default: '0.1' },
  },
});
const resultsDir = positionals[0];
if (resultsDir === undefined || !existsSync(resultsDir)) {
  console.error(
    `${resultsDir === undefined ? 'No NAB results folder given' : `NAB results folder not found: ${resultsDir}`}.\n` +
      'Pass the results/ folder of a numenta/NAB checkout (git clone https://github.com/numenta/NAB), which holds\n' +
      'results/<detector>/<category>/<detector>_<file>.csv with an anomaly_score column.',
  );
  process.exit(2);
}
const nabDir = join(values.data, 'nab');
const detectors = values.detectors.split(',').map((name) => name.trim());
const tolerance = Number(values.tolerance);
if (!(tolerance >= 0)) {
  console.error(`--tolerance must be a number >= 0, got ${values.tolerance}.`);
  process.exit(2);
}

const windows = parseNabWindows(
  JSON.parse(await readFile(join(nabDir, 'labels', 'combined_windows.json'), 'utf8')),
);
const profilesJson = JSON.parse(await readFile(join(nabDir, 'config', 'profiles.json'), 'utf8')) as Record<
  NabProfileName,
  { CostMatrix: { tpWeight: number; fpWeight: number; fnWeight: number } }
>;
const finalResults = JSON.parse(
  await readFile(join(nabDir, 'results', 'final_results.json'), 'utf8'),
) as Record<string, Record<NabProfileName, number>>;
const publishedThresholds = JSON.parse(
  await readFile(join(nabDir, 'config', 'thresholds.json'), 'utf8'),
) as Record<string, Record<NabProfileName, { threshold: number }>>;
for (const name of NAB_PROFILE_NAMES) {
  const cost = profilesJson[name].CostMatrix;
  const ours = NAB_PROFILES[name];
  if (cost.tpWeight !== ours.tpWeight || cost.fpWeight !== ours.fpWeight || cost.fnWeight !== ours.fnWeight) {
    throw new Error(`profiles.json's ${name} costs differ from NAB_PROFILES: ${JSON.stringify(cost)}`);
  }
}

async function loadCorpus(detector: string): Promise<NabSeries[]> {
  const corpus: NabSeries[] = [];
  for (const [name, fileWindows] of windows) {
    const [category, file] = name.split('/') as [string, string];
    const path = join(resultsDir!, detector, category, `${detector}_${file}`);
    const lines = (await readFile(path, 'utf8')).split(/\r?\n/).filter((line) => line !== '');
    const header = lines[0]!.split(',');
    const scoreColumn = header.indexOf('anomaly_score');
    if (scoreColumn < 0) throw new Error(`${path} has no anomaly_score column`);
    const timestamps = new Float64Array(lines.length - 1);
    const scores = new Float64Array(lines.length - 1);
    for (let i = 1; i < lines.length; i++) {
      const cells = lines[i]!.split(',');
      timestamps[i - 1] = parseTime(cells[0]!);
      scores[i - 1] = Number(cells[scoreColumn]);
      if (!Number.isFinite(scores[i - 1]!))
        throw new Error(`${path} line ${i + 1}: anomaly_score is not a number`);
    }
    corpus.push({ name, timestamps, scores, windows: fileWindows });
  }
  return corpus;
}

/** Published per-file rows of `<detector>_<profile>_scores.csv`, by file name. */
async function publishedFiles(detector: string, profile: NabProfileName) {
  const text = await readFile(join(nabDir, 'results', detector, `${detector}_${profile}_scores.csv`), 'utf8');
  const rows = new Map<string, { score: number; tp: number; tn: number; fp: number; fn: number }>();
  for (const line of text.split(/\r?\n/).slice(1)) {
    const cells = line.split(',');
    if (cells.length < 10 || cells[0] === 'Totals') continue;
    const [, , file, , score, tp, tn, fp, fn] = cells;
    rows.set(file!, { score: Number(score), tp: Number(tp), tn: Number(tn), fp: Number(fp), fn: Number(fn) });
  }
  return rows;
}

const fmt = (v: number, digits = 2) => {
  const text = v.toFixed(digits);
  return Number(text) === 0 ? text.replace('-', '') : text; // no "-0.000"
};
const totals: string[] = [];
const perFile: string[] = [];
/** Per detector: whether every profile passed, and whether its per-file table could be checked. */
const verdicts = new Map<string, { pass: boolean; perFile: boolean; problems: string[] }>();
for (const detector of detectors) {
  const started = performance.now();
  const corpus = await loadCorpus(detector);
  for (const profile of NAB_PROFILE_NAMES) {
    const cost = NAB_PROFILES[profile];
    const optimised = scoreNabCorpus(corpus, cost);
    const published = finalResults[detector]?.[profile] ?? Number.NaN;
    const publishedThreshold = publishedThresholds[detector]?.[profile]?.threshold ?? Number.NaN;
    const atPublished = scoreNabCorpus(corpus, cost, { threshold: publishedThreshold });
    totals.push(
      `| ${detector} | ${profile} | ${fmt(optimised.normalizedScore)} | ${fmt(published)} | ` +
        `${fmt(optimised.normalizedScore - published, 3)} | ${optimised.threshold.toPrecision(6)} | ` +
        `${publishedThreshold.toPrecision(6)} | ${fmt(atPublished.normalizedScore)} |`,
    );
    const publishedRows = await publishedFiles(detector, profile);
    let worst = 0;
    let worstFile = '';
    let countsDiffer = 0;
    let compared = 0;
    for (const file of atPublished.files) {
      const row = publishedRows.get(file.name);
      if (row === undefined) continue;
      compared++;
      const difference = Math.abs(file.score - row.score);
      if (difference >= worst) {
        worst = difference;
        worstFile = file.name;
      }
      if (file.tp !== row.tp || file.tn !== row.tn || file.fp !== row.fp || file.fn !== row.fn)
        countsDiffer++;
    }
    const complete = compared === atPublished.files.length;
    const totalDifference = Math.abs(atPublished.normalizedScore - published);
    const verdict = verdicts.get(detector) ?? { pass: true, perFile: true, problems: [] };
    verdict.perFile &&= complete;
    if (!(totalDifference <= tolerance)) {
      verdict.pass = false;
      verdict.problems.push(`${profile}: total ${fmt(totalDifference, 3)} from the published`);
    }
    if (complete && !(worst <= tolerance && countsDiffer === 0)) {
      verdict.pass = false;
      verdict.problems.push(
        `${profile}: ${worstFile} ${fmt(worst, 3)} from the published, ${countsDiffer} files' counts differ`,
      );
    }
    verdicts.set(detector, verdict);
    const check = !complete ? 'total only' : worst <= tolerance && countsDiffer === 0 ? 'pass' : 'FAIL';
    perFile.push(
      `| ${detector} | ${profile} | ${compared} of ${atPublished.files.length} | ${worst.toExponential(1)} | ${worstFile || '-'} | ${countsDiffer} | ${check} |`,
    );
  }
  console.error(`${detector}: ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

console.log(
  'Normalised NAB score (null = 0, perfect = 100), threshold optimised over the corpus per profile:\n',
);
console.log(
  '| detector | profile | ours | published | difference | our threshold | published threshold | ours at published threshold |',
);
console.log('|---|---|---:|---:|---:|---:|---:|---:|');
for (const line of totals) console.log(line);
console.log('\nPer file, scored at the published threshold against the published `*_scores.csv`:\n');
console.log(
  `| detector | profile | files published | largest score difference | in | files whose TP/TN/FP/FN counts differ | within ${tolerance} |`,
);
console.log('|---|---|---:|---:|---|---:|---|');
for (const line of perFile) console.log(line);

const checkedPerFile = [...verdicts]
  .filter(([, verdict]) => verdict.pass && verdict.perFile)
  .map(([name]) => name);
const failed = [...verdicts].filter(([, verdict]) => !verdict.pass);
console.log(
  `\nReproduced within ${tolerance}, per file and in total under all three profiles: ${checkedPerFile.join(', ') || 'none'}.`,
);
for (const [name, verdict] of verdicts) {
  if (verdict.pass && !verdict.perFile) {
    console.log(`${name}: its published per-file table does not cover every file; total checked only.`);
  }
}
for (const [name, verdict] of failed) console.log(`${name} FAILED: ${verdict.problems.join('; ')}`);
if (failed.length > 0 || checkedPerFile.length < 2) process.exitCode = 1;
