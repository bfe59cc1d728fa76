import type * as TF from '@tensorflow/tfjs-core';
import { tf } from './tensorflow.js';

function transposeLastTwo(x: TF.Tensor): TF.Tensor {
  return x.rank === 2 ? tf.transpose(x) : tf.transpose(x, [0, 2, 1]);
}

/**
 * `a @ b` (2-D, or 3-D with the same batch size) whose gradient uses explicit transposes: the
 * gradient tf.matMul registers calls matMul with `transposeA`/`transposeB`, which the wasm backend
 * runs in a slow generic loop (5-7× slower than `transpose` + a plain `matMul`, which uses XNNPACK).
 */
let matMulFastGradOp: (<T extends TF.Tensor>(a: T, b: T) => T) | undefined;

/**
 * `a @ b` with the fast gradient below; built on first use, once TensorFlow.js is loaded.
 */
export function matMulFastGrad<T extends TF.Tensor>(a: T, b: T): T {
  matMulFastGradOp ??= buildMatMulFastGrad();
  return matMulFastGradOp(a, b);
}

let attentionScoresOp: ((q: TF.Tensor3D, k: TF.Tensor3D) => TF.Tensor3D) | undefined;

/** `q @ kᵀ` with the gradient below; built on first use, once TensorFlow.js is loaded. */
export function attentionScores(q: TF.Tensor3D, k: TF.Tensor3D): TF.Tensor3D {
  attentionScoresOp ??= buildAttentionScores();
  return attentionScoresOp(q, k);
}

const buildMatMulFastGrad = () =>
  tf.customGrad(((a: TF.Tensor, b: TF.Tensor, save: TF.GradSaveFunc) => {
    save([a, b]);
    return {
      value: tf.matMul(a as TF.Tensor2D, b as TF.Tensor2D),
      gradFunc: (dy: TF.Tensor, saved: TF.Tensor[]) => {
        const [savedA, savedB] = saved as [TF.Tensor, TF.Tensor];
        return [
          tf.matMul(dy as TF.Tensor2D, transposeLastTwo(savedB) as TF.Tensor2D),
          tf.matMul(transposeLastTwo(savedA) as TF.Tensor2D, dy as TF.Tensor2D),
        ];
      },
    };
  }) as unknown as Parameters<typeof TF.customGrad>[0]) as <T extends TF.Tensor>(a: T, b: T) => T;

/**
 * `q @ kᵀ` for batched q, k [batch, steps, dim], computed with matMul's `transposeB` (faster on wasm
 * than transposing k first), with a gradient of plain matMuls: dq = dy @ k, dk = dyᵀ @ q.
 */
const buildAttentionScores = () =>
  tf.customGrad(((q: TF.Tensor, k: TF.Tensor, save: TF.GradSaveFunc) => {
    save([q, k]);
    return {
      value: tf.matMul(q as TF.Tensor3D, k as TF.Tensor3D, false, true),
      gradFunc: (dy: TF.Tensor, saved: TF.Tensor[]) => {
        const [savedQ, savedK] = saved as [TF.Tensor3D, TF.Tensor3D];
        return [
          tf.matMul(dy as TF.Tensor3D, savedK),
          tf.matMul(tf.transpose(dy, [0, 2, 1]) as TF.Tensor3D, savedQ),
        ];
      },
    };
  }) as unknown as Parameters<typeof TF.customGrad>[0]) as (q: TF.Tensor3D, k: TF.Tensor3D) => TF.Tensor3D;
