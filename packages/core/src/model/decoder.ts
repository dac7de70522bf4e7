import * as tf from '@tensorflow/tfjs-core';
import type { DecodeWeights, Family, WeightView } from './family.ts';
import { gpt2 } from './gpt2.ts';
import * as kernels from './kernels.ts';
import { llama } from './llama.ts';
import { bmm, constant, type LoraAdapter, linear2d, reshape } from './ops.ts';
import { type RotaryTables, rotaryTables } from './rope.ts';
import type { DecoderModel, ForwardOptions, KVCache, ModelConfig, ModelFamily } from './types.ts';

export const FAMILIES: Record<ModelFamily, Family> = { llama, gpt2 };

/** Additive attention bias for keys a query may not see; finite so a fully masked row stays finite. */
const MASKED = -1e9;

/**
 * The family's prepared decode weights. Built from the parameters as they are when a cache is created, and
 * shared by every cache until a parameter is assigned a new value (its dataId changes).
 */
class Prepared {
  users = 0;
  stale = false;

  constructor(
    readonly dataIds: object[],
    readonly weights: DecodeWeights,
  ) {}

  /** Whether it was built from exactly these parameter values. */
  matches(dataIds: object[]): boolean {
    return (
      !this.stale && dataIds.length === this.dataIds.length && dataIds.every((d, i) => d === this.dataIds[i])
    );
  }

  release(): void {
    this.users--;
    this.disposeIfUnused();
  }

  retire(): void {
    this.stale = true;
    this.disposeIfUnused();
  }

  private disposeIfUnused(): void {
    if (!this.stale || this.users > 0) return;
    for (const t of Object.values(this.weights.t)) t.dispose();
  }
}

/** cos and sin [maxSeqLen, heads·hd] for the query heads and the key heads. */
interface HeadRope {
  cosQ: tf.Tensor2D;
  sinQ: tf.Tensor2D;
  cosK: tf.Tensor2D;
  sinK: tf.Tensor2D;
}

/** The rotary tables tiled across heads; the key tables are the query ones when the head counts agree. */
function headRopeTables(rot: RotaryTables, nHeads: number, nKvHeads: number): HeadRope {
  return tf.tidy(() => {
    const cosQ = tf.tile(rot.cos, [1, nHeads]) as tf.Tensor2D;
    const sinQ = tf.tile(rot.sin, [1, nHeads]) as tf.Tensor2D;
    if (nKvHeads === nHeads) return { cosQ, sinQ, cosK: cosQ, sinK: sinQ };
    return {
      cosQ,
      sinQ,
      cosK: tf.tile(rot.cos, [1, nKvHeads]) as tf.Tensor2D,
      sinK: tf.tile(rot.sin, [1, nKvHeads]) as tf.Tensor2D,
    };
  });
}

class Cache implements KVCache {
  length = 0;
  /**
   * Per layer: keys and values [B·Hkv, S, hd]. Appending along S copies whole rows (wasm's concat is
   * slow along the innermost axis), and the scores' transposed batched product costs the same as a plain one.
   */
  keys: (tf.Tensor3D | null)[];
  values: (tf.Tensor3D | null)[];
  /** Per row, per cached position: 1 for a real token, 0 for padding. */
  readonly keyValid: Uint8Array[];
  /** Per row: the position id the next real token gets. */
  readonly nextPos: number[];
  /**
   * [B, 1, 1, capacity] additive bias of the cached keys (MASKED where a key was padding), on the device;
   * built when a masked call records padding, so one-token steps need no bias from the host. Null while no
   * key is padding.
   */
  padBias: tf.Tensor4D | null = null;
  disposed = false;

  constructor(
    readonly batch: number,
    readonly capacity: number,
    nLayers: number,
    readonly prepared: Prepared,
  ) {
    this.keys = new Array(nLayers).fill(null);
    this.values = new Array(nLayers).fill(null);
    this.keyValid = Array.from({ length: batch }, () => new Uint8Array(capacity));
    this.nextPos = new Array(batch).fill(0);
    prepared.users++;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const t of [...this.keys, ...this.values]) t?.dispose();
    this.padBias?.dispose();
    this.prepared.release();
  }
}

