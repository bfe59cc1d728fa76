import { generateSampleMarket } from '@crypto-anomaly/data';
import { describe, expect, it } from 'vitest';
import { readKlineMessage } from '../src/bus/kline-message.js';

const market = { symbol: 'BTCUSDT', interval: '1h' } as const;
const kline = generateSampleMarket({ count: 1, seed: 1 }).klines[0]!;

describe('a candle message read off the bus', () => {
  it('keeps how the candle came (a back-filled one makes late alerts); an older message without it came live', () => {
    const read = (fields: object) =>
      readKlineMessage(JSON.stringify({ ...market, kline, ...fields }), market);
    expect(read({ via: 'backfill' })).toMatchObject({ via: 'backfill', kline: { openTime: kline.openTime } });
    expect(read({ via: 'replay' })).toMatchObject({ via: 'replay' });
    expect(read({})).toMatchObject({ via: 'stream' });
    expect(read({ via: 'carrier pigeon' })).toMatchObject({ via: 'stream' });
    expect(read({ kline: { ...kline, close: 'x' } })).toEqual({
      problem: 'kline.close is "x", not a finite number',
    });
  });
});
