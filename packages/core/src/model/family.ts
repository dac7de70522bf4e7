import type * as tf from '@tensorflow/tfjs-core';
import type { LoraAdapter } from './ops.ts';
import type { ModelConfig, ModelFamily } from './types.ts';

/** What a family's differentiable pieces see: weights by Hugging Face name and LoRA adapters. */
export interface WeightView {
  readonly cfg: ModelConfig;
  /** A parameter by Hugging Face name (throws naming it when absent). */
  w(name: string): tf.Tensor;
  lora(name: string): LoraAdapter | undefined;
}

/**
 * What a family prepared once per KV cache for decoding: norm gains folded into the next projection,
 * weights as [1, in, out], constants as scalars.
 */
export interface DecodeWeights {
  readonly cfg: ModelConfig;
  /** Owned: disposed with the cache. */
  readonly t: Record<string, tf.Tensor>;
  /** The model's own parameters read as they are (not owned). */
  readonly params: Record<string, tf.Tensor>;
}

/**
 * A family's decode-time forward pass, used with the KV cache, where nothing is differentiated.
 * Activations are [1, N, width] with N = B·T, so that every projection is one fused matrix-product
 * kernel (see kernels.ts); the shared decoder does embeddings' positions, attention and the cache.
 */
export interface DecodeFamily {
  /** The tensors the other pieces read; the caller disposes them. */
  prepare(v: WeightView): DecodeWeights;
  /** Token (and learned position) embeddings: ids [N], positions [N] → [1, N, D]. */
  embed(d: DecodeWeights, ids: tf.Tensor1D, positions: tf.Tensor1D): tf.Tensor3D;
  /**
   * The attention input norm and projections: queries [1, N, H·hd] scaled by 1/sqrt(hd), keys and values
   * [1, N, Hkv·hd]; a rotary family adds the rotated partners q·R and k·R (see rope.ts).
   */
  qkv(d: DecodeWeights, layer: number, x: tf.Tensor3D): tf.Tensor3D[];
  /** Attention output projection [1, N, D] → [1, N, D]. */
  attnOut(d: DecodeWeights, layer: number, y: tf.Tensor3D): tf.Tensor3D;
  /** The MLP with its input norm: the residual branch added after attention. */
  mlp(d: DecodeWeights, layer: number, x: tf.Tensor3D): tf.Tensor3D;
  /** Final norm and head → logits [1, N, V]. */
  head(d: DecodeWeights, x: tf.Tensor3D): tf.Tensor3D;
}

/**
 * One model family: its parameter names and shapes, and the pieces the shared decoder calls per layer.
 * Every piece takes and returns 2-D activations [N, width] with N = B·T.
 */
export interface Family {
  readonly name: ModelFamily;
  /** Parameter name → shape as stored in the model (linear weights [in, out]). */
  paramShapes(cfg: ModelConfig): Record<string, number[]>;
  /** Whether the checkpoint stores this 2-D parameter as [out, in] (nn.Linear), i.e. transposed from ours. */
  storedTransposed(name: string): boolean;
  /** How to initialise a parameter from scratch. */
  initOf(
    name: string,
    cfg: ModelConfig,
  ): { kind: 'normal'; std: number } | { kind: 'ones' } | { kind: 'zeros' };
  /** Whether attention applies rotary embeddings to queries and keys. */
  readonly rotary: boolean;
  /** Token (and learned position) embeddings: ids [N], positions [N] → [N, D]. */
  embed(v: WeightView, ids: tf.Tensor1D, positions: tf.Tensor1D): tf.Tensor2D;
  attnNorm(v: WeightView, layer: number, x: tf.Tensor2D): tf.Tensor2D;
  /**
   * Queries [N, H·hd] (already scaled by 1/sqrt(hd)), keys and values [N, Hkv·hd], before any rotary
   * embedding.
   */
  qkv(v: WeightView, layer: number, x: tf.Tensor2D): [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
  attnOut(v: WeightView, layer: number, y: tf.Tensor2D): tf.Tensor2D;
  mlpNorm(v: WeightView, layer: number, x: tf.Tensor2D): tf.Tensor2D;
  mlp(v: WeightView, layer: number, x: tf.Tensor2D): tf.Tensor2D;
  finalNorm(v: WeightView, x: tf.Tensor2D): tf.Tensor2D;
  /** Output head [N, D] → [N, V]. */
  head(v: WeightView, x: tf.Tensor2D): tf.Tensor2D;
  /** The KV-cache forward pass. */
  readonly decode: DecodeFamily;
}
