import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadHfModel } from '../checkpoint/hf.ts';
import { parseRunConfig } from '../config/run-config.ts';
import { benchRows } from '../model/bench-protocol.ts';
import { SHARED_BENCH } from '../testing/shared-data.ts';
import { useWasmBackend } from '../testing/tf-backend.ts';
import { LocalGradientEngine } from './engine.ts';
import { train } from './trainer.ts';

// The PyTorch peer of ../shared/bench: its seed-0 weights exported as a Hugging Face folder, trained for
// five AdamW steps on its seed-1 batch, printed these losses (`torch_reference.py check`).
const TORCH_LOSSES = [9.046966, 8.849527, 8.692992, 8.518491, 8.333228];
const SCRIPT = join(SHARED_BENCH, 'torch_reference.py');
const PYTHON = '/usr/bin/python3';
const hasTorch =
  existsSync(SCRIPT) &&
  (() => {
    try {
      execFileSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();
if (!hasTorch) console.warn(`SKIPPED: reference training test needs ${PYTHON} with torch and ${SCRIPT}`);

describe.skipIf(!hasTorch)('training matches PyTorch on the bench reference', () => {
  let dir: string;
  beforeAll(async () => {
    await useWasmBackend();
    dir = mkdtempSync(join(tmpdir(), 'regimen-ref-'));
    execFileSync(PYTHON, [SCRIPT, 'export-hf', dir], {
      env: { ...process.env, TORCH_THREADS: '1' },
      stdio: 'ignore',
    });
  }, 600_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reproduces the five AdamW losses to 1e-4', async () => {
    const model = loadHfModel(dir);
    const config = parseRunConfig({
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
    await train(new LocalGradientEngine(model), benchRows(8, 128, 8192, 1), config, {
      onStep: (s) => {
        losses.push(s.loss);
        tensors.push(s.memory.tensors);
      },
    });
    for (const [i, l] of losses.entries())
      expect(Math.abs(l - (TORCH_LOSSES[i] as number))).toBeLessThan(1e-4);
    expect(new Set(tensors).size).toBe(1);
    model.dispose();
  }, 600_000);
});
