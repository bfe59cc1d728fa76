import type { Interval, Kline, LiveCandle, ReplayOptions } from './api.js';
import { DataError } from './errors.js';
import { assertInterval } from './intervals.js';
import { assertKnownKeys, assertPositiveNumber, assertSymbol, assertTimestamp, keysOf } from './validate.js';

const REPLAY_KEYS = keysOf<ReplayOptions>({
  symbols: true,
  interval: true,
  load: true,
  speed: true,
  resumeFrom: true,
  signal: true,
});

/** At 'max' speed, a macrotask turn every this many candles, so timers and I/O still run. */
const TURN_EVERY = 256;

/** One symbol's candles and the position of the next one to yield. */
interface Cursor {
  symbol: string;
  /** Its place in `symbols`: equal open times come out in that order. */
  rank: number;
  klines: Kline[];
  index: number;
}

const before = (a: Cursor, b: Cursor) => {
  const ta = a.klines[a.index]!.openTime;
  const tb = b.klines[b.index]!.openTime;
  return ta < tb || (ta === tb && a.rank < b.rank);
};

/** A binary min-heap of cursors by their next candle's open time. */
function heapPush(heap: Cursor[], cursor: Cursor): void {
  heap.push(cursor);
  for (let i = heap.length - 1; i > 0; ) {
    const parent = (i - 1) >> 1;
    if (!before(heap[i]!, heap[parent]!)) break;
    [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
    i = parent;
  }
}

function heapSiftDown(heap: Cursor[]): void {
  for (let i = 0; ; ) {
    const left = 2 * i + 1;
    const right = left + 1;
    let least = i;
    if (left < heap.length && before(heap[left]!, heap[least]!)) least = left;
    if (right < heap.length && before(heap[right]!, heap[least]!)) least = right;
    if (least === i) return;
    [heap[i], heap[least]] = [heap[least]!, heap[i]!];
    i = least;
  }
}

/** Oldest first, each open time once (the last of repeated ones wins), after `after` only. */
function prepare(klines: readonly Kline[], after: number | undefined): Kline[] {
  const byTime = new Map<number, Kline>();
  for (const kline of klines)
    if (after === undefined || kline.openTime > after) byTime.set(kline.openTime, kline);
  return [...byTime.values()].sort((a, b) => a.openTime - b.openTime);
}

function pause(ms: number, signal: AbortSignal | undefined): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(false);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Candles of several symbols replayed as if they were closing now, for the same consumer as
 * `liveKlineStreams` (`via: 'replay'`): all symbols merged in open-time order (equal times in
 * the order of `symbols`), each open time of a symbol once. `speed: 'max'` yields as fast as they
 * are consumed (with a macrotask turn every 256 candles, so timers and I/O are not starved);
 * `speed: N` waits the gap between two consecutive closes divided by N. Candles up to
 * `resumeFrom[symbol]` are skipped. Ends when every symbol's candles are out, or on `signal`.
 */
export function replayKlines(options: ReplayOptions): AsyncIterableIterator<LiveCandle> {
  assertKnownKeys('replayKlines options', options, REPLAY_KEYS);
  const interval = assertInterval(options.interval);
  if (!Array.isArray(options.symbols) || options.symbols.length === 0) {
    throw new DataError('INVALID_ARGUMENT', 'symbols must list at least one symbol, e.g. ["BTCUSDT"].');
  }
  const symbols = [...new Set(options.symbols.map((symbol, i) => assertSymbol(`symbols[${i}]`, symbol)))];
  if (typeof options.load !== 'function') {
    throw new DataError('INVALID_ARGUMENT', 'load must be a function giving the candles of a symbol.');
  }
  const speed = options.speed === 'max' ? 'max' : assertPositiveNumber('speed', options.speed);
  for (const [symbol, time] of Object.entries(options.resumeFrom ?? {})) {
    assertTimestamp(`resumeFrom.${symbol}`, time);
  }
  return replay(options, symbols, interval, speed);
}

async function* replay(
  options: ReplayOptions,
  symbols: string[],
  interval: Interval,
  speed: number | 'max',
): AsyncGenerator<LiveCandle, void, undefined> {
  const { signal } = options;
  const heap: Cursor[] = [];
  const loaded = await Promise.all(symbols.map(async (symbol) => options.load(symbol)));
  symbols.forEach((symbol, rank) => {
    const klines = prepare(loaded[rank] ?? [], options.resumeFrom?.[symbol]);
    if (klines.length > 0) heapPush(heap, { symbol, rank, klines, index: 0 });
  });

  let previousClose: number | undefined;
  let yielded = 0;
  while (heap.length > 0 && !signal?.aborted) {
    const cursor = heap[0]!;
    const kline = cursor.klines[cursor.index++]!;
    if (cursor.index < cursor.klines.length) heapSiftDown(heap);
    else {
      heap[0] = heap.at(-1)!;
      heap.pop();
      heapSiftDown(heap);
    }
    if (speed === 'max') {
      if (++yielded % TURN_EVERY === 0) await new Promise((resolve) => setImmediate(resolve));
    } else if (previousClose !== undefined && kline.closeTime > previousClose) {
      if (!(await pause((kline.closeTime - previousClose) / speed, signal))) return;
    }
    previousClose = Math.max(previousClose ?? kline.closeTime, kline.closeTime);
    if (signal?.aborted) return;
    yield { symbol: cursor.symbol, interval, kline, via: 'replay' };
  }
}
