import type { Interval, Kline, LiveCandle } from '@crypto-anomaly/data';
import * as data from '@crypto-anomaly/data';
import type { CommandContext } from '../command-context.js';
import { withStopSignals } from '../session.js';
import { BUCKETS, candleId, type KlineMessage, klineSubject, marketKey, STREAMS } from './bus-api.js';
import { type Bus, connectBus, ensureStreams, publishStored } from './connection.js';

/** What `ingest` was asked to do, flags checked (see commands/ingest.ts). */
export interface IngestSettings {
  bus: string;
  symbols: string[];
  interval: Interval;
  /** Replay: symbol → its candles' source (a CSV file, or the bundled sample market). */
  replay?: { files: Map<string, string>; sample?: { candles: number } };
  speed: number | 'max';
  baseUrl?: string;
  streamUrl?: string;
  /** Live, first start: closed candles back-filled over REST before the stream, per symbol. */
  history: number;
}

export interface IngestResult {
  /** Candles stored by this process. */
  published: number;
  /** Candles another ingest (or an earlier run) had stored already: dropped by message id. */
  duplicates: number;
}

/** The open time of the last candle of `symbol` in the KLINES stream, if any. */
export async function lastStoredOpenTime(bus: Bus, interval: Interval, symbol: string) {
  try {
    const message = await bus.jsm.streams.getMessage(STREAMS.klines, {
      last_by_subj: klineSubject(interval, symbol),
    });
    if (!message) return undefined;
    return (message.json() as KlineMessage).kline.openTime;
  } catch {
    return undefined;
  }
}

/** The sample market of a symbol: the same candles for the same symbol, every run. */
export function sampleKlines(symbol: string, interval: Interval, candles: number): Kline[] {
  let seed = 7;
  for (const char of symbol) seed = (seed * 31 + char.charCodeAt(0)) % 1_000_003;
  return data.generateSampleMarket({ symbol, interval, count: candles, seed }).klines;
}

/**
 * `crypto-anomaly ingest --bus URL`: closed candles (Binance's streams with their REST back-fill,
 * or a replay) into the KLINES stream, one message per candle with the message id
 * `SYMBOL:interval:openTime`, each publish waited for until the server has stored it. Two ingest
 * processes store each candle once. A restart resumes after the last candle of each symbol in the
 * stream; a server that goes away is waited for, and publishing resumes where it stopped.
 */
export async function runIngest(settings: IngestSettings, context: CommandContext): Promise<IngestResult> {
  const controller = new AbortController();
  return withStopSignals(context, controller, () => ingest(settings, context, controller.signal), {
    stoppedHint: 'started again, ingest resumes after the last candle the bus stored',
  });
}

async function ingest(settings: IngestSettings, context: CommandContext, signal: AbortSignal) {
  const { interval, symbols } = settings;
  const bus = await connectBus(settings.bus, `crypto-anomaly ingest ${process.pid}`, {
    onStatus: (status) =>
      context.err(`bus: ${status === 'disconnect' ? 'connection lost, reconnecting' : 'reconnected'}`),
  });
  const result: IngestResult = { published: 0, duplicates: 0 };
  try {
    await ensureStreams(bus);
    const markets = await bus.bucket(BUCKETS.markets);
    for (const symbol of symbols) {
      await markets.put(marketKey({ symbol, interval }), JSON.stringify({ symbol, interval }));
    }
    const resumeFrom: Record<string, number> = {};
    for (const symbol of symbols) {
      const last = await lastStoredOpenTime(bus, interval, symbol);
      if (last !== undefined) resumeFrom[symbol] = last;
    }
    const resumed = Object.keys(resumeFrom).length;
    context.err(
      `ingest: ${symbols.length} pair${symbols.length === 1 ? '' : 's'} ${interval} → ${bus.url}` +
        (resumed > 0 ? ` (${resumed} resumed after their last stored candle)` : ''),
    );

    let candles: AsyncIterable<LiveCandle>;
    if (settings.replay) {
      const replay = settings.replay;
      candles = data.replayKlines({
        symbols,
        interval,
        load: (symbol) =>
          replay.sample
            ? sampleKlines(symbol, interval, replay.sample.candles)
            : data.readKlinesCsv(replay.files.get(symbol)!),
        speed: settings.speed,
        resumeFrom,
        signal,
      });
    } else {
      // First start: the workers need history to warm a market up; it is back-filled over REST.
      const step = data.intervalToMilliseconds(interval);
      const since = Math.floor(Date.now() / step) * step - (settings.history + 1) * step;
      for (const symbol of symbols) resumeFrom[symbol] ??= since;
      candles = data.liveKlineStreams({
        symbols,
        interval,
        ...(settings.streamUrl ? { wsUrl: settings.streamUrl } : {}),
        rest: settings.baseUrl ? { baseUrl: settings.baseUrl } : {},
        resumeFrom,
        onStatus: (status) => {
          if (
            status.type === 'reconnecting' ||
            status.type === 'symbol-error' ||
            status.type === 'backfill-failed'
          ) {
            context.err(`binance: ${JSON.stringify(status)}`);
          }
        },
        signal,
      });
    }

    let reported = false;
    for await (const candle of candles) {
      const message: KlineMessage = {
        symbol: candle.symbol,
        interval: candle.interval,
        kline: candle.kline,
        via: candle.via,
      };
      const ack = await publishStored(
        bus.js,
        klineSubject(interval, candle.symbol),
        JSON.stringify(message),
        {
          msgID: candleId(candle.symbol, interval, candle.kline.openTime),
          signal,
          onRetry: (error, attempt) => {
            if (attempt === 1 || attempt % 20 === 0) {
              context.err(`bus: publish failed (${error.message}); retrying`);
              reported = true;
            }
          },
        },
      );
      if (reported) {
        context.err('bus: publishing again');
        reported = false;
      }
      if (ack.duplicate) result.duplicates++;
      else result.published++;
    }
    context.err(`ingest: finished, ${result.published} candles stored, ${result.duplicates} already there`);
    context.out(JSON.stringify({ type: 'ingest', ...result }));
    return result;
  } finally {
    await bus.close();
  }
}
