import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Interval, type Kline, writeKlinesCsv } from '@crypto-anomaly/data';

const bin = fileURLToPath(new URL('../../dist/bin.js', import.meta.url));

/**
 * What the watch tests start from: a quick model (one epoch, no charts) trained by the built binary
 * on `klines`, written to `<work>/train.csv`, into `<work>/models/SYMBOL_INTERVAL` where `watch
 * --model models` finds it. Throws with the command's stderr when training fails.
 */
export async function trainQuickModel(
  work: string,
  klines: readonly Kline[],
  symbol = 'BTCUSDT',
  interval: Interval = '1h',
): Promise<void> {
  await writeKlinesCsv(join(work, 'train.csv'), klines);
  const trained = spawnSync(
    process.execPath,
    [
      bin,
      'train',
      '--source',
      'csv',
      '--input',
      'train.csv',
      '--symbol',
      symbol,
      '--interval',
      interval,
    ].concat(['--epochs', '1', '--no-charts', '--out', `models/${symbol}_${interval}`]),
    { encoding: 'utf8', cwd: work, env: { ...process.env, CI: 'true', NO_COLOR: '1' }, timeout: 240_000 },
  );
  if (trained.status !== 0) throw new Error(`training the test model failed:\n${trained.stderr}`);
}
