import * as tf from '@tensorflow/tfjs-core';
import type { DecoderModel } from '../model/types.ts';
import type { Tokenizer } from '../tokenizer/types.ts';
import { applyProcessors, type LogitsContext, type LogitsProcessor } from './processors.ts';
import { checkSampling, Rng, type SamplingOptions, sampleToken } from './sampling.ts';

/** The part of a tokenizer that decoding needs. */
export type TextCodec = Pick<Tokenizer, 'encode' | 'decode' | 'bosId' | 'eosId' | 'padId'>;

export type FinishReason = 'eos' | 'stop' | 'length';

export interface GenerateOptions extends SamplingOptions {
  /** Upper bound on generated tokens per row; fewer when the model's context runs out first. */
  maxNewTokens: number;
  /** Seed of the sampling generator (ignored when greedy). Default 0. */
  seed?: number;
  /** Text that ends a row; the returned text stops before it. */
  stop?: string[];
  /** Ids that end a row and are left out of the text. Default: the tokenizer's (or model's) EOS id. */
  stopTokenIds?: number[];
  processors?: LogitsProcessor[];
  /** Reuse keys and values of earlier positions (default true); false recomputes the whole sequence per token. */
  useCache?: boolean;
  /**
   * Called after every decoding step with each row's new id, or null for a row that ended at an earlier step;
   * a stop id is reported too, as it is in `generatedIds`.
   */
  onToken?: (step: number, tokens: (number | null)[]) => void;
}

export interface Generation {
  promptIds: number[];
  /** Every generated id, including a final EOS or the tokens of a stop string. */
  generatedIds: number[];
  /** Generated text, without EOS and cut before a stop string. */
  text: string;
  finishReason: FinishReason;
}

/**
 * Encodes prompts as the tokenizer does by default (Llama tokenizers add BOS, GPT-2's does not; an empty
 * prompt becomes BOS alone) and generates a continuation of each.
 */
export function generate(
  model: DecoderModel,
  tokenizer: TextCodec,
  prompts: string[],
  opts: GenerateOptions,
): Generation[] {
  return generateIds(model, encodePrompts(tokenizer, prompts), { ...opts, tokenizer });
}

/**
 * {@link generate} that returns to the event loop after every token, so a server can send each token (seen
 * through `onToken`) while the rest decode. The tokens are the ones {@link generate} picks.
 */
