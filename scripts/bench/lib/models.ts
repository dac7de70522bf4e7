// Shared by the benchmarks: the models of ../shared/bench, the backend a benchmark forces, and the PyTorch
// GPU peer. (A folder, so `npm run bench` does not list it as a benchmark.)
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { adapterLines, describeBackend, selectBackend } from '../../../apps/worker/src/backend.ts';
import type { LoraConfig } from '../../../packages/core/src/config/run-config.ts';
import { BENCH_MODEL } from '../../../packages/core/src/model/bench-protocol.ts';
import { modelFromTensors } from '../../../packages/core/src/model/create.ts';
import { FAMILIES } from '../../../packages/core/src/model/decoder.ts';
import type { DecoderModel, ModelConfig } from '../../../packages/core/src/model/types.ts';
import { SHARED_BENCH } from '../../../packages/core/src/testing/shared-data.ts';

/**
 * The models of ../shared/bench (torch_gpu.py's MODELS: GPT-2 style, tied embeddings, MLP 4·d), and the
 * 1.1B Llama of TinyLlama's shape that `torch_gpu.py lora` tunes with LoRA r 8 on q_proj and v_proj.
 */
export const BENCH_MODELS: Record<string, { config: ModelConfig; B: number; T: number; lora?: LoraConfig }> =
  {
    bench: { config: BENCH_MODEL, B: 8, T: BENCH_MODEL.maxSeqLen },
    'gpt2-small': {
      config: {
        ...BENCH_MODEL,
        vocabSize: 50304,
        dim: 768,
        nLayers: 12,
        nHeads: 12,
        nKvHeads: 12,
        hiddenDim: 3072,
        maxSeqLen: 512,
      },
      B: 8,
      T: 512,
    },
    tinyllama: {
      config: {
        family: 'llama',
        vocabSize: 32000,
        dim: 2048,
        nLayers: 22,
        nHeads: 32,
        nKvHeads: 4,
        hiddenDim: 5632,
        maxSeqLen: 2048,
        normEps: 1e-6,
        ropeTheta: 10000,
        ropeLayout: 'half',
        tieEmbeddings: false,
      },
      B: 4,
      T: 512,
      lora: { rank: 8, alpha: 16, dropout: 0, targetModules: ['q_proj', 'v_proj'] },
    },
  };

/**
 * Random weights for a model too large to draw value by value in JavaScript (1.1B normals take over a minute):
 * one block of 2²⁰ seeded normals, uploaded once and tiled on the device to each tensor's size. Speed and
 * memory do not depend on the values; norms start at one as in randomModel.
 */
export function tiledRandomModel(config: ModelConfig, seed: number): DecoderModel {
  const family = FAMILIES[config.family];
  const block = tf.randomNormal([2 ** 20], 0, 0.02, 'float32', seed);
  const tensors: Record<string, tf.Tensor> = {};
  for (const [name, shape] of Object.entries(family.paramShapes(config))) {
    const n = shape.reduce((a, d) => a * d, 1);
    tensors[name] = tf.tidy(() => {
      if (family.initOf(name, config).kind === 'ones') return tf.ones(shape);
      if (family.initOf(name, config).kind === 'zeros') return tf.zeros(shape);
      const reps = Math.ceil(n / block.size);
      return tf.reshape(tf.slice(tf.tile(block, [reps]), [0], [n]), shape);
    });
  }
  block.dispose();
  return modelFromTensors(config, tensors);
}

/** `--name value`, or the fallback. */
export function option(args: string[], name: string, fallback: string): string {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? (args[i + 1] as string) : fallback;
}

/** The bench model named by `--model`. */
export function benchModel(args: string[]): { name: string } & (typeof BENCH_MODELS)[string] {
  const name = option(args, '--model', 'bench');
  const m = BENCH_MODELS[name];
  if (!m) throw new Error(`--model ${name}: expected one of ${Object.keys(BENCH_MODELS).join(', ')}`);
  return { name, ...m };
}

/** The backend `--backend` forces (else the chain's first), set up as the worker sets it up. */
export async function benchBackend(args: string[]) {
  const forced = option(args, '--backend', '') || undefined;
  // --gemm: which products Regimen's WGSL kernel takes on webgpu (REGIMEN_WEBGPU_GEMM), to compare with tfjs's.
  const gemm = option(args, '--gemm', '');
  if (gemm) process.env.REGIMEN_WEBGPU_GEMM = gemm;
  const backend = await selectBackend(forced);
  console.log(`backend: ${describeBackend(backend)}`);
  if (backend.adapter) for (const line of adapterLines(backend.adapter)) console.log(line);
  return backend;
}

/** Runs ../shared/bench/torch_gpu.py (or REGIMEN_TORCH_GPU) with `args`; its stdout, echoed line by line. */
export async function torchGpu(args: string[]): Promise<string | undefined> {
  const script = process.env.REGIMEN_TORCH_GPU ?? join(SHARED_BENCH, 'torch_gpu.py');
  const python = process.env.REGIMEN_TORCH_PYTHON ?? 'python3';
  try {
    const { stdout } = await promisify(execFile)(python, [script, ...args], { maxBuffer: 1 << 24 });
    for (const line of stdout.trim().split('\n')) console.log(`pytorch  ${line}`);
    return stdout;
  } catch (e) {
    console.log(`pytorch: could not run ${python} ${script} (${(e as Error).message.split('\n')[0]})`);
    return undefined;
  }
}
