import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomModel } from '../model/create.ts';
import type { DecoderModel, ModelConfig } from '../model/types.ts';
import { useWasmBackend } from '../testing/tf-backend.ts';
import { tinyGpt2Config } from '../testing/tiny-models.ts';
import {
  latestCheckpoint,
  readCheckpointAdapters,
  readTrainCheckpoint,
  writeTrainCheckpoint,
} from './checkpoint.ts';
import { BASE, rows as chatRows, config } from './device-suite.ts';
import { LocalGradientEngine, loraLogitsOptions } from './engine.ts';
import { collate, type TrainExample } from './example.ts';
import { createLoraAdapters, disposeLoraAdapters, mergeLoraAdapters } from './lora.ts';
import { type StepInfo, train } from './trainer.ts';

const TINY: ModelConfig = tinyGpt2Config();

const rows = (n: number, seed: number): TrainExample[] => chatRows(n, seed, TINY.vocabSize);

let dir: string;
beforeAll(async () => {
  await useWasmBackend();
  dir = mkdtempSync(join(tmpdir(), 'regimen-train-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(
  model: DecoderModel,
  data: TrainExample[],
  cfg = config(BASE),
  runDir?: string,
  abortAfter?: number,
): Promise<StepInfo[]> {
  const steps: StepInfo[] = [];
  const abort = new AbortController();
  await train(new LocalGradientEngine(model), data, cfg, {
    signal: abort.signal,
    onStep: (s) => {
      steps.push(s);
      if (s.step === abortAfter) abort.abort();
    },
    onCheckpoint: async (s) => {
      if (runDir) await writeTrainCheckpoint(runDir, model, s);
    },
  });
  return steps;
}

describe('train (full finetuning, tiny GPT-2)', () => {
  const data = rows(20, 3);

  it('lowers the loss, keeps numTensors flat, and reports memory', async () => {
    const model = randomModel(TINY, 1);
    const steps = await run(model, data, config({ ...BASE, maxSteps: 12, learningRate: 3e-2 }));
    expect(steps).toHaveLength(12);
    expect((steps.at(-1) as StepInfo).loss).toBeLessThan((steps[0] as StepInfo).loss);
    const tensors = steps.map((s) => s.memory.tensors);
    expect(new Set(tensors.slice(1)).size).toBe(1);
    for (const s of steps) {
      expect(s.memory.peakBytes).toBeGreaterThan(s.memory.bytes);
      expect(s.tokensPerSecond).toBeGreaterThan(0);
    }
    model.dispose();
  });

  it('keeps numTensors flat on a Llama too (RMSNorm, rotary, grouped-query attention, tied head)', async () => {
    const model = randomModel({ ...TINY, family: 'llama', nHeads: 4, nKvHeads: 2 }, 1);
    const steps = await run(model, data, config({ ...BASE, maxSteps: 5 }));
    expect(steps).toHaveLength(5);
    expect(new Set(steps.slice(1).map((s) => s.memory.tensors)).size).toBe(1);
    model.dispose();
  });

  it('resumes from a checkpoint on disk with the loss curve of an uninterrupted run', async () => {
    const straight = randomModel(TINY, 2);
    const full = await run(straight, data);
    straight.dispose();

    const runDir = join(dir, 'resume');
    const killed = randomModel(TINY, 2);
    const partial = await run(killed, data, config(BASE), runDir, 5);
    killed.dispose();
    expect(partial).toHaveLength(5);
    const ckpt = latestCheckpoint(runDir) as string;
    expect(ckpt).toMatch(/step-000004$/);

    const loaded = readTrainCheckpoint(ckpt);
    const model = loaded.model as DecoderModel;
    const rest: StepInfo[] = [];
    await train(new LocalGradientEngine(model), data, loaded.config, {
      resume: loaded,
      onStep: (s) => {
        rest.push(s);
      },
    });
    expect(rest.map((s) => s.step)).toEqual([5, 6]);
    expect(rest.map((s) => s.loss)).toEqual(full.slice(4).map((s) => s.loss));
    expect(rest.map((s) => s.lr)).toEqual(full.slice(4).map((s) => s.lr));
    model.dispose();
  });

  it('gives the same update with gradient accumulation as with one large batch', async () => {
    const a = randomModel(TINY, 3);
    const b = randomModel(TINY, 3);
    const one = await run(a, data, config({ ...BASE, batchSize: 6, gradAccumSteps: 1 }));
    const two = await run(b, data, config({ ...BASE, batchSize: 2, gradAccumSteps: 3 }));
    for (let i = 0; i < one.length; i++)
      expect((two[i] as StepInfo).loss).toBeCloseTo((one[i] as StepInfo).loss, 5);
    const wa = a.params['transformer.h.0.attn.c_attn.weight']?.dataSync() as Float32Array;
    const wb = b.params['transformer.h.0.attn.c_attn.weight']?.dataSync() as Float32Array;
    for (let i = 0; i < wa.length; i += 37) expect(wb[i]).toBeCloseTo(wa[i] as number, 5);
    a.dispose();
    b.dispose();
  });

  it('never lets padding change or carry loss', async () => {
    const model = randomModel(TINY, 4);
    const engine = new LocalGradientEngine(model);
    const [short, long] = [
      data[0] as TrainExample,
      { ids: [...Array(18).keys()], lossMask: Array(18).fill(1) },
    ];
    const alone =
      (await engine.evalLossSum(collate([short], 20))) + (await engine.evalLossSum(collate([long], 20)));
    const together = await engine.evalLossSum(collate([short, long], 20));
    expect(together).toBeCloseTo(alone, 4);
    model.dispose();
  });

  it('reports the held-out loss at the eval interval', async () => {
    const model = randomModel(TINY, 5);
    const evals: number[] = [];
    await train(new LocalGradientEngine(model), data, config({ ...BASE, evalFraction: 0.2, evalEvery: 2 }), {
      onEval: (e) => {
        evals.push(e.step);
        expect(e.markedTokens).toBeGreaterThan(0);
        expect(Number.isFinite(e.loss)).toBe(true);
      },
    });
    expect(evals).toEqual([2, 4, 6]);
    model.dispose();
  });

  it('rejects a malformed example naming it', async () => {
    const model = randomModel(TINY, 6);
    const bad = [...data.slice(0, 3), { ids: [1, 2, 3], lossMask: [0, 1] }];
    await expect(train(new LocalGradientEngine(model), bad, config(BASE))).rejects.toThrow(
      'training example 3: ids has 3 tokens but lossMask has 2',
    );
    model.dispose();
  });
});

describe('train (LoRA)', () => {
  const data = rows(12, 9);
  const lora = { rank: 4, alpha: 8, dropout: 0, targetModules: ['c_attn', 'c_fc'] };

  it('trains only the adapters, saves them, and merges them into the weights', async () => {
    const model = randomModel(TINY, 8);
    const before = model.params['transformer.h.0.attn.c_attn.weight']?.dataSync().slice() as Float32Array;
    const cfg = config({ ...BASE, method: 'lora', lora, learningRate: 5e-2 });
    const adapters = createLoraAdapters(model, cfg.train.lora as typeof lora, cfg.seed);
    expect(Object.keys(adapters.modules)).toEqual([
      'transformer.h.0.attn.c_attn.weight',
      'transformer.h.0.mlp.c_fc.weight',
      'transformer.h.1.attn.c_attn.weight',
      'transformer.h.1.mlp.c_fc.weight',
    ]);
    const runDir = join(dir, 'lora');
    const losses: number[] = [];
    await train(new LocalGradientEngine(model, adapters), data, cfg, {
      onStep: (s) => {
        losses.push(s.loss);
      },
      onCheckpoint: async (s) => {
        await writeTrainCheckpoint(runDir, model, s, adapters);
      },
    });
    expect(losses.at(-1) as number).toBeLessThan(losses[0] as number);
    expect(
      Array.from(model.params['transformer.h.0.attn.c_attn.weight']?.dataSync() as Float32Array),
    ).toEqual(Array.from(before));

    const ckpt = latestCheckpoint(runDir) as string;
    const loaded = readTrainCheckpoint(ckpt);
    expect(loaded.model).toBeUndefined();
    const reread = readCheckpointAdapters(ckpt, model, loaded.config);
    const tokens = tf.tensor2d([[1, 2, 3, 4, 5, 6]], [1, 6], 'int32');
    const withAdapters = tf.tidy(() => model.logits(tokens, loraLogitsOptions(reread)).dataSync());
    mergeLoraAdapters(model, reread);
    const merged = tf.tidy(() => model.logits(tokens).dataSync());
    for (let i = 0; i < merged.length; i += 7) expect(merged[i]).toBeCloseTo(withAdapters[i] as number, 4);
    tokens.dispose();
    disposeLoraAdapters(adapters);
    disposeLoraAdapters(reread);
    model.dispose();
  });

  it('adapter dropout follows the run seed: repeats exactly, resumes exactly, and differs from dropout 0', async () => {
    const cfg = (dropout: number) =>
      config({ ...BASE, method: 'lora', lora: { ...lora, dropout }, learningRate: 5e-2, warmupSteps: 0 });
    /** Losses of a LoRA run from the seed-8 base model, fresh or resumed from a checkpoint folder. */
    async function losses(
      runConfig: ReturnType<typeof config>,
      opts: { runDir?: string; abortAfter?: number; resumeFrom?: string } = {},
    ): Promise<number[]> {
      const model = randomModel(TINY, 8);
      const resume = opts.resumeFrom ? readTrainCheckpoint(opts.resumeFrom) : undefined;
      const adapters = opts.resumeFrom
        ? readCheckpointAdapters(opts.resumeFrom, model, runConfig)
        : createLoraAdapters(model, runConfig.train.lora as typeof lora, runConfig.seed);
      expect(adapters.dropout).toBe(runConfig.train.lora?.dropout);
      const out: number[] = [];
      const tensors: number[] = [];
      const abort = new AbortController();
      await train(new LocalGradientEngine(model, adapters), data, runConfig, {
        resume,
        signal: abort.signal,
        onStep: (s) => {
          out.push(s.loss);
          tensors.push(s.memory.tensors);
          if (s.step === opts.abortAfter) abort.abort();
        },
        onCheckpoint: async (s) => {
          if (opts.runDir) await writeTrainCheckpoint(opts.runDir, model, s, adapters);
        },
      });
      // Masks, adapters' products and their gradients are all tidied: numTensors is flat across steps.
      expect(new Set(tensors.slice(1)).size).toBe(1);
      disposeLoraAdapters(adapters);
      model.dispose();
      return out;
    }
    const dropped = await losses(cfg(0.3));
    expect(await losses(cfg(0.3))).toEqual(dropped);
    const plain = await losses(cfg(0));
    // B starts at zero, so the first forward pass is the base model's either way; the masks change the
    // first update and so every later loss.
    expect(dropped[0]).toBe(plain[0]);
    for (let i = 1; i < dropped.length; i++) expect(dropped[i]).not.toBe(plain[i]);

    const runDir = join(dir, 'lora-dropout');
    expect(await losses(cfg(0.3), { runDir, abortAfter: 5 })).toEqual(dropped.slice(0, 5));
    const ckpt = latestCheckpoint(runDir) as string;
    expect(ckpt).toMatch(/step-000004$/);
    expect(await losses(cfg(0.3), { resumeFrom: ckpt })).toEqual(dropped.slice(4));
  });

  it('names the model modules when no target matches', () => {
    const model = randomModel(TINY, 8);
    expect(() => createLoraAdapters(model, { ...lora, targetModules: ['q', 'v'] }, 0)).toThrow(
      /match no projection of this model; its modules are: .*c_attn/,
    );
    model.dispose();
  });
});

describe('train and the event loop', () => {
  it('lets timers run between steps (a queue heartbeat keeps beating) and stops within a step of a cancel', async () => {
    const model = randomModel(TINY, 9);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 0);
    const ticksAtStep: number[] = [];
    const abort = new AbortController();
    // The cancel arrives from a timer, as a NOTIFY would: it must be seen before the next step starts.
    const result = await train(
      new LocalGradientEngine(model),
      rows(20, 3),
      config({ ...BASE, maxSteps: 50 }),
      {
        signal: abort.signal,
        onStep: (s) => {
          ticksAtStep.push(ticks);
          if (s.step === 5) setTimeout(() => abort.abort(), 0);
        },
      },
    );
    clearInterval(timer);
    expect(result.aborted).toBe(true);
    expect(result.steps).toBeLessThanOrEqual(6);
    // Timers fired between every pair of steps.
    for (let i = 1; i < ticksAtStep.length; i++)
      expect(ticksAtStep[i]).toBeGreaterThan(ticksAtStep[i - 1] as number);
    model.dispose();
  });
});
