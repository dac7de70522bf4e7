import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomModel } from '../model/create.ts';
import type { DecoderModel, ModelConfig } from '../model/types.ts';
import { hasSharedData, sharedData, skipReasonWithoutSharedData } from '../testing/shared-data.ts';
import { useWasmBackend } from '../testing/tf-backend.ts';
import { loadHfModel, readHfConfig, saveHfModel } from './hf.ts';
import { loadLlama2c, toHalfRopeLayout } from './llama2c.ts';
import { floatToBf16, floatToHalf, SafetensorsFile, writeSafetensors } from './safetensors.ts';

skipReasonWithoutSharedData();

let dir = '';
beforeAll(async () => {
  await useWasmBackend();
  dir = mkdtempSync(join(tmpdir(), 'regimen-ckpt-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function maxDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}

const TOKENS = [[3, 1, 4, 1, 5, 9, 2, 6]];

describe('safetensors', () => {
  it('round-trips F32 exactly and F16/BF16 to their precision', async () => {
    const values = Float32Array.from([0, 1, -2.5, 3.25159, 65504, 1e-5, -1e-8, 123.456, 7e-3, -0.333]);
    for (const dtype of ['F32', 'F16', 'BF16'] as const) {
      const path = join(dir, `t-${dtype}.safetensors`);
      await writeSafetensors(path, [{ name: 'w', shape: [2, 5] }], () => values, { dtype });
      const file = new SafetensorsFile(path);
      expect(file.entries.get('w')).toMatchObject({ dtype, shape: [2, 5] });
      const back = file.read('w');
      file.close();
      values.forEach((v, i) => {
        const tol =
          dtype === 'F32'
            ? 0
            : Math.abs(v) * (dtype === 'F16' ? 2 ** -11 : 2 ** -8) + (dtype === 'F16' ? 6e-8 : 1e-38);
        expect(Math.abs(back[i]! - v), `${dtype} value ${v}`).toBeLessThanOrEqual(tol);
      });
    }
    expect(floatToHalf(1)).toBe(0x3c00);
    expect(floatToHalf(-2)).toBe(0xc000);
    expect(floatToBf16(1)).toBe(0x3f80);
  });

  it('names the file and tensor in errors', async () => {
    const path = join(dir, 'bad.safetensors');
    await writeSafetensors(path, [{ name: 'w', shape: [2] }], () => Float32Array.from([1, 2]));
    const file = new SafetensorsFile(path);
    expect(() => file.read('nope')).toThrow(`${path}: no tensor named nope`);
    file.close();
    writeFileSync(join(dir, 'junk.safetensors'), Buffer.from('not a safetensors file at all'));
    expect(() => new SafetensorsFile(join(dir, 'junk.safetensors'))).toThrow(
      /junk\.safetensors: header length/,
    );
  });
});

describe('Hugging Face folders', () => {
  const gpt2: ModelConfig = {
    family: 'gpt2',
    vocabSize: 50,
    dim: 16,
    nLayers: 2,
    nHeads: 2,
    nKvHeads: 2,
    hiddenDim: 64,
    maxSeqLen: 32,
    normEps: 1e-5,
    ropeTheta: 10000,
    ropeLayout: 'half',
    tieEmbeddings: false,
    eosTokenId: 49,
  };

  it('saves and reloads a model with the same config and logits (F32, BF16)', async () => {
    const model = randomModel(gpt2, 4);
    const tokens = tf.tensor2d(TOKENS, [1, 8], 'int32');
    const want = model.logits(tokens);
    await saveHfModel(model, join(dir, 'gpt2'));
    const back = loadHfModel(join(dir, 'gpt2'));
    expect(back.config).toEqual({ ...gpt2, bosTokenId: undefined });
    expect(maxDiff(want, back.logits(tokens))).toBe(0);
    await saveHfModel(model, join(dir, 'gpt2-bf16'), { dtype: 'BF16' });
    const half = loadHfModel(join(dir, 'gpt2-bf16'));
    const d = maxDiff(want, half.logits(tokens));
    expect(d).toBeGreaterThan(0);
    expect(d).toBeLessThan(1e-2);
    tf.dispose([tokens, want]);
    for (const m of [model, back, half]) m.dispose();
  });

  it('reads a sharded checkpoint through model.safetensors.index.json', async () => {
    const model = randomModel(gpt2, 5);
    const src = join(dir, 'whole');
    await saveHfModel(model, src);
    const sharded = join(dir, 'sharded');
    await saveHfModel(model, sharded);
    rmSync(join(sharded, 'model.safetensors'));
    const file = new SafetensorsFile(join(src, 'model.safetensors'));
    const names = [...file.entries.keys()];
    const halves = [names.slice(0, 7), names.slice(7)];
    const weightMap: Record<string, string> = {};
    for (const [i, part] of halves.entries()) {
      const shard = `model-0000${i + 1}-of-00002.safetensors`;
      await writeSafetensors(
        join(sharded, shard),
        part.map((n) => ({ name: n, shape: file.entries.get(n)!.shape })),
        (n) => file.read(n),
      );
      for (const n of part) weightMap[n] = shard;
    }
    file.close();
    writeFileSync(
      join(sharded, 'model.safetensors.index.json'),
      JSON.stringify({ metadata: {}, weight_map: weightMap }),
    );
    const back = loadHfModel(sharded);
    const tokens = tf.tensor2d(TOKENS, [1, 8], 'int32');
    expect(maxDiff(model.logits(tokens), back.logits(tokens))).toBe(0);
    rmSync(join(sharded, 'model-00002-of-00002.safetensors'));
    expect(() => loadHfModel(sharded)).toThrow(
      /model-00002-of-00002\.safetensors: listed in model\.safetensors\.index\.json but not found/,
    );
    tokens.dispose();
    model.dispose();
    back.dispose();
  });

  it('names the file and field of a bad config or tensor', async () => {
    const folder = join(dir, 'broken');
    const model = randomModel(gpt2, 6);
    await saveHfModel(model, folder);
    model.dispose();
    const cfg = JSON.parse(readFileSync(join(folder, 'config.json'), 'utf8'));
    writeFileSync(join(folder, 'config.json'), JSON.stringify({ ...cfg, n_head: 'two' }));
    expect(() => readHfConfig(folder)).toThrow(
      `${join(folder, 'config.json')}: field "n_head" is "two", expected a number`,
    );
    writeFileSync(join(folder, 'config.json'), JSON.stringify({ ...cfg, n_embd: 32 }));
    expect(() => loadHfModel(folder)).toThrow(
      /model\.safetensors: tensor lm_head\.weight has shape \[50,16\], config\.json implies \[50,32\]/,
    );
    writeFileSync(join(folder, 'config.json'), JSON.stringify({ ...cfg, model_type: 'bert' }));
    expect(() => readHfConfig(folder)).toThrow(/model_type "bert" is not supported/);
  });
});

describe.skipIf(!hasSharedData)('llama2.c checkpoints', () => {
  it('converts stories260K to a Hugging Face Llama folder with the same logits', {
    timeout: 60_000,
  }, async () => {
    const model = loadLlama2c(sharedData('llama2c_stories260K', 'stories260K.bin'));
    expect(model.config).toMatchObject({
      dim: 64,
      nLayers: 5,
      nHeads: 8,
      nKvHeads: 4,
      vocabSize: 512,
      tieEmbeddings: true,
    });
    expect(model.numParams()).toBe(260032);
    const hf = toHalfRopeLayout(model);
    await saveHfModel(hf, join(dir, 'stories'));
    const back: DecoderModel = loadHfModel(join(dir, 'stories'));
    const tokens = tf.tensor2d(TOKENS, [1, 8], 'int32');
    expect(maxDiff(model.logits(tokens), back.logits(tokens))).toBeLessThan(1e-4);
    expect(back.config.ropeLayout).toBe('half');
    tokens.dispose();
    for (const m of [model, hf, back]) m.dispose();
  });

  it('names the file when it is truncated', async () => {
    const path = join(dir, 'short.bin');
    copyFileSync(sharedData('llama2c_stories260K', 'stories260K.bin'), path);
    const bytes = readFileSync(path);
    writeFileSync(path, bytes.subarray(0, 131_500));
    expect(() => loadLlama2c(path)).toThrow(`${path}: file ends inside rms_att_weight`);
  });
});
