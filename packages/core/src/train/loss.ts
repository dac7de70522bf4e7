import * as tf from '@tensorflow/tfjs-core';
import { constant, heapView, heapViewInt, reshape } from '../model/ops.ts';
import './gradients.ts';

/** A token's loss saturates here: −log(1e-30) ≈ 69 nats, far beyond any finetuning loss. */
const MIN_PROB = 1e-30;

/**
 * Sum over positions of weight · (−log softmax(logits)[target]), divided by `denominator`, with a
 * hand-written gradient: (softmax − onehot) · weight / denominator.
 *
 * Speed on wasm: `softmax` is one vectorised XNNPACK kernel, about 3x faster over [N, V] than the max,
 * sub, exp, sum of a log-sum-exp (wasm's elementwise `exp` is scalar); its probabilities serve both the
 * loss (−log p[target], clamped at {@link MIN_PROB}, so a token's loss is capped at ≈ 69 nats while its
 * gradient stays exact) and the gradient, which then takes three passes over [N, V]. The gradient also
 * avoids `gather`'s own gradient, which wasm lacks.
 *
 * `denominator` is the number of marked tokens in the whole optimizer step (all micro-batches and
 * shards), so summing the gradients of the pieces gives exactly the gradient of the mean over all
 * marked tokens.
 */
export function maskedCrossEntropy(
  logits: tf.Tensor, // [B, T, V] or [N, V]
  targets: tf.Tensor, // [B, T] or [N] int32
  weights: tf.Tensor, // [B, T] or [N] float32, 0/1
  denominator: number,
): tf.Scalar {
  const V = logits.shape[logits.shape.length - 1] as number;
  const N = targets.size;
  const flatTargets = tf.reshape(targets, [N]) as tf.Tensor1D; // [N]
  const flatWeights = tf.reshape(weights, [N]) as tf.Tensor1D; // [N]
  const scale = 1 / Math.max(1, denominator);
  // Flat index of each row's target in the [N·V] logits, for gather (forward) and scatter (backward).
  const targetIndex = tf.add(tf.mul(tf.range(0, N, 1, 'int32'), constant(V, 'int32')), flatTargets); // [N]
  const lossFn = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const z = args[0] as tf.Tensor2D; // [N, V]
    const save = args[1] as tf.GradSaveFunc;
    const probs = tf.softmax(z); // [N, V]
    const picked = tf.gather(tf.reshape(probs, [N * V]), targetIndex); // [N]
    const nll = tf.neg(tf.log(tf.maximum(picked, constant(MIN_PROB)))); // [N]
    const value = tf.mul(tf.sum(tf.mul(nll, flatWeights)), tf.scalar(scale)) as tf.Scalar;
    save([probs, targetIndex, flatWeights]);
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        // Tensors the closure captured are gone by backprop time; only saved ones survive the forward tidy.
        const [p, idx, w] = saved as [tf.Tensor2D, tf.Tensor1D, tf.Tensor1D];
        const rowScale = tf.mul(w, tf.mul(dy, tf.scalar(scale))); // [N]
        const probsScaled = tf.mul(p, tf.reshape(rowScale, [N, 1])); // [N, V]
        // On wasm the N target entries are lowered in place, in the product just made (no other tensor
        // holds its memory), instead of scattering into and adding a second [N, V] tensor.
        // Views of the heap, not readbacks: nothing here waits for or copies out of a device.
        const out = heapView(probsScaled);
        if (out && heapViewInt(idx) && heapView(rowScale)) {
          const at = heapViewInt(idx) as Int32Array;
          const by = heapView(rowScale) as Float32Array;
          const g = out;
          for (let i = 0; i < N; i++) g[at[i] as number] = (g[at[i] as number] as number) - (by[i] as number);
          return probsScaled;
        }
        const atTargets = tf.scatterND(tf.reshape(idx, [N, 1]), tf.neg(rowScale), [N * V]); // [N·V]
        return tf.add(probsScaled, tf.reshape(atTargets, [N, V])); // [N, V]
      },
    };
  });
  return lossFn(logits.rank === 2 ? logits : reshape(logits, [N, V])) as tf.Scalar;
}
