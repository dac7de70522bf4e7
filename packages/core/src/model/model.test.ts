import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadHfModel } from '../checkpoint/hf.ts';
import { loadLlama2c, toHalfRopeLayout } from '../checkpoint/llama2c.ts';
import { generateIds } from '../decode/generate.ts';
import {
  hasSharedData,
  SHARED_BENCH,
  sharedData,
  skipReasonWithoutSharedData,
} from '../testing/shared-data.ts';
import { useWasmBackend } from '../testing/tf-backend.ts';
import { BENCH_MODEL, lcgTokens } from './bench-protocol.ts';
import { randomModel } from './create.ts';
import { Decoder } from './decoder.ts';
import { crossEntropy, type LoraAdapter } from './ops.ts';
import type { DecoderModel, ModelConfig } from './types.ts';

skipReasonWithoutSharedData();

const PYTHON = '/usr/bin/python3';
const torchMissing = spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status !== 0;
if (torchMissing)
  console.warn(`SKIPPED: ${PYTHON} cannot import torch; the GPT-2 reference-loss test does not run`);

function tiny(family: 'llama' | 'gpt2'): ModelConfig {
  return {
    family,
    vocabSize: 13,
    dim: 8,
    nLayers: 2,
    nHeads: 4,
    nKvHeads: family === 'llama' ? 2 : 4,
    hiddenDim: 12,
    maxSeqLen: 8,
    normEps: 1e-5,
    ropeTheta: 10000,
    ropeLayout: 'half',
    tieEmbeddings: family === 'gpt2',
  };
}

describe.skipIf(!hasSharedData || torchMissing)('GPT-2 checkpoint from the PyTorch reference', () => {
  let dir = '';
  /** What the reference printed about the exported weights (`check: ...` lines). */
  let reference = '';
  beforeAll(async () => {
    await useWasmBackend();
    dir = mkdtempSync(join(tmpdir(), 'regimen-gpt2-'));
    reference = execFileSync(PYTHON, [join(SHARED_BENCH, 'torch_reference.py'), 'export-hf', dir], {
      env: { ...process.env, TORCH_THREADS: '1' },
      encoding: 'utf8',
    });
  }, 600_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("reproduces the reference's initial loss 9.046966 on the seed-1 batch", { timeout: 120_000 }, () => {
    const model = loadHfModel(dir);
    expect(model.config).toMatchObject({ ...BENCH_MODEL, bosTokenId: undefined, eosTokenId: undefined });
    const batch = 8;
    const seq = 128;
    const stream = lcgTokens(batch * (seq + 1), 1);
    const rows = Array.from({ length: batch }, (_, r) => stream.slice(r * (seq + 1), (r + 1) * (seq + 1)));
    const loss = tf.tidy(() => {
      const inputs = tf.tensor2d(
        rows.flatMap((r) => r.slice(0, seq)),
        [batch, seq],
        'int32',
      );
      const logits = tf.reshape(model.logits(inputs), [batch * seq, -1]) as tf.Tensor2D;
      return crossEntropy(
        logits,
        rows.flatMap((r) => r.slice(1)),
      );
    });
    expect(Math.abs(loss.dataSync()[0]! - 9.046966)).toBeLessThan(1e-4);
    expect(reference).toContain('check: initial loss 9.046966');
    loss.dispose();
    model.dispose();
  });

  it("greedy decoding with the KV cache picks the reference's 8 tokens after the seed-2 prompt", {
    timeout: 60_000,
  }, async () => {
    const line = /check: greedy 8 tokens ([\d,]+)/.exec(reference);
    expect(line, 'the reference prints its greedy tokens').not.toBeNull();
    const model = loadHfModel(dir);
    const [g] = await generateIds(model, [lcgTokens(32, 2)], { maxNewTokens: 8, stopTokenIds: [] });
    expect(g!.generatedIds).toEqual(line![1]!.split(',').map(Number));
    model.dispose();
  });
});

describe.skipIf(!hasSharedData)('rotary layouts', () => {
  it('llama2.c interleaved and Hugging Face half-rotation agree after permuting q/k', {
    timeout: 60_000,
  }, async () => {
    await useWasmBackend();
    const inter = loadLlama2c(sharedData('llama2c_stories260K', 'stories260K.bin'));
    const half = toHalfRopeLayout(inter);
    const tokens = tf.tensor2d([[1, 403, 407, 261, 378, 32, 50, 70, 99, 140]], [1, 10], 'int32');
    const a = inter.logits(tokens);
    const b = half.logits(tokens);
    expect(tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]).toBeLessThan(1e-4);
    // The permutation really changes the weights: with the wrong layout the logits differ.
    const wrong = toHalfRopeLayout(inter);
    const mixed = new Decoder({ ...inter.config }, wrong.params);
    expect(tf.max(tf.abs(tf.sub(a, mixed.logits(tokens)))).dataSync()[0]).toBeGreaterThan(1e-2);
    tf.dispose([tokens, a, b]);
    inter.dispose();
    half.dispose();
    wrong.dispose();
  });
});

