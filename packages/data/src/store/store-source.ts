import type { KlineSource } from '../api.js';
import { assertInterval } from '../intervals.js';
import { assertKnownKeys, KLINE_REQUEST_KEYS } from '../validate.js';
import type { KlineStore } from './kline-store.js';

/** A KlineSource over the store: closed candles as stored, nothing fetched. */
export function storeSource(store: KlineStore): KlineSource {
  return {
    describe: () => `local kline store ${store.path}`,
    load: async (request) => {
      assertKnownKeys('the load request', request, KLINE_REQUEST_KEYS);
      return store.klines(request.symbol, assertInterval(request.interval), {
        start: request.start,
        end: request.end,
      });
    },
  };
}
