import type { KlineSource } from '../api.js';
import { assertInterval } from '../intervals.js';
import type { KlineStore } from './kline-store.js';

/** A KlineSource over the store: closed candles as stored, nothing fetched. */
export function storeSource(store: KlineStore): KlineSource {
  return {
    describe: () => `local kline store ${store.path}`,
    load: (request) =>
      store.klines(request.symbol, assertInterval(request.interval), {
        start: request.start,
        end: request.end,
      }),
  };
}
