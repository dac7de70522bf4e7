import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadLlama2c } from '../checkpoint/llama2c.ts';
import { generate } from '../decode/generate.ts';
import { tokenMask } from '../decode/processors.ts';
import { hasSharedData, sharedData, skipReasonWithoutSharedData } from '../testing/shared-data.ts';
import { useWasmBackend } from '../testing/tf-backend.ts';
import { Llama2cTokenizer } from '../tokenizer/llama2c.ts';
import { regimes } from './index.ts';
import {
  DEFAULT_RULES,
  loadRuleSet,
  type ResolvedRules,
  resolveRules,
  ruleBasedAdapterProcessor,
  ruleBias,
} from './rule-based-adapter.ts';
import { tuluPrompt } from './templates.ts';

skipReasonWithoutSharedData();

beforeAll(async () => {
  await useWasmBackend();
});

/** The bias expert's row after `generated` (t = its length), read back from the device. */
async function biasAfter(r: ResolvedRules, prompt: number[], generated: number[]): Promise<Float32Array> {
  const bias = ruleBias(r, [prompt]);
  const seen = tokenMask([generated], r.tokenBias.length);
  const row = bias.at({ step: generated.length, generated: seen });
  const values = (await row.data()) as Float32Array;
  tf.dispose([seen, row]);
  bias.dispose();
  return values;
}

/**
 * The bias expert as the host computed it before it moved to the device: token biases, the penalty once per
 * distinct token seen since the last user tag (prompt and output), and the EOS ramp after t > 0 tokens.
 */
function referenceBias(r: ResolvedRules, prompt: number[], generated: number[]): Float32Array {
  const row = Float32Array.from(r.tokenBias);
  const tag = r.userTagIds;
  let from = 0;
  for (let i = prompt.length - tag.length; i >= 0 && tag.length > 0; i--) {
    if (tag.every((id, j) => prompt[i + j] === id)) {
      from = i + tag.length;
      break;
    }
  }
  const seen = new Set([...prompt.slice(from), ...generated]);
  for (const id of seen) row[id] = (row[id] as number) + r.rules.repetition.penalty;
  const t = generated.length;
  if (t > 0) {
    const ramp = Math.min(r.rules.eos.slope * t, r.rules.eos.cap);
    for (const id of r.endIds) row[id] = (row[id] as number) + ramp;
  }
  return row;
}

