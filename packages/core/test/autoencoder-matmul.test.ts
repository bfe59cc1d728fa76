import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../src/index.js';
import { matMulFastGrad } from '../src/tf/matmul.js';

beforeAll(async () => {
  await selectBackend('wasm');
});

function close(a: tf.Tensor, b: tf.Tensor): void {
  const x = a.dataSync();
  const y = b.dataSync();
  expect(a.shape).toEqual(b.shape);
  for (let i = 0; i < x.length; i++)
    expect(Math.abs(x[i]! - y[i]!)).toBeLessThan(1e-5 * (1 + Math.abs(y[i]!)));
}

describe('matMulFastGrad', () => {
  it('has tf.matMul value and gradients, in 2-D and batched 3-D', () => {
    for (const [shapeA, shapeB] of [
      [
        [5, 3],
        [3, 4],
      ],
      [
        [2, 5, 3],
        [2, 3, 4],
      ],
    ] as const) {
      tf.tidy(() => {
        const a = tf.randomNormal([...shapeA], 0, 1, 'float32', 1);
        const b = tf.randomNormal([...shapeB], 0, 1, 'float32', 2);
        const weights = tf.randomNormal([...shapeA.slice(0, -1), shapeB.at(-1)!], 0, 1, 'float32', 3);
        const loss = (f: (x: tf.Tensor, y: tf.Tensor) => tf.Tensor) => (x: tf.Tensor, y: tf.Tensor) =>
          tf.sum(tf.mul(f(x, y), weights));
        close(matMulFastGrad(a, b), tf.matMul(a as tf.Tensor3D, b as tf.Tensor3D));
        const fast = tf.grads(loss(matMulFastGrad))([a, b]);
        const reference = tf.grads(loss((x, y) => tf.matMul(x as tf.Tensor3D, y as tf.Tensor3D)))([a, b]);
        close(fast[0]!, reference[0]!);
        close(fast[1]!, reference[1]!);
      });
    }
  });
});
