import type { Interval, Kline, KlineStore } from '@crypto-anomaly/data';
import { CliError } from '../errors.js';
import { ExitCode } from '../exit-codes.js';

/** The fields that make two candles of one pair and time the same candle. */
const SAME: readonly (keyof Kline)[] = ['open', 'high', 'low', 'close', 'volume'];

/**
 * Refuses, before anything is written, a replay whose candles would replace different candles the
 * store holds at the same pair and times: the store keeps one candle per (pair, interval, open
 * time), so replaying the sample as BTCUSDT into a store of fetched BTCUSDT candles would put
 * synthetic prices over real ones. Replayed candles the store holds already, equal, are fine.
 */
export async function assertReplayKeepsStore(
  store: KlineStore,
  interval: Interval,
  symbols: readonly string[],
  replayed: (symbol: string) => Promise<Kline[]>,
): Promise<void> {
  for (const symbol of symbols) {
    const klines = await replayed(symbol);
    if (klines.length === 0) continue;
    let first = Number.POSITIVE_INFINITY;
    let last = Number.NEGATIVE_INFINITY;
    for (const kline of klines) {
      first = Math.min(first, kline.openTime);
      last = Math.max(last, kline.openTime);
    }
    const stored = await store.klines(symbol, interval, { start: first, end: last + 1 });
    if (stored.length === 0) continue;
    const byTime = new Map(klines.map((kline) => [kline.openTime, kline]));
    let differing = 0;
    let example: { stored: Kline; replayed: Kline } | undefined;
    for (const kline of stored) {
      const other = byTime.get(kline.openTime);
      if (other && SAME.some((field) => other[field] !== kline[field])) {
        differing++;
        example ??= { stored: kline, replayed: other };
      }
    }
    if (example) {
      // Exit 2 as a refused target is, with the hint printed (a usage error prints the usage line).
      throw new CliError(
        'RUNTIME',
        `the replay would write over ${differing} ${symbol} ${interval} candle${differing === 1 ? '' : 's'} that ${store.path} holds with different ones ` +
          `(at ${new Date(example.stored.openTime).toISOString()} the store has close ${example.stored.close}, the replay ${example.replayed.close}); nothing was written`,
        {
          option: '--store',
          hint: 'give the replay a store of its own (--store replay.duckdb), or leave --store out: a replay then keeps nothing',
          exitCode: ExitCode.usageError,
        },
      );
    }
  }
}