describe.skipIf(!hasSharedData)('rule-based adapter', () => {
  const llama = () =>
    Llama2cTokenizer.fromFile(sharedData('tokenizers', 'llama2_sentencepiece', 'tokenizer.bin'));

  it("maps each rule string to every token with that text, with or without a leading space (Llama-2's vocabulary)", () => {
    const tok = llama();
    const r = resolveRules(DEFAULT_RULES, tok);
    const texts = tok.tokenTexts();
    // Byte-fallback pieces count too: <0x49> is also the text "I".
    expect(new Set(r.matches.I?.map((id) => texts[id]))).toEqual(new Set([' I', 'I']));
    expect(r.matches.I?.map((id) => tok.idToPiece(id)).sort()).toEqual([' I', '<0x49>', 'I']);
    expect(new Set(r.matches.What?.map((id) => texts[id]))).toEqual(new Set([' What', 'What']));
    expect(r.matches['\n']?.length).toBeGreaterThan(0);
    for (const id of r.matches.should ?? []) expect(r.tokenBias[id]).toBe(-6);
    for (const id of r.matches.I ?? []) expect(r.tokenBias[id]).toBe(-5);
    for (const id of r.matches['#'] ?? []) expect(r.tokenBias[id]).toBe(1);
    const untouched = texts.indexOf(' cat');
    expect(r.tokenBias[untouched]).toBe(0);
  });

  it('ramps the EOS bias 15·t/250 up to its cap and penalises tokens seen after the user tag', async () => {
    const tok = llama();
    const r = resolveRules(DEFAULT_RULES, tok);
    const system = tok.encode('<|system|>\nsecret words here\n', { addBos: true });
    const prompt = [...system, ...tok.encode('<|user|>\nsay hello\n<|assistant|>\n', { addBos: false })];
    const generated = tok.encode('well', { addBos: false });
    const before = tf.memory().numTensors;
    const [bias0, bias1, bias2] = [
      await biasAfter(r, prompt, []),
      await biasAfter(r, prompt, generated),
      await biasAfter(r, prompt, Array(300).fill(generated[0])),
    ];
    expect(tf.memory().numTensors).toBe(before);
    const eos = tok.eosId as number;
    expect(r.endIds).toEqual([eos]);
    expect(bias0[eos]).toBeCloseTo(0, 6);
    expect(bias1[eos]).toBeCloseTo((15 * generated.length) / 250, 5);
    expect(bias2[eos]).toBeCloseTo(15, 5);
    const hello = tok.encode('hello', { addBos: false })[0] as number;
    const secret = tok.encode('secret', { addBos: false })[0] as number;
    expect(bias0[hello]).toBeCloseTo((r.tokenBias[hello] as number) - 1.5, 5);
    expect(bias0[secret]).toBeCloseTo(r.tokenBias[secret] as number, 5);
    expect(bias1[generated[0] as number]).toBeCloseTo(
      (r.tokenBias[generated[0] as number] as number) - 1.5,
      5,
    );
    // The device's bias is the host formula's, value for value.
    expect(Array.from(bias0)).toEqual(Array.from(referenceBias(r, prompt, [])));
    expect(Array.from(bias1)).toEqual(Array.from(referenceBias(r, prompt, generated)));
  });

  it('combines the experts as log_softmax(base) + log_softmax(bias), without leaking tensors', async () => {
    const tok = llama();
    const proc = ruleBasedAdapterProcessor(DEFAULT_RULES, tok);
    const V = tok.vocabSize;
    const base = tf.randomNormal([2, V], 0, 3, 'float32', 7) as tf.Tensor2D;
    const promptIds = [tok.encode(tuluPrompt('Hi')), tok.encode(tuluPrompt('Yo'))];
    const generatedIds = [
      [5, 6, 7],
      [8, 9, 10],
    ];
    const before = tf.memory().numTensors;
    const adapter = proc.start({ promptIds, vocabSize: V });
    const generated = tokenMask(generatedIds, V);
    const out = adapter.process(base, { step: 3, generated });
    const bias = tf.tensor2d(
      [
        ...referenceBias(proc.resolved, promptIds[0]!, generatedIds[0]!),
        ...referenceBias(proc.resolved, promptIds[1]!, generatedIds[1]!),
      ],
      [2, V],
    );
    const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(out, tf.add(tf.logSoftmax(base), tf.logSoftmax(bias))))));
    expect((await diff.data())[0]).toBeLessThan(1e-4);
    tf.dispose([out, bias, diff]);
    const held = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) adapter.process(base, { step: 4 + i, generated }).dispose();
    expect(tf.memory().numTensors).toBe(held);
    adapter.dispose();
    generated.dispose();
    expect(tf.memory().numTensors).toBe(before);
    base.dispose();
  });

  it('reads an edited rule set from JSON and names the bad field', () => {
    const dir = mkdtempSync(join(tmpdir(), 'regimen-rules-'));
    const good = join(dir, 'rules.json');
    writeFileSync(good, JSON.stringify({ ...DEFAULT_RULES, tokens: [{ strings: ['cat'], bias: -2 }] }));
    const rules = loadRuleSet(good);
    const tok = llama();
    const r = resolveRules(rules, tok);
    expect(r.tokenBias[tok.tokenTexts().indexOf(' cat')]).toBe(-2);
    const procs =
      regimes.get('rule-based-adapter').logitsProcessors?.({ rulesFile: good }, { tokenizer: tok }) ?? [];
    expect(procs.map((p) => p.name)).toEqual(['rule-based-adapter']);
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ ...DEFAULT_RULES, eos: { slope: 'steep', cap: 15 } }));
    expect(() => loadRuleSet(bad)).toThrow(`${bad}: invalid rule set:\n  eos.slope:`);
  });
});

describe.skipIf(!hasSharedData)('rule-based adapter on stories260K', () => {
  it('ends generations earlier than the bare model and never emits a penalised string more often', async () => {
    const model = loadLlama2c(sharedData('llama2c_stories260K', 'stories260K.bin'));
    const tok = Llama2cTokenizer.fromFile(sharedData('llama2c_stories260K', 'tok512.bin'));
    const prompts = [
      'Tell me a story about a cat.',
      'What should I do today?',
      'Write about a big red ball.',
      'Lily and Tom went to the park.',
    ].map(tuluPrompt);
    // llama2.c models end a text with BOS (run.c stops there), so BOS is this model's end token.
    const ends = [tok.bosId, tok.eosId];
    const opts = { maxNewTokens: 300, temperature: 0, stopTokenIds: ends };
    const bare = await generate(model, tok, prompts, opts);
    const adapter = ruleBasedAdapterProcessor(DEFAULT_RULES, tok, ends);
    const adapted = await generate(model, tok, prompts, { ...opts, processors: [adapter] });
    const bareLen = bare.map((g) => g.generatedIds.length);
    const adaptedLen = adapted.map((g) => g.generatedIds.length);
    for (const [i, n] of adaptedLen.entries()) expect(n).toBeLessThanOrEqual(bareLen[i] as number);
    expect(adaptedLen.reduce((a, b) => a + b)).toBeLessThan(bareLen.reduce((a, b) => a + b));
    expect(adapted.every((g) => g.finishReason === 'eos')).toBe(true);
    for (const rule of DEFAULT_RULES.tokens.filter((t) => t.bias < 0)) {
      for (const s of rule.strings) {
        const ids = new Set(adapter.resolved.matches[s]);
        const count = (gens: typeof bare) =>
          gens.reduce((n, g) => n + g.generatedIds.filter((id) => ids.has(id)).length, 0);
        expect(count(adapted), `"${s}"`).toBeLessThanOrEqual(count(bare));
      }
    }
    model.dispose();
  }, 120_000);
});