export async function generateAsync(
  model: DecoderModel,
  tokenizer: TextCodec,
  prompts: string[],
  opts: GenerateOptions,
): Promise<Generation[]> {
  const steps = decodeSteps(model, encodePrompts(tokenizer, prompts), { ...opts, tokenizer });
  try {
    for (;;) {
      const next = steps.next();
      if (next.done) return next.value;
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
  } finally {
    // Disposes the KV cache when a step threw or the caller stopped listening.
    steps.return([]);
  }
}

function encodePrompts(tokenizer: TextCodec, prompts: string[]): number[][] {
  return prompts.map((p) => {
    const encoded = tokenizer.encode(p);
    return encoded.length === 0 && tokenizer.bosId !== undefined ? [tokenizer.bosId] : encoded;
  });
}

/**
 * Continues each row of prompt ids. Rows are left-padded to one length and decoded together; each row
 * ends on a stop id, a stop string, or the token limit.
 */
export function generateIds(
  model: DecoderModel,
  promptIds: number[][],
  opts: GenerateOptions & { tokenizer?: TextCodec },
): Generation[] {
  const steps = decodeSteps(model, promptIds, opts);
  for (;;) {
    const next = steps.next();
    if (next.done) return next.value;
  }
}

/** The decoding loop of {@link generateIds}, pausing after each token; its return value is the result. */
function* decodeSteps(
  model: DecoderModel,
  promptIds: number[][],
  opts: GenerateOptions & { tokenizer?: TextCodec },
): Generator<void, Generation[], void> {
  checkSampling(opts);
  if (!(Number.isInteger(opts.maxNewTokens) && opts.maxNewTokens >= 0)) {
    throw new RangeError(`maxNewTokens ${opts.maxNewTokens}: expected an integer ≥ 0`);
  }
  if (promptIds.length === 0) return [];
  const { vocabSize, maxSeqLen } = model.config;
  promptIds.forEach((row, r) => {
    if (row.length === 0) throw new Error(`prompt ${r} has no tokens; encode it with a BOS token`);
    for (const id of row) {
      if (!(Number.isInteger(id) && id >= 0 && id < vocabSize)) {
        throw new RangeError(
          `prompt ${r}: token id ${id} is outside the model's vocabulary [0, ${vocabSize})`,
        );
      }
    }
  });
  const tok = opts.tokenizer;
  if (opts.stop?.length && !tok) throw new Error('stop strings need a tokenizer to decode with');
  const eos = tok?.eosId ?? model.config.eosTokenId;
  const stopIds = new Set(opts.stopTokenIds ?? (eos === undefined ? [] : [eos]));
  const b = promptIds.length;
  const width = Math.max(...promptIds.map((p) => p.length));
  if (width >= maxSeqLen)
    throw new Error(`prompt of ${width} tokens leaves no room in the model's context of ${maxSeqLen}`);
  const steps = Math.min(opts.maxNewTokens, maxSeqLen - width);
  const pad = tok?.padId ?? eos ?? 0;
  const padded = promptIds.flatMap((p) => [...new Array(width - p.length).fill(pad), ...p]);
  const maskValues = promptIds.flatMap((p) => [
    ...new Array(width - p.length).fill(0),
    ...new Array(p.length).fill(1),
  ]);
  const needsMask = promptIds.some((p) => p.length < width);

  const rng = new Rng(opts.seed ?? 0);
  const ctx: LogitsContext = { step: 0, promptIds, generatedIds: promptIds.map(() => []) };
  const finish: (FinishReason | null)[] = new Array(b).fill(null);
  const texts: string[] = new Array(b).fill('');
  const processors = opts.processors ?? [];

  /** Picks each unfinished row's next token from logits [B, V] (disposed here); true when all rows ended. */
  const choose = (logits: tf.Tensor2D): boolean => {
    const processed = processors.length ? applyProcessors(logits, processors, ctx) : logits;
    const values = processed.dataSync();
    if (processed !== logits) processed.dispose();
    logits.dispose();
    const picked: (number | null)[] = new Array(b).fill(null);
    for (let r = 0; r < b; r++) {
      if (finish[r]) continue;
      const id = sampleToken(values.subarray(r * vocabSize, (r + 1) * vocabSize), opts, rng);
      picked[r] = id;
      const out = ctx.generatedIds[r]!;
      out.push(id);
      if (stopIds.has(id)) {
        finish[r] = 'eos';
        continue;
      }
      if (opts.stop?.length && tok) {
        const text = continuation(tok, promptIds[r]!, out);
        const cut = Math.min(...opts.stop.map((s) => (s ? text.indexOf(s) : -1)).filter((i) => i >= 0));
        if (Number.isFinite(cut)) {
          finish[r] = 'stop';
          texts[r] = text.slice(0, cut);
        }
      }
    }
    opts.onToken?.(ctx.step, picked);
    ctx.step++;
    return finish.every((f) => f !== null);
  };

  // What each row is fed after its prompt: its generated tokens, then padding once it has ended, so the
  // batch stays rectangular; logits of ended rows are ignored.
  const feeds: number[][] = promptIds.map(() => []);
  const extendFeeds = () => {
    feeds.forEach((f, r) => {
      const out = ctx.generatedIds[r]!;
      f.push(out.length > f.length ? out[out.length - 1]! : pad);
    });
  };

  if (steps > 0 && opts.useCache === false) {
    for (let s = 0; s < steps; s++) {
      const seq = width + s;
      const logits = tf.tidy(() => {
        const tokens = tf.tensor2d(
          feeds.flatMap((f, r) => [...padded.slice(r * width, (r + 1) * width), ...f]),
          [b, seq],
          'int32',
        );
        const mask = needsMask
          ? feeds.map((f, r) => [...maskValues.slice(r * width, (r + 1) * width), ...f.map(() => 1)])
          : undefined;
        const all = model.logits(tokens, { mask }); // [B, seq, V]
        return tf.reshape(tf.slice(all, [0, seq - 1, 0], [b, 1, vocabSize]), [b, vocabSize]) as tf.Tensor2D;
      });
      if (choose(logits)) break;
      yield;
      extendFeeds();
    }
  } else if (steps > 0) {
    const cache = model.createCache(b, width + steps);
    try {
      const first = tf.tidy(() => {
        const tokens = tf.tensor2d(padded, [b, width], 'int32');
        const mask = needsMask
          ? promptIds.map((_, r) => maskValues.slice(r * width, (r + 1) * width))
          : undefined;
        return model.forwardCached(tokens, cache, { mask });
      });
      let done = choose(first);
      for (let s = 1; s < steps && !done; s++) {
        yield;
        extendFeeds();
        const fed = feeds.map((f) => f[f.length - 1]!);
        done = choose(tf.tidy(() => model.forwardCached(tf.tensor2d(fed, [b, 1], 'int32'), cache)));
      }
    } finally {
      cache.dispose();
    }
  }

  return promptIds.map((p, r) => {
    const generated = ctx.generatedIds[r]!;
    const reason = finish[r] ?? 'length';
    const ids = reason === 'eos' ? generated.slice(0, -1) : generated;
    return {
      promptIds: p,
      generatedIds: generated,
      text: reason === 'stop' ? texts[r]! : tok ? continuation(tok, p, ids) : '',
      finishReason: reason,
    };
  });
}

/**
 * The text the generated ids add to the prompt. Decoding them alone would lose a leading space (tokenizers
 * strip the dummy-prefix space of a sequence's first piece), so the prompt is decoded with them.
 */
function continuation(tok: TextCodec, prompt: number[], generated: number[]): string {
  const before = tok.decode(prompt);
  const all = tok.decode([...prompt, ...generated]);
  return all.startsWith(before) ? all.slice(before.length) : tok.decode(generated);
}
