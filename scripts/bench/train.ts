// `npm run bench -- train [--backend NAME] [--gemm atomic|all|VARIANT] [--model bench|gpt2-small|tinyllama] [--workers N] [--steps N] [--warmup N]
// [--profile] [--no-torch]`: a GPT-2-style model built with Regimen's own model code, trained with Regimen's
// trainer on the same token stream and optimizer as the PyTorch peer, which runs in the same command for the
// ratio: `torch_reference.py train` (CPU, bench model) on the host backends, `torch_gpu.py train` (fp32, TF32
// off: tfjs has no tensor-core path) on a GPU backend. `--backend` forces a backend as REGIMEN_BACKEND does.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { gradientEngineFor } from '../../apps/worker/src/train/parallel-engine.ts';
import { parseRunConfig } from '../../packages/core/src/config/run-config.ts';
import { benchRows } from '../../packages/core/src/model/bench-protocol.ts';
import { randomModel } from '../../packages/core/src/model/create.ts';
import { SHARED_BENCH } from '../../packages/core/src/testing/shared-data.ts';
import { LocalGradientEngine } from '../../packages/core/src/train/engine.ts';
import { collate } from '../../packages/core/src/train/example.ts';
import { createLoraAdapters, disposeLoraAdapters } from '../../packages/core/src/train/lora.ts';
import { train } from '../../packages/core/src/train/trainer.ts';
import { benchBackend, benchModel, tiledRandomModel, torchGpu } from './lib/models.ts';

function flag(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(name);
  if (i < 0) return fallback;
  const n = Number(args[i + 1]);
  if (!Number.isInteger(n) || n < 0)
    throw new Error(`${name}: expected a non-negative integer, got ${args[i + 1]}`);
  return n;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};

/**
 * Time per kernel over one forward + backward, summed by kernel name (wasm kernels run synchronously).
 * Custom-gradient scopes are profiled as kernels too, their time including the kernels inside; they are
 * left out of the sums.
 */
async function profileStep(engine: LocalGradientEngine, B: number, T: number, V: number): Promise<void> {
  const batch = collate(benchRows(B, T, V, 1), T);
  const started = performance.now();
  const info = await tf.profile(async () => {
    await engine.accumulate(batch, batch.markedTokens);
  });
  const wall = performance.now() - started;
  const byKernel = new Map<string, { ms: number; n: number }>();
  let total = 0;
  let products = 0;
  let kernels = 0;
  for (const k of info.kernels) {
    if (k.name === 'unnamed scope') continue;
    const ms = (await k.kernelTimeMs) as number;
    const key = `${k.name} ${k.inputShapes.map((s) => `[${s}]`).join('')}`;
    const e = byKernel.get(key) ?? { ms: 0, n: 0 };
    e.ms += ms;
    e.n++;
    byKernel.set(key, e);
    total += ms;
    kernels++;
    if (k.name === 'BatchMatMul' || k.name === '_FusedMatMul') products += ms;
  }
  const rows = [...byKernel.entries()].sort((a, b) => b[1].ms - a[1].ms);
  console.log(
    `profile: forward + backward ${wall.toFixed(0)} ms (profiled); ${kernels} kernels, ${total.toFixed(0)} ms in kernels, ` +
      `of which matrix products ${products.toFixed(0)} ms; peak ${(info.peakBytes / 2 ** 20).toFixed(0)} MiB`,
  );
  for (const [k, e] of rows.slice(0, 30)) {
    console.log(
      `  ${e.ms.toFixed(1).padStart(8)} ms ${((100 * e.ms) / total).toFixed(1).padStart(5)}%  x${e.n}  ${k}`,
    );
  }
}

async function torchTokensPerSecond(): Promise<number | undefined> {
  const script = join(SHARED_BENCH, 'torch_reference.py');
  try {
    const { stdout } = await promisify(execFile)('/usr/bin/python3', [script, 'train'], {
      env: { ...process.env, TORCH_THREADS: '2', OMP_WAIT_POLICY: 'PASSIVE' },
    });
    const line = stdout.split('\n').find((l) => l.startsWith('train:'));
    console.log(`pytorch  ${line}`);
    const m = /-> (\d+) tokens\/s/.exec(line ?? '');
    return m ? Number(m[1]) : undefined;
  } catch (e) {
    console.log(`pytorch: could not run ${script} (${(e as Error).message.split('\n')[0]})`);
    return undefined;
  }
}

