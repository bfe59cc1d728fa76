import type { Kline } from '@crypto-anomaly/data';
import { HEADERS, type Market, type ScoreMessage, STREAMS, scoreSubject } from './bus-api.js';
import type { Bus } from './connection.js';
import { readKlineMessage } from './kline-message.js';

/** A candle read back from the KLINES stream, with its sequence there. */
export interface StoredCandle {
  sequence: number;
  kline: Kline;
}

/** The last score a market has on the bus: its candle's open time and KLINES sequence. */
export async function lastScored(
  bus: Bus,
  market: Market,
): Promise<{ openTime: number; sequence: number } | undefined> {
  let message: Awaited<ReturnType<typeof bus.jsm.streams.getMessage>>;
  try {
    message = await bus.jsm.streams.getMessage(STREAMS.scores, {
      last_by_subj: scoreSubject(market.interval, market.symbol),
    });
  } catch (error) {
    if (/no message found|not found/i.test((error as Error).message)) return undefined;
    throw error;
  }
  if (!message) return undefined;
  const score = message.json() as ScoreMessage;
  const sequence = Number(message.header.get(HEADERS.klineSequence));
  return { openTime: score.openTime, sequence: Number.isFinite(sequence) ? sequence : 0 };
}

/**
 * Candles of one KLINES subject from `startSequence` on, read by an ordered consumer (no state on
 * the server beyond the read), until `stop` says so or the subject has no more. Messages that do
 * not read as candles of that market are skipped (a worker parks them when it meets them).
 */
export async function readCandles(
  bus: Bus,
  subject: string,
  market: Market,
  startSequence: number,
  stop: (candle: StoredCandle) => 'take' | 'take-and-stop' | 'stop',
): Promise<StoredCandle[]> {
  const consumer = await bus.js.consumers.get(STREAMS.klines, {
    filter_subjects: subject,
    opt_start_seq: Math.max(1, startSequence),
  });
  const taken: StoredCandle[] = [];
  for (;;) {
    const batch = await consumer.fetch({ max_messages: 500, expires: 2_000 });
    let received = 0;
    let pending = 1;
    let done = false;
    for await (const message of batch) {
      received++;
      pending = message.info.pending;
      const read = readKlineMessage(message.string(), market);
      if ('kline' in read) {
        const candle = { sequence: message.seq, kline: read.kline };
        const verdict = stop(candle);
        if (verdict !== 'stop') taken.push(candle);
        if (verdict !== 'take') done = true;
      }
      if (done || pending === 0) break;
    }
    if (done || pending === 0 || received === 0) break;
  }
  return taken;
}

/**
 * The warm-up of a market taken over. When candles were scored: every candle of the subject the
 * stream still holds up to and including the last one scored, so the scorer's state is the
 * previous owner's bit for bit (the RSI's Wilder averages remember every candle, not only the
 * last `count`: a warm-up on `count` candles alone moves its scores by a few percent). The stream's
 * retention (KLINES max age) bounds the read. When nothing was scored yet: the first `count`
 * candles of the subject, as `watch --replay` warms up on a file's first candles.
 * Returns them and the KLINES sequence the market's consumer starts at.
 */
export async function warmUpCandles(
  bus: Bus,
  subject: string,
  market: Market,
  count: number,
  scored: { openTime: number; sequence: number } | undefined,
): Promise<{ klines: Kline[]; startSequence: number }> {
  if (!scored) {
    let taken = 0;
    const klines = await readCandles(bus, subject, market, 1, () =>
      ++taken < count ? 'take' : 'take-and-stop',
    );
    const last = klines.at(-1);
    return { klines: klines.map((c) => c.kline), startSequence: last ? last.sequence + 1 : 1 };
  }
  const candles = await readCandles(bus, subject, market, 1, (candle) =>
    candle.kline.openTime < scored.openTime
      ? 'take'
      : candle.kline.openTime === scored.openTime
        ? 'take-and-stop'
        : 'stop',
  );
  const last = candles.at(-1);
  return {
    klines: candles.map((c) => c.kline),
    startSequence: Math.max(scored.sequence, last?.sequence ?? 0) + 1,
  };
}
