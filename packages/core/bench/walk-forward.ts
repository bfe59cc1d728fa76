/**
 * Where the flags fall on real history, for a default run, a walk-forward run and adaptive
 * (SPOT / DSPOT) thresholds: the share of flags a trader could explain by the candle's own move
 * or volume (`explainableShare`: |log return| > 3 std of the previous 30, or volume > 3x their
 * median) and the share of flags in the first 10% of the history (`flagSpread`), computed over
 * every candle of the file (a candle no model judged counts as not flagged).
 *
 *   tsx bench/walk-forward.ts [FILE.csv ...] [--modes default,walk-forward,spot,dspot]
 *       [--detectors isolation-forest,autoencoder]
 *
 * The default mode also reports SPOT and DSPOT over the same fitted detectors ("same fit"): what
 * the spot and dspot modes give, without training again.
 *
 * Default files: ../shared/data/binance/BTCUSDT_1d.csv and BTCUSDT_4h.csv (skipped with a message
 * when missing). One line of JSON per run goes to stdout, then a Markdown table.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { csvSource, isInterval } from '@crypto-anomaly/data';
import {
  DETECTOR_NAMES,
  type DetectorName,
  explainableShare,
  fitThreshold,
  flagSpread,
  type PipelineConfigInput,
  type RunPipelineOptions,
  runPipeline,
  thresholdsPerRow,
} from '../src/index.js';

const shared = fileURLToPath(new URL('../../../../shared/data/binance/', import.meta.url));
const args = process.argv.slice(2);
const modesFlag = args.indexOf('--modes');
const modes = (modesFlag >= 0 ? args[modesFlag + 1]! : 'default,walk-forward,spot,dspot').split(',');
const detectorsFlag = args.indexOf('--detectors');
const detectors = detectorsFlag >= 0 ? (args[detectorsFlag + 1]!.split(',') as DetectorName[]) : undefined;
const files = args.filter((a) => a.endsWith('.csv'));
if (files.length === 0) files.push(join(shared, 'BTCUSDT_1d.csv'), join(shared, 'BTCUSDT_4h.csv'));

const MODES: Record<
  string,
  { config?: PipelineConfigInput; walkForward?: RunPipelineOptions['walkForward'] }
> = {
  default: {},
  'walk-forward': { walkForward: true },
  spot: { config: { threshold: { kind: 'spot' } } },
  dspot: { config: { threshold: { kind: 'dspot' } } },
  'walk-forward-dspot': { walkForward: true, config: { threshold: { kind: 'dspot' } } },
};

interface Row {
  file: string;
  mode: string;
  detector: string;
  flags: number;
  explainable: number;
  baseRate: number;
  early: number;
  /** Flags on rows no detector or threshold was fitted on (validation and test; all rows in walk-forward). */
  afterTraining: number;
  cpuSeconds: number;
  wallSeconds: number;
  featureSet: string;
}

const rows: Row[] = [];
for (const file of files) {
  if (!existsSync(file)) {
    console.error(`skipped ${file}: not found (the shared data is not on this machine)`);
    continue;
  }
  // BTCUSDT_1d.csv (the shared data's names) or BTCUSDT-1d.csv.
  const [, symbol, interval] = /([A-Z0-9]+)[_-](\d+[smhdwM])\.csv$/.exec(basename(file)) ?? [];
  if (!symbol || !isInterval(interval!)) throw new Error(`${file}: name it SYMBOL_INTERVAL.csv`);
  const source = csvSource(file, { symbol, interval });
  const candles = await source.load({ symbol, interval });
  const index = new Map(candles.map((c, i) => [c.openTime, i]));
  for (const mode of modes) {
    const settings = MODES[mode];
    if (!settings) throw new Error(`unknown mode ${mode}: use ${Object.keys(MODES).join(', ')}`);
    const outDir = await mkdtemp(join(tmpdir(), 'bench-walk-forward-'));
    const cpu = process.cpuUsage();
    const started = performance.now();
    try {
      const result = await runPipeline({
        source,
        symbol,
        interval,
        outDir,
        charts: false,
        modelDir: false,
        ...(settings.config || detectors
          ? { config: { ...settings.config, ...(detectors ? { detectors } : {}) } }
          : {}),
        ...(settings.walkForward ? { walkForward: settings.walkForward } : {}),
      });
      const used = process.cpuUsage(cpu);
      const cpuSeconds = (used.user + used.system) / 1e6;
      const wallSeconds = (performance.now() - started) / 1000;
      const featureSet = String((result.summary.config.features as { set?: string }).set ?? 'classic');
      for (const detector of [...DETECTOR_NAMES, 'consensus'] as const) {
        const path = result.files[detector];
        if (!path) continue;
        const [header, ...lines] = (await readFile(path, 'utf8')).trim().split('\n');
        const columns = header!.split(',');
        const time = columns.indexOf('time');
        const flag = columns.indexOf('is_anomaly');
        const split = columns.indexOf('split');
        const score = columns.indexOf('score');
        const cells = lines.map((line) => line.split(','));
        const at = cells.map((c) => index.get(Date.parse(c[time]!))!);
        const report = (name: string, flagged: (i: number) => boolean) => {
          const flags = new Uint8Array(candles.length);
          let afterTraining = 0;
          for (let i = 0; i < cells.length; i++) {
            if (!flagged(i)) continue;
            flags[at[i]!] = 1;
            if (cells[i]![split] !== 'train') afterTraining++;
          }
          const share = explainableShare(candles, flags);
          const spread = flagSpread(
            candles.map((c) => c.openTime),
            flags,
          );
          const row: Row = {
            file: basename(file, '.csv'),
            mode: name,
            detector,
            flags: share.flags,
            explainable: share.share,
            baseRate: share.baseRate,
            early: spread.earlyShare,
            afterTraining,
            cpuSeconds,
            wallSeconds,
            featureSet,
          };
          rows.push(row);
          console.log(JSON.stringify(row));
        };
        report(mode, (i) => cells[i]![flag] === '1');
        if (mode === 'default') {
          // The same fitted detectors judged by SPOT / DSPOT: the thresholds do not change training,
          // so this is what --threshold spot|dspot gives (bit for bit: the CSV's scores round-trip).
          const scores = Float64Array.from(cells, (c) => (c[score] === '' ? Number.NaN : Number(c[score])));
          const trainEnd = cells.findIndex((c) => c[split] !== 'train');
          const training = scores.subarray(0, trainEnd);
          for (const kind of ['spot', 'dspot'] as const) {
            const fitted = fitThreshold(training, { kind });
            const thresholds = new Float64Array(scores.length).fill(fitted.value);
            thresholds.set(thresholdsPerRow(fitted, training, scores.subarray(trainEnd)), trainEnd);
            report(`${kind} (same fit)`, (i) => scores[i]! > thresholds[i]!);
          }
        }
      }
    } finally {
      await rm(outDir, { recursive: true, force: true });
    }
  }
}

const pct = (x: number) => (Number.isFinite(x) ? `${(100 * x).toFixed(0)}%` : '–');
console.log('\n| file | mode | detector | flags | explainable | first 10% | CPU s |');
console.log('| --- | --- | --- | ---: | ---: | ---: | ---: |');
for (const r of rows) {
  console.log(
    `| ${r.file} | ${r.mode} | ${r.detector} | ${r.flags} | ${pct(r.explainable)} | ${pct(r.early)} | ${r.cpuSeconds.toFixed(0)} |`,
  );
}
