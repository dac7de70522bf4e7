import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { SafetensorsFile, writeSafetensors } from '../checkpoint/safetensors.ts';
import type { LoraConfig } from '../config/run-config.ts';
import type { DecoderModel } from '../model/types.ts';
import type { LoraAdapters } from './engine.ts';
import { deriveSeed, Rng } from './rng.ts';

/** Embeddings and the output head are never wrapped by a target-module name; only projections are. */
const NEVER_WRAPPED = /(^|\.)(wte|wpe|embed_tokens|lm_head)\.weight$/;

/**
 * The weights a LoRA config wraps: 2-D `….<module>.weight` parameters whose module is a target, written
 * either exactly (`c_attn`, `q_proj`) or in short form (`q` for `q_proj`), as PEFT matches them. Takes the
 * parameters' shapes, so a config can be checked against a model's config before any weight is loaded.
 */
export function loraTargets(
  shapes: Readonly<Record<string, readonly number[]>>,
  targetModules: readonly string[],
): string[] {
  const names = Object.keys(shapes)
    .filter((n) => n.endsWith('.weight') && shapes[n]?.length === 2 && !NEVER_WRAPPED.test(n))
    .filter((n) => {
      const module = n.slice(0, -'.weight'.length).split('.').pop() as string;
      return targetModules.some((t) => module === t || module === `${t}_proj`);
    })
    .sort();
  if (names.length === 0) {
    const modules = [...new Set(Object.keys(shapes).map((n) => n.split('.').slice(-2, -1)[0]))];
    throw new Error(
      `train.lora.targetModules [${targetModules.join(', ')}] match no projection of this model; its modules are: ${modules.join(', ')}`,
    );
  }
  return names;
}

/** A model's parameter shapes by name. */
export function paramShapesOf(model: Pick<DecoderModel, 'params'>): Record<string, number[]> {
  return Object.fromEntries(Object.entries(model.params).map(([n, p]) => [n, p.shape]));
}

/**
 * Fresh adapters as PEFT initialises them: A uniform in ±1/√in (kaiming_uniform with a = √5), B zero, so
 * training starts exactly at the base model. Scale is alpha / rank.
 */
export function createLoraAdapters(
  model: Pick<DecoderModel, 'params'>,
  cfg: LoraConfig,
  seed: number,
): LoraAdapters {
  const rng = new Rng(deriveSeed(seed, 0x10a));
  const modules: LoraAdapters['modules'] = {};
  for (const name of loraTargets(paramShapesOf(model), cfg.targetModules)) {
    const [nIn, nOut] = (model.params[name] as tf.Variable).shape as [number, number];
    const bound = 1 / Math.sqrt(nIn);
    const a = new Float32Array(nIn * cfg.rank).map(() => (2 * rng.next() - 1) * bound);
    modules[name] = {
      a: tf.variable(tf.tensor2d(a, [nIn, cfg.rank]), true), // [in, r]
      b: tf.variable(tf.zeros([cfg.rank, nOut]), true), // [r, out]
    };
  }
  return { scale: cfg.alpha / cfg.rank, rank: cfg.rank, dropout: cfg.dropout, modules };
}

const peftName = (param: string, which: 'A' | 'B') =>
  `base_model.model.${param.slice(0, -'.weight'.length)}.lora_${which}.weight`;

/**
 * Writes adapters as PEFT does: `adapter_model.safetensors` (lora_A [r, in], lora_B [out, r], torch's
 * Linear layout) and `adapter_config.json`.
 */
export async function saveLoraAdapters(
  dir: string,
  lora: LoraAdapters,
  cfg: LoraConfig,
  baseModel: string,
): Promise<void> {
  const specs: Array<{ name: string; shape: number[]; value: () => Promise<Float32Array> }> = [];
  for (const [param, m] of Object.entries(lora.modules)) {
    const [nIn, r] = m.a.shape as [number, number];
    const nOut = m.b.shape[1] as number;
    specs.push({ name: peftName(param, 'A'), shape: [r, nIn], value: () => transposed(m.a) });
    specs.push({ name: peftName(param, 'B'), shape: [nOut, r], value: () => transposed(m.b) });
  }
  const byName = new Map(specs.map((s) => [s.name, s]));
  await writeSafetensors(
    join(dir, 'adapter_model.safetensors'),
    specs.map(({ name, shape }) => ({ name, shape })),
    (name) => (byName.get(name) as (typeof specs)[number]).value(),
    { metadata: { format: 'pt' } },
  );
  writeJson(join(dir, 'adapter_config.json'), {
    peft_type: 'LORA',
    base_model_name_or_path: baseModel,
    r: cfg.rank,
    lora_alpha: cfg.alpha,
    lora_dropout: cfg.dropout,
    target_modules: cfg.targetModules,
    bias: 'none',
    task_type: 'CAUSAL_LM',
  });
}

async function transposed(v: tf.Tensor): Promise<Float32Array> {
  const t = tf.transpose(v);
  try {
    return (await t.data()) as Float32Array;
  } finally {
    t.dispose();
  }
}

/** Reads adapters written by {@link saveLoraAdapters} for `model`, checking every shape. */
export function loadLoraAdapters(
  dir: string,
  model: Pick<DecoderModel, 'params'>,
  cfg: LoraConfig,
): LoraAdapters {
  const path = join(dir, 'adapter_model.safetensors');
  const file = new SafetensorsFile(path);
  try {
    const modules: LoraAdapters['modules'] = {};
    for (const param of loraTargets(paramShapesOf(model), cfg.targetModules)) {
      const [nIn, nOut] = (model.params[param] as tf.Variable).shape as [number, number];
      const read = (which: 'A' | 'B', stored: [number, number]) => {
        const name = peftName(param, which);
        const entry = file.entries.get(name);
        if (!entry) throw new Error(`${path}: adapter tensor ${name} is missing`);
        if (entry.shape.join() !== stored.join()) {
          throw new Error(`${path}: ${name} has shape [${entry.shape}], expected [${stored}]`);
        }
        return tf.variable(
          tf.tidy(() => tf.transpose(tf.tensor2d(file.read(name), stored))),
          true,
        );
      };
      modules[param] = { a: read('A', [cfg.rank, nIn]), b: read('B', [nOut, cfg.rank]) };
    }
    return { scale: cfg.alpha / cfg.rank, rank: cfg.rank, dropout: cfg.dropout, modules };
  } finally {
    file.close();
  }
}

/** Folds adapters into the base weights in place: W ← W + scale·A·B. */
export function mergeLoraAdapters(model: Pick<DecoderModel, 'params'>, lora: LoraAdapters): void {
  for (const [param, m] of Object.entries(lora.modules)) {
    const w = model.params[param] as tf.Variable;
    tf.tidy(() => w.assign(tf.add(w, tf.mul(tf.matMul(m.a, m.b), lora.scale)))); // [in, out]
  }
}

export function disposeLoraAdapters(lora: LoraAdapters): void {
  for (const m of Object.values(lora.modules)) {
    m.a.dispose();
    m.b.dispose();
  }
}

function writeJson(file: string, value: unknown): void {
  writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);
}
