/**
 * `pnpm bench`: every benchmark of the package, one after the other, each in its own process.
 *
 *   pnpm bench [pipeline] [quality] [autoencoder] [stream] [nab]   (default: all)
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const BENCHES: Record<string, string> = {
  pipeline: 'pipeline.ts',
  quality: 'quality.ts',
  autoencoder: 'autoencoder-throughput.ts',
  stream: 'stream-burst.ts',
  nab: 'nab-run.ts',
};
const chosen = process.argv.slice(2).filter((a) => a in BENCHES);
let failed = false;
for (const name of chosen.length > 0 ? chosen : Object.keys(BENCHES)) {
  const file = fileURLToPath(new URL(BENCHES[name]!, import.meta.url));
  if (!existsSync(file)) continue;
  process.stdout.write(`\n## ${name} (${BENCHES[name]})\n`);
  const result = spawnSync(
    process.execPath,
    ['--expose-gc', '--conditions=@crypto-anomaly/source', '--import', 'tsx', file],
    { stdio: 'inherit' },
  );
  failed ||= result.status !== 0;
}
process.exitCode = failed ? 1 : 0;
