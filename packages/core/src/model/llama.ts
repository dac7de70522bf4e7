import * as tf from '@tensorflow/tfjs-core';
import type { DecodeFamily, Family, WeightView } from './family.ts';
import * as kernels from './kernels.ts';
import { constant, embed, linear, rmsNorm, silu, tiedHead } from './ops.ts';
import { rotateColumns } from './rope.ts';

/**
 * Llama: RMSNorm, rotary positions (applied by the shared decoder), grouped-query attention, SwiGLU MLP,
 * tied or separate head. Hugging Face stores every projection as nn.Linear [out, in].
 */

const layer = (i: number) => `model.layers.${i}`;

function w2(v: WeightView, name: string): tf.Tensor2D {
  return v.w(name) as tf.Tensor2D;
}
function proj(v: WeightView, x: tf.Tensor2D, name: string): tf.Tensor2D {
  return linear(x, w2(v, name), undefined, v.lora(name)) as tf.Tensor2D;
}

function fold(v: WeightView, gainName: string, w: tf.Tensor2D): tf.Tensor2D {
  return tf.mul(tf.reshape(v.w(gainName), [-1, 1]), w);
}

/** The tensors of {@link decode}: projections with norm gains folded in, as [1, in, out], and constants. */
function prepareTensors(v: WeightView): Record<string, tf.Tensor> {
  const cfg = v.cfg;
  const hd = cfg.dim / cfg.nHeads;
  const t: Record<string, tf.Tensor> = {};
  const put = (name: string, w: tf.Tensor2D) => {
    t[name] = tf.reshape(w, [1, ...w.shape]); // shares the data; never the parameter itself
  };
  for (let i = 0; i < cfg.nLayers; i++) {
    const a = `${layer(i)}.self_attn`;
    const m = `${layer(i)}.mlp`;
    const norm = `${layer(i)}.input_layernorm.weight`;
    // Attention scores are q·k/sqrt(hd): the query weights are scaled once here instead of every step.
    const q = fold(v, norm, tf.mul(w2(v, `${a}.q_proj.weight`), 1 / Math.sqrt(hd)));
    const k = fold(v, norm, w2(v, `${a}.k_proj.weight`));
    put(`${i}.q`, q);
    put(`${i}.k`, k);
    put(`${i}.v`, fold(v, norm, w2(v, `${a}.v_proj.weight`)));
    // q·R and k·R come out of their own products, so a decode step rotates with two multiplies and an add.
    put(`${i}.qR`, rotateColumns(q, hd, cfg.ropeLayout));
    put(`${i}.kR`, rotateColumns(k, hd, cfg.ropeLayout));
    put(`${i}.o`, w2(v, `${a}.o_proj.weight`));
    const post = `${layer(i)}.post_attention_layernorm.weight`;
    put(`${i}.gate`, fold(v, post, w2(v, `${m}.gate_proj.weight`)));
    put(`${i}.up`, fold(v, post, w2(v, `${m}.up_proj.weight`)));
    put(`${i}.down`, w2(v, `${m}.down_proj.weight`));
  }
  const head = cfg.tieEmbeddings ? tf.transpose(w2(v, 'model.embed_tokens.weight')) : w2(v, 'lm_head.weight');
  put('head', fold(v, 'model.norm.weight', head));
  t.eps = tf.scalar(cfg.normEps);
  return t;
}

/** Llama with the KV cache (see {@link DecodeFamily}). */
const decode: DecodeFamily = {
  prepare(v) {
    const t = tf.tidy(() => prepareTensors(v));
    return { cfg: v.cfg, t, params: { embed: v.w('model.embed_tokens.weight') } };
  },

  embed({ params }, ids) {
    const x = tf.gather(params.embed!, ids) as tf.Tensor2D; // [N, D]
    return tf.reshape(x, [1, ...x.shape]) as tf.Tensor3D; // [1, N, D]
  },

  qkv({ t }, i, x) {
    const h = kernels.rmsScale(x, t.eps as tf.Scalar);
    return ['q', 'k', 'v', 'qR', 'kR'].map((n) => kernels.dense(h, t[`${i}.${n}`] as tf.Tensor3D));
  },

  attnOut({ t }, i, y) {
    return kernels.dense(y, t[`${i}.o`] as tf.Tensor3D);
  },

  mlp({ t }, i, x) {
    const h = kernels.rmsScale(x, t.eps as tf.Scalar);
    const gate = kernels.dense(h, t[`${i}.gate`] as tf.Tensor3D);
    const up = kernels.dense(h, t[`${i}.up`] as tf.Tensor3D);
    const hidden = kernels.mul<tf.Tensor3D>(kernels.mul(gate, kernels.sigmoid(gate)), up); // SiLU(gate)·up
    return kernels.dense(hidden, t[`${i}.down`] as tf.Tensor3D);
  },

  head({ t }, x) {
    return kernels.dense(kernels.rmsScale(x, t.eps as tf.Scalar), t.head as tf.Tensor3D);
  },
};