/** Central finite differences of a scalar loss against analytic gradients, at a few entries per tensor. */
function gradCheck(model: DecoderModel, lora: Record<string, LoraAdapter & { vars: tf.Variable[] }>) {
  const tokens = tf.tensor2d(
    [
      [0, 3, 5, 7, 2, 11],
      [9, 9, 4, 1, 12, 6],
    ],
    [2, 6],
    'int32',
  );
  // Row 1 is left-padded by two positions.
  const mask = [
    [1, 1, 1, 1, 1, 1],
    [0, 0, 1, 1, 1, 1],
  ];
  // Padding positions carry no loss, as in training: their queries see only masked keys, where float32
  // rounding of the mask bias makes finite differences meaningless.
  const lossMask = tf.tensor3d([1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1], [2, 6, 1]);
  const weights = tf.mul(tf.randomNormal([2, 6, model.config.vocabSize], 0, 1, 'float32', 7), lossMask);
  const adapters = Object.fromEntries(
    Object.entries(lora).map(([k, v]) => [k, { a: v.a, b: v.b, scale: v.scale }]),
  );
  const loss = () => tf.sum(tf.mul(model.logits(tokens, { mask, lora: adapters }), weights)) as tf.Scalar;
  const vars = [...Object.values(model.params), ...Object.values(lora).flatMap((l) => l.vars)];
  const names = [...Object.keys(model.params), ...Object.keys(lora).flatMap((k) => [`${k}:A`, `${k}:B`])];
  const { grads } = tf.variableGrads(loss, vars);
  const h = 2e-3;
  vars.forEach((v, i) => {
    const g = grads[v.name]!.dataSync();
    const values = v.dataSync().slice();
    for (const idx of [0, Math.floor(values.length / 2), values.length - 1]) {
      const at = (delta: number) => {
        const copy = values.slice();
        copy[idx]! += delta;
        v.assign(tf.tensor(copy, v.shape));
        return tf.tidy(() => loss().dataSync()[0]!);
      };
      const numeric = (at(h) - at(-h)) / (2 * h);
      v.assign(tf.tensor(values, v.shape));
      const err = Math.abs(numeric - g[idx]!) / Math.max(1, Math.abs(numeric));
      expect(err, `${names[i]}[${idx}]: numeric ${numeric}, analytic ${g[idx]}`).toBeLessThan(2e-2);
    }
  });
  tf.dispose([tokens, lossMask, weights, ...Object.values(grads)]);
}

describe('differentiable forward pass on wasm', () => {
  for (const family of ['llama', 'gpt2'] as const) {
    it(`${family}: gradients of params and LoRA adapters match finite differences`, {
      timeout: 120_000,
    }, async () => {
      await useWasmBackend();
      const model = randomModel({ ...tiny(family) }, 3);
      // Larger weights than the 0.02 init make every path's gradient visible above float32 noise.
      for (const p of Object.values(model.params)) p.assign(tf.tidy(() => tf.mul(p, p.rank === 2 ? 4 : 1)));
      const target =
        family === 'llama' ? 'model.layers.1.self_attn.v_proj.weight' : 'transformer.h.0.attn.c_attn.weight';
      const [nIn, nOut] = model.params[target]!.shape as [number, number];
      const a = tf.variable(tf.randomNormal([nIn, 2], 0, 0.5, 'float32', 1)) as tf.Variable<tf.Rank.R2>;
      const b = tf.variable(tf.randomNormal([2, nOut], 0, 0.5, 'float32', 2)) as tf.Variable<tf.Rank.R2>;
      gradCheck(model, { [target]: { a, b, scale: 0.5, vars: [a, b] } });
      model.dispose();
      tf.dispose([a, b]);
    });
  }

  it('hidden states are what the head turns into logits', async () => {
    await useWasmBackend();
    const model = randomModel(tiny('gpt2'), 2);
    tf.tidy(() => {
      const tokens = tf.tensor2d([[1, 2, 3, 4]], [1, 4], 'int32');
      const hidden = model.hidden(tokens);
      expect(hidden.shape).toEqual([1, 4, 8]);
      const viaHead = tf.matMul(
        tf.reshape(hidden, [4, 8]),
        model.params['transformer.wte.weight']!,
        false,
        true,
      );
      expect(
        tf.max(tf.abs(tf.sub(viaHead, tf.reshape(model.logits(tokens), [4, -1])))).dataSync()[0],
      ).toBeLessThan(1e-5);
    });
    model.dispose();
  });

  it('logits do not leak tensors', async () => {
    await useWasmBackend();
    const model = randomModel(tiny('llama'), 1);
    const tokens = tf.tensor2d([[1, 2, 3]], [1, 3], 'int32');
    model.logits(tokens).dispose();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) model.logits(tokens).dispose();
    expect(tf.memory().numTensors).toBe(before);
    tokens.dispose();
    model.dispose();
  });

  it('a left-padded row gives the same logits as the row alone', async () => {
    await useWasmBackend();
    for (const family of ['llama', 'gpt2'] as const) {
      const model = randomModel(tiny(family), 5);
      tf.tidy(() => {
        const alone = model.logits(tf.tensor2d([[4, 5, 6]], [1, 3], 'int32'));
        const padded = model.logits(tf.tensor2d([[0, 0, 4, 5, 6]], [1, 5], 'int32'), {
          mask: [[0, 0, 1, 1, 1]],
        });
        const tail = tf.slice(padded, [0, 2, 0], [1, 3, -1]);
        expect(tf.max(tf.abs(tf.sub(alone, tail))).dataSync()[0]).toBeLessThan(1e-5);
      });
      model.dispose();
    }
  });
});
