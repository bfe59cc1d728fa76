/**
 * The Python original (`../shared/peers/seed_baseline.py`) on NAB's series, for `nab-run.ts --peer`.
 * Each series is written as a Binance kline CSV (open = high = low = close = the value, shifted by
 * 1 - min where the series is not positive, since the program takes log returns; volume, trades
 * and taker volume constant), the program is run on it as a user would run it, and each of its
 * three detectors' flags is read back as a 0/1 score per row. It fits, scales and thresholds on
 * the whole file: look-ahead that NAB's rules do not allow its own detectors. A file on which the
 * program fails (a flat series leaves it no rows) counts as one without flags, and is named.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type PeerDetector, readPythonFlags, runPythonOriginal } from './python-original.js';

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

/** The series as the kline CSV the program reads. */
function klineCsv(series: PeerSeries): string {
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

async function runOne(series: PeerSeries, scratch: string): Promise<Record<PeerDetector, Float64Array>> {
  const dir = join(scratch, series.name.replace('/', '__').replace(/\.csv$/, ''));
  await mkdir(dir, { recursive: true });
  const input = join(dir, 'klines.csv');
  await writeFile(input, klineCsv(series));
  await runPythonOriginal(input, join(dir, 'out'));
  const flags = await readPythonFlags(join(dir, 'out'), series.timestamps);
  if (!flags) throw new Error('it wrote no anomaly files');
  return {
    'isolation-forest': Float64Array.from(flags['isolation-forest']),
    autoencoder: Float64Array.from(flags.autoencoder),
    attention: Float64Array.from(flags.attention),
  };
}

/** Runs the program on every series, `jobs` at a time. */
export async function peerFlags(all: readonly PeerSeries[], scratch: string, jobs = 2): Promise<PeerResult> {
  const flags: Record<PeerDetector, Float64Array>[] = new Array(all.length);
  const failed: PeerResult['failed'] = [];
  let next = 0;
  const worker = async () => {
    while (next < all.length) {
      const index = next++;
      const series = all[index]!;
      try {
        flags[index] = await runOne(series, scratch);
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
