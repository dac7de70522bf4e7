// `npm run bench -- generate [reps] [--backend NAME] [--model bench|gpt2-small|tinyllama] [--profile] [--no-torch]`: greedy
// decoding speed (on a GPU backend beside `torch_gpu.py gen` on the same GPU), by default on the bench protocol's model
// (../shared/bench/README.md: GPT-2 style, vocab 8192, 4 layers, d 256, 4 heads; random init, seeded),
// 128 new tokens after the 32-token LCG(seed 2) prompt, batch 1, with and without the KV cache, median of
// `reps` runs; then the PyTorch reference (`torch_reference.py gen`) in the same run, and the ratio.
// The reference keeps a sliding window of 128 positions once the 160-token sequence outgrows its context;
// Regimen's model here gets 160 learned positions and attends to all of them, i.e. does slightly more work.
import { spawnSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import * as tf from '@tensorflow/tfjs-core';
import { describeBackend } from '../../apps/worker/src/backend.ts';
import { generateIds } from '../../packages/core/src/decode/generate.ts';
import { TokenPicker } from '../../packages/core/src/decode/sampling.ts';
import { lcgTokens } from '../../packages/core/src/model/bench-protocol.ts';
import { randomModel } from '../../packages/core/src/model/create.ts';
import type { DecoderModel } from '../../packages/core/src/model/types.ts';
import { SHARED_BENCH } from '../../packages/core/src/testing/shared-data.ts';
import { benchBackend, benchModel, tiledRandomModel, torchGpu } from './lib/models.ts';

const PROMPT = 32;
const NEW = 128;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function torchReference(): { cache?: number; noCache?: number; note: string } {
  const script = join(SHARED_BENCH, 'torch_reference.py');
  const r = spawnSync('/usr/bin/python3', [script, 'gen'], {
    env: { ...process.env, TORCH_THREADS: '1' },
    encoding: 'utf8',
  });
  if (r.status !== 0)
    return { note: `PyTorch reference failed (${r.error?.message ?? r.stderr.trim().split('\n').pop()})` };
  const rate = (label: string) => {
    const m = new RegExp(`gen ${label}: .*-> ([0-9.]+) tokens/s`).exec(r.stdout);
    return m ? Number(m[1]) : undefined;
  };
  return { cache: rate('kv-cache'), noCache: rate('no-cache'), note: r.stdout.trim() };
}

/** torch_gpu.py gen: greedy, batch 1, KV cache, fp32 on the same GPU (it has no uncached figure). */
async function torchGpuGen(name: string): Promise<{ cache?: number; noCache?: number; note: string }> {
  const out = await torchGpu(['gen', '--model', name]);
  const m = new RegExp(`gen ${name}: .*-> ([0-9.]+) tokens/s`).exec(out ?? '');
  return m ? { cache: Number(m[1]), note: '' } : { note: 'torch_gpu.py gen printed no rate' };
}

/** Kernel time of 32 cached decode steps, summed by kernel name (wasm kernels run synchronously). */
async function profileSteps(model: DecoderModel, prompt: number[]): Promise<void> {
  const cache = model.createCache(1, PROMPT + 33);
  tf.tidy(() => model.forwardCached(tf.tensor2d([prompt], [1, PROMPT], 'int32'), cache)).dispose(); // the prefill
  const steps = 32;
  const picker = new TokenPicker({ temperature: 0 }, 1, model.config.vocabSize);
  // The steps run as generate runs them: each feeds the previous step's id on the device.
  let token = tf.tensor1d([0], 'int32');
  const info = await tf.profile(async () => {
    for (let s = 0; s < steps; s++) {
      const next = tf.tidy(() =>
        picker.pick(model.forwardCached(tf.reshape(token, [1, 1]) as tf.Tensor2D, cache)),
      );
      token.dispose();
      token = next;
    }
    await token.data();
  });
  token.dispose();
  picker.dispose();
  cache.dispose();
  const byKernel = new Map<string, { ms: number; n: number }>();
  let total = 0;
  for (const k of info.kernels) {
    const ms = (await k.kernelTimeMs) as number;
    const e = byKernel.get(k.name) ?? { ms: 0, n: 0 };
    e.ms += ms;
    e.n++;
    byKernel.set(k.name, e);
    total += ms;
  }
  console.log(
    `profile: ${info.kernels.length / steps} kernels and ${((1000 * total) / steps).toFixed(0)} us of kernel time per decode step`,
  );
  for (const [name, e] of [...byKernel.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, 12)) {
    console.log(
      `  ${((1000 * e.ms) / steps).toFixed(0).padStart(6)} us ${((100 * e.ms) / total).toFixed(1).padStart(5)}%  x${e.n / steps}  ${name}`,
    );
  }
}

export async function run(args: string[]): Promise<void> {
  const valued = ['--backend', '--model', '--gemm'];
  const flags = ['--profile', '--no-torch', ...valued];
  const positional = args.filter((a, i) => !a.startsWith('--') && !valued.includes(args[i - 1] ?? ''));
  const unknown = args.filter((a) => a.startsWith('--') && !flags.includes(a));
  if (unknown.length) throw new Error(`unknown flag ${unknown[0]}: expected one of ${flags.join(', ')}`);
  const reps = Number(positional[0] ?? 3);
  if (!Number.isInteger(reps) || reps < 1)
    throw new Error(`reps: expected an integer ≥ 1, got ${positional[0]}`);
  const backend = await benchBackend(args);
  const onGpu = backend.key === 'webgpu' || backend.key === 'tensorflow-gpu';
  const { name, config, lora } = benchModel(args);
  const full = { ...config, maxSeqLen: Math.max(config.maxSeqLen, PROMPT + NEW) };
  // The 1.1B model's weights come from a tiled block (drawing 1.1B normals in JavaScript takes minutes).
  const model = lora ? tiledRandomModel(full, 1) : randomModel(full, 0);
  const prompt = [lcgTokens(PROMPT, 2, config.vocabSize)];
  console.log(
    `backend ${describeBackend(backend)}; model ${name}, ${model.numParams()} params; prompt ${PROMPT}, new ${NEW}; ` +
      `load average ${loadavg()[0]!.toFixed(1)} on ${cpus().length} cores`,
  );

  const rates: Record<string, number> = {};
  const outputs: Record<string, number[]> = {};
  const measure = async (useCache: boolean) => {
    const key = String(useCache);
    await generateIds(model, prompt, { maxNewTokens: 8, useCache });
    const times: number[] = [];
    for (let i = 0; i < reps; i++) {
      const t0 = performance.now();
      const [g] = await generateIds(model, prompt, { maxNewTokens: NEW, useCache });
      times.push(performance.now() - t0);
      outputs[key] = g!.generatedIds;
    }
    const med = median(times);
    rates[key] = (NEW * 1000) / med;
    console.log(
      `regimen ${useCache ? 'kv-cache' : 'no-cache'}: ${NEW} new tokens median ${med.toFixed(0)} ms -> ${rates[key]!.toFixed(1)} tokens/s`,
    );
  };
  // Load on shared machines drifts: the reference's kv-cache run (its first) follows Regimen's directly.
  await measure(true);
  const torch = args.includes('--no-torch')
    ? { note: 'PyTorch reference skipped (--no-torch)' }
    : onGpu
      ? await torchGpuGen(name)
      : torchReference();
  await measure(false);
  const same = outputs.true!.every((id, i) => id === outputs.false![i]);
  console.log(`regimen: cached == uncached tokens: ${same}; tensors alive: ${tf.memory().numTensors}`);
  if (args.includes('--profile')) await profileSteps(model, prompt[0]!);
  model.dispose();

  console.log(`load average ${loadavg()[0]!.toFixed(1)} at the end`);
  if (torch.cache === undefined) {
    console.log(torch.note);
    return;
  }
  console.log(
    `pytorch kv-cache: ${torch.cache.toFixed(1)} tokens/s, no-cache: ${torch.noCache?.toFixed(1)} tokens/s`,
  );
  console.log(`ratio regimen/pytorch kv-cache: ${(rates.true! / torch.cache).toFixed(2)}x`);
  if (torch.noCache)
    console.log(`ratio regimen/pytorch no-cache: ${(rates.false! / torch.noCache).toFixed(2)}x`);
}
