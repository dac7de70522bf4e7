import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { type LogitsProcessor, type StepContext, tokenMask } from '../decode/processors.ts';
import { tokensWithText } from '../tokenizer/match.ts';
import type { Tokenizer } from '../tokenizer/types.ts';
import { chatEvalPrompts } from './chat-regimes.ts';
import type { Regime } from './regime.ts';

/**
 * Hewitt et al.'s hand-written adapter, as data. Token rules name strings, not ids, so one rule set works
 * with any tokenizer: each string matches every token whose text is the string, with or without a
 * leading space.
 */
export const RuleSet = z.strictObject({
  /** EOS bias = min(slope · t, cap) after t > 0 response tokens. */
  eos: z.strictObject({ slope: z.number(), cap: z.number() }),
  /** Added once to every distinct token seen since the user tag (prompt tokens included). */
  repetition: z.strictObject({ penalty: z.number(), userTag: z.string().min(1) }),
  tokens: z.array(z.strictObject({ strings: z.array(z.string().min(1)).min(1), bias: z.number() })),
});
export type RuleSet = z.infer<typeof RuleSet>;

/** The three rules of the paper. */
export const DEFAULT_RULES: RuleSet = {
  eos: { slope: 15 / 250, cap: 15 },
  repetition: { penalty: -1.5, userTag: '<|user|>' },
  tokens: [
    { strings: ['<', '|'], bias: -4 },
    { strings: ['I', 'What'], bias: -5 },
    { strings: ['We'], bias: -3 },
    { strings: ['should'], bias: -6 },
    { strings: ['-', '*', '  ', '#', '##', '\n', '!'], bias: 1 },
  ],
};