/** Checks a host mask [B][T] and turns it into per-row 0/1 arrays (masks are token bookkeeping, kept on the host). */
function readMask(
  mask: ReadonlyArray<ArrayLike<number>> | undefined,
  batch: number,
  time: number,
): Uint8Array[] | null {
  if (!mask) return null;
  if (mask.length !== batch || mask.some((row) => row.length !== time)) {
    throw new Error(
      `attention mask has ${mask.length} rows of [${[...new Set(mask.map((r) => r.length))]}], expected ${batch} rows of ${time} like the tokens`,
    );
  }
  return mask.map((row) => Uint8Array.from(row as ArrayLike<number>, (x) => (x ? 1 : 0)));
}

/**
 * The decoder shared by every family: embeddings → layers of (norm → attention → residual, norm → MLP →
 * residual) → final norm → head. Attention is causal, grouped-query, optionally rotary, with an optional
 * key/value cache.
 */
export class Decoder implements DecoderModel {
  readonly family: Family;
  private readonly rotary: RotaryTables | null;
  /** The rotary tables tiled across query and key heads for the KV-cache pass (they depend on the config only). */
  private readonly headRope: HeadRope | null;
  /** Decode weights of the latest cache, reused while the parameters keep their values. */
  private prepared: Prepared | null = null;

  constructor(
    readonly config: ModelConfig,
    readonly params: Record<string, tf.Variable>,
  ) {
    this.family = FAMILIES[config.family];
    const { dim, nHeads, nKvHeads } = config;
    if (dim % nHeads !== 0) throw new Error(`model config: dim ${dim} is not a multiple of nHeads ${nHeads}`);
    if (nHeads % nKvHeads !== 0) {
      throw new Error(`model config: nHeads ${nHeads} is not a multiple of nKvHeads ${nKvHeads}`);
    }
    const shapes = this.family.paramShapes(config);
    for (const [name, shape] of Object.entries(shapes)) {
      const p = params[name];
      if (!p) throw new Error(`${config.family} model: parameter ${name} [${shape}] is missing`);
      if (p.shape.join() !== shape.join()) {
        throw new Error(
          `${config.family} model: parameter ${name} has shape [${p.shape}], expected [${shape}]`,
        );
      }
    }
    for (const name of Object.keys(params)) {
      if (!(name in shapes)) throw new Error(`${config.family} model: unexpected parameter ${name}`);
    }
    this.rotary = this.family.rotary ? rotaryTables(config) : null;
    this.headRope = this.rotary ? headRopeTables(this.rotary, config.nHeads, config.nKvHeads) : null;
  }

  private view(lora?: Record<string, LoraAdapter>): WeightView {
    const params = this.params;
    const cfg = this.config;
    if (lora) {
      for (const name of Object.keys(lora)) {
        if (!(name in params)) throw new Error(`LoRA adapter for ${name}: the model has no such parameter`);
      }
    }
    return {
      cfg,
      w(name) {
        const p = params[name];
        if (!p) throw new Error(`${cfg.family} model: parameter ${name} is missing`);
        return p;
      },
      lora: (name) => lora?.[name],
    };
  }

  logits(tokens: tf.Tensor2D, opts: ForwardOptions = {}): tf.Tensor3D {
    const [b, t] = tokens.shape;
    return tf.tidy(() => {
      const v = this.view(opts.lora);
      const x = this.trunk(v, tokens, readMask(opts.mask, b, t));
      return reshape<tf.Rank.R3>(this.family.head(v, x), [b, t, this.config.vocabSize]);
    });
  }

  hidden(tokens: tf.Tensor2D, opts: ForwardOptions = {}): tf.Tensor3D {
    const [b, t] = tokens.shape;
    return tf.tidy(() => {
      const x = this.trunk(this.view(opts.lora), tokens, readMask(opts.mask, b, t));
      return tf.reshape(x, [b, t, this.config.dim]);
    });
  }

