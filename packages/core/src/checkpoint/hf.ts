import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { modelFromTensors } from '../model/create.ts';
import { FAMILIES } from '../model/decoder.ts';
import type { DecoderModel, ModelConfig } from '../model/types.ts';
import { type SafetensorsDtype, SafetensorsFile, writeSafetensors } from './safetensors.ts';

/**
 * Hugging Face checkpoint folders: `config.json` plus `model.safetensors`, or shards listed in
 * `model.safetensors.index.json`.
 */

type Json = Record<string, unknown>;

function field<T>(cfg: Json, file: string, key: string, kind: 'number' | 'boolean', fallback?: T): T {
  const v = cfg[key];
  if (v === undefined || v === null) {
    if (fallback !== undefined) return fallback;
    throw new Error(`${file}: field "${key}" is missing`);
  }
  if (typeof v !== kind)
    throw new Error(`${file}: field "${key}" is ${JSON.stringify(v)}, expected a ${kind}`);
  return v as T;
}

function tokenId(cfg: Json, key: string): number | undefined {
  const v = cfg[key];
  if (typeof v === 'number') return v;
  if (Array.isArray(v) && typeof v[0] === 'number') return v[0];
  return undefined;
}

/** A {@link ModelConfig} from a Hugging Face `config.json` object (`file` names it in errors). */
export function configFromHf(cfg: Json, file: string): ModelConfig {
  const type = cfg.model_type;
  if (type === 'gpt2') {
    const act = cfg.activation_function ?? 'gelu_new';
    if (act !== 'gelu_new' && act !== 'gelu_pytorch_tanh') {
      throw new Error(`${file}: activation_function "${String(act)}" is not supported; expected gelu_new`);
    }
    const dim = field<number>(cfg, file, 'n_embd', 'number');
    const heads = field<number>(cfg, file, 'n_head', 'number');
    return {
      family: 'gpt2',
      vocabSize: field(cfg, file, 'vocab_size', 'number'),
      dim,
      nLayers: field(cfg, file, 'n_layer', 'number'),
      nHeads: heads,
      nKvHeads: heads,
      hiddenDim: field(cfg, file, 'n_inner', 'number', 4 * dim),
      maxSeqLen: field(cfg, file, 'n_positions', 'number'),
      normEps: field(cfg, file, 'layer_norm_epsilon', 'number', 1e-5),
      ropeTheta: 10000,
      ropeLayout: 'half',
      tieEmbeddings: field(cfg, file, 'tie_word_embeddings', 'boolean', true),
      bosTokenId: tokenId(cfg, 'bos_token_id'),
      eosTokenId: tokenId(cfg, 'eos_token_id'),
    };
  }
  if (type === 'llama') {
    const act = cfg.hidden_act ?? 'silu';
    if (act !== 'silu')
      throw new Error(`${file}: hidden_act "${String(act)}" is not supported; expected silu`);
    if (cfg.rope_scaling) throw new Error(`${file}: rope_scaling is not supported; expected null`);
    const dim = field<number>(cfg, file, 'hidden_size', 'number');
    const heads = field<number>(cfg, file, 'num_attention_heads', 'number');
    const headDim = cfg.head_dim;
    if (typeof headDim === 'number' && headDim * heads !== dim) {
      throw new Error(
        `${file}: head_dim ${headDim} × num_attention_heads ${heads} ≠ hidden_size ${dim}; not supported`,
      );
    }
    return {
      family: 'llama',
      vocabSize: field(cfg, file, 'vocab_size', 'number'),
      dim,
      nLayers: field(cfg, file, 'num_hidden_layers', 'number'),
      nHeads: heads,
      nKvHeads: field(cfg, file, 'num_key_value_heads', 'number', heads),
      hiddenDim: field(cfg, file, 'intermediate_size', 'number'),
      maxSeqLen: field(cfg, file, 'max_position_embeddings', 'number'),
      normEps: field(cfg, file, 'rms_norm_eps', 'number', 1e-6),
      ropeTheta: field(cfg, file, 'rope_theta', 'number', 10000),
      ropeLayout: 'half',
      tieEmbeddings: field(cfg, file, 'tie_word_embeddings', 'boolean', false),
      bosTokenId: tokenId(cfg, 'bos_token_id'),
      eosTokenId: tokenId(cfg, 'eos_token_id'),
    };
  }
  throw new Error(`${file}: model_type "${String(type)}" is not supported; expected gpt2 or llama`);
}

/** A Hugging Face `config.json` object for a {@link ModelConfig}; {@link configFromHf} reads it back. */
export function configToHf(c: ModelConfig): Json {
  const common = {
    vocab_size: c.vocabSize,
    tie_word_embeddings: c.tieEmbeddings,
    bos_token_id: c.bosTokenId,
    eos_token_id: c.eosTokenId,
  };
  if (c.family === 'gpt2') {
    return {
      architectures: ['GPT2LMHeadModel'],
      model_type: 'gpt2',
      ...common,
      n_embd: c.dim,
      n_layer: c.nLayers,
      n_head: c.nHeads,
      n_inner: c.hiddenDim,
      n_positions: c.maxSeqLen,
      n_ctx: c.maxSeqLen,
      layer_norm_epsilon: c.normEps,
      activation_function: 'gelu_new',
    };
  }
  if (c.ropeLayout !== 'half') {
    throw new Error(
      'a Llama checkpoint in Hugging Face layout needs ropeLayout "half"; permute the query/key weights first (toHalfRope)',
    );
  }
  return {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    ...common,
    hidden_size: c.dim,
    num_hidden_layers: c.nLayers,
    num_attention_heads: c.nHeads,
    num_key_value_heads: c.nKvHeads,
    intermediate_size: c.hiddenDim,
    max_position_embeddings: c.maxSeqLen,
    rms_norm_eps: c.normEps,
    rope_theta: c.ropeTheta,
    hidden_act: 'silu',
  };
}

