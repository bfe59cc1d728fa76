// `pnpm --filter @crypto-anomaly/kernels bench`: speed of the kernels against scikit-learn, pandas,
// numpy and the npm isolation forests, all measured in this one run (issue 4, section 6).
// Flags: --full (npm forests on every dataset, not only forestcover), --only=iforest|twin|rolling|winsorize.
import { spawnSync } from 'node:child_process';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import {
  IsolationForest,
  type Matrix,
  rollingMeanStd,
  threadPoolStatus,
  winsorize,
  winsorizeBounds,
  winsorizeFit,
} from '../src/index.js';
import { buildForestReference, pathLengthSumsReference } from '../src/reference/isolation-forest.js';
import { referenceRollingMean, referenceRollingStd } from '../src/reference/rolling.js';
import { referenceClip, referenceQuantile } from '../src/reference/winsorize.js';
import {
  BENCH_DIR,
  bestMs,
  bestTimes,
  cpuMs,
  DATA_DIR,
  fmt,
  pythonAvailable,
  randomMatrix,
  readOdds,
  runPython,
  table,
  WORK_DIR,
  writeRaw,
} from './data.js';

const args = process.argv.slice(2);
const full = args.includes('--full');
const only = args.find((a) => a.startsWith('--only='))?.slice(7);
const NPM_LIMIT_MS = 60_000;
const threads = availableParallelism();

console.log(
  `# kernels benchmark\n\n${cpus()[0]?.model ?? 'cpu'} x ${threads} threads, Node ${process.version}, ` +
    `load average at start ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' / ')}\n`,
);

function forestMs(X: Matrix, threadCount: number): { fit: number; score: number; cpu: number } {
  let fit = Number.POSITIVE_INFINITY;
  let score = Number.POSITIVE_INFINITY;
  let cpu = Number.POSITIVE_INFINITY;
  for (let r = 0; r < 2; r++) {
    const c0 = cpuMs();
    const t0 = performance.now();
    const options = { nEstimators: 100, maxSamples: 256, seed: r, threads: threadCount };
    const forest = new IsolationForest(options).fit(X);
    const t1 = performance.now();
    forest.decisionFunction(X);
    const t2 = performance.now();
    cpu = Math.min(cpu, cpuMs() - c0);
    if (t2 - t0 < fit + score) {
      fit = t1 - t0;
      score = t2 - t1;
    }
  }
  return { fit, score, cpu };
}

/** Compiles bench/native/iforest.c with gcc -O3 if gcc is present; returns the binary or undefined. */
function nativeBaseline(): string | undefined {
  const binary = join(WORK_DIR, 'iforest-native');
  const r = spawnSync(
    'gcc',
    ['-O3', '-march=native', '-o', binary, join(BENCH_DIR, 'native', 'iforest.c'), '-lm'],
    {
      encoding: 'utf8',
    },
  );
  return r.status === 0 ? binary : undefined;
}

function nativeForest(binary: string | undefined, path: string, X: Matrix): number | string {
  if (!binary) return 'no gcc';
  const r = spawnSync(binary, [path, String(X.rows), String(X.cols)], { encoding: 'utf8', timeout: 300_000 });
  if (r.status !== 0) return 'failed';
  const out = JSON.parse(r.stdout.trim()) as { fit_ms: number; score_ms: number };
  return out.fit_ms + out.score_ms;
}

function npmForest(pkg: string, path: string, X: Matrix): number | string {
  const r = spawnSync(
    process.execPath,
    [join(BENCH_DIR, 'npm-forest.mjs'), pkg, path, String(X.rows), String(X.cols)],
    {
      encoding: 'utf8',
      timeout: NPM_LIMIT_MS,
      maxBuffer: 1 << 20,
    },
  );
  if (r.error || r.signal) return `> ${NPM_LIMIT_MS / 1000} s (stopped)`;
  if (r.status !== 0) return `failed: ${(r.stderr || '').trim().split('\n').at(-1)}`;
  return (JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}') as { ms: number }).ms;
}