  createCache(batch: number, capacity: number): KVCache {
    if (capacity > this.config.maxSeqLen) {
      throw new Error(
        `cache capacity ${capacity} exceeds the model's maximum sequence length ${this.config.maxSeqLen}`,
      );
    }
    return new Cache(batch, capacity, this.config.nLayers, this.prepare());
  }

  /** The decode weights for the parameters' current values, built once and shared while they last. */
  private prepare(): Prepared {
    const dataIds = Object.values(this.params).map((p) => p.dataId as object);
    if (this.prepared?.matches(dataIds)) return this.prepared;
    this.prepared?.retire();
    this.prepared = new Prepared(dataIds, this.family.decode.prepare(this.view()));
    return this.prepared;
  }

  forwardCached(
    tokens: tf.Tensor2D,
    kv: KVCache,
    opts: { mask?: ReadonlyArray<ArrayLike<number>> } = {},
  ): tf.Tensor2D {
    const cache = kv as Cache;
    if (!(cache instanceof Cache) || cache.disposed)
      throw new Error('forwardCached: not a live cache of this model');
    const [b, t] = tokens.shape;
    if (b !== cache.batch) throw new Error(`forwardCached: ${b} rows, but the cache holds ${cache.batch}`);
    if (cache.length + t > cache.capacity) {
      throw new Error(
        `forwardCached: ${cache.length} cached + ${t} new positions exceed the capacity ${cache.capacity}`,
      );
    }
    const mask = readMask(opts.mask, b, t);
    const next = tf.tidy(() => {
      let x = this.cachedTrunk(tokens, mask, cache); // [1, N, D]
      if (t > 1) {
        const dim = this.config.dim;
        x = tf.reshape(tf.slice(tf.reshape(x, [b, t, dim]), [0, t - 1, 0], [b, 1, dim]), [1, b, dim]);
      }
      const logits = this.family.decode.head(cache.prepared.weights, x); // [1, B, V]
      return tf.reshape(logits, [b, this.config.vocabSize]) as tf.Tensor2D;
    });
    cache.length += t;
    return next;
  }

  numParams(): number {
    return Object.values(this.params).reduce((n, p) => n + p.size, 0);
  }

  dispose(): void {
    this.prepared?.retire();
    this.prepared = null;
    for (const p of Object.values(this.params)) p.dispose();
    if (this.rotary) for (const t of Object.values(this.rotary)) t.dispose();
    if (this.headRope) for (const t of new Set(Object.values(this.headRope))) t.dispose();
  }

  /**
   * Position ids of tokens [B, T] that follow the cached positions (positions count real tokens only, so a
   * left-padded row sees the same positions as it would alone), and the attention bias they need. With a
   * cache, records the new positions in it. The common cases are built on the device: a causal pass with
   * no padding (training, evaluation) and one new token per row after the cache; padding masks and longer
   * cached blocks build theirs from the host's bookkeeping.
   */
  private positions(tokens: tf.Tensor2D, mask: Uint8Array[] | null, cache: Cache | null) {
    const cfg = this.config;
    const [b, t] = tokens.shape;
    if (!cache && !mask) {
      if (t > cfg.maxSeqLen) {
        throw new Error(`row 0: ${t} positions exceed the model's maximum sequence length ${cfg.maxSeqLen}`);
      }
      const ids = tf.tile(tf.range(0, t, 1, 'int32'), [b]) as tf.Tensor1D; // [N]
      return { ids, bias: this.causalBias(t) };
    }
    const past = cache?.length ?? 0;
    const positions = new Int32Array(b * t);
    const valid: Uint8Array[] = [];
    for (let r = 0; r < b; r++) {
      const row = cache ? cache.keyValid[r]! : new Uint8Array(t);
      let pos = cache ? cache.nextPos[r]! : 0;
      for (let j = 0; j < t; j++) {
        const real = mask ? mask[r]![j]! : 1;
        row[past + j] = real;
        positions[r * t + j] = Math.min(pos, cfg.maxSeqLen - 1);
        pos += real;
      }
      if (pos > cfg.maxSeqLen) {
        throw new Error(
          `row ${r}: ${pos} positions exceed the model's maximum sequence length ${cfg.maxSeqLen}`,
        );
      }
      if (cache) cache.nextPos[r] = pos;
      valid.push(row);
    }
    const ids = tf.tensor1d(positions, 'int32'); // [N]
    if (cache && mask?.some((row) => row.includes(0))) {
      // Padding enters the cache: the bias of every cached key, kept on the device for later steps.
      cache.padBias?.dispose();
      const data = new Float32Array(b * cache.capacity);
      for (let r = 0; r < b; r++) {
        for (let s = 0; s < past + t; s++) if (valid[r]![s] === 0) data[r * cache.capacity + s] = MASKED;
      }
      cache.padBias = tf.keep(tf.tensor4d(data, [b, 1, 1, cache.capacity]));
    }
    if (cache && t === 1 && !mask) {
      const total = past + 1;
      const bias = cache.padBias ? tf.slice(cache.padBias, [0, 0, 0, 0], [b, 1, 1, total]) : null;
      return { ids, bias: bias as tf.Tensor4D | null }; // [B, 1, 1, S]: broadcast over the query heads
    }
    const padded = mask !== null || cache?.padBias != null;
    const bias = this.attentionBias(valid, b, t, past, past + t, padded);
    return { ids, bias }; // [N]; [B or 1, 1, g·T, S] or null
  }

