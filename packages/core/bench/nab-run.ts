/**
 * The Numenta Anomaly Benchmark (NAB v1.1), online: `UnivariateDetector` scores every row of
 * each of NAB's 58 series from that row and the rows before it only, learning on each file's
 * probationary rows first; then NAB's own rules score the result: one threshold per profile for
 * all files, found by NAB's optimiser over the corpus (v1.1's sweep; v1.0's hill climb also
 * shown, as some published rows come from it), normalised to null = 0, perfect = 100. One
 * configuration for all files; labels are read only by the scorer.
 *
 *   pnpm exec tsx bench/nab-run.ts [--data ../../../shared/data] [--options '{"refitEvery":500}']
 *     [--scores out.csv] [--peer]
 *
 * `--peer` scores the Python original (`../shared/peers/seed_baseline.py`) instead, at its own
 * flags (bench/nab-peer.ts says how a series becomes its input).
 *
 * Prints the three profiles' scores, the rank on the published scoreboard (`final_results.json`),
 * a per-file summary and the run time (wall and CPU). `--scores` writes every row's score.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
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
import { nabProbationaryLength, scoreNabCorpus } from '../src/evaluation/nab.js';
import { twiddleNabThreshold } from '../src/evaluation/nab-optimize.js';
import {
  DEFAULT_UNIVARIATE_DETECTOR_OPTIONS,
  UnivariateDetector,
  type UnivariateDetectorOptions,
} from '../src/streaming/univariate-detector.js';
import { type PeerSeries, peerFlags } from './nab-peer.js';
import { PEER_FILES, type PeerDetector, PYTHON_ORIGINAL } from './python-original.js';

const repoRoot = resolve(fileURLToPath(new URL('../../..', import.meta.url)));
const { values } = parseArgs({
  options: {
    data: { type: 'string' },
    options: { type: 'string', default: '{}' },
    scores: { type: 'string' },
    peer: { type: 'boolean', default: false },
  },
});
const nabDir = join(values.data ?? join(repoRoot, '..', 'shared', 'data'), 'nab');
if (!existsSync(join(nabDir, 'labels', 'combined_windows.json'))) {
  console.error(
    `NAB not found in ${nabDir}: pass --data <folder holding nab/> with nab/data/<category>/<file>.csv, ` +
      'nab/labels/combined_windows.json and nab/results/final_results.json (from a numenta/NAB checkout).',
  );
  // Without --data (as in `pnpm bench`), a missing corpus skips the benchmark; a wrong --data fails.
  process.exit(values.data === undefined ? 0 : 2);
}
const overrides = JSON.parse(values.options) as Partial<UnivariateDetectorOptions>;

const windows = parseNabWindows(
  JSON.parse(await readFile(join(nabDir, 'labels', 'combined_windows.json'), 'utf8')),
);
const published = JSON.parse(await readFile(join(nabDir, 'results', 'final_results.json'), 'utf8')) as Record<
  string,
  Record<NabProfileName, number>
>;

async function readSeries(path: string): Promise<{ timestamps: Float64Array; values: Float64Array }> {
  const lines = (await readFile(path, 'utf8')).split(/\r?\n/).filter((line) => line !== '');
  const header = lines[0]!.split(',');
  const timeColumn = header.indexOf('timestamp');
  const valueColumn = header.indexOf('value');
  if (timeColumn < 0 || valueColumn < 0) throw new Error(`${path} needs timestamp and value columns`);
  const timestamps = new Float64Array(lines.length - 1);
  const series = new Float64Array(lines.length - 1);
  for (let i = 1; i < lines.length; i++) {
    const cells = lines[i]!.split(',');
    timestamps[i - 1] = parseTime(cells[timeColumn]!);
    series[i - 1] = Number(cells[valueColumn]);
  }
  return { timestamps, values: series };
}

/** Every series of the corpus, in NAB's category and file order, with its label windows. */
async function readNabFiles(): Promise<(PeerSeries & { windows: NabSeries['windows'] })[]> {
  const all: (PeerSeries & { windows: NabSeries['windows'] })[] = [];
  const categories = (await readdir(join(nabDir, 'data'), { withFileTypes: true }))
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
  for (const category of categories) {
    const files = (await readdir(join(nabDir, 'data', category))).filter((f) => f.endsWith('.csv')).sort();
    for (const file of files) {
      const name = `${category}/${file}`;
      const fileWindows = windows.get(name);
      if (fileWindows === undefined) throw new Error(`combined_windows.json has no entry for ${name}`);
      all.push({ name, ...(await readSeries(join(nabDir, 'data', category, file))), windows: fileWindows });
    }
  }
  return all;
}

if (values.peer) {
  await scorePeer();
  process.exit(0);
}
const corpus: NabSeries[] = [];
const startedWall = performance.now();
const startedCpu = process.cpuUsage();
const scoreLines: string[] = ['file,timestamp,score'];
for (const { name, timestamps, values: series, windows: fileWindows } of await readNabFiles()) {
  // NAB's detectors learn on the probationary rows (NAB's base detector is told their number).
  const warmup = Math.max(2, nabProbationaryLength(series.length));
  const scores = await UnivariateDetector.scoreSeries(series, { ...overrides, warmup });
  corpus.push({ name, timestamps, scores, windows: fileWindows });
  if (values.scores !== undefined) {
    for (let i = 0; i < scores.length; i++) scoreLines.push(`${name},${timestamps[i]},${scores[i]}`);
  }
}
const cpu = process.cpuUsage(startedCpu);
const wallSeconds = (performance.now() - startedWall) / 1000;
const rows = corpus.reduce((sum, series) => sum + series.scores.length, 0);
if (values.scores !== undefined) await writeFile(values.scores, `${scoreLines.join('\n')}\n`);

