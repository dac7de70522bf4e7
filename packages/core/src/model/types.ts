import type * as tf from '@tensorflow/tfjs-core';
import type { LoraAdapter } from './ops.ts';

export type { LoraAdapter } from './ops.ts';

/** The model families Regimen implements; each is one file in this folder. */
export type ModelFamily = 'llama' | 'gpt2';

/**
 * How rotary embeddings pair up the dimensions of a head: 'half' pairs i with i + headDim/2 (Hugging Face
 * `rotate_half`), 'interleaved' pairs 2i with 2i+1 (llama2.c, Meta's original complex-number layout).
 */
export type RopeLayout = 'half' | 'interleaved';

/** Everything needed to build a decoder; resolved from a checkpoint's own config, stored beside weights. */
export interface ModelConfig {
  family: ModelFamily;
  vocabSize: number;
  /** Width of the residual stream. */
  dim: number;
  nLayers: number;
  nHeads: number;
  /** Key/value heads (grouped-query attention); equals nHeads for plain multi-head attention. */
  nKvHeads: number;
  /** Width of the MLP's hidden layer. */
  hiddenDim: number;
  /** Longest sequence the model takes (GPT-2: number of learned positions). */
  maxSeqLen: number;
  normEps: number;
  /** RoPE base (Llama); unused by GPT-2. */
  ropeTheta: number;
  ropeLayout: RopeLayout;
  /** The output head reuses the token embedding matrix. */
  tieEmbeddings: boolean;
  bosTokenId?: number;
  eosTokenId?: number;
}

/** Options of a full-sequence forward pass. */
export interface ForwardOptions {
  /**
   * B rows of T, 1 for real tokens and 0 for padding (Hugging Face's `attention_mask`), on the host: it is
   * token bookkeeping, like the ids. Padding keys are never attended to, and positions count real tokens
   * only, so a left-padded row computes exactly what it would alone.
   */
  mask?: ReadonlyArray<ArrayLike<number>>;
  /** LoRA adapters keyed by the parameter name of the weight they adapt (e.g. `model.layers.0.self_attn.q_proj.weight`). */
  lora?: Record<string, LoraAdapter>;
}

/**
 * Keys and values of the positions seen so far, per layer, for incremental decoding. Owned by the caller:
 * `dispose()` frees it.
 */
export interface KVCache {
  readonly batch: number;
  /** Number of positions (padding included) already in the cache. */
  readonly length: number;
  dispose(): void;
}

export interface DecoderModel {
  readonly config: ModelConfig;
  /**
   * The weights, keyed by Hugging Face tensor names. Weight matrices of linear layers are stored
   * [in, out] (x·W) whatever the checkpoint's layout; the checkpoint writer converts back.
   */
  readonly params: Record<string, tf.Variable>;
  /** logits [B, T, V] for int32 tokens [B, T]; a pure function of `params` (differentiable). */
  logits(tokens: tf.Tensor2D, opts?: ForwardOptions): tf.Tensor3D;
  /** Final hidden states [B, T, D] (after the last norm), for pooling. */
  hidden(tokens: tf.Tensor2D, opts?: ForwardOptions): tf.Tensor3D;
  /**
   * An empty cache for `batch` rows of at most `capacity` positions. The decode-time weights it reads are
   * prepared once and kept by the model for later caches until a parameter is assigned a new value or the
   * model is disposed.
   */
  createCache(batch: number, capacity: number): KVCache;
  /**
   * Feeds tokens [B, T] (a prompt, or one new token per row) after what the cache holds, appends their keys
   * and values to it, and returns the logits of the last position [B, V]. `mask` [B, T] marks padding as
   * in {@link ForwardOptions}; once a row's position was padding it stays masked for later steps.
   */
  forwardCached(
    tokens: tf.Tensor2D,
    cache: KVCache,
    opts?: { mask?: ReadonlyArray<ArrayLike<number>> },
  ): tf.Tensor2D;
  /** Parameter count. */
  numParams(): number;
  dispose(): void;
}