  /** [1, 1, g·T, T] causal bias for queries grouped as in `attention`, built on the device. */
  private causalBias(t: number): tf.Tensor4D {
    const g = this.config.nHeads / this.config.nKvHeads;
    const query = tf.reshape(tf.tile(tf.range(0, t, 1, 'int32'), [g]), [g * t, 1]); // [g·T, 1]
    const key = tf.reshape(tf.range(0, t, 1, 'int32'), [1, t]); // [1, T]
    const hidden = tf.cast(tf.greater(key, query), 'float32'); // [g·T, T]: 1 where the key is in the future
    return tf.reshape(tf.mul(hidden, constant(MASKED)), [1, 1, g * t, t]);
  }

  /** Embeddings through the final norm, differentiably: tokens [B, T] → [B·T, D]. */
  private trunk(v: WeightView, tokens: tf.Tensor2D, mask: Uint8Array[] | null): tf.Tensor2D {
    const cfg = this.config;
    const [b, t] = tokens.shape;
    const pos = this.positions(tokens, mask, null);
    const rot = this.rotary
      ? { cos: tf.gather(this.rotary.cos, pos.ids), sin: tf.gather(this.rotary.sin, pos.ids) } // [N, hd] each
      : null;
    let x = this.family.embed(v, tf.reshape(tokens, [-1]) as tf.Tensor1D, pos.ids); // [N, D]
    for (let i = 0; i < cfg.nLayers; i++) {
      let [q, k, val] = this.family.qkv(v, i, this.family.attnNorm(v, i, x));
      if (rot) {
        q = this.rope(q, cfg.nHeads, rot);
        k = this.rope(k, cfg.nKvHeads, rot);
      }
      const y = this.attention(q, k, val, b, t, pos.bias); // [N, D]
      x = tf.add(x, this.family.attnOut(v, i, y));
      x = tf.add(x, this.family.mlp(v, i, this.family.mlpNorm(v, i, x)));
    }
    return this.family.finalNorm(v, x);
  }

  /**
   * The decoding counterpart of {@link trunk}: embeddings through the last layer with the KV cache, on the
   * family's decode pieces. The new positions follow the cached ones and their keys and values are appended
   * to the cache. Returns [1, B·T, D], before the final norm.
   */
  private cachedTrunk(tokens: tf.Tensor2D, mask: Uint8Array[] | null, cache: Cache): tf.Tensor3D {
    const cfg = this.config;
    const dec = this.family.decode;
    const w = cache.prepared.weights;
    const ropeTables = this.headRope;
    const [b, t] = tokens.shape;
    const pos = this.positions(tokens, mask, cache);
    const rope = ropeTables ? this.ropeAt(ropeTables, pos.ids) : null; // [N, heads·hd] each
    let x = dec.embed(w, tf.reshape(tokens, [-1]) as tf.Tensor1D, pos.ids); // [1, N, D]
    for (let i = 0; i < cfg.nLayers; i++) {
      const parts = dec.qkv(w, i, x);
      let [q, k] = parts as [tf.Tensor3D, tf.Tensor3D];
      if (rope) {
        // RoPE as x·cos + (x·R)·sin, with x·R from the family's own products.
        q = kernels.add(kernels.mul(q, rope.cosQ), kernels.mul(parts[3]!, rope.sinQ));
        k = kernels.add(kernels.mul(k, rope.cosK), kernels.mul(parts[4]!, rope.sinK));
      }
      const y = this.cachedAttention(q, k, parts[2]!, b, t, pos.bias, cache, i); // [1, N, D]
      x = kernels.add(x, dec.attnOut(w, i, y));
      x = kernels.add(x, dec.mlp(w, i, x));
    }
    return x;
  }