export function loadRuleSet(file: string): RuleSet {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file}: cannot read rule set: ${(e as Error).message}`);
  }
  const parsed = RuleSet.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new Error(`${file}: invalid rule set:\n${lines.join('\n')}`);
  }
  return parsed.data;
}

/** A rule set resolved against one tokenizer. */
export interface ResolvedRules {
  /** [V] static bias from the token rules. */
  tokenBias: Float32Array;
  /** Which ids each rule string matched (empty when the vocabulary has no such token). */
  matches: Record<string, number[]>;
  /** Ids the EOS rule raises: the tokenizer's EOS unless the model ends text with another token. */
  endIds: number[];
  userTagIds: number[];
  rules: RuleSet;
}

export function resolveRules(rules: RuleSet, tokenizer: Tokenizer, endIds?: number[]): ResolvedRules {
  const ends = endIds ?? (tokenizer.eosId === undefined ? [] : [tokenizer.eosId]);
  if (ends.length === 0) throw new Error(`tokenizer ${tokenizer.kind} has no end-of-sequence token`);
  const texts = tokenizer.tokenTexts();
  const tokenBias = new Float32Array(tokenizer.vocabSize);
  const matches: Record<string, number[]> = {};
  for (const rule of rules.tokens) {
    for (const s of rule.strings) {
      const ids = tokensWithText(tokenizer, s, texts);
      matches[s] = ids;
      for (const id of ids) tokenBias[id] = (tokenBias[id] as number) + rule.bias;
    }
  }
  const userTagIds = tokenizer.encode(rules.repetition.userTag, { addBos: false });
  return { tokenBias, matches, endIds: ends, userTagIds, rules };
}

/** Index just past the last occurrence of `tag` in `ids`, or 0 when the tag does not occur. */
function afterLast(ids: readonly number[], tag: readonly number[]): number {
  if (tag.length === 0) return 0;
  for (let i = ids.length - tag.length; i >= 0; i--) {
    let ok = true;
    for (let j = 0; j < tag.length && ok; j++) ok = ids[i + j] === tag[j];
    if (ok) return i + tag.length;
  }
  return 0;
}

/** The EOS ramp after t generated tokens: min(slope · t, cap) once t > 0, else 0. */
export function eosRamp(rules: RuleSet, t: number): number {
  return t > 0 ? Math.min(rules.eos.slope * t, rules.eos.cap) : 0;
}

/** The bias expert of one generation on the device; `dispose()` frees what it uploaded. */
export interface RuleBias {
  /** The bias expert's logits [B, V] at a decode step. */
  at(ctx: StepContext): tf.Tensor2D;
  dispose(): void;
}

/**
 * The bias expert for a batch of prompts: the static token biases [V], each row's prompt tokens since the last
 * user tag [B, V] and the end ids' weights [V] are uploaded once; at each step the seen tokens come from the
 * decode state on the device and the EOS ramp is one scalar.
 */
export function ruleBias(r: ResolvedRules, promptIds: readonly (readonly number[])[]): RuleBias {
  const V = r.tokenBias.length;
  const tokenBias = tf.tensor1d(r.tokenBias); // [V]
  const sinceTag = tokenMask(
    promptIds.map((p) => p.slice(afterLast(p, r.userTagIds))),
    V,
  ); // [B, V]
  // An end id listed twice gets the ramp twice, as it always has.
  const endWeights = new Float32Array(V);
  for (const id of r.endIds) endWeights[id] = (endWeights[id] as number) + 1;
  const ends = tf.tensor1d(endWeights); // [V]
  const penalty = tf.scalar(r.rules.repetition.penalty);
  return {
    at(ctx) {
      return tf.tidy(() => {
        const seen = tf.maximum(sinceTag, ctx.generated); // [B, V], 0 or 1
        const ramp = tf.scalar(eosRamp(r.rules, ctx.step));
        return tf.add(tf.add(tokenBias, tf.mul(seen, penalty)), tf.mul(ends, ramp)) as tf.Tensor2D; // [B, V]
      });
    },
    dispose() {
      tf.dispose([tokenBias, sinceTag, ends, penalty]);
    },
  };
}

/**
 * Product of experts: log_softmax(base logits) + log_softmax(rule bias). `endIds` are the tokens that end a
 * response for this model (llama2.c models end a text with BOS, as run.c does); default the tokenizer's EOS.
 */
export function ruleBasedAdapterProcessor(
  rules: RuleSet,
  tokenizer: Tokenizer,
  endIds?: number[],
): LogitsProcessor & { resolved: ResolvedRules } {
  const resolved = resolveRules(rules, tokenizer, endIds);
  return {
    name: 'rule-based-adapter',
    resolved,
    start({ promptIds, vocabSize }) {
      if (vocabSize !== resolved.tokenBias.length) {
        throw new Error(
          `rule-based adapter: logits have ${vocabSize} columns but the tokenizer has ${resolved.tokenBias.length} tokens`,
        );
      }
      const bias = ruleBias(resolved, promptIds);
      return {
        process(logits, ctx) {
          return tf.tidy(() => tf.add(tf.logSoftmax(logits), tf.logSoftmax(bias.at(ctx))) as tf.Tensor2D); // [B, V]
        },
        dispose: () => bias.dispose(),
      };
    },
  };
}

const AdapterParams = z.strictObject({
  /** A JSON rule set replacing the paper's rules. */
  rulesFile: z.string().min(1).optional(),
  rules: RuleSet.optional(),
});
type AdapterParams = z.infer<typeof AdapterParams>;

export function rulesFromParams(p: AdapterParams): RuleSet {
  return p.rules ?? (p.rulesFile ? loadRuleSet(p.rulesFile) : DEFAULT_RULES);
}

export const ruleBasedAdapter: Regime<AdapterParams> = {
  name: 'rule-based-adapter',
  version: 1,
  description:
    'No training: the base model combined at decoding time with hand-written rules as a product of experts (EOS ramp 15·t/250, −1.5 on tokens already seen after the user tag, fixed biases on 15 tokens). Rules are data and can be edited.',
  params: AdapterParams,
  kind: 'decode',
  evalPrompts: (rows, _p, ctx) => chatEvalPrompts(rows, ctx),
  logitsProcessors: (p, { tokenizer, endIds }) => [
    ruleBasedAdapterProcessor(rulesFromParams(p), tokenizer, endIds),
  ],
};
