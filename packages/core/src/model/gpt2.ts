import * as tf from '@tensorflow/tfjs-core';
import type { Family, WeightView } from './family.ts';
import {
  embed,
  geluTanh,
  geluTanhTrainable,
  layerNorm,
  linear,
  linearTransposed,
  splitColumns,
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

/** LayerNorm without gain and bias, for decoding, where those are folded into the next projection. */
function normalize(x: tf.Tensor2D, eps: number): tf.Tensor2D {
  const mean = tf.mean(x, -1, true); // [N, 1]
  const variance = tf.mean(tf.squaredDifference(x, mean), -1, true); // [N, 1]
  // One row (a decode step): batchNorm's per-channel statistics broadcast as one value, in one kernel.
  if (x.shape[0] === 1) return tf.batchNorm(x, mean, variance, undefined, undefined, eps) as tf.Tensor2D;
  return tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps)));
}

/** diag(gain)·W and bias·W + b: a LayerNorm's affine part moved into the projection after it. */
function foldNorm(gain: tf.Tensor1D, normBias: tf.Tensor1D, w: tf.Tensor2D, b?: tf.Tensor1D) {
  const weight = tf.mul(tf.reshape(gain, [-1, 1]), w); // [in, out]
  const shifted = tf.reshape(tf.matMul(tf.reshape(normBias, [1, -1]), w), [-1]); // [out]
  return { weight, bias: b ? tf.add(shifted, b) : shifted };
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
    if (v.derived) {
      return tf.add(
        tf.gather(v.w('transformer.wte.weight'), ids),
        tf.gather(v.w('transformer.wpe.weight'), positions),
      );
    }
    const tok = embed(w2(v, 'transformer.wte.weight'), ids); // [N, D]
    return tf.add(tok, embed(w2(v, 'transformer.wpe.weight'), positions));
  },

  attnNorm(v, i, x) {
    if (v.derived) return normalize(x, v.cfg.normEps);
    return layerNorm(
      x,
      w1(v, `${layer(i)}.ln_1.weight`),
      w1(v, `${layer(i)}.ln_1.bias`),
      v.cfg.normEps,
    ) as tf.Tensor2D;
  },

  qkv(v, i, x) {
    const d = v.cfg.dim;
    if (!v.derived) {
      const fused = proj(v, x, `${layer(i)}.attn.c_attn`); // [N, 3D]
      const [q, k, val] = splitColumns(fused, [d, d, d]) as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
      return [tf.mul(q, 1 / Math.sqrt(d / v.cfg.nHeads)), k, val];
    }
    const fused = v.derived
      ? tf.add(tf.matMul(x, v.derived[`${i}.qkv.w`] as tf.Tensor2D), v.derived[`${i}.qkv.b`]!)
      : proj(v, x, `${layer(i)}.attn.c_attn`); // [N, 3D]
    const [q, k, val] = tf.split(fused, [d, d, d], 1) as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
    if (v.derived) return [q, k, val];
    return [tf.mul(q, 1 / Math.sqrt(d / v.cfg.nHeads)), k, val];
  },

  attnOut(v, i, y) {
    if (v.derived) {
      const p = `${layer(i)}.attn.c_proj`;
      return tf.add(tf.matMul(y, w2(v, `${p}.weight`)), w1(v, `${p}.bias`));
    }
    return proj(v, y, `${layer(i)}.attn.c_proj`);
  },

  mlpNorm(v, i, x) {
    if (v.derived) return normalize(x, v.cfg.normEps);
    return layerNorm(
      x,
      w1(v, `${layer(i)}.ln_2.weight`),
      w1(v, `${layer(i)}.ln_2.bias`),
      v.cfg.normEps,
    ) as tf.Tensor2D;
  },

  mlp(v, i, x) {
    const p = `${layer(i)}.mlp`;
    if (v.derived) {
      const h = geluTanh(
        tf.add(tf.matMul(x, v.derived[`${i}.fc.w`] as tf.Tensor2D), v.derived[`${i}.fc.b`]!),
      );
      return tf.add(tf.matMul(h as tf.Tensor2D, w2(v, `${p}.c_proj.weight`)), w1(v, `${p}.c_proj.bias`));
    }
    return proj(v, geluTanhTrainable(proj(v, x, `${p}.c_fc`)) as tf.Tensor2D, `${p}.c_proj`);
  },

  finalNorm(v, x) {
    if (v.derived) return normalize(x, v.cfg.normEps);
    return layerNorm(
      x,
      w1(v, 'transformer.ln_f.weight'),
      w1(v, 'transformer.ln_f.bias'),
      v.cfg.normEps,
    ) as tf.Tensor2D;
  },

  head(v, x) {
    if (v.derived) return tf.add(tf.matMul(x, v.derived['head.w'] as tf.Tensor2D), v.derived['head.b']!);
    const name = v.cfg.tieEmbeddings ? 'transformer.wte.weight' : 'lm_head.weight';
    const lora = v.lora(name);
    if (v.cfg.tieEmbeddings && !lora) return linearTransposed(x, w2(v, name)); // wte [V, D]
    const w = v.cfg.tieEmbeddings ? tf.transpose(w2(v, name)) : w2(v, name); // [D, V]
    return linear(x, w, undefined, lora) as tf.Tensor2D;
  },

  derive(v) {
    const out: Record<string, tf.Tensor> = {};
    const scale = 1 / Math.sqrt(v.cfg.dim / v.cfg.nHeads);
    const d = v.cfg.dim;
    for (let i = 0; i < v.cfg.nLayers; i++) {
      const p = layer(i);
      const qkv = foldNorm(
        w1(v, `${p}.ln_1.weight`),
        w1(v, `${p}.ln_1.bias`),
        w2(v, `${p}.attn.c_attn.weight`),
        w1(v, `${p}.attn.c_attn.bias`),
      );
      // Attention scores are q·k/sqrt(hd): scale the query columns once here instead of every step.
      const colScale = tf.concat([tf.fill([d], scale), tf.ones([2 * d])]); // [3D]
      out[`${i}.qkv.w`] = tf.mul(qkv.weight, colScale);
      out[`${i}.qkv.b`] = tf.mul(qkv.bias, colScale);
      const fc = foldNorm(
        w1(v, `${p}.ln_2.weight`),
        w1(v, `${p}.ln_2.bias`),
        w2(v, `${p}.mlp.c_fc.weight`),
        w1(v, `${p}.mlp.c_fc.bias`),
      );
      out[`${i}.fc.w`] = fc.weight;
      out[`${i}.fc.b`] = fc.bias;
    }
    const headW = v.cfg.tieEmbeddings
      ? tf.transpose(w2(v, 'transformer.wte.weight'))
      : w2(v, 'lm_head.weight');
    const head = foldNorm(w1(v, 'transformer.ln_f.weight'), w1(v, 'transformer.ln_f.bias'), headW);
    out['head.w'] = head.weight;
    out['head.b'] = head.bias;
    return out;
  },
};