/** Tensors in checkpoints that are buffers, not weights (causal masks, cached frequencies). */
const IGNORED = [/\.attn\.bias$/, /\.attn\.masked_bias$/, /rotary_emb\.inv_freq$/];

/** Maps a checkpoint tensor name to the model's, e.g. GPT-2 files saved without the `transformer.` prefix. */
function canonicalName(family: ModelConfig['family'], name: string): string {
  if (family === 'gpt2' && !name.startsWith('transformer.') && !name.startsWith('lm_head.'))
    return `transformer.${name}`;
  return name;
}

/** Every safetensors file of a folder and which tensor lives where. */
function shardsOf(dir: string): string[] {
  const single = join(dir, 'model.safetensors');
  const index = join(dir, 'model.safetensors.index.json');
  if (existsSync(index)) {
    let parsed: { weight_map?: Record<string, string> };
    try {
      parsed = JSON.parse(readFileSync(index, 'utf8'));
    } catch (e) {
      throw new Error(`${index}: not valid JSON (${(e as Error).message})`);
    }
    if (!parsed.weight_map || typeof parsed.weight_map !== 'object')
      throw new Error(`${index}: field "weight_map" is missing`);
    return [...new Set(Object.values(parsed.weight_map))].map((f) => join(dir, f));
  }
  if (existsSync(single)) return [single];
  throw new Error(`${dir}: neither model.safetensors nor model.safetensors.index.json found`);
}

/** Reads a Hugging Face folder's `config.json` into a {@link ModelConfig}. */
export function readHfConfig(dir: string): ModelConfig {
  const file = join(dir, 'config.json');
  if (!existsSync(file)) throw new Error(`${file}: not found`);
  let cfg: Json;
  try {
    cfg = JSON.parse(readFileSync(file, 'utf8')) as Json;
  } catch (e) {
    throw new Error(`${file}: not valid JSON (${(e as Error).message})`);
  }
  return configFromHf(cfg, file);
}

/** Loads a Hugging Face folder (GPT-2 or Llama), one tensor at a time. */
export function loadHfModel(dir: string): DecoderModel {
  const config = readHfConfig(dir);
  const family = FAMILIES[config.family];
  const shapes = family.paramShapes(config);
  const tensors: Record<string, tf.Tensor> = {};
  try {
    for (const path of shardsOf(dir)) {
      if (!existsSync(path)) throw new Error(`${path}: listed in model.safetensors.index.json but not found`);
      const file = new SafetensorsFile(path);
      try {
        for (const entry of file.entries.values()) {
          if (IGNORED.some((re) => re.test(entry.name))) continue;
          const name = canonicalName(config.family, entry.name);
          // Tied checkpoints sometimes also store the head; the model reads the embedding instead.
          if (name === 'lm_head.weight' && config.tieEmbeddings) continue;
          const shape = shapes[name];
          if (!shape)
            throw new Error(
              `${path}: tensor ${entry.name} is not a parameter of a ${config.family} model with this config`,
            );
          const stored = family.storedTransposed(name) ? [shape[1]!, shape[0]!] : shape;
          if (entry.shape.join() !== stored.join()) {
            throw new Error(
              `${path}: tensor ${entry.name} has shape [${entry.shape}], config.json implies [${stored}]`,
            );
          }
          const values = file.read(entry.name);
          tensors[name] = family.storedTransposed(name)
            ? tf.tidy(() => tf.transpose(tf.tensor2d(values, stored as [number, number])))
            : tf.tensor(values, shape);
        }
      } finally {
        file.close();
      }
    }
    const missing = Object.keys(shapes).filter((n) => !(n in tensors));
    if (missing.length)
      throw new Error(
        `${dir}: tensors missing from the checkpoint: ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', …' : ''}`,
      );
  } catch (e) {
    for (const t of Object.values(tensors)) t.dispose();
    throw e;
  }
  return modelFromTensors(config, tensors);
}

/**
 * Writes a model as a Hugging Face folder: `config.json` (the resolved config, HF keys plus Regimen's own
 * under "regimen") and `model.safetensors` in the checkpoint's conventional layout.
 */
export async function saveHfModel(
  model: DecoderModel,
  dir: string,
  opts: { dtype?: SafetensorsDtype } = {},
): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const family = FAMILIES[model.config.family];
  const names = Object.keys(model.params).sort();
  const specs = names.map((name) => {
    const shape = model.params[name]!.shape;
    return { name, shape: family.storedTransposed(name) ? [shape[1]!, shape[0]!] : shape };
  });
  const file = join(dir, 'model.safetensors');
  await writeSafetensors(
    file,
    specs,
    async (name) => {
      // One tensor at a time, read asynchronously (a GPU backend has no synchronous readback).
      const p = model.params[name]!;
      const t = family.storedTransposed(name) ? tf.transpose(p) : p;
      const data = (await t.data()) as Float32Array;
      if (t !== p) t.dispose();
      return data;
    },
    { dtype: opts.dtype, metadata: { format: 'pt' } },
  );
  writeFileSync(
    join(dir, 'config.json'),
    `${JSON.stringify({ ...configToHf(model.config), regimen: model.config }, null, 2)}\n`,
  );
}
