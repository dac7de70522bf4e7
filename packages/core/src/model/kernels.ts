import * as tf from '@tensorflow/tfjs-core';

/*
 * Decode-time kernels. A cached decode step is ~130 kernels of a few microseconds each, so the wrapping
 * every tfjs op adds (reshapes to the kernel's rank, broadcast checks, scalar uploads, gradient closures)
 * is a large share of it. These call the kernels directly through tf.engine().runKernel with the operand
 * shapes tfjs-core's own ops hand them, so they run on every backend; they record no gradient and are
 * used only on the KV-cache path. Activations there are [1, N, width] (N = rows·new positions), the rank
 * that matrix-product kernels take, so a projection is one kernel with no reshape around it.
 */

type Inputs = Record<string, tf.Tensor>;

function run<T extends tf.Tensor>(kernel: string, inputs: Inputs, attrs: Record<string, unknown> = {}): T {
  return tf.engine().runKernel(kernel, inputs as tf.NamedTensorMap, attrs as tf.NamedAttrMap) as T;
}

/** x [G, N, in] · w [G, in, out], plus bias [out]: one fused kernel. */
export function dense(x: tf.Tensor3D, w: tf.Tensor3D, bias?: tf.Tensor1D): tf.Tensor3D {
  const inputs: Inputs = bias ? { a: x, b: w, bias } : { a: x, b: w };
  return run('_FusedMatMul', inputs, { transposeA: false, transposeB: false, activation: 'linear' });
}

/** Batched product a [G, M, K] · b [G, K, N] (b given as [G, N, K] when transposeB) → [G, M, N]. */
export function batchMatMul(a: tf.Tensor3D, b: tf.Tensor3D, transposeB: boolean): tf.Tensor3D {
  return run('BatchMatMul', { a, b }, { transposeA: false, transposeB });
}

export const add = <T extends tf.Tensor>(a: tf.Tensor, b: tf.Tensor): T => run('Add', { a, b });
export const mul = <T extends tf.Tensor>(a: tf.Tensor, b: tf.Tensor): T => run('Multiply', { a, b });
export const square = <T extends tf.Tensor>(x: T): T => run('Square', { x });
export const sigmoid = <T extends tf.Tensor>(x: T): T => run('Sigmoid', { x });

/** Softmax over the last axis. */
export function softmax<T extends tf.Tensor>(logits: T): T {
  return run('Softmax', { logits }, { dim: logits.rank - 1 });
}

/** Mean over the last axis, kept as a size-1 axis. */
export function meanLast<T extends tf.Tensor>(x: T): T {
  return run('Mean', { x }, { axis: [x.rank - 1], keepDims: true });
}

/**
 * Each row of x [1, N, D] standardized to mean 0 and variance 1 (LayerNorm without its affine part).
 * `eps` is a scalar tensor, so no constant is uploaded per call.
 */
export function standardize(x: tf.Tensor3D, eps: tf.Scalar, epsValue: number): tf.Tensor3D {
  const mean = meanLast(x); // [1, N, 1]
  const variance = meanLast(run('SquaredDifference', { a: x, b: mean })); // [1, N, 1]
  // One row: the batch-norm kernel's statistics broadcast as one value, so the whole map is one kernel.
  if (x.shape[1] === 1) return run('FusedBatchNorm', { x, mean, variance }, { varianceEpsilon: epsValue });
  return mul(run('Sub', { a: x, b: mean }), run('Rsqrt', { x: add(variance, eps) }));
}

/** Each row of x [1, N, D] divided by its root mean square (RMSNorm without its gain). */
export function rmsScale(x: tf.Tensor3D, eps: tf.Scalar): tf.Tensor3D {
  return mul(x, run('Rsqrt', { x: add(meanLast(square(x)), eps) }));
}
