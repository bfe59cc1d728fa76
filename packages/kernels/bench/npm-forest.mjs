// Runs one npm isolation forest package (fit + score on all rows) in its own process, so the
// benchmark can stop it at its time limit. Usage: node npm-forest.mjs <package> <raw f64 file> <rows> <cols>
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const [pkg, path, rowsText, colsText] = process.argv.slice(2);
const rows = Number(rowsText);
const cols = Number(colsText);
const raw = readFileSync(path);
const values = new Float64Array(raw.buffer, raw.byteOffset, rows * cols);
const arrays = Array.from({ length: rows }, (_, r) => Array.from(values.subarray(r * cols, r * cols + cols)));

const t0 = performance.now();
if (pkg === 'isolation-forest') {
  const { IsolationForest } = require('isolation-forest');
  const objects = arrays.map((row) => Object.fromEntries(row.map((v, c) => [`f${c}`, v])));
  const forest = new IsolationForest(100, 256);
  forest.fit(objects);
  forest.predict(objects);
} else if (pkg === 'ml-isolation-forest') {
  const { IsolationForest } = require('ml-isolation-forest');
  const forest = new IsolationForest({ nEstimators: 100 });
  forest.train(arrays);
  forest.predict(arrays);
} else {
  throw new Error(`unknown package ${pkg}`);
}
console.log(JSON.stringify({ ms: performance.now() - t0 }));
