/**
 * The whole program against the Python original it replaces, on the original's own job, measured
 * in one run: this toolkit's `crypto-anomaly run` (defaults, charts included) and
 * `/usr/bin/python3 ../shared/peers/seed_baseline.py` on the same CSV, one after the other,
 * alternating, each in its own process under /usr/bin/time (wall time, CPU time = user + system,
 * peak resident memory).
 *
 *   pnpm exec tsx bench/end-to-end.ts [--data ../../../shared/data] [--files BTCUSDT_1d.csv,BTCUSDT_1h.csv]
 *                                     [--repeats 1] [--toolkit-only]
 *   pnpm exec tsx bench/end-to-end.ts --year-of-minutes    (the toolkit alone on 525,600 1m candles
 *                                                            of the sample market, written to a CSV first)
 *
 * Needs the CLI built (packages/cli-tui/dist/bin.js) and, for the Python side, Debian's
 * python3-sklearn, python3-pandas and python3-torch. Prints a Markdown table. On a machine shared
 * with other work, compare the CPU times and the ratios of one run, not wall times across runs.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { sampleSource, writeKlinesCsv } from '@crypto-anomaly/data';

const repoRoot = resolve(fileURLToPath(new URL('../../..', import.meta.url)));
const { values } = parseArgs({
  options: {
    data: { type: 'string', default: join(repoRoot, '..', 'shared', 'data') },
    files: { type: 'string', default: 'BTCUSDT_1d.csv,BTCUSDT_1h.csv' },
    repeats: { type: 'string', default: '1' },
    'toolkit-only': { type: 'boolean', default: false },
    'year-of-minutes': { type: 'boolean', default: false },
  },
});
const cli = join(repoRoot, 'packages', 'cli-tui', 'dist', 'bin.js');
const python = join(repoRoot, '..', 'shared', 'peers', 'seed_baseline.py');
if (!existsSync(cli)) throw new Error(`${cli} is missing: build the CLI first (pnpm build).`);

interface Timed {
  wallS: number;
  cpuS: number;
  peakMb: number;
  /** Per-stage seconds from summary.json (toolkit) or the script's last line (Python). */
  stages: string;
}

/** Runs a command under /usr/bin/time; throws with its output when it fails. */
function timed(command: string, args: string[]): { time: Timed; stdout: string } {
  const result = spawnSync('/usr/bin/time', ['-f', '%e %U %S %M', command, ...args], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  const last = result.stderr.trim().split('\n').at(-1) ?? '';
  const [wall, user, system, kb] = last.split(' ').map(Number);
  if (result.status !== 0 || wall === undefined || Number.isNaN(wall)) {
    throw new Error(`${command} ${args.join(' ')} failed (${result.status}):\n${result.stderr.slice(-2000)}`);
  }
  return {
    time: { wallS: wall, cpuS: user! + system!, peakMb: kb! / 1024, stages: '' },
    stdout: result.stdout,
  };
}

async function toolkit(csv: string): Promise<Timed> {
  const out = await mkdtemp(join(tmpdir(), 'e2e-toolkit-'));
  try {
    const { time } = timed(process.execPath, [
      cli,
      'run',
      '--input',
      csv,
      '--allow-gaps',
      '--out',
      join(out, 'run'),
      '--no-tui',
    ]);
    const summary = JSON.parse(await readFile(join(out, 'run', 'summary.json'), 'utf8')) as {
      timings: Record<string, number>;
      detectors: Record<string, { training?: { epochsRun: number; bestEpoch: number } }>;
    };
    const epochs = Object.entries(summary.detectors)
      .flatMap(([name, d]) => (d.training ? [`${name} ${d.training.epochsRun} ep`] : []))
      .join(', ');
    time.stages = `${Object.entries(summary.timings)
      .filter(([stage]) => stage !== 'total')
      .map(([stage, ms]) => `${stage} ${(ms / 1000).toFixed(1)}`)
      .join(', ')}; ${epochs}`;
    return time;
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}

async function original(csv: string): Promise<Timed> {
  const out = await mkdtemp(join(tmpdir(), 'e2e-python-'));
  try {
    const { time, stdout } = timed('/usr/bin/python3', [python, '--input', csv, '--out', out]);
    time.stages = stdout.trim().split('\n').at(-1) ?? '';
    return time;
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}

const rows: string[] = [];
const jobs = values.files.split(',').map((file) => ({ file, csv: join(values.data, 'binance', file) }));
let yearDir: string | undefined;
if (values['year-of-minutes']) {
  yearDir = await mkdtemp(join(tmpdir(), 'e2e-year-'));
  const csv = join(yearDir, 'BTCUSDT-1m-year.csv');
  const klines = await sampleSource({ count: 525_600, interval: '1m' }).load({
    symbol: 'BTCUSDT',
    interval: '1m',
  });
  await writeKlinesCsv(csv, klines);
  jobs.splice(0, jobs.length, { file: 'sample market, 525,600 1m candles', csv });
  values['toolkit-only'] = true;
}
for (const { file, csv } of jobs) {
  if (!existsSync(csv)) {
    console.log(`skipped ${file}: ${csv} is missing`);
    continue;
  }
  for (let repeat = 0; repeat < Number(values.repeats); repeat++) {
    const ours = await toolkit(csv);
    const theirs = values['toolkit-only'] ? undefined : await original(csv);
    const ratio = (a: number, b: number | undefined) => (b === undefined ? '-' : (a / b).toFixed(2));
    rows.push(
      `| ${file} | ${ours.wallS.toFixed(1)} | ${ours.cpuS.toFixed(1)} | ${ours.peakMb.toFixed(0)} | ` +
        `${theirs?.wallS.toFixed(1) ?? '-'} | ${theirs?.cpuS.toFixed(1) ?? '-'} | ${theirs?.peakMb.toFixed(0) ?? '-'} | ` +
        `${ratio(ours.wallS, theirs?.wallS)} | ${ratio(ours.cpuS, theirs?.cpuS)} |`,
    );
    console.error(`${file}: toolkit ${ours.stages}\n${file}: python ${theirs?.stages ?? '-'}`);
  }
}
if (yearDir) await rm(yearDir, { recursive: true, force: true });
console.log(
  `\nNode ${process.version}, ${cpus()[0]?.model ?? 'cpu'} (${availableParallelism()} cores), ` +
    `load average at the end ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}\n`,
);
console.log(
  '| file | toolkit wall (s) | toolkit CPU (s) | toolkit peak (MB) | Python wall (s) | Python CPU (s) | Python peak (MB) | wall ratio | CPU ratio |',
);
console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const row of rows) console.log(row);
