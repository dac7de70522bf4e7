import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadHfModel } from '../checkpoint/hf.ts';
import { parseRunConfig, type RunConfigInput } from '../config/run-config.ts';
import { benchRows } from '../model/bench-protocol.ts';
import { modelFromTensors, randomModel } from '../model/create.ts';
import type { DecoderModel, ModelConfig } from '../model/types.ts';
import { SHARED_BENCH } from '../testing/shared-data.ts';
import { useBackend, useCpuBackend } from '../testing/tf-backend.ts';
import { tinyGpt2Config } from '../testing/tiny-models.ts';
import { watchTransfers } from '../testing/transfers.ts';
import {
  latestCheckpoint,
  readCheckpointAdapters,
  readTrainCheckpoint,
  writeTrainCheckpoint,
} from './checkpoint.ts';
import { LocalGradientEngine, type LoraAdapters, loraLogitsOptions } from './engine.ts';
import { collate, type TrainExample } from './example.ts';
import { createLoraAdapters, disposeLoraAdapters } from './lora.ts';
import { maskedCrossEntropy } from './loss.ts';
import { Rng } from './rng.ts';
import { type StepInfo, train } from './trainer.ts';

/*
 * Test-only: the training checks every backend must pass (cpu, wasm in the core project; webgpu on whatever
 * Vulkan the machine has in the webgpu project). Each `describe` switches to its backend first.
 */

export type TestBackend = 'cpu' | 'wasm' | 'webgpu';

const GPT2: ModelConfig = tinyGpt2Config({ vocabSize: 48 });
const LLAMA: ModelConfig = { ...GPT2, family: 'llama', nHeads: 4, nKvHeads: 2, tieEmbeddings: false };

/** Test-only: chat-like rows, a prompt without loss, then a response with loss, of varying lengths. */
export function rows(n: number, seed: number, vocab: number): TrainExample[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => {
    const prompt = 2 + rng.int(6);
    const ids = Array.from({ length: prompt + 2 + rng.int(12) }, () => rng.int(vocab));
    return { ids, lossMask: ids.map((_, t) => (t >= prompt ? 1 : 0)) };
  });
}

/** Test-only: a run config for the tiny models' trainer tests. */
export function config(train: NonNullable<RunConfigInput['train']>) {
  return parseRunConfig({ baseModel: 'tiny', regime: { name: 'instruction-tuning' }, seed: 7, train });
}

/** Test-only: the trainer tests' settings: accumulation, warmup, cosine decay, weight decay and clipping. */
export const BASE = {
  batchSize: 3,
  gradAccumSteps: 2,
  learningRate: 1e-2,
  warmupSteps: 2,
  schedule: 'cosine',
  weightDecay: 0.1,
  gradClip: 1,
  maxSeqLen: 20,
  maxSteps: 6,
  checkpointEvery: 2,
} as const;

/** A model's weights as host arrays (to build the same model on another backend). */
async function weightsOf(
  model: DecoderModel,
): Promise<Record<string, { values: Float32Array; shape: number[] }>> {
  const out: Record<string, { values: Float32Array; shape: number[] }> = {};
  for (const [n, p] of Object.entries(model.params))
    out[n] = { values: (await p.data()) as Float32Array, shape: p.shape };
  return out;
}

function modelFrom(cfg: ModelConfig, w: Awaited<ReturnType<typeof weightsOf>>): DecoderModel {
  return modelFromTensors(
    cfg,
    Object.fromEntries(Object.entries(w).map(([n, t]) => [n, tf.tensor(t.values, t.shape)])),
  );
}

