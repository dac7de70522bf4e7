import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { loadLlama2c } from '../checkpoint/llama2c.ts';
import { DEFAULT_RULES, ruleBasedAdapterProcessor } from '../regimes/rule-based-adapter.ts';
import { tuluPrompt } from '../regimes/templates.ts';
import {
  type DecodeBackend,
  describeDecodingOnDevice,
  peakedModel,
  RAGGED_PROMPTS,
} from '../testing/decode-suite.ts';
import { hasSharedData, sharedData, skipReasonWithoutSharedData } from '../testing/shared-data.ts';
import { useBackend, webgpuAdapter } from '../testing/tf-backend.ts';
import { Llama2cTokenizer } from '../tokenizer/llama2c.ts';
import { type GenerateOptions, type Generation, generate, generateIds } from './generate.ts';
import { type LogitsProcessor, repetitionPenalty } from './processors.ts';

skipReasonWithoutSharedData();
const adapter = await webgpuAdapter();

/** Runs `f` on a backend (models it makes must be made and freed inside). */
async function on<T>(backend: DecodeBackend, f: () => Promise<T>): Promise<T> {
  await useBackend(backend);
  expect(tf.getBackend()).toBe(backend);
  return f();
}

const ids = (gens: Generation[]) => gens.map((g) => g.generatedIds);

describe.skipIf(!adapter)(`decoding on webgpu (${adapter ?? 'no adapter'})`, () => {
  describeDecodingOnDevice('webgpu');

  for (const family of ['gpt2', 'llama'] as const) {
    it(`${family}: the same tokens as the cpu backend, batched with left padding, greedy and seeded sampling`, async () => {
      const decode = (backend: DecodeBackend) =>
        on(backend, async () => {
          const model = peakedModel(family, 97);
          try {
            const base: GenerateOptions = { maxNewTokens: 12, stopTokenIds: [] };
            const penalty = { ...base, processors: [repetitionPenalty(1.5)] };
            const sampled = { ...base, temperature: 0.8, topK: 40, topP: 0.9, seed: 9 };
            return {
              greedy: ids(await generateIds(model, RAGGED_PROMPTS, base)),
              penalty: ids(await generateIds(model, RAGGED_PROMPTS, penalty)),
              sampled: ids(await generateIds(model, RAGGED_PROMPTS, sampled)),
              uncached: ids(await generateIds(model, RAGGED_PROMPTS, { ...base, useCache: false })),
            };
          } finally {
            model.dispose();
          }
        });
      const cpu = await decode('cpu');
      const gpu = await decode('webgpu');
      expect(gpu).toEqual(cpu);
      expect(gpu.uncached).toEqual(gpu.greedy);
      expect(gpu.penalty).not.toEqual(gpu.greedy);
      expect(gpu.sampled).not.toEqual(gpu.greedy);
    });
  }

  describe.skipIf(!hasSharedData)('with the llama2.c tokenizer', () => {
    const tok = () => Llama2cTokenizer.fromFile(sharedData('llama2c_stories260K', 'tok512.bin'));
    const prompts = ['Tell me a story about a cat.', 'What should I do today?', 'Lily and Tom went.'].map(
      tuluPrompt,
    );
    // llama2.c models end a text with BOS (run.c stops there), so BOS is their end token.
    const adapted = (t: Llama2cTokenizer): LogitsProcessor[] => [
      ruleBasedAdapterProcessor(DEFAULT_RULES, t, [t.bosId, t.eosId]),
      repetitionPenalty(1.3),
    ];

    it('random GPT-2 and Llama with the rule-based adapter: the same tokens as the cpu backend', async () => {
      const decode = (backend: DecodeBackend) =>
        on(backend, async () => {
          const t = tok();
          const out: number[][][] = [];
          for (const family of ['gpt2', 'llama'] as const) {
            const model = peakedModel(family, t.vocabSize);
            const opts = { maxNewTokens: 10, stopTokenIds: [t.bosId, t.eosId], processors: adapted(t) };
            out.push(ids(await generate(model, t, prompts, opts)));
            model.dispose();
          }
          return out;
        });
      const cpu = await decode('cpu');
      expect(await decode('webgpu')).toEqual(cpu);
    });

    it('stories260K: greedy with and without the adapter, and seeded sampling, as on the cpu backend', {
      timeout: 600_000,
    }, async () => {
      const decode = (backend: DecodeBackend) =>
        on(backend, async () => {
          const t = tok();
          const model = loadLlama2c(sharedData('llama2c_stories260K', 'stories260K.bin'));
          try {
            const opts = { maxNewTokens: 24, stopTokenIds: [t.bosId, t.eosId] };
            return {
              bare: await generate(model, t, prompts, opts),
              adapted: await generate(model, t, prompts, { ...opts, processors: adapted(t) }),
              sampled: await generate(model, t, prompts, { ...opts, temperature: 1, topP: 0.9, seed: 7 }),
            };
          } finally {
            model.dispose();
          }
        });
      const cpu = await decode('cpu');
      const gpu = await decode('webgpu');
      expect(gpu).toEqual(cpu);
      expect(gpu.bare.every((g) => g.text.length > 10)).toBe(true);
      expect(ids(gpu.adapted)).not.toEqual(ids(gpu.bare));
    });
  });
});