if (!only || only === 'iforest') {
  const sklearn = pythonAvailable(['sklearn', 'numpy']);
  if (!sklearn) console.log('scikit-learn not importable by /usr/bin/python3: its column is skipped.\n');
  const datasets: Array<{ name: string; X: Matrix }> = [
    { name: 'random 1,000,000 x 11', X: randomMatrix(1_000_000, 11) },
  ];
  for (const name of ['http', 'forestcover']) {
    try {
      const { X } = readOdds(name);
      datasets.push({ name: `${name} ${X.rows.toLocaleString('en-US')} x ${X.cols}`, X });
    } catch {
      console.log(`${name}: ${join(DATA_DIR, 'odds', `${name}.csv`)} not found, skipped.`);
    }
  }
  const native = nativeBaseline();
  const rows: Array<Array<string | number>> = [];
  const details: Array<Array<string | number>> = [];
  for (const { name, X } of datasets) {
    const pointsPerSecond = (ms: number) => X.rows / (ms / 1000);
    const one = forestMs(X, 1);
    const all = forestMs(X, threads);
    const path = writeRaw(name.replace(/[^a-z0-9]/gi, '_'), X.data);
    const py = sklearn ? runPython('peers.py', ['iforest', path, String(X.rows), String(X.cols)]) : 'skipped';
    const skMs = typeof py === 'string' ? Number.NaN : (py.fit_ms as number) + (py.score_ms as number);
    const nativeMs = nativeForest(native, path, X);
    const npm = ['isolation-forest', 'ml-isolation-forest'].map((pkg) =>
      full || name.startsWith('forestcover') ? npmForest(pkg, path, X) : 'not run (--full)',
    );
    const ratio = (ms: number) => (Number.isFinite(skMs) ? `${fmt(skMs / ms, 1)}x` : 'n/a');
    const npmCell = (v: number | string) =>
      typeof v === 'number' ? `${fmt(pointsPerSecond(v))} (${ratio(v)})` : v;
    rows.push([
      name,
      `${fmt(pointsPerSecond(one.fit + one.score))} (${ratio(one.fit + one.score)})`,
      `${fmt(pointsPerSecond(all.fit + all.score))} (${ratio(all.fit + all.score)})`,
      Number.isFinite(skMs) ? fmt(pointsPerSecond(skMs)) : String(py),
      npmCell(nativeMs),
      npmCell(npm[0] as number | string),
      npmCell(npm[1] as number | string),
    ]);
    details.push([
      name,
      fmt(one.fit),
      fmt(one.score),
      fmt(all.fit),
      fmt(all.score),
      typeof py === 'string' ? 'n/a' : fmt(py.fit_ms as number),
      typeof py === 'string' ? 'n/a' : fmt(py.score_ms as number),
      fmt(one.cpu),
      typeof py === 'string' ? 'n/a' : fmt(py.cpu_ms as number),
      typeof py === 'string' ? 'n/a' : `${fmt((py.cpu_ms as number) / one.cpu, 1)}x`,
    ]);
  }
  console.log(
    `## Isolation Forest fit + score, 100 trees, psi 256 (points/s; ratio to scikit-learn)\n\n${table(
      [
        'data',
        'kernels, 1 thread',
        `kernels, ${threads} threads`,
        'scikit-learn (1 thread)',
        'native C baseline (gcc -O3), 1 thread',
        'npm isolation-forest',
        'npm ml-isolation-forest',
      ],
      rows,
    )}\n\n${table(
      [
        'data (ms)',
        'fit 1t',
        'score 1t',
        `fit ${threads}t`,
        `score ${threads}t`,
        'sklearn fit',
        'sklearn score',
        'CPU 1t',
        'sklearn CPU',
        'CPU ratio',
      ],
      details,
    )}\n`,
  );
  console.log(`worker pool: ${JSON.stringify(threadPoolStatus())}\n`);
}

if (!only || only === 'twin') {
  // The TypeScript twin of the forest, and the extended forest, on forestcover (1 thread).
  try {
    const { X } = readOdds('forestcover');
    const twin = bestTimes(1, () => {
      const forest = buildForestReference(X, 256, 100, 0, 0, 0);
      pathLengthSumsReference(forest, X);
    });
    const kernel = bestTimes(2, () =>
      new IsolationForest({ seed: 0, threads: 1 }).fit(X).decisionFunction(X),
    );
    const extended = bestTimes(2, () =>
      new IsolationForest({ seed: 0, threads: 1, extensionLevel: 1 }).fit(X).decisionFunction(X),
    );
    const pps = (ms: number) => fmt(X.rows / (ms / 1000));
    console.log(
      `## Forest kernel vs its TypeScript twin, forestcover, 1 thread (points/s, fit + score)\n\n${table(
        ['implementation', 'points/s', 'wall ms'],
        [
          ['kernels (WASM), standard forest', pps(kernel.wall), fmt(kernel.wall)],
          ['kernels (WASM), extensionLevel 1', pps(extended.wall), fmt(extended.wall)],
          ['TS twin (plain arrays, point by point)', pps(twin.wall), fmt(twin.wall)],
        ],
      )}\n`,
    );
  } catch {
    console.log('forestcover not found: twin comparison skipped.\n');
  }
}

