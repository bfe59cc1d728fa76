/**
 * How far the sample market's volatility breaks stand out of the market around them: for each break
 * of the default hourly sample (seeds 1-11 and 42), the standard deviation of its log returns
 * against that of the 72 candles before it and of the 72 after it. A break sets the volatility to
 * 2-3.5x the *base* level; the market around it runs at 0.55-2x that level (its regimes) times its
 * GARCH variance, so a break that falls in a turbulent spell can raise the volatility little, or
 * not at all. Usage: tsx bench/sample-breaks.ts [--seeds 1,2,42]
 */
import { parseArgs } from 'node:util';
import { generateSampleMarket } from '../src/index.js';

const { values } = parseArgs({
  options: { seeds: { type: 'string', default: '1,2,3,4,5,6,7,8,9,10,11,42' } },
});
const seeds = values.seeds.split(',').map(Number);
const side = 72;

function std(returns: readonly number[], from: number, to: number): number {
  const part = returns.slice(Math.max(1, from), Math.min(returns.length, to));
  const mean = part.reduce((a, b) => a + b, 0) / part.length;
  return Math.sqrt(part.reduce((a, b) => a + (b - mean) ** 2, 0) / part.length);
}

console.log('| seed | break | candles | against the 72 before | against the 72 after |');
console.log('|---:|---|---:|---:|---:|');
let breaks = 0;
let under = 0;
let lower = 0;
for (const seed of seeds) {
  const market = generateSampleMarket({ seed });
  const closes = market.klines.map((k) => k.close);
  const returns = closes.map((c, i) => (i === 0 ? 0 : Math.log(c / closes[i - 1]!)));
  for (const label of market.labels.filter((l) => l.kind === 'volatility-break')) {
    const inside = std(returns, label.startIndex, label.endIndex + 1);
    const before = inside / std(returns, label.startIndex - side, label.startIndex);
    const after = inside / std(returns, label.endIndex + 1, label.endIndex + 1 + side);
    breaks++;
    if (Math.min(before, after) < 1.5) under++;
    if (Math.min(before, after) < 1) lower++;
    const factor = /at ([\d.]+)x/.exec(label.description)?.[1] ?? '?';
    console.log(
      `| ${seed} | ${factor}x the base level | ${label.endIndex - label.startIndex + 1} | ${before.toFixed(2)}x | ${after.toFixed(2)}x |`,
    );
  }
}
console.log(
  `\n${breaks} breaks; ${under} measure under 1.5x the volatility on one side of them, ${lower} under 1x (calmer than the candles beside them).`,
);
