import * as tf from '@tensorflow/tfjs-core';

/** What a processor learns once, when a generation starts. */
export interface DecodeStart {
  /** Each row's prompt ids, without padding. */
  promptIds: readonly (readonly number[])[];
  vocabSize: number;
}

/** What every processor sees at a decode step. The decode loop owns it and keeps it on the device. */
export interface StepContext {
  /** t: tokens generated so far by every row still decoding (0 for the first generated token). */
  step: number;
  /**
   * [B, V] float32: 1 where the row generated that token at an earlier step, 0 elsewhere. Updated on the device
   * from the chosen ids; rows that already ended hold whatever was decoded after their end (their logits are
   * ignored).
   */
  generated: tf.Tensor2D;
}

/**
 * A stage of the decoding pipeline: rewrites next-token logits [B, V] before a token is chosen. Regimes plug in
 * here (the rule-based adapter, repetition penalties). `start` runs once per generation and may upload what
 * it needs for it (prompt masks, constants); a step must not upload anything of size V or B×V, nor read a
 * tensor back.
 */
export interface LogitsProcessor {
  name: string;
  start(run: DecodeStart): ActiveProcessor;
}

/** A processor during one generation: its device state, freed by `dispose`. */
export interface ActiveProcessor {
  /** Called inside a tidy scope; must not dispose its input. */
  process(logits: tf.Tensor2D, ctx: StepContext): tf.Tensor2D;
  dispose(): void;
}

/**
 * [B, V] float32 with 1 at each id a row lists (ids outside [0, V) are skipped) and 0 elsewhere, built on the
 * device from the ids: what a processor's `start` uploads for prompt tokens.
 */
export function tokenMask(rows: readonly (readonly number[])[], vocabSize: number): tf.Tensor2D {
  const coords: number[] = [];
  rows.forEach((ids, r) => {
    for (const id of ids) if (Number.isInteger(id) && id >= 0 && id < vocabSize) coords.push(r, id);
  });
  const shape: [number, number] = [rows.length, vocabSize];
  if (coords.length === 0) return tf.zeros(shape);
  return tf.tidy(() => {
    const n = coords.length / 2;
    const counts = tf.scatterND(tf.tensor2d(coords, [n, 2], 'int32'), tf.ones([n]), shape); // [B, V]
    return tf.minimum(counts, 1) as tf.Tensor2D; // repeated ids add up in the scatter
  });
}

/** The tokens each row has generated, as {@link StepContext.generated}: updated from the chosen ids on the device. */
export class GeneratedTokens {
  mask: tf.Tensor2D;

  constructor(
    batch: number,
    private readonly vocabSize: number,
  ) {
    this.mask = tf.zeros([batch, vocabSize]);
  }

  /** Adds ids [B] int32, one per row (an id outside [0, V) adds nothing). */
  record(ids: tf.Tensor1D): void {
    const next = tf.tidy(() => {
      // oneHot as int32: wasm's OneHot ignores a float32 dtype and writes integer bits.
      const hit = tf.cast(tf.oneHot(ids, this.vocabSize), 'float32'); // [B, V]
      return tf.maximum(this.mask, hit) as tf.Tensor2D;
    });
    this.mask.dispose();
    this.mask = next;
  }

  dispose(): void {
    this.mask.dispose();
  }
}

/** Runs processors in order, each on the previous one's output, inside one tidy scope. */
export function applyProcessors(
  logits: tf.Tensor2D,
  active: ActiveProcessor[],
  ctx: StepContext,
): tf.Tensor2D {
  return tf.tidy(() => active.reduce((x, p) => p.process(x, ctx), logits));
}

/**
 * Hugging Face's repetition penalty (Keskar et al. 2019, CTRL): every token already in the prompt or the
 * output has its logit divided by `penalty` when positive and multiplied by it when negative.
 */
export function repetitionPenalty(penalty: number): LogitsProcessor {
  if (!(penalty > 0)) throw new RangeError(`repetition penalty ${penalty}: expected > 0`);
  return {
    name: `repetition-penalty(${penalty})`,
    start({ promptIds, vocabSize }) {
      const inPrompt = tokenMask(promptIds, vocabSize); // [B, V]
      const factor = tf.scalar(penalty);
      const zero = tf.scalar(0);
      return {
        process(logits, ctx) {
          return tf.tidy(() => {
            const seen = tf.greater(tf.maximum(inPrompt, ctx.generated), zero); // [B, V]
            const penalized = tf.where(
              tf.greater(logits, zero),
              tf.div(logits, factor),
              tf.mul(logits, factor),
            );
            return tf.where(seen, penalized, logits) as tf.Tensor2D; // [B, V]
          });
        },
        dispose() {
          tf.dispose([inPrompt, factor, zero]);
        },
      };
    },
  };
}
