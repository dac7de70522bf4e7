import * as tf from '@tensorflow/tfjs-core';
import type { DecoderModel } from '../model/types.ts';
import type { Tokenizer } from '../tokenizer/types.ts';
import { yieldToEventLoop } from '../util/event-loop.ts';
import { applyProcessors, GeneratedTokens, type LogitsProcessor } from './processors.ts';
import { checkSampling, drawUniforms, Rng, type SamplingOptions, TokenPicker } from './sampling.ts';

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
   * a stop id is reported too, as it is in `generatedIds`. Decoding returns to the event loop after each step,
   * so a server can send each token while the rest decode; a listener that throws ends the
   * generation (the error propagates).
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
): Promise<Generation[]> {
  return generateIds(model, encodePrompts(tokenizer, prompts), { ...opts, tokenizer });
}

/**
 * A prompt that leaves no room in the model's context, cut from the left as lm-evaluation-harness cuts its
 * contexts: it keeps the last `maxSeqLen − maxNewTokens` tokens (at least one), and a leading BOS. Prompts that
 * fit are returned as they are. `truncated` says whether it was cut.
 */
export function fitPrompt(
  ids: number[],
  maxSeqLen: number,
  maxNewTokens: number,
  bosId?: number,
): { ids: number[]; truncated: boolean } {
  if (ids.length < maxSeqLen) return { ids, truncated: false };
  const bos = bosId !== undefined && ids[0] === bosId ? [bosId] : [];
  const keep = Math.max(1, maxSeqLen - maxNewTokens - bos.length);
  return { ids: [...bos, ...ids.slice(ids.length - keep)], truncated: true };
}

/** Prompts as the tokenizer encodes them by default (an empty prompt becomes BOS alone). */
export function encodePrompts(tokenizer: TextCodec, prompts: string[]): number[][] {
  return prompts.map((p) => {
    const encoded = tokenizer.encode(p);
    return encoded.length === 0 && tokenizer.bosId !== undefined ? [tokenizer.bosId] : encoded;
  });
}

/** One decode step in flight: the chosen ids on the device, and their readback. */
interface Step {
  ids: tf.Tensor1D; // [B] int32
  values: Promise<Int32Array>;
}

/** The model passes of one generation: the prompt, then one fed token per row at a time. */
interface Forward {
  /** Logits [B, V] after the prompt. */
  first(): tf.Tensor2D;
  /** Logits [B, V] after each row is fed one more token, `fed` [B, 1] int32. */
  next(fed: tf.Tensor2D): tf.Tensor2D;
  dispose(): void;
}

/**
 * Continues each row of prompt ids. Rows are left-padded to one length and decoded together; each row
 * ends on a stop id, a stop string, or the token limit.
 *
 * Everything per token stays on the device: the logits, the processors and their state, the choice of the
 * token and the feeding of it into the next step. A step reads back only the chosen ids [B], asynchronously,
 * and the next step is issued before they arrive, so the host's bookkeeping (stop strings, `onToken`) overlaps
 * the device's next step; when every row has ended, the one step issued ahead is discarded.
 */