/** The loss, logits and every parameter's gradient of one padded batch, read back to the host. */
async function forwardBackward(model: DecoderModel, batch: ReturnType<typeof collate>) {
  const vars = Object.values(model.params);
  const { value, grads, logits } = tf.tidy(() => {
    const tokens = tf.tensor2d(batch.inputs, [batch.B, batch.T], 'int32');
    let logitsOut: tf.Tensor | undefined;
    const r = tf.variableGrads(() => {
      const l = model.logits(tokens);
      logitsOut = tf.keep(tf.clone(l));
      const targets = tf.tensor2d(batch.targets, [batch.B, batch.T], 'int32');
      const weights = tf.tensor2d(batch.weights, [batch.B, batch.T]);
      return maskedCrossEntropy(l, targets, weights, batch.markedTokens);
    }, vars);
    return {
      value: r.value,
      grads: vars.map((v) => r.grads[v.name] as tf.Tensor),
      logits: logitsOut as tf.Tensor,
    };
  });
  const out = {
    loss: (await value.data())[0] as number,
    logits: (await logits.data()) as Float32Array,
    grads: await Promise.all(grads.map(async (g) => (await g.data()) as Float32Array)),
  };
  tf.dispose([value, logits, ...grads]);
  return out;
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] as number));
  return m;
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

