import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { type GenerateOptions, generateIds } from '../decode/generate.ts';
import { repetitionPenalty } from '../decode/processors.ts';
import { TokenPicker } from '../decode/sampling.ts';
import { randomModel } from '../model/create.ts';
import type { DecoderModel, ModelFamily } from '../model/types.ts';
import { useBackend } from './tf-backend.ts';
import { tinyGpt2Config } from './tiny-models.ts';
import { type TransferCounts, watchTransfers } from './transfers.ts';

/*
 * Test-only: what decoding must do on every backend, as one suite each backend's test file runs (cpu and wasm
 * in the core project, webgpu in the webgpu one).
 */

export type DecodeBackend = 'cpu' | 'wasm' | 'webgpu';

/** Three prompts of different lengths, so the batch is left-padded. */
export const RAGGED_PROMPTS = [[5, 17, 3], [60, 2, 9, 41, 77, 8, 30], [11]];

/**
 * A tiny random model whose next-token distributions are peaked (weight matrices 10× the 0.02 init), so its
 * greedy tokens do not hinge on float rounding; the same weights on every backend for a seed.
 */
export function peakedModel(family: ModelFamily, vocabSize: number, seed = 11): DecoderModel {
  const model = randomModel(
    tinyGpt2Config({
      family,
      vocabSize,
      dim: 32,
      nHeads: 4,
      nKvHeads: family === 'llama' ? 2 : 4,
      hiddenDim: 64,
      maxSeqLen: 64,
      tieEmbeddings: family === 'gpt2',
    }),
    seed,
  );
  // A variable takes the data it is assigned; the assigned tensor is disposed.
  for (const p of Object.values(model.params)) {
    const next = tf.mul(p, p.rank === 2 ? 10 : 1);
    p.assign(next);
    next.dispose();
  }
  return model;
}

/** Elements of an upload logged by {@link watchTransfers} (`up <bytes> B [<shape>] <dtype>`). */
function uploadSize(line: string): number {
  const shape = /\[([\d,]*)\]/.exec(line)?.[1] ?? '';
  return shape === '' ? 1 : shape.split(',').reduce((n, d) => n * Number(d), 1);
}

export function describeDecodingOnDevice(backend: DecodeBackend): void {
  describe(`decoding on ${backend}`, () => {
    beforeAll(async () => {
      await useBackend(backend);
    });

    const b = RAGGED_PROMPTS.length;
    // Larger than any other tensor a step makes (wasm's embedding rows are B × dim = 96 values).
    const vocabSize = 131;
    const modes: [string, Partial<GenerateOptions>][] = [
      [
        'greedy with a repetition penalty and a stop id',
        { processors: [repetitionPenalty(1.3)], stopTokenIds: [7] },
      ],
      [
        'sampling with top-k and top-p',
        { temperature: 0.8, topK: 20, topP: 0.9, seed: 3, stopTokenIds: [7] },
      ],
      // Without a cache every step is a full pass, whose masked attention bias the model builds from the host's
      // mask (B × T × T values): only the readback is bounded there.
      ['greedy without a cache', { useCache: false, stopTokenIds: [] }],
    ];

    for (const [mode, opts] of modes) {
      const cached = opts.useCache !== false;
      it(`${mode}: a decode step reads back only the ${b} chosen ids${cached ? ' and uploads nothing the size of the vocabulary' : ''}`, async () => {
        expect(tf.getBackend()).toBe(backend);
        const model = peakedModel('llama', vocabSize);
        await generateIds(model, RAGGED_PROMPTS, { maxNewTokens: 2, ...opts }); // decode weights, kernels
        const watch = watchTransfers({ throwOnSyncRead: true });
        const steps: TransferCounts[] = [];
        try {
          await generateIds(model, RAGGED_PROMPTS, {
            maxNewTokens: 10,
            ...opts,
            onToken: () => {
              steps.push(structuredClone(watch.counts));
              watch.reset();
            },
          });
          steps.push(structuredClone(watch.counts));
        } finally {
          watch.stop();
          model.dispose();
        }
        const all = steps.flatMap((c) => c.log);
        expect(steps.reduce((n, c) => n + c.syncReads, 0)).toBe(0);
        // One read of B int32 ids per step, and at most one step issued past the end.
        const reads = all.filter((l) => l.startsWith('down '));
        expect(new Set(reads)).toEqual(new Set([`down ${4 * b} B`]));
        const tokens = steps.length - 1;
        expect(tokens).toBeGreaterThanOrEqual(3);
        expect([tokens, tokens + 1]).toContain(reads.length);
        if (!cached) return;
        // Between two tokens the next step is issued; the first interval also holds the prompt's pass and what
        // the processors upload once.
        for (const c of steps.slice(1)) {
          const uploads = c.log.filter((l) => l.startsWith('up '));
          expect(uploads.length).toBe(c.uploads);
          expect(Math.max(0, ...uploads.map(uploadSize)), uploads.join('; ')).toBeLessThan(vocabSize);
        }
      });
    }

    it('keeps tf.memory().numTensors flat per decode step and frees everything at the end', async () => {
      const model = peakedModel('gpt2', 97);
      const opts: GenerateOptions = {
        maxNewTokens: 12,
        temperature: 0.7,
        topK: 10,
        seed: 1,
        stopTokenIds: [7],
        processors: [repetitionPenalty(1.2)],
      };
      await generateIds(model, RAGGED_PROMPTS, opts);
      const before = tf.memory().numTensors;
      const counts: number[] = [];
      await generateIds(model, RAGGED_PROMPTS, {
        ...opts,
        onToken: () => counts.push(tf.memory().numTensors),
      });
      expect(tf.memory().numTensors).toBe(before);
      // The last step has no step issued after it.
      expect(counts.length).toBeGreaterThan(3);
      expect(new Set(counts.slice(0, -1)).size).toBe(1);
      model.dispose();
    });

    it('greedy picks the lowest id among equal maxima', async () => {
      const picker = new TokenPicker({}, 3, 300);
      const rows = [new Float32Array(300).fill(-1), new Float32Array(300).fill(2), new Float32Array(300)];
      // Maxima far apart, so on a GPU they fall to different threads of a reduction.
      for (const i of [70, 1, 299, 150]) rows[0]![i] = 5;
      rows[2]![299] = 1;
      const ids = tf.tidy(() =>
        picker.pick(
          tf.tensor2d(
            rows.flatMap((r) => [...r]),
            [3, 300],
          ),
        ),
      );
      expect(Array.from(await ids.data())).toEqual([1, 0, 299]);
      ids.dispose();
      picker.dispose();
    });

    it('samples the same tokens for a seed, and a batched row the same tokens as alone', async () => {
      const model = peakedModel('gpt2', 97);
      const opts: GenerateOptions = {
        maxNewTokens: 12,
        temperature: 1,
        topP: 0.95,
        seed: 5,
        stopTokenIds: [],
      };
      const first = await generateIds(model, RAGGED_PROMPTS, opts);
      expect(await generateIds(model, RAGGED_PROMPTS, opts)).toEqual(first);
      // Row 0 samples from the generation's seed itself, whatever the other rows do.
      const alone = await generateIds(model, [RAGGED_PROMPTS[0]!], opts);
      expect(alone[0]!.generatedIds).toEqual(first[0]!.generatedIds);
      const other = await generateIds(model, RAGGED_PROMPTS, { ...opts, seed: 6 });
      expect(other.map((g) => g.generatedIds)).not.toEqual(first.map((g) => g.generatedIds));
      model.dispose();
    });
  });
}