  /**
   * [B, 1, g·T, S] additive bias (0 or MASKED) for queries grouped as in `attention`, from the host's
   * bookkeeping; null when every key is visible to every query (one new token, no padding).
   */
  private attentionBias(
    valid: Uint8Array[],
    b: number,
    t: number,
    past: number,
    total: number,
    padded: boolean,
  ) {
    if (t === 1 && !padded) return null;
    const g = this.config.nHeads / this.config.nKvHeads;
    const rows = padded ? b : 1;
    const data = new Float32Array(rows * g * t * total);
    for (let r = 0; r < rows; r++) {
      for (let h = 0; h < g; h++) {
        for (let i = 0; i < t; i++) {
          const base = ((r * g + h) * t + i) * total;
          for (let s = 0; s < total; s++) {
            const visible = s <= past + i && (!padded || valid[r]![s] === 1);
            if (!visible) data[base + s] = MASKED;
          }
        }
      }
    }
    return tf.tensor4d(data, [rows, 1, g * t, total]);
  }

  /** The head-tiled rotary rows at these positions (the key rows are the query ones where the tables are). */
  private ropeAt(tables: HeadRope, ids: tf.Tensor1D): HeadRope {
    const cosQ = tf.gather(tables.cosQ, ids) as tf.Tensor2D;
    const sinQ = tf.gather(tables.sinQ, ids) as tf.Tensor2D;
    if (tables.cosK === tables.cosQ) return { cosQ, sinQ, cosK: cosQ, sinK: sinQ };
    return {
      cosQ,
      sinQ,
      cosK: tf.gather(tables.cosK, ids) as tf.Tensor2D,
      sinK: tf.gather(tables.sinK, ids) as tf.Tensor2D,
    };
  }

  private rope(x: tf.Tensor2D, heads: number, rot: { cos: tf.Tensor2D; sin: tf.Tensor2D }) {
    const hd = this.config.dim / this.config.nHeads;
    const n = x.shape[0];
    const flat = tf.reshape(x, [-1, hd]) as tf.Tensor2D; // [N·heads, hd]
    const turned = tf.reshape(linear2d(flat, this.rotary!.rotation), [n, heads, hd]);
    const cos = tf.reshape(rot.cos, [n, 1, hd]);
    const sin = tf.reshape(rot.sin, [n, 1, hd]);
    const out = tf.add(tf.mul(tf.reshape(x, [n, heads, hd]), cos), tf.mul(turned, sin)); // [N, heads, hd]
    return tf.reshape(out, [n, heads * hd]) as tf.Tensor2D;
  }

