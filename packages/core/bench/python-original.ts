/**
 * The Python original (`../shared/peers/seed_baseline.py`) as the benchmarks run it: the script,
 * one run on a kline CSV, and its three detectors' flags read back per row.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const PYTHON_ORIGINAL = resolve(
  fileURLToPath(new URL('../../../../shared/peers/seed_baseline.py', import.meta.url)),
);

/** Each detector of the program and the file it writes its flagged rows to. */
export const PEER_FILES = {
  'isolation-forest': 'anomalies_isolation_forest.csv',
  autoencoder: 'anomalies_autoencoder.csv',
  attention: 'anomalies_attention.csv',
} as const;
export type PeerDetector = keyof typeof PEER_FILES;

const run = promisify(execFile);

/** Runs the program on a kline CSV, writing its files into `outDir`. */
export async function runPythonOriginal(csvPath: string, outDir: string): Promise<void> {
  await run('/usr/bin/python3', [PYTHON_ORIGINAL, '--input', csvPath, '--out', outDir], {
    maxBuffer: 1 << 24,
  });
}

/**
 * Per detector, 1 at each row the program flagged in `dir`, rows matched by open time (ms) at the
 * minute, as the program writes its `time` column first (`YYYY-MM-DD HH:MM`, UTC). Undefined when
 * `dir` lacks one of its files; a flagged time with no row throws.
 */
export async function readPythonFlags(
  dir: string,
  times: ArrayLike<number>,
): Promise<Record<PeerDetector, Uint8Array> | undefined> {
  if (!Object.values(PEER_FILES).every((file) => existsSync(join(dir, file)))) return undefined;
  const index = new Map<string, number>();
  for (let i = 0; i < times.length; i++) {
    index.set(new Date(times[i]!).toISOString().slice(0, 16).replace('T', ' '), i);
  }
  const out = {} as Record<PeerDetector, Uint8Array>;
  for (const [detector, file] of Object.entries(PEER_FILES) as [PeerDetector, string][]) {
    const flags = new Uint8Array(times.length);
    const lines = (await readFile(join(dir, file), 'utf8')).trim().split('\n').slice(1);
    for (const line of lines) {
      const i = index.get(line.slice(0, line.indexOf(',')));
      if (i === undefined) throw new Error(`${file}: no row at ${line.slice(0, 16)}`);
      flags[i] = 1;
    }
    out[detector] = flags;
  }
  return out;
}
