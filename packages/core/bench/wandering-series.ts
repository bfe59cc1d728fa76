import { createRandom } from '../src/tf/random.js';

/**
 * The attention benches' synthetic rows: a slowly wandering level seen through sines of growing
 * frequency, one per column, plus a little noise. Consecutive rows are related, as candles are.
 */
export function wanderingSeries(rows: number, cols: number, seed = 1): Float64Array {
  const random = createRandom(seed);
  const data = new Float64Array(rows * cols);
  let level = 0;
  for (let r = 0; r < rows; r++) {
    level = 0.95 * level + (random() - 0.5);
    for (let f = 0; f < cols; f++) data[r * cols + f] = Math.sin(level * (f + 1)) + (random() - 0.5) * 0.1;
  }
  return data;
}
