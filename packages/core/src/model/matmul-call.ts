import * as tf from '@tensorflow/tfjs-core';

/**
 * A call of tfjs's BatchMatMul or _FusedMatMul kernel as Regimen's own products take it (wasm-gemm.ts,
 * webgpu-gemm.ts): float32 op(a)·op(b) over batch dims that are equal or 1 on one side, optionally plus a
 * bias of one value per output column, with no activation. Anything else is left to tfjs's kernel.
 */
export interface MatMulCall {
  a: tf.TensorInfo;
  b: tf.TensorInfo;
  bias?: tf.TensorInfo;
  transposeA: boolean;
  transposeB: boolean;
  m: number;
  k: number;
  n: number;
  /** Leading (batch) dims of the output. */
  outer: number[];
  batchA: number;
  batchB: number;
  batch: number;
}

export const size = (shape: number[]) => shape.reduce((p, d) => p * d, 1);

/** The call's operands and sizes, or undefined where it is not a product Regimen's kernels compute. */
export function matMulCall(args: Parameters<tf.KernelFunc>[0]): MatMulCall | undefined {
  const { a, b, bias, preluActivationWeights } = args.inputs as Record<string, tf.TensorInfo | undefined>;
  const attrs = (args.attrs ?? {}) as {
    transposeA?: boolean;
    transposeB?: boolean;
    activation?: string | null;
  };
  if (!a || !b || a.dtype !== 'float32' || b.dtype !== 'float32') return undefined;
  const activation = attrs.activation;
  if (preluActivationWeights || (activation !== undefined && activation !== null && activation !== 'linear'))
    return undefined;
  const [ra, rb] = [a.shape.length, b.shape.length];
  if (ra < 2 || rb < 2) return undefined;
  const transposeA = !!attrs.transposeA;
  const transposeB = !!attrs.transposeB;
  const m = transposeA ? a.shape[ra - 1]! : a.shape[ra - 2]!;
  const k = transposeA ? a.shape[ra - 2]! : a.shape[ra - 1]!;
  const kb = transposeB ? b.shape[rb - 1]! : b.shape[rb - 2]!;
  const n = transposeB ? b.shape[rb - 2]! : b.shape[rb - 1]!;
  if (k !== kb || m === 0 || k === 0 || n === 0) return undefined;
  const outerA = a.shape.slice(0, -2);
  const outerB = b.shape.slice(0, -2);
  const batchA = size(outerA);
  const batchB = size(outerB);
  const batch = Math.max(batchA, batchB);
  if (batchA !== batchB && batchA !== 1 && batchB !== 1) return undefined;
  let outer: number[];
  try {
    outer = tf.broadcast_util.assertAndGetBroadcastShape(outerA, outerB);
  } catch {
    return undefined;
  }
  if (size(outer) !== batch) return undefined;
  if (bias) {
    const ones = bias.shape.slice(0, -1).every((d) => d === 1);
    if (bias.dtype !== 'float32' || !ones || bias.shape[bias.shape.length - 1] !== n) return undefined;
  }
  return { a, b, bias, transposeA, transposeB, m, k, n, outer, batchA, batchB, batch };
}
