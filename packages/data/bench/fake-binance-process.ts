/**
 * Runs the fake Binance server in its own process (as the exchange is): serves `count` generated
 * 1-minute candles and prints its URL on stdout. Usage: tsx bench/fake-binance-process.ts 100000
 */
import { generateSampleMarket } from '../src/index.js';
import { FakeBinance } from '../test/helpers/fake-binance.js';

const count = Number(process.argv[2] ?? 100_000);
const klines = generateSampleMarket({ count, interval: '1m', start: Date.UTC(2020, 0, 1), seed: 5 }).klines;
const server = await new FakeBinance().serve('BTCUSDT', '1m', klines).start();
console.log(server.url);
process.on('SIGTERM', () => {
  void server.close().then(() => process.exit(0));
});
