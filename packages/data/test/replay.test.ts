import { afterEach, describe, expect, it, vi } from 'vitest';
import { generateSampleMarket, type Kline, type LiveCandle, replayKlines } from '../src/index.js';

const btc = generateSampleMarket({ count: 6, interval: '1m', seed: 1 }).klines;
// ETH starts two minutes later, so the two series interleave.
const eth = generateSampleMarket({ count: 6, interval: '1m', seed: 2, start: btc[2]!.openTime }).klines;
const series: Record<string, Kline[]> = { BTCUSDT: btc, ETHUSDT: eth };

async function all(iterator: AsyncIterableIterator<LiveCandle>): Promise<LiveCandle[]> {
  const out: LiveCandle[] = [];
  for await (const candle of iterator) out.push(candle);
  return out;
}

afterEach(() => {
  vi.useRealTimers();
});

describe('replayKlines', () => {
  it('merges every symbol in open-time order, equal times in the order of symbols, each once', async () => {
    // Out of order and with a repeat, as a hand-made file may be.
    const load = (symbol: string) =>
      symbol === 'BTCUSDT' ? [...btc].reverse().concat(btc[1]!) : Promise.resolve(series[symbol]!);
    const out = await all(
      replayKlines({ symbols: ['BTCUSDT', 'ETHUSDT'], interval: '1m', load, speed: 'max' }),
    );
    expect(out.map((c) => `${c.symbol}:${(c.kline.openTime - btc[0]!.openTime) / 60_000}`)).toEqual([
      'BTCUSDT:0',
      'BTCUSDT:1',
      'BTCUSDT:2',
      'ETHUSDT:2',
      'BTCUSDT:3',
      'ETHUSDT:3',
      'BTCUSDT:4',
      'ETHUSDT:4',
      'BTCUSDT:5',
      'ETHUSDT:5',
      'ETHUSDT:6',
      'ETHUSDT:7',
    ]);
    expect(out[0]).toEqual({ symbol: 'BTCUSDT', interval: '1m', kline: btc[0], via: 'replay' });
  });

  it('skips what resumeFrom says was handled', async () => {
    const out = await all(
      replayKlines({
        symbols: ['BTCUSDT', 'ETHUSDT'],
        interval: '1m',
        load: (symbol) => series[symbol]!,
        speed: 'max',
        resumeFrom: { BTCUSDT: btc[4]!.openTime, ETHUSDT: eth[4]!.openTime },
      }),
    );
    expect(out.map((c) => [c.symbol, c.kline])).toEqual([
      ['BTCUSDT', btc[5]],
      ['ETHUSDT', eth[5]],
    ]);
  });

  it('at speed N waits the close-to-close gap divided by N', async () => {
    vi.useFakeTimers();
    const replay = replayKlines({ symbols: ['BTCUSDT'], interval: '1m', load: () => btc, speed: 60 });
    expect((await replay.next()).value?.kline).toEqual(btc[0]); // the first comes at once
    let second: Kline | undefined;
    const pending = replay.next().then((r) => {
      second = r.value?.kline;
    });
    await vi.advanceTimersByTimeAsync(999); // one minute at 60x is one second
    expect(second).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    await pending;
    expect(second).toEqual(btc[1]);
  });

  it('ends on abort, also while it waits', async () => {
    const controller = new AbortController();
    const replay = replayKlines({
      symbols: ['BTCUSDT'],
      interval: '1m',
      load: () => btc,
      speed: 0.001, // a minute becomes 1000 minutes
      signal: controller.signal,
    });
    await replay.next();
    const next = replay.next();
    controller.abort();
    expect(await next).toEqual({ value: undefined, done: true });
  });

  it('refuses bad options naming them', () => {
    const load = () => btc;
    expect(() => replayKlines({ symbols: [], interval: '1m', load, speed: 'max' })).toThrow(
      /symbols must list/,
    );
    expect(() => replayKlines({ symbols: ['BTCUSDT'], interval: '1m', load, speed: 0 })).toThrow(/speed/);
    expect(() => replayKlines({ symbols: ['BTCUSDT'], interval: '2m' as '1m', load, speed: 1 })).toThrow(
      /Unknown interval/,
    );
    expect(() =>
      replayKlines({ symbols: ['BTCUSDT'], interval: '1m', load, speed: 1, resumeForm: {} } as never),
    ).toThrow(/^unknown key resumeForm in replayKlines options \(the keys there are resumeFrom, symbols,/);
  });
});
