import * as tf from '@tensorflow/tfjs';

function transposeLastTwo(x: tf.Tensor): tf.Tensor {
  return x.rank === 2 ? tf.transpose(x) : tf.transpose(x, [0, 2, 1]);
}

/**
 * `a @ b` (2-D, or 3-D with the same batch size) whose gradient uses explicit transposes: the
 * gradient tf.matMul registers calls matMul with `transposeA`/`transposeB`, which the wasm backend
 * runs in a slow generic loop (5-7× slower than `transpose` + a plain `matMul`, which uses XNNPACK).
 */
export const matMulFastGrad = tf.customGrad(((a: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
  save([a, b]);
  return {
    value: tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [savedA, savedB] = saved as [tf.Tensor, tf.Tensor];
      return [
        tf.matMul(dy as tf.Tensor2D, transposeLastTwo(savedB) as tf.Tensor2D),
        tf.matMul(transposeLastTwo(savedA) as tf.Tensor2D, dy as tf.Tensor2D),
      ];
    },
  };
}) as unknown as Parameters<typeof tf.customGrad>[0]) as <T extends tf.Tensor>(a: T, b: T) => T;

/**
 * `q @ kᵀ` for batched q, k [batch, steps, dim], computed with matMul's `transposeB` (faster on wasm
 * than transposing k first), with a gradient of plain matMuls: dq = dy @ k, dk = dyᵀ @ q.
 */
export const attentionScores = tf.customGrad(((q: tf.Tensor, k: tf.Tensor, save: tf.GradSaveFunc) => {
  save([q, k]);
  return {
    value: tf.matMul(q as tf.Tensor3D, k as tf.Tensor3D, false, true),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [savedQ, savedK] = saved as [tf.Tensor3D, tf.Tensor3D];
      return [
        tf.matMul(dy as tf.Tensor3D, savedK),
        tf.matMul(tf.transpose(dy, [0, 2, 1]) as tf.Tensor3D, savedQ),
      ];
    },
  };
}) as unknown as Parameters<typeof tf.customGrad>[0]) as (q: tf.Tensor3D, k: tf.Tensor3D) => tf.Tensor3D;
