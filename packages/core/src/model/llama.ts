import * as tf from '@tensorflow/tfjs-core';
import type { Family, QkvOut, WeightView } from './family.ts';
import { embed, linear, linearTransposed, rmsNorm, silu } from './ops.ts';
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

/** RMSNorm without its gain, for decoding, where the gain is folded into the next projection. */
function normalize(x: tf.Tensor2D, eps: number): tf.Tensor2D {
  return tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), eps)));
}

function fold(v: WeightView, gainName: string, w: tf.Tensor2D): tf.Tensor2D {
  return tf.mul(tf.reshape(v.w(gainName), [-1, 1]), w);
}

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
    if (v.derived) return tf.gather(w2(v, 'model.embed_tokens.weight'), ids);
    return embed(w2(v, 'model.embed_tokens.weight'), ids) as tf.Tensor2D;
  },

  attnNorm(v, i, x) {
    if (v.derived) return normalize(x, v.cfg.normEps);
    return rmsNorm(x, v.w(`${layer(i)}.input_layernorm.weight`) as tf.Tensor1D, v.cfg.normEps) as tf.Tensor2D;
  },

  qkv(v, i, x) {
    const hd = v.cfg.dim / v.cfg.nHeads;
    const kv = v.cfg.nKvHeads * hd;
    if (v.derived) {
      const fused = tf.matMul(x, v.derived[`${i}.qkv`] as tf.Tensor2D); // [N, 2·D + 3·kv]
      return tf.split(fused, [v.cfg.dim, kv, kv, v.cfg.dim, kv], 1) as QkvOut;
    }
    const a = `${layer(i)}.self_attn`;
    const q: tf.Tensor2D = tf.mul(proj(v, x, `${a}.q_proj.weight`), 1 / Math.sqrt(hd));
    return [q, proj(v, x, `${a}.k_proj.weight`), proj(v, x, `${a}.v_proj.weight`)];
  },

  attnOut(v, i, y) {
    const name = `${layer(i)}.self_attn.o_proj.weight`;
    return v.derived ? tf.matMul(y, w2(v, name)) : proj(v, y, name);
  },

  mlpNorm(v, i, x) {
    if (v.derived) return normalize(x, v.cfg.normEps);
    return rmsNorm(
      x,
      v.w(`${layer(i)}.post_attention_layernorm.weight`) as tf.Tensor1D,
      v.cfg.normEps,
    ) as tf.Tensor2D;
  },

  mlp(v, i, x) {
    const p = `${layer(i)}.mlp`;
    if (v.derived) {
      const h = v.cfg.hiddenDim;
      const [gate, up] = tf.split(tf.matMul(x, v.derived[`${i}.gateUp`] as tf.Tensor2D), [h, h], 1);
      return tf.matMul(
        tf.mul(silu(gate as tf.Tensor2D), up as tf.Tensor2D) as tf.Tensor2D,
        w2(v, `${p}.down_proj.weight`),
      );
    }
    const hidden = tf.mul(silu(proj(v, x, `${p}.gate_proj.weight`)), proj(v, x, `${p}.up_proj.weight`));
    return proj(v, hidden as tf.Tensor2D, `${p}.down_proj.weight`);
  },

  finalNorm(v, x) {
    if (v.derived) return normalize(x, v.cfg.normEps);
    return rmsNorm(x, v.w('model.norm.weight') as tf.Tensor1D, v.cfg.normEps) as tf.Tensor2D;
  },

  head(v, x) {
    if (v.derived) return tf.matMul(x, v.derived['head'] as tf.Tensor2D);
    if (v.cfg.tieEmbeddings) {
      const name = 'model.embed_tokens.weight';
      const lora = v.lora(name);
      if (!lora) return linearTransposed(x, w2(v, name)); // [V, D]
      return linear(x, tf.transpose(w2(v, name)), undefined, lora) as tf.Tensor2D;
    }
    return proj(v, x, 'lm_head.weight');
  },

  derive(v) {
    const out: Record<string, tf.Tensor> = {};
    const hd = v.cfg.dim / v.cfg.nHeads;
    for (let i = 0; i < v.cfg.nLayers; i++) {
      const a = `${layer(i)}.self_attn`;
      const m = `${layer(i)}.mlp`;
      // Attention scores are q·k/sqrt(hd): scale the query weights once here instead of every step.
      const q: tf.Tensor2D = tf.mul(w2(v, `${a}.q_proj.weight`), 1 / Math.sqrt(hd));
      const k = w2(v, `${a}.k_proj.weight`);
      // q·R and k·R come out of the same product, so a decode step rotates with two multiplies and an add.
      const layout = v.cfg.ropeLayout;
      const parts = [
        q,
        k,
        w2(v, `${a}.v_proj.weight`),
        rotateColumns(q, hd, layout),
        rotateColumns(k, hd, layout),
      ];
      const qkv = tf.concat(parts, 1) as tf.Tensor2D;
      out[`${i}.qkv`] = fold(v, `${layer(i)}.input_layernorm.weight`, qkv);
      const gateUp = tf.concat(
        [w2(v, `${m}.gate_proj.weight`), w2(v, `${m}.up_proj.weight`)],
        1,
      ) as tf.Tensor2D;
      out[`${i}.gateUp`] = fold(v, `${layer(i)}.post_attention_layernorm.weight`, gateUp);
    }
    const head = v.cfg.tieEmbeddings
      ? tf.transpose(w2(v, 'model.embed_tokens.weight'))
      : w2(v, 'lm_head.weight');
    out['head'] = fold(v, 'model.norm.weight', head);
    return out;
  },
};
