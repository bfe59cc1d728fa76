#!/usr/bin/env node
// What importing each built package costs a program that only imports it: wall time of the
// import, resident memory after it, and whether TensorFlow.js or DuckDB got loaded on the way.
// Each figure is the median of fresh node processes (a warm module cache would hide the cost).
// Usage: node scripts/import-cost.mjs [runs]   (after pnpm build)
import { execFileSync } from 'node:child_process';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const runs = Number(process.argv[2] ?? 5);
const packages = [
  ['kernels', '@crypto-anomaly/kernels'],
  ['data', '@crypto-anomaly/data'],
  ['core', '@crypto-anomaly/core'],
  ['cli-tui', 'crypto-anomaly'],
];
// Runs inside the package's folder, so the package imports itself by name (its built dist/).
const probe = (name) => `
const start = performance.now();
await import('${name}');
const ms = performance.now() - start;
const tf = globalThis._tfengine !== undefined;
let duckdb = false;
try { duckdb = process.report.getReport().sharedObjects.some((f) => /duckdb/.test(f)); } catch {}
console.log(JSON.stringify({ ms, rssMb: process.memoryUsage().rss / 1e6, tf, duckdb }));
`;

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
console.log('package   import ms  rss MB  loads TensorFlow.js  loads DuckDB');
for (const [folder, name] of packages) {
  const samples = [];
  for (let i = 0; i < runs; i++) {
    const out = execFileSync(
      process.execPath,
      ['--input-type=commonjs', '-e', `(async () => {${probe(name)}})()`],
      {
        cwd: join(root, 'packages', folder),
        encoding: 'utf8',
      },
    );
    samples.push(JSON.parse(out.trim().split('\n').at(-1)));
  }
  const ms = median(samples.map((s) => s.ms));
  const rss = median(samples.map((s) => s.rssMb));
  console.log(
    `${folder.padEnd(9)} ${ms.toFixed(0).padStart(9)}  ${rss.toFixed(0).padStart(6)}  ${String(samples[0].tf).padEnd(19)}  ${samples[0].duckdb}`,
  );
}
