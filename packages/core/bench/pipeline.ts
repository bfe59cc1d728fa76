/**
 * Whole-pipeline wall time per stage (issue §9, first bullet), measured in one run: the default
 * settings on the bundled sample market (5000 hourly candles) and on real BTCUSDT hourly candles
 * (../shared/data/binance/BTCUSDT_1h.csv, 72,866 rows), charts and files included.
 *
 *   pnpm exec tsx bench/pipeline.ts [--data ../../../shared/data] [--backend auto] [--only sample|btc]
 *
 * Prints a Markdown table (pasted into the README).
 */
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { csvSource, type KlineSource, sampleSource } from '@crypto-anomaly/data';
import {
  type BackendPreference,
  type PipelineEvent,
  runPipeline,
  STAGE_NAMES,
  type StageName,
} from '../src/index.js';

const repoRoot = resolve(fileURLToPath(new URL('../../..', import.meta.url)));
const { values } = parseArgs({
  options: {
    data: { type: 'string', default: join(repoRoot, '..', 'shared', 'data') },
    backend: { type: 'string', default: 'auto' },
    only: { type: 'string' },
  },
});

interface Measured {
  name: string;
  candles: number;
  stages: Partial<Record<StageName, number>>;
  totalMs: number;
  backend: string;
  epochs: Record<string, string>;
  /** Bytes of the CSV files, and of the saved model. */
  csvBytes: number;
  modelBytes: number;
}

async function folderBytes(dir: string, filter: (name: string) => boolean = () => true): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) total += await folderBytes(path);
    else if (filter(entry.name)) total += (await stat(path)).size;
  }
  return total;
}

async function measure(name: string, source: KlineSource, symbol: string): Promise<Measured> {
  const outDir = await mkdtemp(join(tmpdir(), 'core-bench-'));
  const stages: Partial<Record<StageName, number>> = {};
  const epochs: Record<string, string> = {};
  let backend = '';
  const started = performance.now();
  try {
    const result = await runPipeline({
      source,
      symbol,
      interval: '1h',
      outDir,
      backend: values.backend as BackendPreference,
      onEvent: (event: PipelineEvent) => {
        if (event.type === 'stage' && event.status === 'done') stages[event.stage] = event.elapsedMs!;
        if (event.type === 'backend') backend = event.name;
        if (event.type === 'epoch') epochs[event.detector] = `${event.epoch}`;
        if (event.type === 'early-stop')
          epochs[event.detector] = `${event.epoch} (early stop, best ${event.bestEpoch})`;
      },
    });
    const totalMs = performance.now() - started;
    const rows = result.summary['rows'] as { candles: number };
    const csvBytes = await folderBytes(outDir, (file) => file.endsWith('.csv'));
    const modelBytes = await folderBytes(join(outDir, 'model'));
    return { name, candles: rows.candles, stages, totalMs, backend, epochs, csvBytes, modelBytes };
  } finally {
    await rm(outDir, { recursive: true, force: true });
  }
}

const runs: Measured[] = [];
if (values.only !== 'btc') runs.push(await measure('sample market (default)', sampleSource(), 'BTCUSDT'));
if (values.only !== 'sample') {
  const path = join(values.data, 'binance', 'BTCUSDT_1h.csv');
  runs.push(
    await measure('BTCUSDT_1h.csv', csvSource(path, { symbol: 'BTCUSDT', interval: '1h' }), 'BTCUSDT'),
  );
}

const seconds = (ms: number | undefined) => (ms === undefined ? '-' : (ms / 1000).toFixed(2));
console.log(
  `\nNode ${process.version}, ${cpus()[0]?.model ?? 'cpu'} (${availableParallelism()} cores), backend ${runs[0]?.backend}\n`,
);
console.log(
  `| stage (s) | ${runs.map((r) => `${r.name}, ${r.candles.toLocaleString('en-US')} candles`).join(' | ')} |`,
);
console.log(`|---|${runs.map(() => '---').join('|')}|`);
for (const stage of STAGE_NAMES)
  console.log(`| ${stage} | ${runs.map((r) => seconds(r.stages[stage])).join(' | ')} |`);
console.log(`| **total** | ${runs.map((r) => `**${seconds(r.totalMs)}**`).join(' | ')} |`);
const megabytes = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;
console.log(
  `| CSV files / saved model | ${runs.map((r) => `${megabytes(r.csvBytes)} / ${megabytes(r.modelBytes)}`).join(' | ')} |`,
);
console.log(
  `| epochs run | ${runs
    .map((r) =>
      Object.entries(r.epochs)
        .map(([d, e]) => `${d} ${e}`)
        .join('; '),
    )
    .join(' | ')} |`,
);