  /**
   * Causal attention. Queries (scaled by 1/sqrt(hd), rotated) [N, H·hd], keys and values [N, Hkv·hd] →
   * [N, H·hd]. The g = H/Hkv query heads that share a key head are stacked along the time axis, so grouped
   * attention is one batched product with no repeated keys.
   */
  private attention(
    q: tf.Tensor2D,
    k: tf.Tensor2D,
    val: tf.Tensor2D,
    b: number,
    t: number,
    bias: tf.Tensor4D | null,
  ): tf.Tensor2D {
    const { nHeads, nKvHeads, dim } = this.config;
    const hd = dim / nHeads;
    const g = nHeads / nKvHeads;
    const heads = (x: tf.Tensor2D) =>
      tf.transpose(tf.reshape(x, [b, t, nKvHeads, hd]), [0, 2, 1, 3]) as tf.Tensor4D; // [B, Hkv, T, hd]
    const keys = heads(k);
    const values = heads(val);
    // [B, T, H, hd] → [B, Hkv, g, T, hd] → [B, Hkv, g·T, hd]
    const qh = tf.reshape(tf.transpose(tf.reshape(q, [b, t, nHeads, hd]), [0, 2, 1, 3]), [
      b,
      nKvHeads,
      g * t,
      hd,
    ]);
    let scores = bmm(qh, keys, true); // qh·keysᵀ [B, Hkv, g·T, S]
    if (bias) scores = tf.add(scores, bias);
    const out = bmm(tf.softmax(scores), values); // [B, Hkv, g·T, hd]
    // [B, Hkv, g·T, hd] = [B, H, T, hd] → [B, T, H, hd] → [N, D]
    return tf.reshape(tf.transpose(tf.reshape(out, [b, nHeads, t, hd]), [0, 2, 1, 3]), [
      b * t,
      dim,
    ]) as tf.Tensor2D;
  }

  /**
   * {@link attention} with the KV cache, on [1, N, width] activations: keys and values of the new positions
   * are appended to the layer's cache, and queries attend to every cached position. Returns [1, N, H·hd].
   */
  private cachedAttention(
    q: tf.Tensor3D,
    k: tf.Tensor3D,
    val: tf.Tensor3D,
    b: number,
    t: number,
    bias: tf.Tensor4D | null,
    cache: Cache,
    layerIdx: number,
  ): tf.Tensor3D {
    const { nHeads, nKvHeads, dim } = this.config;
    const hd = dim / nHeads;
    const g = nHeads / nKvHeads;
    // [1, B·T, Hkv·hd] → [B·Hkv, T, hd]; one new position needs no transpose.
    const heads = (x: tf.Tensor3D) =>
      (t === 1
        ? tf.reshape(x, [b * nKvHeads, 1, hd])
        : tf.reshape(tf.transpose(tf.reshape(x, [b, t, nKvHeads, hd]), [0, 2, 1, 3]), [
            b * nKvHeads,
            t,
            hd,
          ])) as tf.Tensor3D;
    let keys = heads(k);
    let values = heads(val);
    const oldK = cache.keys[layerIdx];
    const oldV = cache.values[layerIdx];
    if (oldK && oldV) {
      keys = tf.concat([oldK, keys], 1); // [B·Hkv, S, hd]
      values = tf.concat([oldV, values], 1);
    }
    // The cache outlives this tidy scope; the previous step's tensors are no longer needed once concatenated.
    cache.keys[layerIdx] = tf.keep(keys);
    cache.values[layerIdx] = tf.keep(values);
    oldK?.dispose();
    oldV?.dispose();
    // [B, T, H, hd] → [B, Hkv, g, T, hd] → [B·Hkv, g·T, hd]
    const qh = (
      t === 1
        ? tf.reshape(q, [b * nKvHeads, g, hd])
        : tf.reshape(tf.transpose(tf.reshape(q, [b, t, nHeads, hd]), [0, 2, 1, 3]), [b * nKvHeads, g * t, hd])
    ) as tf.Tensor3D;
    let scores = kernels.batchMatMul(qh, keys, true); // [B·Hkv, g·T, S]
    if (bias) {
      const s = keys.shape[1];
      scores = tf.reshape(tf.add(tf.reshape(scores, [b, nKvHeads, g * t, s]), bias), [
        b * nKvHeads,
        g * t,
        s,
      ]);
    }
    const out = kernels.batchMatMul(kernels.softmax(scores), values, false); // [B·Hkv, g·T, hd]
    if (t === 1) return tf.reshape(out, [1, b, dim]) as tf.Tensor3D;
    // [B·Hkv, g·T, hd] = [B, H, T, hd] → [B, T, H, hd] → [1, N, D]
    return tf.reshape(tf.transpose(tf.reshape(out, [b, nHeads, t, hd]), [0, 2, 1, 3]), [
      1,
      b * t,
      dim,
    ]) as tf.Tensor3D;
  }
}
