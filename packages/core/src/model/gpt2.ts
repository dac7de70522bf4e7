import * as tf from '@tensorflow/tfjs-core';
import type { DecodeFamily, Family, WeightView } from './family.ts';
import * as kernels from './kernels.ts';
import {
  constant,
  embed,
  GELU_A,
  GELU_B,
  geluTanh,
  layerNorm,
  linear,
  splitColumns,
  tiedHead,
} from './ops.ts';

/**
 * GPT-2: learned absolute positions, pre-LayerNorm blocks, fused qkv projection, GELU (tanh) MLP, tied or
 * separate head. Hugging Face stores GPT-2's projections as Conv1D, already [in, out].
 */

const layer = (i: number) => `transformer.h.${i}`;

function w2(v: WeightView, name: string): tf.Tensor2D {
  return v.w(name) as tf.Tensor2D;
}
function w1(v: WeightView, name: string): tf.Tensor1D {
  return v.w(name) as tf.Tensor1D;
}
function proj(v: WeightView, x: tf.Tensor2D, name: string): tf.Tensor2D {
  return linear(x, w2(v, `${name}.weight`), w1(v, `${name}.bias`), v.lora(`${name}.weight`)) as tf.Tensor2D;
}

/** diag(gain)·W and bias·W + b: a LayerNorm's affine part moved into the projection after it. */
function foldNorm(gain: tf.Tensor1D, normBias: tf.Tensor1D, w: tf.Tensor2D, b?: tf.Tensor1D) {
  const weight: tf.Tensor2D = tf.mul(tf.reshape(gain, [-1, 1]), w); // [in, out]
  const shifted: tf.Tensor1D = tf.reshape(tf.matMul(tf.reshape(normBias, [1, -1]), w), [-1]); // [out]
  return { weight, bias: b ? (tf.add(shifted, b) as tf.Tensor1D) : shifted };
}

/** The tensors of {@link decode}: folded and split projections as [1, in, out], and constants. */
function prepareTensors(v: WeightView): Record<string, tf.Tensor> {
  const cfg = v.cfg;
  const d = cfg.dim;
  const t: Record<string, tf.Tensor> = {};
  const put = (name: string, w: tf.Tensor2D, b: tf.Tensor1D) => {
    // A reshape shares the data, never the parameter itself, which the cache must not dispose.
    t[`${name}.w`] = tf.reshape(w, [1, ...w.shape]); // [1, in, out]
    // The bias gets data of its own: wasm's fused product checks the rank the data was written with
    // (a reshape does not change it) and takes only rank 1.
    t[`${name}.b`] = tf.mul(tf.reshape(b, [-1]), 1);
  };
  // Attention scores are q·k/sqrt(hd): the query columns are scaled once here instead of every step.
  const scale = 1 / Math.sqrt(d / cfg.nHeads);
  for (let i = 0; i < cfg.nLayers; i++) {
    const p = layer(i);
    const qkv = foldNorm(
      w1(v, `${p}.ln_1.weight`),
      w1(v, `${p}.ln_1.bias`),
      w2(v, `${p}.attn.c_attn.weight`),
      w1(v, `${p}.attn.c_attn.bias`),
    );
    // Three products instead of one and a split: the split's copies cost more than the extra kernels.
    const ws = tf.split(qkv.weight, 3, 1) as tf.Tensor2D[];
    const bs = tf.split(qkv.bias, 3) as tf.Tensor1D[];
    put(`${i}.q`, tf.mul(ws[0]!, scale), tf.mul(bs[0]!, scale));
    put(`${i}.k`, ws[1]!, bs[1]!);
    put(`${i}.v`, ws[2]!, bs[2]!);
    put(`${i}.o`, w2(v, `${p}.attn.c_proj.weight`), w1(v, `${p}.attn.c_proj.bias`));
    const fc = foldNorm(
      w1(v, `${p}.ln_2.weight`),
      w1(v, `${p}.ln_2.bias`),
      w2(v, `${p}.mlp.c_fc.weight`),
      w1(v, `${p}.mlp.c_fc.bias`),
    );
    put(`${i}.fc`, fc.weight, fc.bias);
    put(`${i}.proj`, w2(v, `${p}.mlp.c_proj.weight`), w1(v, `${p}.mlp.c_proj.bias`));
  }
  const headW = cfg.tieEmbeddings ? tf.transpose(w2(v, 'transformer.wte.weight')) : w2(v, 'lm_head.weight');
  const head = foldNorm(w1(v, 'transformer.ln_f.weight'), w1(v, 'transformer.ln_f.bias'), headW);
  put('head', head.weight, head.bias);
  t.eps = tf.scalar(cfg.normEps);
  // GELU (tanh) as x·σ(x·(a·x² + b)), the form of ops.ts geluTanh.
  t['gelu.a'] = tf.scalar(GELU_A);
  t['gelu.b'] = tf.scalar(GELU_B);
  return t;
}

