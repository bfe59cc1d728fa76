/**
 * The Python original (`../shared/peers/seed_baseline.py`) on NAB's series, for `nab-run.ts --peer`.
 * Each series is written as a Binance kline CSV (open = high = low = close = the value, shifted by
 * 1 - min where the series is not positive, since the program takes log returns; volume, trades
 * and taker volume constant), the program is run on it as a user would run it, and each of its
 * three detectors' flags is read back as a 0/1 score per row. It fits, scales and thresholds on
 * the whole file: look-ahead that NAB's rules do not allow its own detectors. A file on which the
 * program fails (a flat series leaves it no rows) counts as one without flags, and is named.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

export const PEER_DETECTORS = {
  'isolation-forest': 'anomalies_isolation_forest.csv',
  autoencoder: 'anomalies_autoencoder.csv',
  attention: 'anomalies_attention.csv',
} as const;
export type PeerDetector = keyof typeof PEER_DETECTORS;

export interface PeerSeries {
  name: string;
  timestamps: Float64Array;
  values: Float64Array;
}

export interface PeerResult {
  /** Per series, per detector: 1 where the program flagged the row. */
  flags: Record<PeerDetector, Float64Array>[];
  /** Series on which the program failed, with the last line it printed. */
  failed: { name: string; reason: string }[];
}

const run = promisify(execFile);

/** The series as the kline CSV the program reads. */
export function klineCsv(series: PeerSeries): string {
  let min = Number.POSITIVE_INFINITY;
  for (const v of series.values) min = Math.min(min, v);
  const shift = min > 0 ? 0 : 1 - min;
  const lines = ['open_time,open,high,low,close,volume,number_of_trades,taker_buy_base_asset_volume'];
  series.values.forEach((v, i) => {
    const price = v + shift;
    lines.push(`${series.timestamps[i]},${price},${price},${price},${price},1,1,0.5`);
  });
  return `${lines.join('\n')}\n`;
}

/** `YYYY-MM-DD HH:MM` in UTC, as the program writes its `time` column. */
function minuteKey(ms: number): string {
  return new Date(ms).toISOString().slice(0, 16).replace('T', ' ');
}

async function runOne(
  series: PeerSeries,
  scratch: string,
  script: string,
): Promise<Record<PeerDetector, Float64Array>> {
  const dir = join(scratch, series.name.replace('/', '__').replace(/\.csv$/, ''));
  await mkdir(dir, { recursive: true });
  const input = join(dir, 'klines.csv');
  await writeFile(input, klineCsv(series));
  await run('/usr/bin/python3', [script, '--input', input, '--out', join(dir, 'out')], {
    maxBuffer: 1 << 24,
  });
  const row = new Map<string, number>();
  for (const [i, t] of series.timestamps.entries()) row.set(minuteKey(t), i);
  const out = {} as Record<PeerDetector, Float64Array>;
  for (const [detector, file] of Object.entries(PEER_DETECTORS) as [PeerDetector, string][]) {
    const path = join(dir, 'out', file);
    if (!existsSync(path)) throw new Error(`wrote no ${file}`);
    const flags = new Float64Array(series.values.length);
    const [header, ...lines] = (await readFile(path, 'utf8')).split('\n').filter((line) => line !== '');
    const timeColumn = header!.split(',').indexOf('time');
    for (const line of lines) {
      const index = row.get(line.split(',')[timeColumn]!);
      if (index === undefined)
        throw new Error(`${file} flags a time not in the series: ${line.slice(0, 40)}`);
      flags[index] = 1;
    }
    out[detector] = flags;
  }
  return out;
}

/** Runs the program on every series, `jobs` at a time. */
export async function peerFlags(
  all: readonly PeerSeries[],
  scratch: string,
  script: string,
  jobs = 2,
): Promise<PeerResult> {
  const flags: Record<PeerDetector, Float64Array>[] = new Array(all.length);
  const failed: PeerResult['failed'] = [];
  let next = 0;
  const worker = async () => {
    while (next < all.length) {
      const index = next++;
      const series = all[index]!;
      try {
        flags[index] = await runOne(series, scratch, script);
      } catch (error) {
        const text = String((error as { stderr?: string }).stderr || (error as Error).message).trim();
        failed.push({ name: series.name, reason: text.split('\n').at(-1) ?? text });
        const none = () => new Float64Array(series.values.length);
        flags[index] = { 'isolation-forest': none(), autoencoder: none(), attention: none() };
      }
    }
  };
  await Promise.all(Array.from({ length: jobs }, worker));
  return { flags, failed };
}