export async function generateIds(
  model: DecoderModel,
  promptIds: number[][],
  opts: GenerateOptions & { tokenizer?: TextCodec },
): Promise<Generation[]> {
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

  const generatedIds: number[][] = promptIds.map(() => []);
  const finish: (FinishReason | null)[] = new Array(b).fill(null);
  const texts: string[] = new Array(b).fill('');
  if (steps > 0) {
    await decode(model, promptIds, opts, { width, steps, pad, stopIds, generatedIds, finish, texts });
  }

  return promptIds.map((p, r) => {
    const generated = generatedIds[r]!;
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

/** The decoding loop of {@link generateIds}: fills `generatedIds`, `finish` and `texts` row by row. */
async function decode(
  model: DecoderModel,
  promptIds: number[][],
  opts: GenerateOptions & { tokenizer?: TextCodec },
  run: {
    width: number;
    steps: number;
    pad: number;
    stopIds: Set<number>;
    generatedIds: number[][];
    finish: (FinishReason | null)[];
    texts: string[];
  },
): Promise<void> {
  const { width, steps, pad, stopIds, generatedIds, finish, texts } = run;
  const { vocabSize } = model.config;
  const b = promptIds.length;
  const tok = opts.tokenizer;
  const stops = opts.stop?.length && tok ? opts.stop : null;
  const processors = opts.processors ?? [];

  // Device state, all freed in the finally below.
  const owned: { dispose(): void }[] = [];
  const own = <T extends { dispose(): void }>(x: T): T => {
    owned.push(x);
    return x;
  };
  let inFlight: Step[] = [];
  // Which rows ended at an earlier step ([B] bool): they are fed padding. Only needed when rows can end early.
  let ended: tf.Tensor1D | null = null;
  try {
    const picker = own(new TokenPicker(opts, b, vocabSize));
    const active = processors.map((p) => own(p.start({ promptIds, vocabSize })));
    const history = active.length ? own(new GeneratedTokens(b, vocabSize)) : null;
    // Each row samples from its own stream, so its tokens do not depend on when the other rows end.
    const rngs = picker.sampling ? promptIds.map((_, r) => new Rng(rowSeed(opts.seed ?? 0, r))) : null;
    const stopList = stopIds.size ? own(tf.tensor1d([...stopIds], 'int32')) : null; // [S]
    const pads = own(tf.fill([b], pad, 'int32')); // [B]
    const vocabEnd = own(tf.scalar(vocabSize, 'int32'));
    if (stopList || stops) ended = tf.zeros([b], 'bool');
    const forward = own(
      opts.useCache === false
        ? fullForward(model, promptIds, width, pad)
        : cachedForward(model, promptIds, width, steps, pad),
    );

    /**
     * What each row is fed after a step's ids [B]: the id, or padding for a row that ended at an earlier step
     * (the batch stays rectangular; logits of ended rows are ignored). Inside the step's tidy scope.
     */
    const feed = (ids: tf.Tensor1D): tf.Tensor2D => {
      let next = ids;
      // A sampling row with no token to choose (an error once read back) is fed padding meanwhile.
      if (picker.sampling) next = tf.where(tf.less(next, vocabEnd), next, pads) as tf.Tensor1D;
      if (ended) next = tf.where(ended, pads, next) as tf.Tensor1D;
      return tf.reshape(next, [b, 1]); // [B, 1]
    };

    /** Marks the rows whose id [B] is a stop id as ended, once that id has been fed. */
    const markStops = (ids: tf.Tensor1D): void => {
      if (!ended || !stopList) return;
      const before = ended;
      ended = tf.tidy(() => {
        const isStop = tf.any(tf.equal(tf.reshape(ids, [b, 1]), stopList), 1); // [B]
        return tf.logicalOr(before, isStop) as tf.Tensor1D;
      });
      before.dispose();
    };

    /** Issues step s on the device, after the previous step's ids (null for the first step). */
    const issue = (s: number, previous: Step | null): Step => {
      const ids = tf.tidy(() => {
        const logits = previous ? forward.next(feed(previous.ids)) : forward.first(); // [B, V]
        const processed = history
          ? applyProcessors(logits, active, { step: s, generated: history.mask })
          : logits;
        return picker.pick(processed, rngs ? drawUniforms(rngs) : undefined); // [B]
      });
      if (previous) markStops(previous.ids);
      history?.record(ids);
      return { ids, values: ids.data() as Promise<Int32Array> };
    };

    /** Takes step s's ids on the host; true when every row has ended. */
    const absorb = (s: number, values: Int32Array): boolean => {
      const picked: (number | null)[] = new Array(b).fill(null);
      const endedNow: number[] = [];
      for (let r = 0; r < b; r++) {
        if (finish[r]) continue;
        const id = values[r]!;
        if (!(id >= 0 && id < vocabSize))
          throw new Error(`sampling: every logit of row ${r} is -Infinity or NaN`);
        picked[r] = id;
        const out = generatedIds[r]!;
        out.push(id);
        if (stopIds.has(id)) {
          finish[r] = 'eos';
          continue;
        }
        if (stops && tok) {
          const text = continuation(tok, promptIds[r]!, out);
          const cut = Math.min(...stops.map((x) => (x ? text.indexOf(x) : -1)).filter((i) => i >= 0));
          if (Number.isFinite(cut)) {
            finish[r] = 'stop';
            texts[r] = text.slice(0, cut);
            endedNow.push(r);
          }
        }
      }
      opts.onToken?.(s, picked);
      if (endedNow.length && ended) {
        // Stop strings are found on the host; the device learns of them before the step after next is issued.
        const before = ended;
        ended = tf.tidy(() => {
          const flags = tf.tensor1d(
            promptIds.map((_, r) => endedNow.includes(r)),
            'bool',
          );
          return tf.logicalOr(before, flags) as tf.Tensor1D;
        });
        before.dispose();
      }
      return finish.every((f) => f !== null);
    };

    inFlight = [issue(0, null)];
    for (let s = 0; s < steps; s++) {
      const current = inFlight[0]!;
      if (s + 1 < steps) inFlight.push(issue(s + 1, current));
      const values = await current.values;
      inFlight.shift();
      current.ids.dispose();
      if (absorb(s, values)) break;
      // Between steps, timers and I/O run: a listener's stream, a job's heartbeat, a cancel request.
      await yieldToEventLoop();
    }
  } finally {
    // A step issued ahead of the end (or of an error) is read to completion before its tensors go.
    for (const step of inFlight) {
      await step.values.catch(() => undefined);
      step.ids.dispose();
    }
    (ended as tf.Tensor1D | null)?.dispose();
    for (const x of owned.reverse()) x.dispose();
  }
}

/** The seed of row r's sampling stream: the generation's seed for row 0, so a lone prompt samples from it. */
function rowSeed(seed: number, r: number): number {
  return (seed ^ Math.imul(r, 0x9e3779b9)) >>> 0;
}

/** Logits of the last position [B, V] of logits [B, T, V]. */
function lastPosition(all: tf.Tensor3D): tf.Tensor2D {
  const [b, t, v] = all.shape;
  return tf.reshape(tf.slice(all, [0, t - 1, 0], [b, 1, v]), [b, v]);
}

/** Left-padded prompts [B, width] int32 and their attention mask rows (undefined when no row is padded). */
function paddedPrompts(promptIds: number[][], width: number, pad: number) {
  const flat = promptIds.flatMap((p) => [...new Array(width - p.length).fill(pad), ...p]);
  const needsMask = promptIds.some((p) => p.length < width);
  const mask = needsMask
    ? promptIds.map((p) => [...new Array(width - p.length).fill(0), ...new Array(p.length).fill(1)])
    : undefined;
  return { flat, mask };
}

/** Reuses keys and values of earlier positions: the prompt once, then one token per row per step. */
function cachedForward(
  model: DecoderModel,
  promptIds: number[][],
  width: number,
  steps: number,
  pad: number,
): Forward {
  const b = promptIds.length;
  const cache = model.createCache(b, width + steps);
  return {
    first() {
      const { flat, mask } = paddedPrompts(promptIds, width, pad);
      return model.forwardCached(tf.tensor2d(flat, [b, width], 'int32'), cache, { mask });
    },
    next: (fed) => model.forwardCached(fed, cache),
    dispose: () => cache.dispose(),
  };
}

/**
 * Recomputes the whole sequence per token. The sequence grows on the device; the mask (host bookkeeping) marks
 * the prompt's padding, and every fed token as real.
 */
function fullForward(model: DecoderModel, promptIds: number[][], width: number, pad: number): Forward {
  const b = promptIds.length;
  const { flat, mask } = paddedPrompts(promptIds, width, pad);
  let tokens: tf.Tensor2D | null = null; // [B, width + fed]
  const pass = () =>
    lastPosition(
      model.logits(tokens!, {
        mask: mask?.map((m) => [...m, ...new Array(tokens!.shape[1] - width).fill(1)]),
      }),
    );
  return {
    first() {
      tokens = tf.keep(tf.tensor2d(flat, [b, width], 'int32'));
      return pass();
    },
    next(fed) {
      const before = tokens!;
      tokens = tf.keep(tf.concat([before, fed], 1));
      before.dispose();
      return pass();
    },
    dispose: () => tokens?.dispose(),
  };
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
