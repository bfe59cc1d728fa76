import { beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_DENSE_AUTOENCODER_OPTIONS,
  DenseAutoencoder,
  type DenseAutoencoderOptions,
  type Matrix,
  selectBackend,
} from '../src/index.js';
import { createRandom } from '../src/tf/random.js';

/**
 * Rows shaped like the relative candle features: four columns share one level (range and volume
 * against their usual levels move together), one is the candle's own signed move (independent of
 * the rest), three are noise. `level` and `move` fix those two for every row when given.
 */
function candleLikeRows(rows: number, seed: number, fixed: { level?: number; move?: number } = {}): Matrix {
  const random = createRandom(seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const cols = 8;
  const data = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const level = fixed.level ?? normal();
    // Heavy-tailed like real returns: one candle in twenty moves four times the usual size.
    const move = fixed.move ?? normal() * (random() < 0.05 ? 4 : 1);
    const shared = [0, 1, 2, 3].map(() => 0.85 * level + 0.5 * normal());
    data.set([...shared, move, normal(), normal(), normal()], r * cols);
  }
  return { data, rows, cols };
}

const train = candleLikeRows(3000, 1);
const validation = candleLikeRows(600, 2);
/** Unusual only along the shared level: a busy, wide-ranged stretch whose candles hold together. */
const busy = candleLikeRows(40, 3, { level: 3.5 });
/** A move five times the usual size on an otherwise ordinary candle (one in twenty moves about that much). */
const bigMove = candleLikeRows(40, 4, { move: 5, level: 0 });

/** Trained with the defaults but for `options`, and scored on `busy` and `bigMove`. */
async function scoresWith(options: Partial<DenseAutoencoderOptions>) {
  const detector = await new DenseAutoencoder(options).fit(train, { validation });
  try {
    return {
      busy: await detector.decisionFunction(busy),
      bigMove: await detector.decisionFunction(bigMove),
      history: detector.history!,
    };
  } finally {
    detector.dispose();
  }
}

const median = (values: Float64Array) => Float64Array.from(values).sort()[values.length >> 1]!;

beforeAll(async () => {
  await selectBackend('wasm');
});

describe('dense autoencoder defaults', () => {
  it('press a row through one number, so what the features do not share is not copied', () => {
    expect(DEFAULT_DENSE_AUTOENCODER_OPTIONS.hiddenLayers).toEqual([1]);
  });

  it('score a large move above candles that are unusual only along the shared level', async () => {
    const { busy: busyScores, bigMove: moveScores, history } = await scoresWith({});
    expect(Math.min(...moveScores)).toBeGreaterThan(median(busyScores));
    expect(median(moveScores)).toBeGreaterThan(1.5 * median(busyScores));
    // It stopped on a plateau, not on the cap.
    expect(history.stoppedEarly).toBe(true);
    expect(history.bestEpoch).toBeLessThan(DEFAULT_DENSE_AUTOENCODER_OPTIONS.epochs);
  });

  it('a code as wide as the input (the former default) copies the move and ranks it below them', async () => {
    const wide = await scoresWith({ hiddenLayers: [32, 16, 8], batchSize: 256, learningRate: 1e-3 });
    expect(median(wide.bigMove)).toBeLessThan(median(wide.busy));
  });
});