export const llama: Family = {
  name: 'llama',
  rotary: true,

  paramShapes(cfg) {
    const d = cfg.dim;
    const hd = d / cfg.nHeads;
    const kv = cfg.nKvHeads * hd;
    const shapes: Record<string, number[]> = {
      'model.embed_tokens.weight': [cfg.vocabSize, d],
      'model.norm.weight': [d],
    };
    for (let i = 0; i < cfg.nLayers; i++) {
      const p = layer(i);
      Object.assign(shapes, {
        [`${p}.input_layernorm.weight`]: [d],
        [`${p}.self_attn.q_proj.weight`]: [d, d],
        [`${p}.self_attn.k_proj.weight`]: [d, kv],
        [`${p}.self_attn.v_proj.weight`]: [d, kv],
        [`${p}.self_attn.o_proj.weight`]: [d, d],
        [`${p}.post_attention_layernorm.weight`]: [d],
        [`${p}.mlp.gate_proj.weight`]: [d, cfg.hiddenDim],
        [`${p}.mlp.up_proj.weight`]: [d, cfg.hiddenDim],
        [`${p}.mlp.down_proj.weight`]: [cfg.hiddenDim, d],
      });
    }
    if (!cfg.tieEmbeddings) shapes['lm_head.weight'] = [d, cfg.vocabSize];
    return shapes;
  },

  storedTransposed: (name) => name.endsWith('_proj.weight') || name === 'lm_head.weight',

  initOf(name) {
    if (/(layernorm|norm)\.weight$/.test(name)) return { kind: 'ones' };
    return { kind: 'normal', std: 0.02 };
  },

  embed(v, ids) {
    return embed(w2(v, 'model.embed_tokens.weight'), ids) as tf.Tensor2D;
  },

  attnNorm(v, i, x) {
    return rmsNorm(x, v.w(`${layer(i)}.input_layernorm.weight`) as tf.Tensor1D, v.cfg.normEps) as tf.Tensor2D;
  },

  qkv(v, i, x) {
    const hd = v.cfg.dim / v.cfg.nHeads;
    const a = `${layer(i)}.self_attn`;
    const q: tf.Tensor2D = tf.mul(proj(v, x, `${a}.q_proj.weight`), constant(1 / Math.sqrt(hd)));
    return [q, proj(v, x, `${a}.k_proj.weight`), proj(v, x, `${a}.v_proj.weight`)];
  },

  attnOut(v, i, y) {
    const name = `${layer(i)}.self_attn.o_proj.weight`;
    return proj(v, y, name);
  },

  mlpNorm(v, i, x) {
    return rmsNorm(
      x,
      v.w(`${layer(i)}.post_attention_layernorm.weight`) as tf.Tensor1D,
      v.cfg.normEps,
    ) as tf.Tensor2D;
  },

  mlp(v, i, x) {
    const p = `${layer(i)}.mlp`;
    const hidden = tf.mul(silu(proj(v, x, `${p}.gate_proj.weight`)), proj(v, x, `${p}.up_proj.weight`));
    return proj(v, hidden as tf.Tensor2D, `${p}.down_proj.weight`);
  },

  finalNorm(v, x) {
    return rmsNorm(x, v.w('model.norm.weight') as tf.Tensor1D, v.cfg.normEps) as tf.Tensor2D;
  },

  head(v, x) {
    const table = 'model.embed_tokens.weight'; // [V, D]
    if (v.cfg.tieEmbeddings) return tiedHead(x, w2(v, table), v.lora(table));
    return proj(v, x, 'lm_head.weight');
  },

  decode,
};
