import { parseRunConfig } from '@regimen/core/config/run-config';
import { randomModel } from '@regimen/core/model/create';
import type { ModelConfig } from '@regimen/core/model/types';
import { useWasmBackend } from '@regimen/core/testing/tf-backend';
import { tinyGpt2Config } from '@regimen/core/testing/tiny-models';
import { adapterTensors, type GradientEngine, LocalGradientEngine } from '@regimen/core/train/engine';
import { createLoraAdapters, disposeLoraAdapters } from '@regimen/core/train/lora';
import { Rng } from '@regimen/core/train/rng';
import { train } from '@regimen/core/train/trainer';
import { beforeAll, describe, expect, it } from 'vitest';
import { ParallelGradientEngine } from './parallel-engine.ts';

const TINY: ModelConfig = tinyGpt2Config({ vocabSize: 48 });

beforeAll(useWasmBackend);

const rng = new Rng(11);
const rows = Array.from({ length: 24 }, () => {
  const ids = Array.from({ length: 4 + rng.int(16) }, () => rng.int(48));
  return { ids, lossMask: ids.map((_, t) => (t > 2 ? 1 : 0)) };
});

describe('ParallelGradientEngine', () => {
  it('takes the same steps on two worker threads as one thread does', async () => {
    const config = parseRunConfig({
      baseModel: 'tiny',
      regime: { name: 'instruction-tuning' },
      train: {
        batchSize: 5,
        gradAccumSteps: 2,
        maxSteps: 4,
        learningRate: 1e-2,
        maxSeqLen: 20,
        evalFraction: 0.2,
        evalEvery: 2,
      },
    });
    const run = async (engine: LocalGradientEngine | ParallelGradientEngine) => {
      const losses: number[] = [];
      const evals: number[] = [];
      const tensors: number[] = [];
      await train(engine, rows, config, {
        onStep: (s) => {
          losses.push(s.loss);
          tensors.push(s.memory.tensors);
        },
        onEval: (e) => {
          evals.push(e.loss);
        },
      });
      // On the parallel engine these are the workers' live tensors: flat across steps there too.
      expect(new Set(tensors.slice(1)).size).toBe(1);
      return { losses, evals };
    };
    const single = randomModel(TINY, 1);
    const one = await run(new LocalGradientEngine(single));
    const source = randomModel(TINY, 1);
    const parallel = await ParallelGradientEngine.fromModel(source, 2);
    try {
      const two = await run(parallel);
      expect(two.losses).toHaveLength(4);
      for (const [i, l] of two.losses.entries()) expect(l).toBeCloseTo(one.losses[i] as number, 5);
      for (const [i, l] of two.evals.entries()) expect(l).toBeCloseTo(one.evals[i] as number, 5);
    } finally {
      await parallel.dispose();
      single.dispose();
      source.dispose();
    }
  }, 120_000);

  it('trains LoRA adapters on two threads as on one, and repeats a run with adapter dropout', async () => {
    const config = (dropout: number) =>
      parseRunConfig({
        baseModel: 'tiny',
        regime: { name: 'instruction-tuning' },
        seed: 4,
        train: {
          method: 'lora',
          lora: { rank: 4, alpha: 8, dropout, targetModules: ['c_attn', 'c_fc'] },
          batchSize: 5,
          gradAccumSteps: 2,
          maxSteps: 4,
          learningRate: 5e-2,
          warmupSteps: 0,
          maxSeqLen: 20,
        },
      });
    /** Losses and final adapter values of a LoRA run on `threads` gradient threads. */
    const run = async (threads: number, dropout: number) => {
      const cfg = config(dropout);
      const model = randomModel(TINY, 2);
      const adapters = createLoraAdapters(model, cfg.train.lora!, cfg.seed);
      const engine: GradientEngine =
        threads > 1
          ? await ParallelGradientEngine.fromModel(model, threads, adapters)
          : new LocalGradientEngine(model, adapters);
      const losses: number[] = [];
      try {
        const tensors: number[] = [];
        await train(engine, rows, cfg, {
          onStep: (s) => {
            losses.push(s.loss);
            tensors.push(s.memory.tensors);
          },
        });
        expect(new Set(tensors.slice(1)).size).toBe(1);
        expect(engine.names.every((n) => /\.lora_[AB]$/.test(n))).toBe(true);
        // The trained values, as a checkpoint reads them: in the adapters once the engine synced them.
        await engine.syncModel();
        const values = adapterTensors(adapters).map(([, v]) => Array.from(v.dataSync()));
        const bs = adapterTensors(adapters).flatMap(([n], i) => (n.endsWith('.lora_B') ? values[i]! : []));
        return { losses, values, bs };
      } finally {
        await engine.dispose();
        disposeLoraAdapters(adapters);
        model.dispose();
      }
    };
    const one = await run(1, 0);
    const two = await run(2, 0);
    expect(two.losses).toHaveLength(4);
    for (const [i, l] of two.losses.entries()) expect(l).toBeCloseTo(one.losses[i] as number, 5);
    // The B matrices start at zero: they moved, on the workers.
    expect(two.bs.some((x) => x !== 0)).toBe(true);
    for (const [i, x] of two.values.flat().entries())
      expect(x).toBeCloseTo(one.values.flat()[i] as number, 4);

    const dropped = await run(2, 0.3);
    expect((await run(2, 0.3)).losses).toEqual(dropped.losses);
    expect(dropped.losses.slice(1)).not.toEqual(two.losses.slice(1));
  }, 180_000);
});