/** Forward, backward, steps, resume, memory and host traffic of the trainer on `backend`. */
export function deviceTrainingSuite(backend: TestBackend): void {
  describe(`training on ${backend}`, () => {
    let dir: string;
    beforeAll(async () => {
      await useBackend(backend);
      dir = mkdtempSync(join(tmpdir(), `regimen-device-${backend}-`));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    for (const cfg of [GPT2, LLAMA]) {
      it(`gives the cpu backend's logits, loss and gradients (${cfg.family})`, async () => {
        const batch = collate(rows(3, 2, cfg.vocabSize), 20);
        await useCpuBackend();
        const source = randomModel(cfg, 3);
        const weights = await weightsOf(source);
        const want = await forwardBackward(source, batch);
        source.dispose();
        await useBackend(backend);
        const model = modelFrom(cfg, weights);
        const got = await forwardBackward(model, batch);
        model.dispose();
        expect(Math.abs(got.loss - want.loss)).toBeLessThan(1e-5);
        expect(maxDiff(got.logits, want.logits) / maxAbs(want.logits)).toBeLessThan(1e-5);
        for (const [i, g] of got.grads.entries()) {
          const w = want.grads[i] as Float32Array;
          expect(maxDiff(g, w) / Math.max(maxAbs(w), 1e-6), `gradient ${i}`).toBeLessThan(1e-4);
        }
      });
    }

    it('computes the same gradients on every run, repeated tokens included (no order-dependent sums)', async () => {
      // Few distinct tokens, so the embedding gradient adds many rows into each table row.
      const rng = new Rng(12);
      const ids = () => Array.from({ length: 20 }, () => rng.int(4));
      const batch = collate(
        [0, 1, 2, 3].map(() => {
          const row = ids();
          return { ids: row, lossMask: row.map(() => 1) };
        }),
        19,
      );
      const model = randomModel(GPT2, 5);
      const first = await forwardBackward(model, batch);
      const second = await forwardBackward(model, batch);
      model.dispose();
      expect(second.loss).toBe(first.loss);
      for (const [i, g] of second.grads.entries()) expect(g, `gradient ${i}`).toEqual(first.grads[i]);
    });

    it('orders the trainable tensors by name, whatever order the model records them in', () => {
      const model = randomModel(GPT2, 5);
      const reversed = { ...model, params: Object.fromEntries(Object.entries(model.params).reverse()) };
      const a = new LocalGradientEngine(model);
      const b = new LocalGradientEngine(reversed);
      expect(b.names).toEqual(a.names);
      expect([...a.names].sort()).toEqual(a.names);
      void a.dispose();
      void b.dispose();
      model.dispose();
    });

    it('moves the batch in and two scalars out per step, never reads synchronously, keeps numTensors flat', async () => {
      for (const lora of [
        undefined,
        { rank: 4, alpha: 8, dropout: 0.1, targetModules: ['c_attn', 'c_fc'] },
      ]) {
        const model = randomModel(GPT2, 4);
        const cfg = config({
          ...BASE,
          batchSize: 4,
          gradAccumSteps: 1,
          maxSteps: 4,
          ...(lora ? { method: 'lora', lora } : {}),
        });
        const adapters = lora ? createLoraAdapters(model, lora, cfg.seed) : undefined;
        const data = rows(16, 5, GPT2.vocabSize);
        const watch = watchTransfers({ throwOnSyncRead: true });
        const perStep: Array<typeof watch.counts> = [];
        const tensors: number[] = [];
        try {
          await train(new LocalGradientEngine(model, adapters), data, cfg, {
            onStep: (s) => {
              perStep.push({ ...watch.counts, log: [...watch.counts.log] });
              tensors.push(s.memory.tensors);
              watch.reset();
            },
          });
        } finally {
          watch.stop();
        }
        // After the first step (which may set up constants), each step is the same.
        for (const c of perStep.slice(1)) {
          expect(c.syncReads).toBe(0);
          expect(c.downloads).toBe(1);
          expect(c.downloadBytes).toBe(8); // the loss and the gradient norm, float32
          // The batch: inputs, targets and weights, [B, T] each.
          const batchUploads = c.log.filter((l) => /^up \d+ B \[4,\d+\] (int32|float32)$/.test(l));
          expect(batchUploads).toHaveLength(3);
          const others = c.log.filter((l) => l.startsWith('up ') && !batchUploads.includes(l));
          const bytes = (l: string) => Number(/^up (\d+) B/.exec(l)?.[1]);
          // Besides the batch: scalars and index ranges of the batch's size (positions, target rows), never
          // anything of a parameter's or an attention matrix's size.
          const batchBytes = 4 * 4 * 20;
          for (const l of others) expect(bytes(l), l).toBeLessThanOrEqual(batchBytes);
          expect(others.reduce((s, l) => s + bytes(l), 0)).toBeLessThan(2 * batchBytes + 16 * 1024);
        }
        expect(new Set(tensors.slice(1)).size).toBe(1);
        if (adapters) disposeLoraAdapters(adapters);
        model.dispose();
      }
    });

    it('resumes from a checkpoint with the losses of an uninterrupted run (full and LoRA with dropout)', async () => {
      for (const lora of [undefined, { rank: 4, alpha: 8, dropout: 0.2, targetModules: ['c_attn'] }]) {
        const cfg = config({ ...BASE, ...(lora ? { method: 'lora', lora } : {}) });
        const data = rows(20, 3, GPT2.vocabSize);
        const run = async (runDir?: string, abortAfter?: number, resumeFrom?: string) => {
          const resume = resumeFrom ? readTrainCheckpoint(resumeFrom) : undefined;
          const model = resume?.model ?? randomModel(GPT2, 2);
          let adapters: LoraAdapters | undefined;
          if (lora) {
            adapters = resumeFrom
              ? readCheckpointAdapters(resumeFrom, model, cfg)
              : createLoraAdapters(model, lora, cfg.seed);
          }
          const losses: number[] = [];
          const abort = new AbortController();
          const engine = new LocalGradientEngine(model, adapters);
          await train(engine, data, cfg, {
            resume,
            signal: abort.signal,
            onStep: (s: StepInfo) => {
              losses.push(s.loss);
              if (s.step === abortAfter) abort.abort();
            },
            onCheckpoint: async (s) => {
              if (runDir) await writeTrainCheckpoint(runDir, model, s, adapters);
            },
          });
          await engine.dispose();
          if (adapters) disposeLoraAdapters(adapters);
          model.dispose();
          return losses;
        };
        const full = await run();
        const runDir = join(dir, lora ? 'lora' : 'full');
        expect(await run(runDir, 5)).toEqual(full.slice(0, 5));
        const ckpt = latestCheckpoint(runDir) as string;
        expect(ckpt).toMatch(/step-000004$/);
        expect(await run(undefined, undefined, ckpt)).toEqual(full.slice(4));
      }
    });

    it('applies LoRA adapters with dropout as the cpu backend does (same masks)', async () => {
      const lora = { rank: 4, alpha: 8, dropout: 0.3, targetModules: ['c_attn', 'c_fc'] };
      const batch = collate(rows(3, 8, GPT2.vocabSize), 20);
      const lossWith = async () => {
        const model = randomModel(GPT2, 6);
        const adapters = createLoraAdapters(model, lora, 1);
        // B starts at zero; give it values so the adapters (and their dropout) change the output.
        for (const m of Object.values(adapters.modules)) m.b.assign(tf.fill(m.b.shape, 0.05));
        const opts = loraLogitsOptions(adapters, 1234);
        const loss = tf.tidy(() => {
          const tokens = tf.tensor2d(batch.inputs, [batch.B, batch.T], 'int32');
          const targets = tf.tensor2d(batch.targets, [batch.B, batch.T], 'int32');
          const weights = tf.tensor2d(batch.weights, [batch.B, batch.T]);
          return maskedCrossEntropy(model.logits(tokens, opts), targets, weights, batch.markedTokens);
        });
        const value = (await loss.data())[0] as number;
        loss.dispose();
        disposeLoraAdapters(adapters);
        model.dispose();
        return value;
      };
      await useCpuBackend();
      const want = await lossWith();
      await useBackend(backend);
      expect(Math.abs((await lossWith()) - want)).toBeLessThan(1e-5);
    });
  });
}

// The PyTorch peer of ../shared/bench: its seed-0 weights exported as a Hugging Face folder, trained for
// five AdamW steps on its seed-1 batch, printed these losses (`torch_reference.py check`).
const TORCH_LOSSES = [9.046966, 8.849527, 8.692992, 8.518491, 8.333228];
const PYTHON = '/usr/bin/python3';

function torchAvailable(): boolean {
  if (!existsSync(join(SHARED_BENCH, 'torch_reference.py'))) return false;
  try {
    execFileSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** The bench reference: the trainer on `backend` takes PyTorch's five AdamW steps, losses to 1e-4. */
export function referenceLossSuite(backend: TestBackend): void {
  const hasTorch = torchAvailable();
  if (!hasTorch)
    console.warn(`SKIPPED: the reference training test needs ${PYTHON} with torch and ../shared/bench`);
  describe.skipIf(!hasTorch)(`training matches PyTorch on the bench reference (${backend})`, () => {
    let dir: string;
    beforeAll(async () => {
      await useBackend(backend);
      dir = mkdtempSync(join(tmpdir(), 'regimen-ref-'));
      execFileSync(PYTHON, [join(SHARED_BENCH, 'torch_reference.py'), 'export-hf', dir], {
        env: { ...process.env, TORCH_THREADS: '1' },
        stdio: 'ignore',
      });
    }, 600_000);
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('reproduces the five AdamW losses to 1e-4', async () => {
      const model = loadHfModel(dir);
      const cfg = parseRunConfig({
        baseModel: dir,
        regime: { name: 'instruction-tuning' },
        train: {
          batchSize: 8,
          maxSeqLen: 128,
          maxSteps: 5,
          learningRate: 3e-4,
          beta1: 0.9,
          beta2: 0.999,
          eps: 1e-8,
          weightDecay: 0.01,
          gradClip: 0,
          schedule: 'constant',
          checkpointEvery: 0,
        },
      });
      const losses: number[] = [];
      const tensors: number[] = [];
      const engine = new LocalGradientEngine(model);
      await train(engine, benchRows(8, 128, 8192, 1), cfg, {
        onStep: (s) => {
          losses.push(s.loss);
          tensors.push(s.memory.tensors);
        },
      });
      expect(losses).toHaveLength(5);
      for (const [i, l] of losses.entries())
        expect(Math.abs(l - (TORCH_LOSSES[i] as number))).toBeLessThan(1e-4);
      expect(new Set(tensors.slice(1)).size).toBe(1);
      await engine.dispose();
      model.dispose();
    }, 900_000);
  });
}
