#!/usr/bin/env node
// TensorFlow.js core registers no gradients and no chained ops by itself; the `@tensorflow/tfjs`
// umbrella does, from ESM files that Node cannot load from tfjs-core's CommonJS package. This
// bundles those two registrations (and the tfjs-core internals they use) into one ESM file,
// generated/tfjs-gradients.js, that core imports after tfjs-core. The copy registers into
// tfjs-core's global registries and engine (tfjs-core keeps them global so that two copies
// cooperate: the umbrella's own bundle works the same way). Saves the umbrella's 220 MB of
// layers, converter, webgl, data and core-js, none of which core uses.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { build } from 'esbuild';

const root = resolve(import.meta.dirname, '..');
const out = join(root, 'generated', 'tfjs-gradients.js');
mkdirSync(dirname(out), { recursive: true });
const result = await build({
  stdin: {
    contents: [
      "import '@tensorflow/tfjs-core/dist/register_all_gradients.js';",
      "import '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops.js';",
    ].join('\n'),
    resolveDir: root,
    sourcefile: 'tfjs-gradients-entry.js',
  },
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  write: false,
  legalComments: 'eof',
  logLevel: 'warning',
});
writeFileSync(out, result.outputFiles[0].contents);