if (!only || only === 'rolling') {
  const n = 10_000_000;
  const values = new Float64Array(n);
  let price = 1e5;
  let s = 7;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    price += (s / 2 ** 32 - 0.5) * 0.5;
    values[i] = price;
  }
  const ours = bestTimes(3, () => rollingMeanStd(values, 60));
  const path = writeRaw('rolling', values);
  const py = pythonAvailable(['pandas'])
    ? runPython('peers.py', ['rolling', path, '60'])
    : 'pandas not importable';
  const twinValues = values.subarray(0, 1_000_000);
  const twin = bestMs(1, () => {
    referenceRollingMean(twinValues, 60);
    referenceRollingStd(twinValues, 60);
  });
  const pandasMs = typeof py === 'string' ? Number.NaN : (py.ms as number);
  const pandasCpu = typeof py === 'string' ? Number.NaN : (py.cpu_ms as number);
  console.log(
    `## Rolling mean + std, 10,000,000 float64, window 60 (best of 3)\n\n${table(
      ['implementation', 'wall ms', 'vs pandas (wall)', 'CPU ms', 'vs pandas (CPU)'],
      [
        [
          'kernels rollingMeanStd (WASM SIMD, one pass)',
          fmt(ours.wall, 1),
          `${fmt(pandasMs / ours.wall, 1)}x faster`,
          fmt(ours.cpu, 1),
          `${fmt(pandasCpu / ours.cpu, 1)}x faster`,
        ],
        [
          'pandas rolling(60).mean() + .std()',
          typeof py === 'string' ? py : fmt(pandasMs, 1),
          '1x',
          fmt(pandasCpu, 1),
          '1x',
        ],
        ['TS twin, two-pass per window (1,000,000 values, x10)', fmt(twin * 10, 0), '', '', ''],
      ],
    )}\n`,
  );
}

if (!only || only === 'winsorize') {
  const n = 10_000_000;
  const values = randomMatrix(n, 1, 99).data;
  for (let i = 0; i < n; i += 1000) values[i] = (values[i] as number) * 1000; // a heavy tail
  const ours = bestTimes(3, () => winsorizeFit(values, { lower: 0.01, upper: 0.99 }));
  const separate = bestTimes(3, () =>
    winsorize(values, winsorizeBounds(values, { lower: 0.01, upper: 0.99 })),
  );
  const path = writeRaw('winsorize', values);
  const py = pythonAvailable(['numpy']) ? runPython('peers.py', ['winsorize', path]) : 'numpy not importable';
  const twinValues = values.subarray(0, 1_000_000);
  const twin =
    10 *
    bestMs(1, () => {
      referenceClip(twinValues, referenceQuantile(twinValues, 0.01), referenceQuantile(twinValues, 0.99));
    });
  const numpyMs = typeof py === 'string' ? Number.NaN : (py.ms as number);
  const numpyCpu = typeof py === 'string' ? Number.NaN : (py.cpu_ms as number);
  const row = (name: string, t: { wall: number; cpu: number }) => [
    name,
    fmt(t.wall, 1),
    `${fmt(numpyMs / t.wall, 1)}x faster`,
    fmt(t.cpu, 1),
    `${fmt(numpyCpu / t.cpu, 1)}x faster`,
  ];
  console.log(
    `## Winsorize 10,000,000 float64 at 1% / 99% (bounds + clip, best of 3)\n\n${table(
      ['implementation', 'wall ms', 'vs numpy (wall)', 'CPU ms', 'vs numpy (CPU)'],
      [
        row('kernels winsorizeFit (streamed in 64k-value chunks)', ours),
        row('kernels winsorizeBounds then winsorize', separate),
        [
          'numpy percentile + clip',
          typeof py === 'string' ? py : fmt(numpyMs, 1),
          '1x',
          fmt(numpyCpu, 1),
          '1x',
        ],
        ['TS twin, sort-based (1,000,000 values, x10)', fmt(twin, 0), `${fmt(numpyMs / twin, 2)}x`, '', ''],
      ],
    )}\n`,
  );
}
console.log(
  `load average at end ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' / ')}`,
);
process.exit(0);