export async function run(args: string[]): Promise<void> {
  const steps = flag(args, '--steps', 20);
  const warmup = flag(args, '--warmup', 3);
  const backend = await benchBackend(args);
  const { name, config: modelConfig, B, T, lora: loraConfig } = benchModel(args);
  const V = modelConfig.vocabSize;
  const onGpu = backend.key === 'webgpu' || backend.key === 'tensorflow-gpu';
  const workers = flag(args, '--workers', backend.name === 'wasm' ? 2 : 1);
  const t0 = performance.now();
  // Seed 0 would leave the first tensor unseeded (tfjs treats a 0 seed as "no seed").
  const model = loraConfig ? tiledRandomModel(modelConfig, 1) : randomModel(modelConfig, 1);
  const lora = loraConfig ? createLoraAdapters(model, loraConfig, 1) : undefined;
  console.log(
    `model ${name}: ${(model.numParams() / 1e6).toFixed(1)}M parameters${lora ? `, LoRA r ${loraConfig?.rank} on ${loraConfig?.targetModules.join(', ')}` : ''}, batch ${B} x ${T} (built in ${((performance.now() - t0) / 1000).toFixed(1)} s)`,
  );
  if (args.includes('--profile')) {
    const local = new LocalGradientEngine(model, lora);
    // Warm-up passes: V8 compiles wasm functions with its baseline compiler first and optimises the hot ones
    // (on a GPU: the pipelines are compiled).
    for (let i = 0; i < 3; i++) await local.accumulate(collate(benchRows(B, T, V, 1), T), B * T);
    await local.update({
      step: 1,
      lr: 0,
      weightDecays: local.names.map(() => 0),
      beta1: 0.9,
      beta2: 0.999,
      eps: 1e-8,
      maxGradNorm: 0,
    });
    await profileStep(local, B, T, V);
    await local.dispose();
  }
  const { engine, note } = await gradientEngineFor(model, workers, lora);
  console.log(`gradients: ${note}`);
  const config = parseRunConfig({
    baseModel: name,
    regime: { name: 'instruction-tuning' },
    train: {
      ...(loraConfig ? { method: 'lora', lora: loraConfig } : {}),
      batchSize: B,
      maxSeqLen: T,
      maxSteps: warmup + steps,
      // As torch_gpu.py: AdamW lr 3e-4, wd 0.01; for LoRA lr 1e-4 and torch's default wd 0.01.
      learningRate: loraConfig ? 1e-4 : 3e-4,
      weightDecay: 0.01,
      gradClip: 0,
      schedule: 'constant',
      checkpointEvery: 0,
    },
  });
  const times: number[] = [];
  const losses: number[] = [];
  let peak = 0;
  let allocated = 0;
  await train(engine, benchRows(B, T, V, 1), config, {
    onStep: (s) => {
      losses.push(s.loss);
      peak = Math.max(peak, s.memory.peakBytes);
      // On a GPU: device memory tfjs holds, its buffer pool included.
      const held = (tf.memory() as { numBytesInGPUAllocated?: number }).numBytesInGPUAllocated;
      if (held !== undefined) allocated = Math.max(allocated, held);
      if (s.step > warmup) times.push(s.stepMs);
    },
  });
  const med = median(times);
  const ours = (B * T * 1000) / med;
  console.log(
    `regimen  train ${name}: step median ${med.toFixed(1)} ms (min ${Math.min(...times).toFixed(1)}, max ${Math.max(...times).toFixed(1)}) -> ${ours.toFixed(0)} tokens/s; loss ${losses[0]?.toFixed(3)} -> ${losses.at(-1)?.toFixed(3)}; peak tensor memory ${(peak / 2 ** 30).toFixed(2)} GiB${allocated ? `, GPU buffers allocated ${(allocated / 2 ** 30).toFixed(2)} GiB` : ''}`,
  );
  await engine.dispose();
  if (lora) disposeLoraAdapters(lora);
  model.dispose();
  if (args.includes('--no-torch')) return;
  const theirs = onGpu ? await torchGpuTrain(name, loraConfig !== undefined) : await torchTokensPerSecond();
  if (theirs)
    console.log(`ratio regimen/pytorch${onGpu ? ' (fp32, TF32 off)' : ''}: ${(ours / theirs).toFixed(3)}x`);
}

/** torch_gpu.py's fp32 (TF32 off) rate for this model: the like-for-like figure (tfjs has no tensor cores). */
async function torchGpuTrain(name: string, lora: boolean): Promise<number | undefined> {
  const out = await torchGpu(lora ? ['lora'] : ['train', '--model', name]);
  const line = lora
    ? /lora \S+ fp32: .*-> (\d+) tokens\/s/
    : new RegExp(`train ${name} fp32: .*-> (\\d+) tokens/s`);
  const m = line.exec(out ?? '');
  return m ? Number(m[1]) : undefined;
}
