import * as tf from '@tensorflow/tfjs-core';
import { HOST_BACKENDS } from '../model/host-backend.ts';

/**
 * AdamW with decoupled weight decay, step for step what torch.optim.AdamW (amsgrad off) computes:
 *   p ← p·(1 − lr·wd);  m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²
 *   p ← p − (lr / (1−β1ᵗ)) · m / (√v / √(1−β2ᵗ) + ε)
 * One fused pass per tensor: a loop over flat Float32Arrays on the host backends (and in the wasm gradient
 * threads' shared memory, each updating a slice), one WGSL kernel on webgpu (webgpu-kernels.ts), and the
 * same formula as tensor ops on any other backend (`adamwStep`).
 */
export interface AdamWHyper {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

/**
 * Update `param[from, to)` in place. `step` is the 1-based count of updates including this one;
 * `gradScale` multiplies every gradient first (global-norm clipping folds in here).
 */
export function adamwUpdate(
  param: Float32Array,
  grad: Float32Array,
  m: Float32Array,
  v: Float32Array,
  step: number,
  lr: number,
  weightDecay: number,
  h: Omit<AdamWHyper, 'weightDecay'>,
  gradScale = 1,
  from = 0,
  to = param.length,
): void {
  const s = { ...adamwScalars({ step, lr, ...h }), decay: 1 - lr * weightDecay };
  adamwApply(param, grad, m, v, s, gradScale, from, to);
}

/** The per-step constants of an AdamW update (besides the decay, which depends on the tensor's weight decay). */
export interface AdamWScalars {
  beta1: number;
  beta2: number;
  eps: number;
  /** lr / (1 − β1ᵗ) */
  stepSize: number;
  /** 1 / √(1 − β2ᵗ): √v/√(1−β2ᵗ) as √v·(1/√(1−β2ᵗ)), one division per element instead of two. */
  invBc2Sqrt: number;
}

export function adamwScalars(a: {
  step: number;
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
}): AdamWScalars {
  return {
    beta1: a.beta1,
    beta2: a.beta2,
    eps: a.eps,
    stepSize: a.lr / (1 - a.beta1 ** a.step),
    invBc2Sqrt: 1 / Math.sqrt(1 - a.beta2 ** a.step),
  };
}

/** The update of `param[from, to)` in place, from its step constants; `decay` is 1 − lr·wd. */
export function adamwApply(
  param: Float32Array,
  grad: Float32Array,
  m: Float32Array,
  v: Float32Array,
  s: AdamWScalars & { decay: number },
  gradScale = 1,
  from = 0,
  to = param.length,
): void {
  const { beta1, beta2, eps, stepSize, invBc2Sqrt, decay } = s;
  const b1c = 1 - beta1;
  const b2c = 1 - beta2;
  for (let i = from; i < to; i++) {
    const g = (grad[i] as number) * gradScale;
    const mi = beta1 * (m[i] as number) + b1c * g;
    const vi = beta2 * (v[i] as number) + b2c * g * g;
    m[i] = mi;
    v[i] = vi;
    param[i] = (param[i] as number) * decay - (stepSize * mi) / (Math.sqrt(vi) * invBc2Sqrt + eps);
  }
}

/** Sum of squares of `a[from, to)`, for the global gradient norm. */
export function sumOfSquares(a: Float32Array, from = 0, to = a.length): number {
  let s = 0;
  for (let i = from; i < to; i++) {
    const x = a[i] as number;
    s += x * x;
  }
  return s;
}

/** torch.nn.utils.clip_grad_norm_'s factor: scale gradients by this when it is below 1. */
export function clipScale(totalNorm: number, maxNorm: number): number {
  if (maxNorm <= 0) return 1;
  return Math.min(1, maxNorm / (totalNorm + 1e-6));
}

/** Regimen's fused AdamW kernel: inputs p, g, m, v and the clip factor `scale` (a scalar tensor); outputs p', m', v'. */
export const ADAMW_KERNEL = 'RegimenAdamW';

/**
 * One AdamW update of a tensor on its backend, the clip factor `gradScale` a scalar tensor (so it never
 * leaves the device): returns new p, m and v (the caller owns them). One kernel where the backend has
 * Regimen's (cpu and wasm, here; webgpu once `installWebgpuFastPaths` ran), else the formula as tensor ops.
 */
export function adamwStep(
  p: tf.Tensor,
  g: tf.Tensor,
  m: tf.Tensor,
  v: tf.Tensor,
  gradScale: tf.Scalar,
  s: AdamWScalars & { decay: number },
): [tf.Tensor, tf.Tensor, tf.Tensor] {
  if (tf.getKernel(ADAMW_KERNEL, tf.getBackend())) {
    const attrs = { ...s } as unknown as tf.NamedAttrMap;
    return tf.engine().runKernel(ADAMW_KERNEL, { p, g, m, v, scale: gradScale }, attrs) as unknown as [
      tf.Tensor,
      tf.Tensor,
      tf.Tensor,
    ];
  }
  return tf.tidy(() => {
    const gs = tf.mul(g, gradScale);
    const m2 = tf.add(tf.mul(m, s.beta1), tf.mul(gs, 1 - s.beta1));
    const v2 = tf.add(tf.mul(v, s.beta2), tf.mul(tf.square(gs), 1 - s.beta2));
    const denom = tf.add(tf.mul(tf.sqrt(v2), s.invBc2Sqrt), s.eps);
    const p2 = tf.sub(tf.mul(p, s.decay), tf.div(tf.mul(m2, s.stepSize), denom));
    return [p2, m2, v2] as [tf.Tensor, tf.Tensor, tf.Tensor];
  });
}

// On the host backends the update is the loop above, over the tensors' own memory.
for (const [backendName, access] of Object.entries(HOST_BACKENDS)) {
  tf.registerKernel({
    kernelName: ADAMW_KERNEL,
    backendName,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { p, g, m, v, scale } = inputs as Record<string, tf.TensorInfo>;
      const shape = (p as tf.TensorInfo).shape;
      // Outputs first: allocating may move the wasm heap, which would leave earlier views stale.
      const outs = [
        access.output(backend, shape),
        access.output(backend, shape),
        access.output(backend, shape),
      ];
      const [pv, gv, mv, vv, sv] = [p, g, m, v, scale].map((t) => access.values(backend, t as tf.TensorInfo));
      const [po, mo, vo] = outs.map((o) => o.values()) as [Float32Array, Float32Array, Float32Array];
      po.set(pv as Float32Array);
      mo.set(mv as Float32Array);
      vo.set(vv as Float32Array);
      const s = attrs as unknown as AdamWScalars & { decay: number };
      adamwApply(po, gv as Float32Array, mo, vo, s, (sv as Float32Array)[0] as number);
      return outs.map((o) => o.info);
    },
  });
}
