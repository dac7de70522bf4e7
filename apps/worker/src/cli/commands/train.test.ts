import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadHfModel, saveHfModel } from '@regimen/core/checkpoint/hf';
import { loadModelForTraining } from '@regimen/core/checkpoint/load';
import { parseRunConfig } from '@regimen/core/config/run-config';
import { randomModel } from '@regimen/core/model/create';
import { hasSharedData, sharedData, skipReasonWithoutSharedData } from '@regimen/core/testing/shared-data';
import { useWasmBackend } from '@regimen/core/testing/tf-backend';
import { tinyGpt2Config } from '@regimen/core/testing/tiny-models';
import { loraLogitsOptions } from '@regimen/core/train/engine';
import { disposeLoraAdapters, loadLoraAdapters } from '@regimen/core/train/lora';
import { Rng } from '@regimen/core/train/rng';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runTrainCli as runCli } from '../../testing/run-cli.ts';

skipReasonWithoutSharedData();

describe('regimen train', () => {
  let dir: string;
  let args: (out: string) => string[];

  beforeAll(async () => {
    await useWasmBackend();
    dir = mkdtempSync(join(tmpdir(), 'regimen-train-cli-'));
    const model = randomModel(tinyGpt2Config(), 1);
    await saveHfModel(model, join(dir, 'base'));
    model.dispose();
    const rng = new Rng(3);
    const rows = Array.from({ length: 30 }, () => {
      const ids = Array.from({ length: 5 + rng.int(15) }, () => rng.int(40));
      return JSON.stringify({ ids, lossMask: ids.map((_, t) => (t > 2 ? 1 : 0)) });
    });
    writeFileSync(join(dir, 'examples.jsonl'), `${rows.join('\n')}\n`);
    writeFileSync(
      join(dir, 'run.json'),
      JSON.stringify({
        baseModel: join(dir, 'base'),
        regime: { name: 'instruction-tuning' },
        seed: 5,
        train: {
          maxSteps: 10,
          batchSize: 4,
          gradAccumSteps: 2,
          learningRate: 1e-2,
          warmupSteps: 2,
          checkpointEvery: 2,
          maxSeqLen: 20,
        },
      }),
    );
    args = (out) => [
      '--config',
      join(dir, 'run.json'),
      '--out',
      join(dir, out),
      '--dataset-file',
      join(dir, 'examples.jsonl'),
      '--dataset-format',
      'examples',
    ];
  }, 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('resumes a run killed with SIGKILL with the uninterrupted losses; trains the same on two threads', async () => {
    const straight = await runCli(args('straight'));
    expect([...straight.losses.keys()]).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(straight.log).toContain('done: 10 steps');

    const killed = await runCli(args('killed'), 5);
    expect(killed.signal).toBe('SIGKILL');
    expect(killed.log).not.toContain('done:');

    const resumed = await runCli([...args('killed'), '--resume']);
    const steps = [...resumed.losses.keys()];
    expect(resumed.log).toMatch(/resuming from .*step-0000(04|06) \(step (4|6)\)/);
    expect(steps.at(-1)).toBe(10);
    expect(steps[0]).toBeLessThanOrEqual(7);
    for (const s of steps) expect(resumed.losses.get(s)).toBe(straight.losses.get(s));

    // Data-parallel threads sum the same gradients in another order: equal up to float rounding.
    const parallel = await runCli([...args('parallel'), '--workers', '2']);
    for (const [s, l] of straight.losses) expect(Number(parallel.losses.get(s))).toBeCloseTo(Number(l), 5);
  }, 300_000);

  it('resumes a SIGKILLed run with the uninterrupted losses on the cpu backend too', async () => {
    const cpu = { REGIMEN_BACKEND: 'cpu' };
    const straight = await runCli(args('cpu-straight'), undefined, cpu);
    expect(straight.log).toMatch(/backend: cpu/);
    const killed = await runCli(args('cpu-killed'), 5, cpu);
    expect(killed.signal).toBe('SIGKILL');
    const resumed = await runCli([...args('cpu-killed'), '--resume'], undefined, cpu);
    const steps = [...resumed.losses.keys()];
    expect(steps.at(-1)).toBe(10);
    expect(steps[0]).toBeLessThanOrEqual(7);
    for (const s of steps) expect(resumed.losses.get(s)).toBe(straight.losses.get(s));
  }, 300_000);

  it('refuses to overwrite a run folder and explains bad examples by line', async () => {
    mkdirSync(join(dir, 'taken', 'step-000002'), { recursive: true });
    writeFileSync(join(dir, 'taken', 'step-000002', 'trainer_state.json'), '{}');
    writeFileSync(join(dir, 'taken', 'latest'), 'step-000002\n');
    await expect(runCli(args('taken'))).rejects.toThrow(/already holds checkpoints; pass --resume/);
    writeFileSync(
      join(dir, 'bad.jsonl'),
      '{"ids":[1,2,3],"lossMask":[0,1,1]}\n{"ids":[1,2],"lossMask":[0,2]}\n',
    );
    const bad = args('bad').map((a) => (a.endsWith('examples.jsonl') ? join(dir, 'bad.jsonl') : a));
    await expect(runCli(bad)).rejects.toThrow(
      /bad\.jsonl:2: training example 1: lossMask\[1\] = 2, expected 0 or 1/,
    );
  }, 120_000);
});

describe.skipIf(!hasSharedData)('regimen train on a llama2.c model (../shared/data)', () => {
  it('trains LoRA adapters with dropout on LIMA on two threads and writes the merged model as a Hugging Face folder', async () => {
    await useWasmBackend();
    const dir = mkdtempSync(join(tmpdir(), 'regimen-train-llama2c-'));
    try {
      const base = sharedData('llama2c_stories260K', 'stories260K.bin');
      const lora = { rank: 4, alpha: 8, dropout: 0.1, targetModules: ['q', 'v', 'up'] };
      const runConfig = {
        baseModel: base,
        regime: { name: 'response-tuning' },
        seed: 3,
        train: {
          method: 'lora',
          lora,
          maxSteps: 2,
          batchSize: 2,
          learningRate: 1e-2,
          warmupSteps: 0,
          maxSeqLen: 64,
          checkpointEvery: 2,
        },
      };
      writeFileSync(join(dir, 'run.json'), JSON.stringify(runConfig));
      const out = join(dir, 'out');
      const run = await runCli([
        '--config',
        join(dir, 'run.json'),
        '--out',
        out,
        '--dataset-file',
        sharedData('lima', 'lima.json'),
        '--dataset-format',
        'lima',
        '--tokenizer',
        sharedData('llama2c_stories260K', 'tok512.bin'),
        '--workers',
        '2',
      ]);
      expect([...run.losses.keys()]).toEqual([1, 2]);
      expect(run.log).toContain('done: 2 steps');

      // The final folder is the base model with the step-2 adapters folded in, in Hugging Face layout.
      const final = loadHfModel(join(out, 'final'));
      const model = loadModelForTraining(base);
      const adapters = loadLoraAdapters(
        join(out, 'step-000002'),
        model,
        parseRunConfig(runConfig).train.lora!,
      );
      const tokens = tf.tensor2d([[1, 317, 394, 20, 7, 90]], [1, 6], 'int32');
      const merged = tf.tidy(() => final.logits(tokens).dataSync());
      const withAdapters = tf.tidy(() => model.logits(tokens, loraLogitsOptions(adapters)).dataSync());
      const unchanged = tf.tidy(() => model.logits(tokens).dataSync());
      let moved = 0;
      for (let i = 0; i < merged.length; i++) {
        expect(Math.abs((merged[i] as number) - (withAdapters[i] as number))).toBeLessThan(1e-3);
        moved = Math.max(moved, Math.abs((merged[i] as number) - (unchanged[i] as number)));
      }
      expect(moved).toBeGreaterThan(1e-3); // the adapters trained
      tokens.dispose();
      disposeLoraAdapters(adapters);
      model.dispose();
      final.dispose();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);
});
