// Shared helpers of the benchmark scripts: data loading, timing, tables, Python peers.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Matrix } from '../src/index.js';

export const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
/** ../shared/data relative to the repository root, unless CRYPTO_ANOMALY_DATA says otherwise. */
export const DATA_DIR = process.env.CRYPTO_ANOMALY_DATA ?? resolve(BENCH_DIR, '../../../../shared/data');
export const PYTHON = process.env.PYTHON ?? '/usr/bin/python3';
export const WORK_DIR = mkdtempSync(join(tmpdir(), 'kernels-bench-'));

export interface LabelledData {
  name: string;
  X: Matrix;
  labels: Uint8Array;
}

/** Reads an odds CSV (columns f0..fN, label). */
export function readOdds(name: string): LabelledData {
  const text = readFileSync(join(DATA_DIR, 'odds', `${name}.csv`), 'utf8');
  const lines = text.split('\n').filter((l) => l.length > 0);
  const header = (lines[0] as string).split(',');
  const cols = header.length - 1;
  const rows = lines.length - 1;
  const data = new Float64Array(rows * cols);
  const labels = new Uint8Array(rows);
  for (let r = 0; r < rows; r++) {
    const parts = (lines[r + 1] as string).split(',');
    for (let c = 0; c < cols; c++) data[r * cols + c] = Number(parts[c]);
    labels[r] = Number(parts[cols]) > 0 ? 1 : 0;
  }
  return { name, X: { data, rows, cols }, labels };
}

export function oddsNames(): string[] {
  const dir = join(DATA_DIR, 'odds');
  if (!existsSync(dir)) return [];
  return readFileSync(join(DATA_DIR, 'published', 'sklearn-baseline.md'), 'utf8')
    .split('\n')
    .filter((l) => /^\| [a-z]+ \| \d/.test(l))
    .map((l) => (l.split('|')[1] as string).trim())
    .filter((name) => existsSync(join(dir, `${name}.csv`)));
}

/** Deterministic uniform rows (xorshift), the same for every tool (written to a raw file). */
export function randomMatrix(rows: number, cols: number, seed = 42): Matrix {
  const data = new Float64Array(rows * cols);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < data.length; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    data[i] = s / 2 ** 32;
  }
  return { data, rows, cols };
}

/** Writes float64 values to a raw little-endian file for the Python and npm peers. */
export function writeRaw(name: string, values: Float64Array): string {
  const path = join(WORK_DIR, `${name}.f64`);
  writeFileSync(path, new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
  return path;
}

/** CPU time of this process (all its threads) in ms. */
export function cpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/** Best (minimum) wall time in ms of `repeats` runs. */
export function bestMs(repeats: number, body: () => void): number {
  return bestTimes(repeats, body).wall;
}

/** Best wall time and best CPU time (ms) of `repeats` runs. */
export function bestTimes(repeats: number, body: () => void): { wall: number; cpu: number } {
  let wall = Number.POSITIVE_INFINITY;
  let cpu = Number.POSITIVE_INFINITY;
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    const c0 = cpuMs();
    body();
    wall = Math.min(wall, performance.now() - t0);
    cpu = Math.min(cpu, cpuMs() - c0);
  }
  return { wall, cpu };
}

export function pythonAvailable(modules: string[]): boolean {
  const r = spawnSync(PYTHON, ['-c', `import ${modules.join(', ')}`], { encoding: 'utf8' });
  return r.status === 0;
}

/** Runs bench/<script>.py with args; returns its last stdout line parsed as JSON, or an error text. */
export function runPython(
  script: string,
  args: string[],
  timeoutMs = 600_000,
): Record<string, number> | string {
  const r = spawnSync(PYTHON, [join(BENCH_DIR, script), ...args], { encoding: 'utf8', timeout: timeoutMs });
  if (r.error) return r.error.message;
  if (r.status !== 0) return (r.stderr || `exit ${r.status}`).trim().split('\n').at(-1) ?? 'failed';
  const last = r.stdout.trim().split('\n').at(-1) ?? '';
  return JSON.parse(last) as Record<string, number>;
}

export function table(headers: string[], rows: Array<Array<string | number>>): string {
  const lines = [
    `| ${headers.join(' | ')} |`,
    `|${headers.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`,
  ];
  for (const row of rows) lines.push(`| ${row.join(' | ')} |`);
  return lines.join('\n');
}

export const fmt = (value: number, digits = 0) =>
  Number.isFinite(value)
    ? value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
    : 'n/a';