const results = Object.fromEntries(
  NAB_PROFILE_NAMES.map((profile) => [profile, scoreNabCorpus(corpus, NAB_PROFILES[profile])]),
) as Record<NabProfileName, ReturnType<typeof scoreNabCorpus>>;
const twiddled = Object.fromEntries(
  NAB_PROFILE_NAMES.map((profile) => {
    const { threshold } = twiddleNabThreshold(corpus, NAB_PROFILES[profile]);
    return [profile, scoreNabCorpus(corpus, NAB_PROFILES[profile], { threshold })];
  }),
) as Record<NabProfileName, ReturnType<typeof scoreNabCorpus>>;

const options = { ...DEFAULT_UNIVARIATE_DETECTOR_OPTIONS, ...overrides };
console.log(`UnivariateDetector on NAB v1.1, online, options ${JSON.stringify(options)}`);
console.log(
  `${corpus.length} files, ${rows} rows in ${wallSeconds.toFixed(1)} s wall, ` +
    `${((cpu.user + cpu.system) / 1e6).toFixed(1)} s CPU (${((rows / (cpu.user + cpu.system)) * 1e6).toFixed(0)} rows per CPU second)\n`,
);
console.log(
  '| profile | score (v1.1 sweep) | threshold | TP | FP | FN | rank on the published board | score (v1.0 hill climb) |',
);
console.log('|---|---:|---:|---:|---:|---:|---|---:|');
for (const profile of NAB_PROFILE_NAMES) {
  const result = results[profile];
  const { rank, of, above } = rankOf(profile, result.normalizedScore);
  console.log(
    `| ${profile} | ${result.normalizedScore.toFixed(2)} | ${result.threshold.toPrecision(6)} | ${result.tp} | ` +
      `${result.fp} | ${result.fn} | ${rank} of ${of} (below ${above.join(', ') || 'none'}) | ` +
      `${twiddled[profile].normalizedScore.toFixed(2)} |`,
  );
}

console.log('\nPer file, standard profile at its corpus threshold (windows detected of those scored):\n');
console.log('| file | rows | windows | detected | FP rows | score |');
console.log('|---|---:|---:|---:|---:|---:|');
const standard = results.standard;
for (const [index, file] of standard.files.entries()) {
  const series = corpus[index]!;
  const probation = nabProbationaryLength(series.scores.length);
  const windowHits = series.windows.map((window) => {
    let hit = false;
    for (let i = probation; i < series.scores.length; i++) {
      const t = series.timestamps[i]!;
      if (t >= window.start && t <= window.end && series.scores[i]! >= standard.threshold) hit = true;
    }
    return hit;
  });
  console.log(
    `| ${file.name} | ${file.rows} | ${series.windows.length} | ${windowHits.filter(Boolean).length} | ${file.fp} | ${file.score.toFixed(2)} |`,
  );
}

/** The rank a score would take on the published board, and the detectors above it. */
function rankOf(profile: NabProfileName, score: number) {
  const above = Object.entries(published)
    .filter(([, scores]) => scores[profile] > score)
    .map(([detector]) => detector);
  return { rank: above.length + 1, of: Object.keys(published).length + 1, above };
}

/**
 * `--peer`: the Python original on every series (bench/nab-peer.ts), each of its detectors' flags
 * scored by NAB's rules at those flags (a threshold of 0.5 on the 0/1 scores), beside the rank
 * the score would take on the published board.
 */
async function scorePeer(): Promise<void> {
  if (!existsSync(PYTHON_ORIGINAL)) throw new Error(`--peer needs ${PYTHON_ORIGINAL}`);
  const all = await readNabFiles();
  const scratch = await mkdtemp(join(tmpdir(), 'nab-peer-'));
  const started = performance.now();
  const { flags, failed } = await peerFlags(all, scratch);
  await rm(scratch, { recursive: true, force: true });
  console.log(
    `The Python original (${PYTHON_ORIGINAL}) on NAB v1.1: ${all.length} files in ` +
      `${((performance.now() - started) / 1000).toFixed(0)} s wall, two at a time; it fits and thresholds ` +
      'on each whole file (look-ahead NAB does not allow), scored at its own flags.\n',
  );
  console.log('| detector | standard | low FP | low FN | rank on standard (published + it) | TP | FP | FN |');
  console.log('|---|---:|---:|---:|---|---:|---:|---:|');
  for (const detector of Object.keys(PEER_FILES) as PeerDetector[]) {
    const corpus = all.map((series, i) => ({ ...series, scores: flags[i]![detector] }));
    const scored = Object.fromEntries(
      NAB_PROFILE_NAMES.map((profile) => [
        profile,
        scoreNabCorpus(corpus, NAB_PROFILES[profile], { threshold: 0.5 }),
      ]),
    ) as Record<NabProfileName, ReturnType<typeof scoreNabCorpus>>;
    const standard = scored.standard;
    const { rank, of } = rankOf('standard', standard.normalizedScore);
    console.log(
      `| ${detector} | ${standard.normalizedScore.toFixed(2)} | ${scored.reward_low_FP_rate.normalizedScore.toFixed(2)} | ` +
        `${scored.reward_low_FN_rate.normalizedScore.toFixed(2)} | ${rank} of ${of} | ${standard.tp} | ${standard.fp} | ${standard.fn} |`,
    );
  }
  console.log(
    `\nFiles on which the program failed (no flags counted): ${failed.length === 0 ? 'none' : failed.map((f) => `${f.name} (${f.reason})`).join('; ')}`,
  );
}
