import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadLlama2c } from '../checkpoint/llama2c.ts';
import { randomModel } from '../model/create.ts';
import { keptConstants } from '../model/ops.ts';
import type { DecoderModel } from '../model/types.ts';
import { hasSharedData, sharedData, skipReasonWithoutSharedData } from '../testing/shared-data.ts';
import { useCpuBackend, useWasmBackend } from '../testing/tf-backend.ts';
import { Llama2cTokenizer } from '../tokenizer/llama2c.ts';
import { generate, generateIds } from './generate.ts';
import { type LogitsProcessor, repetitionPenalty, tokenMask } from './processors.ts';
import { Rng, TokenPicker } from './sampling.ts';

skipReasonWithoutSharedData();

describe.skipIf(!hasSharedData)('stories260K (llama2.c)', () => {
  let model: DecoderModel;
  let tok: Llama2cTokenizer;
  beforeAll(async () => {
    await useWasmBackend();
    model = loadLlama2c(sharedData('llama2c_stories260K', 'stories260K.bin'));
    tok = Llama2cTokenizer.fromFile(sharedData('llama2c_stories260K', 'tok512.bin'));
  });
  afterAll(() => model.dispose());

  it('greedy from BOS reproduces the 257-token temperature-0 sample of stories260K.md', {
    timeout: 120_000,
  }, async () => {
    const md = readFileSync(sharedData('llama2c_stories260K', 'stories260K.md'), 'utf8');
    const block = /\$ \.\/run \S+ -z \S+ -t 0\.0\n([\s\S]*?)\n```/.exec(md);
    expect(block, 'the temperature-0 sample block in stories260K.md').not.toBeNull();
    const expected = block![1]!;
    // run.c stops on BOS; 256 new tokens after BOS make the 257 tokens of the sample.
    const [g] = await generate(model, tok, [''], { maxNewTokens: 256, stopTokenIds: [tok.bosId] });
    expect(g!.promptIds).toEqual([tok.bosId]);
    expect(g!.generatedIds).toHaveLength(256);
    expect(g!.finishReason).toBe('length');
    expect(g!.text).toBe(expected);
  });

  it('keeps tf.memory().numTensors flat across decode steps', { timeout: 60_000 }, async () => {
    const counts: number[] = [];
    const probe: LogitsProcessor = {
      name: 'count-tensors',
      start: () => ({
        process: (logits) => {
          counts.push(tf.memory().numTensors);
          return logits;
        },
        dispose() {},
      }),
    };
    const before = tf.memory().numTensors;
    await generate(model, tok, ['Once upon'], { maxNewTokens: 20, stopTokenIds: [], processors: [probe] });
    expect(counts).toHaveLength(20);
    expect(new Set(counts.slice(1)).size).toBe(1);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('decodes the same tokens with and without the KV cache, and batched with left padding', {
    timeout: 120_000,
  }, async () => {
    const prompts = ['Once upon a time', 'Lily saw a big dog. The dog was'];
    const opts = { maxNewTokens: 24, stopTokenIds: [] };
    const cached = await generate(model, tok, prompts, opts);
    const uncached = await generate(model, tok, prompts, { ...opts, useCache: false });
    const alone = [];
    for (const p of prompts) alone.push((await generate(model, tok, [p], opts))[0]!);
    expect(cached[0]!.promptIds.length).toBeLessThan(cached[1]!.promptIds.length);
    for (let r = 0; r < prompts.length; r++) {
      expect(cached[r]!.generatedIds).toEqual(uncached[r]!.generatedIds);
      expect(cached[r]!.generatedIds).toEqual(alone[r]!.generatedIds);
      expect(cached[r]!.text.length).toBeGreaterThan(20);
    }
  });

  it('samples deterministically for a seed, and differently for another', { timeout: 60_000 }, async () => {
    const opts = { maxNewTokens: 30, temperature: 1, topP: 0.9, stopTokenIds: [] };
    const a = (await generate(model, tok, ['Once'], { ...opts, seed: 7 }))[0]!;
    const b = (await generate(model, tok, ['Once'], { ...opts, seed: 7 }))[0]!;
    const c = (await generate(model, tok, ['Once'], { ...opts, seed: 8 }))[0]!;
    expect(a.generatedIds).toEqual(b.generatedIds);
    expect(a.generatedIds).not.toEqual(c.generatedIds);
    const greedy = (await generate(model, tok, ['Once'], { maxNewTokens: 30, stopTokenIds: [] }))[0]!;
    const topK1 = (await generate(model, tok, ['Once'], { ...opts, topK: 1, seed: 3 }))[0]!;
    expect(topK1.generatedIds).toEqual(greedy.generatedIds);
  });

  it('ends on a stop string, an EOS id, or the token limit', { timeout: 60_000 }, async () => {
    const [s] = await generate(model, tok, [''], { maxNewTokens: 100, stop: ['Lily'], stopTokenIds: [] });
    expect(s!.finishReason).toBe('stop');
    expect(s!.text).toBe('Once upon a time, there was a little girl named ');
    const greedy = (await generate(model, tok, [''], { maxNewTokens: 5, stopTokenIds: [] }))[0]!;
    const third = greedy.generatedIds[2]!;
    const [e] = await generate(model, tok, [''], { maxNewTokens: 100, stopTokenIds: [third] });
    expect(e!.finishReason).toBe('eos');
    expect(e!.generatedIds).toEqual(greedy.generatedIds.slice(0, 3));
    expect(e!.text).toBe(tok.decode(greedy.generatedIds.slice(0, 2)));
    expect(greedy.finishReason).toBe('length');
  });

  it('applies a repetition penalty through the processor pipeline', { timeout: 60_000 }, async () => {
    const plain = (await generate(model, tok, [''], { maxNewTokens: 60, stopTokenIds: [] }))[0]!;
    const penalized = (
      await generate(model, tok, [''], {
        maxNewTokens: 60,
        stopTokenIds: [],
        processors: [repetitionPenalty(1.5)],
      })
    )[0]!;
    const repeats = (ids: number[]) => ids.length - new Set(ids).size;
    expect(repeats(penalized.generatedIds)).toBeLessThan(repeats(plain.generatedIds));
  });

  it('reports every generated token in order through onToken, with flat numTensors, returning to the event loop between tokens', {
    timeout: 60_000,
  }, async () => {
    const prompts = ['Once upon a time', 'Lily saw a big dog.'];
    // Row 1 stops at its first "." so the callback also has to report it as ended (null) afterwards.
    const opts = { maxNewTokens: 24, stopTokenIds: [tok.bosId], stop: ['.'] };
    const seen: { step: number; tokens: (number | null)[]; numTensors: number }[] = [];
    const events: string[] = [];
    const onToken = (step: number, tokens: (number | null)[]) => {
      seen.push({ step, tokens: [...tokens], numTensors: tf.memory().numTensors });
      events.push(`token ${step}`);
      // What a server does with a token: I/O, which must get to run before the next token.
      setImmediate(() => events.push(`sent ${step}`));
    };
    const before = tf.memory().numTensors;
    const gens = await generate(model, tok, prompts, { ...opts, onToken });
    expect(tf.memory().numTensors).toBe(before);
    expect(seen.map((s) => s.step)).toEqual(seen.map((_, i) => i));
    gens.forEach((g, r) => {
      const reported = seen.map((s) => s.tokens[r]);
      expect(reported.filter((t) => t !== null)).toEqual(g.generatedIds);
      // Once a row ends it reports null for the remaining steps.
      expect(reported.slice(g.generatedIds.length).every((t) => t === null)).toBe(true);
    });
    expect(gens.some((g) => g.finishReason === 'stop')).toBe(true);
    expect(new Set(seen.slice(1).map((s) => s.numTensors)).size).toBe(1);
    expect(events.slice(0, 2 * seen.length - 1)).toEqual(
      seen.flatMap((s) => [`token ${s.step}`, `sent ${s.step}`]).slice(0, -1),
    );

    // Without a listener: the same generations.
    expect(await generate(model, tok, prompts, opts)).toEqual(gens);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('KV cache on random models', () => {
  // The cached path calls kernels directly (model/kernels.ts), so it is checked on a second backend too.
  for (const [backend, use] of [
    ['wasm', useWasmBackend],
    ['cpu', useCpuBackend],
  ] as const)
    for (const family of ['gpt2', 'llama'] as const) {
      it(`${family} on ${backend}: cached decoding picks the same tokens as full recomputation, alone and batched`, {
        timeout: 120_000,
      }, async () => {
        await use();
        // The constants kept for formulas (ops.ts `constant`) outlive every model by design.
        const before = tf.memory().numTensors - keptConstants();
        const model = randomModel(
          {
            family,
            vocabSize: 97,
            dim: 32,
            nLayers: 2,
            nHeads: 4,
            nKvHeads: family === 'llama' ? 2 : 4,
            hiddenDim: 64,
            maxSeqLen: 48,
            normEps: 1e-5,
            ropeTheta: 10000,
            ropeLayout: 'half',
            tieEmbeddings: family === 'gpt2',
          },
          11,
        );
        // Larger weights than the 0.02 init give peaked, prompt-dependent distributions. A variable takes the
        // data it is assigned; the assigned tensor is disposed.
        for (const p of Object.values(model.params)) {
          const next = tf.mul(p, p.rank === 2 ? 10 : 1);
          p.assign(next);
          next.dispose();
        }
        const prompts = [
          [5, 17, 3],
          [60, 2, 9, 41, 77, 8, 30],
        ];
        const opts = { maxNewTokens: 20, stopTokenIds: [] };
        const cached = await generateIds(model, prompts, opts);
        // Every decode step is tidied: a second generation (its prepared weights already built) leaves
        // exactly the tensors the first one did.
        const held = tf.memory().numTensors;
        expect(await generateIds(model, prompts, opts)).toEqual(cached);
        expect(tf.memory().numTensors).toBe(held);
        const uncached = await generateIds(model, prompts, { ...opts, useCache: false });
        const alone = [];
        for (const p of prompts) alone.push((await generateIds(model, [p], opts))[0]!);
        for (let r = 0; r < prompts.length; r++) {
          expect(cached[r]!.generatedIds).toEqual(uncached[r]!.generatedIds);
          expect(alone[r]!.generatedIds).toEqual(uncached[r]!.generatedIds);
        }
        expect(new Set(alone[1]!.generatedIds).size).toBeGreaterThan(3);

        tf.tidy(() => {
          // Logits, not only their argmax: a prefill of three tokens, then one more, against the full pass.
          const ids = [5, 17, 3, 8];
          const cache = model.createCache(1, 8);
          const prefill = model.forwardCached(tf.tensor2d([ids.slice(0, 3)], [1, 3], 'int32'), cache);
          const step = model.forwardCached(tf.tensor2d([[ids[3]!]], [1, 1], 'int32'), cache);
          const full = model.logits(tf.tensor2d([ids], [1, 4], 'int32'));
          const at = (j: number) => tf.reshape(tf.slice(full, [0, j, 0], [1, 1, -1]), [1, -1]);
          expect(tf.max(tf.abs(tf.sub(prefill, at(2)))).dataSync()[0]).toBeLessThan(1e-4);
          expect(tf.max(tf.abs(tf.sub(step, at(3)))).dataSync()[0]).toBeLessThan(1e-4);
          expect(tf.max(tf.abs(step)).dataSync()[0]).toBeGreaterThan(0.1);
          cache.dispose();
        });
        model.dispose();
        expect(tf.memory().numTensors - keptConstants()).toBe(before);
      });
    }
});

describe('decode weights shared between caches', () => {
  it('are reused while the parameters keep their values, rebuilt after an assign, and freed with the model', async () => {
    await useWasmBackend();
    const before = tf.memory().numTensors;
    const model = randomModel(
      {
        family: 'gpt2',
        vocabSize: 61,
        dim: 16,
        nLayers: 2,
        nHeads: 2,
        nKvHeads: 2,
        hiddenDim: 32,
        maxSeqLen: 32,
        normEps: 1e-5,
        ropeTheta: 10000,
        ropeLayout: 'half',
        tieEmbeddings: true,
      },
      5,
    );
    // A variable holds the data it is assigned; the assigned tensor is disposed.
    const update = (f: (p: tf.Variable) => tf.Tensor) => {
      for (const p of Object.values(model.params)) {
        if (p.rank !== 2) continue;
        const next = f(p);
        p.assign(next);
        next.dispose();
      }
    };
    update((p) => tf.mul(p, 10));
    const opts = { maxNewTokens: 12, stopTokenIds: [] };
    const first = (await generateIds(model, [[3, 4, 5]], opts))[0]!.generatedIds;
    const held = tf.memory().numTensors;
    expect((await generateIds(model, [[3, 4, 5]], opts))[0]!.generatedIds).toEqual(first);
    expect(tf.memory().numTensors).toBe(held); // the second cache built nothing new
    // New values: a cache must decode with them, as the uncached pass does.
    update((p) => tf.reverse(p, 0));
    const cached = (await generateIds(model, [[3, 4, 5]], opts))[0]!.generatedIds;
    expect(cached).toEqual(
      (await generateIds(model, [[3, 4, 5]], { ...opts, useCache: false }))[0]!.generatedIds,
    );
    expect(cached).not.toEqual(first);
    expect(tf.memory().numTensors).toBe(held);
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('repetition penalty', () => {
  it('divides positive and multiplies negative logits of seen tokens only', async () => {
    await useWasmBackend();
    const before = tf.memory().numTensors;
    const logits = tf.tensor2d([[2, -2, 3, 1]], [1, 4]);
    const penalty = repetitionPenalty(2).start({ promptIds: [[0]], vocabSize: 4 });
    const generated = tokenMask([[1]], 4);
    const out = penalty.process(logits, { step: 1, generated });
    expect(Array.from(await out.data())).toEqual([1, -4, 3, 1]);
    tf.dispose([logits, generated, out]);
    penalty.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('sampling on the device', () => {
  /** Tokens picked for `n` copies of one row of logits, with uniforms from `rng`. */
  async function pickMany(
    row: number[],
    opts: ConstructorParameters<typeof TokenPicker>[0],
    n: number,
    rng: Rng,
  ) {
    const picker = new TokenPicker(opts, n, row.length);
    const ids = tf.tidy(() => {
      const logits = tf.tile(tf.tensor2d([row]), [n, 1]) as tf.Tensor2D;
      return picker.pick(logits, tf.tensor1d(Array.from({ length: n }, () => rng.next())));
    });
    const out = Array.from(await ids.data());
    ids.dispose();
    picker.dispose();
    return out;
  }

  it('follows the distribution and respects top-k and top-p', async () => {
    await useWasmBackend();
    const rng = new Rng(1);
    const row = [Math.log(0.7), Math.log(0.2), Math.log(0.1)];
    const counts = [0, 0, 0];
    for (const id of await pickMany(row, { temperature: 1 }, 20000, rng)) counts[id]!++;
    expect(counts[0]! / 20000).toBeCloseTo(0.7, 1);
    expect(counts[2]! / 20000).toBeCloseTo(0.1, 1);
    expect(Math.max(...(await pickMany(row, { temperature: 1, topK: 2 }, 200, rng)))).toBe(1);
    expect(new Set(await pickMany(row, { temperature: 1, topP: 0.6 }, 200, rng))).toEqual(new Set([0]));
  });

  it('walks the cumulative mass of the most likely tokens: the smallest set reaching p, ties by lower id', async () => {
    await useWasmBackend();
    const before = tf.memory().numTensors;
    const pick = async (row: number[], opts: ConstructorParameters<typeof TokenPicker>[0], u: number[]) => {
      const picker = new TokenPicker(opts, u.length, row.length);
      const ids = tf.tidy(() =>
        picker.pick(tf.tile(tf.tensor2d([row]), [u.length, 1]) as tf.Tensor2D, tf.tensor1d(u)),
      );
      const out = Array.from(await ids.data());
      tf.dispose(ids);
      picker.dispose();
      return out;
    };
    // Probabilities 0.2, 0.5, 0.3 for ids 0, 1, 2: sorted 1 (0.5), 2 (0.3), 0 (0.2).
    const row = [Math.log(0.2), Math.log(0.5), Math.log(0.3)];
    expect(await pick(row, { temperature: 1 }, [0.1, 0.49, 0.51, 0.79, 0.81, 0.99])).toEqual([
      1, 1, 2, 2, 0, 0,
    ]);
    // p = 0.75 is first reached by {1, 2}: u scales their mass 0.8, so id 1 up to u = 0.5 / 0.8.
    expect(await pick(row, { temperature: 1, topP: 0.75 }, [0.6, 0.65, 0.99])).toEqual([1, 2, 2]);
    expect(await pick(row, { temperature: 1, topP: 0.4 }, [0, 0.99])).toEqual([1, 1]);
    // Temperature sharpens: at 0.5 the probabilities are 0.25², 0.5², 0.3² normalised.
    expect(await pick(row, { temperature: 0.5, topK: 2 }, [0.73, 0.74])).toEqual([1, 2]);
    // Equal logits: top-k keeps the lower ids.
    expect(new Set(await pick([0, 0, 0, 0], { temperature: 1, topK: 2 }, [0.1, 0.4, 0.6, 0.9]))).toEqual(
      new Set([0, 1]),
    );
    // A row with nothing to choose gets an id outside the vocabulary, which the decode loop reports.
    const none = Number.NEGATIVE_INFINITY;
    expect(await pick([none, none, none], { temperature: 1 }, [0.5])).toEqual([3]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('picks greedily the lowest id among equal maxima', async () => {
    await useWasmBackend();
    const picker = new TokenPicker({}, 2, 5);
    const ids = tf.tidy(() =>
      picker.pick(
        tf.tensor2d([
          [1, 3, 0, 3, 3],
          [2, 2, 2, 2, 2],
        ]),
      ),
    );
    expect(Array.from(await ids.data())).toEqual([1, 0]);
    tf.dispose(ids);
    picker.dispose();
  });

  it('rejects bad options and ids with messages naming them', async () => {
    await useWasmBackend();
    const model = randomModel(
      {
        family: 'gpt2',
        vocabSize: 10,
        dim: 8,
        nLayers: 1,
        nHeads: 2,
        nKvHeads: 2,
        hiddenDim: 16,
        maxSeqLen: 8,
        normEps: 1e-5,
        ropeTheta: 1e4,
        ropeLayout: 'half',
        tieEmbeddings: true,
      },
      1,
    );
    await expect(generateIds(model, [[1]], { maxNewTokens: 2, temperature: -1 })).rejects.toThrow(
      /temperature -1/,
    );
    await expect(generateIds(model, [[1, 12]], { maxNewTokens: 2 })).rejects.toThrow(/token id 12/);
    await expect(generateIds(model, [[1]], { maxNewTokens: 2, topP: 0 })).rejects.toThrow(/topP 0/);
    const [g] = await generateIds(model, [[1, 2, 3]], { maxNewTokens: 50 });
    expect(g!.generatedIds).toHaveLength(5);
    expect(g!.finishReason).toBe('length');
    model.dispose();
  });
});