/** GPT-2 with the KV cache (see {@link DecodeFamily}). */
const decode: DecodeFamily = {
  prepare(v) {
    const cfg = v.cfg;
    const t = tf.tidy(() => prepareTensors(v));
    return { cfg, t, params: { wte: v.w('transformer.wte.weight'), wpe: v.w('transformer.wpe.weight') } };
  },

  embed({ params }, ids, positions) {
    const x = kernels.add<tf.Tensor2D>(tf.gather(params.wte!, ids), tf.gather(params.wpe!, positions)); // [N, D]
    return tf.reshape(x, [1, ...x.shape]) as tf.Tensor3D; // [1, N, D]
  },

  qkv({ cfg, t }, i, x) {
    const h = kernels.standardize(x, t.eps as tf.Scalar, cfg.normEps);
    return ['q', 'k', 'v'].map((n) => dense(t, `${i}.${n}`, h));
  },

  attnOut({ t }, i, y) {
    return dense(t, `${i}.o`, y);
  },

  mlp({ cfg, t }, i, x) {
    const h = dense(t, `${i}.fc`, kernels.standardize(x, t.eps as tf.Scalar, cfg.normEps));
    const inner = kernels.mul<tf.Tensor3D>(
      h,
      kernels.add(kernels.mul(kernels.square(h), t['gelu.a']!), t['gelu.b']!),
    );
    return dense(t, `${i}.proj`, kernels.mul(h, kernels.sigmoid(inner)));
  },

  head({ cfg, t }, x) {
    return dense(t, 'head', kernels.standardize(x, t.eps as tf.Scalar, cfg.normEps));
  },
};

function dense(t: Record<string, tf.Tensor>, name: string, x: tf.Tensor3D): tf.Tensor3D {
  return kernels.dense(x, t[`${name}.w`] as tf.Tensor3D, t[`${name}.b`] as tf.Tensor1D);
}

export const gpt2: Family = {
  name: 'gpt2',
  rotary: false,

  paramShapes(cfg) {
    const d = cfg.dim;
    const shapes: Record<string, number[]> = {
      'transformer.wte.weight': [cfg.vocabSize, d],
      'transformer.wpe.weight': [cfg.maxSeqLen, d],
      'transformer.ln_f.weight': [d],
      'transformer.ln_f.bias': [d],
    };
    for (let i = 0; i < cfg.nLayers; i++) {
      const p = layer(i);
      Object.assign(shapes, {
        [`${p}.ln_1.weight`]: [d],
        [`${p}.ln_1.bias`]: [d],
        [`${p}.attn.c_attn.weight`]: [d, 3 * d],
        [`${p}.attn.c_attn.bias`]: [3 * d],
        [`${p}.attn.c_proj.weight`]: [d, d],
        [`${p}.attn.c_proj.bias`]: [d],
        [`${p}.ln_2.weight`]: [d],
        [`${p}.ln_2.bias`]: [d],
        [`${p}.mlp.c_fc.weight`]: [d, cfg.hiddenDim],
        [`${p}.mlp.c_fc.bias`]: [cfg.hiddenDim],
        [`${p}.mlp.c_proj.weight`]: [cfg.hiddenDim, d],
        [`${p}.mlp.c_proj.bias`]: [d],
      });
    }
    if (!cfg.tieEmbeddings) shapes['lm_head.weight'] = [d, cfg.vocabSize];
    return shapes;
  },

  storedTransposed: (name) => name === 'lm_head.weight',

  initOf(name, cfg) {
    if (/ln_\w+\.weight$/.test(name)) return { kind: 'ones' };
    if (name.endsWith('.bias')) return { kind: 'zeros' };
    // GPT-2 scales residual projections by 1/sqrt(2·layers) (its paper, section 2.3).
    if (name.endsWith('c_proj.weight')) return { kind: 'normal', std: 0.02 / Math.sqrt(2 * cfg.nLayers) };
    return { kind: 'normal', std: 0.02 };
  },

  embed(v, ids, positions) {
    const tok = embed(w2(v, 'transformer.wte.weight'), ids); // [N, D]
    return tf.add(tok, embed(w2(v, 'transformer.wpe.weight'), positions));
  },

  attnNorm(v, i, x) {
    return layerNorm(
      x,
      w1(v, `${layer(i)}.ln_1.weight`),
      w1(v, `${layer(i)}.ln_1.bias`),
      v.cfg.normEps,
    ) as tf.Tensor2D;
  },

  qkv(v, i, x) {
    const d = v.cfg.dim;
    const fused = proj(v, x, `${layer(i)}.attn.c_attn`); // [N, 3D]
    const [q, k, val] = splitColumns(fused, [d, d, d]) as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
    return [tf.mul(q, constant(1 / Math.sqrt(d / v.cfg.nHeads))), k, val];
  },

  attnOut(v, i, y) {
    return proj(v, y, `${layer(i)}.attn.c_proj`);
  },

  mlpNorm(v, i, x) {
    return layerNorm(
      x,
      w1(v, `${layer(i)}.ln_2.weight`),
      w1(v, `${layer(i)}.ln_2.bias`),
      v.cfg.normEps,
    ) as tf.Tensor2D;
  },

  mlp(v, i, x) {
    const p = `${layer(i)}.mlp`;
    return proj(v, geluTanh(proj(v, x, `${p}.c_fc`)) as tf.Tensor2D, `${p}.c_proj`);
  },

  finalNorm(v, x) {
    return layerNorm(
      x,
      w1(v, 'transformer.ln_f.weight'),
      w1(v, 'transformer.ln_f.bias'),
      v.cfg.normEps,
    ) as tf.Tensor2D;
  },

  head(v, x) {
    if (v.cfg.tieEmbeddings)
      return tiedHead(x, w2(v, 'transformer.wte.weight'), v.lora('transformer.wte.weight'));
    return linear(x, w2(v, 'lm_head.weight'), undefined, v.lora('lm_head.weight')) as tf.Tensor2D; // [D, V]
  },

  decode,
};
