import * as tf from '@tensorflow/tfjs-core';

/**
 * Choosing the next tokens from logits [B, V] on the device: greedy, or sampling with temperature, top-k and
 * top-p. Sampling draws its uniforms from Regimen's own seeded generator on the host (one float per row per
 * step), so a seed gives the same tokens on every machine and backend, up to float rounding.
 */

/** sfc32, seeded through splitmix32: small, fast, and the same sequence everywhere. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    let s = seed >>> 0;
    const next = () => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
    for (let i = 0; i < 12; i++) this.uint32();
  }

  uint32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.uint32() / 4294967296;
  }
}

export interface SamplingOptions {
  /** 0 (the default) means greedy: the highest logit, the lowest id on ties. */
  temperature?: number;
  /** Keep only the k most likely tokens (0 or undefined: all). */
  topK?: number;
  /** Keep the smallest set of most likely tokens whose probability reaches p (1 or undefined: all). */
  topP?: number;
}

/** Checks sampling options, naming the bad one. */
export function checkSampling(o: SamplingOptions): void {
  if (o.temperature !== undefined && !(o.temperature >= 0))
    throw new RangeError(`temperature ${o.temperature}: expected ≥ 0`);
  if (o.topK !== undefined && !(Number.isInteger(o.topK) && o.topK >= 0))
    throw new RangeError(`topK ${o.topK}: expected an integer ≥ 0`);
  if (o.topP !== undefined && !(o.topP > 0 && o.topP <= 1))
    throw new RangeError(`topP ${o.topP}: expected 0 < p ≤ 1`);
}

/**
 * The largest uniform handed to the device: u · mass then stays below the mass in float32 (a draw that rounds
 * up to 1 would land past the last token).
 */
const MAX_UNIFORM = 1 - 2 ** -23;

/** Each row's uniform for one step, from that row's generator: [B] float32, the only upload of a sampling step. */
export function drawUniforms(rngs: Rng[]): tf.Tensor1D {
  return tf.tensor1d(
    rngs.map((r) => Math.min(r.next(), MAX_UNIFORM)),
    'float32',
  );
}

/**
 * Whether tf.argMax on the active backend takes the lowest id among equal maxima: cpu and wasm scan a row in
 * order and keep the first maximum. On webgpu a tie goes to whichever workgroup thread saw its id (a row of
 * maxima at 70, 1500 and 2000 gives 2000), and tensorflow's GPU kernel promises nothing either.
 */
function argMaxTakesLowestId(): boolean {
  const backend = tf.getBackend();
  return backend === 'cpu' || backend === 'wasm';
}

/** Device constants of greedy decoding where tf.argMax cannot be trusted with ties: [B, V] int32 each. */
interface LowestMaximum {
  /** Each column's id. */
  ids: tf.Tensor2D;
  /** V − 1, what a row without a maximum (NaN) gets. */
  last: tf.Tensor2D;
}

/** Device constants of sampling. */
interface Sampler {
  k: number;
  temperature: tf.Scalar;
  topP: tf.Scalar | null;
  zero: tf.Scalar;
  zeroInt: tf.Scalar;
  oneInt: tf.Scalar;
  /** [B] int32: where each row starts in the flattened [B, k] candidates. */
  rowStart: tf.Tensor1D;
  /** [B] int32 filled with {@link TokenPicker.noToken}. */
  noTokens: tf.Tensor1D;
}

/**
 * Picks the next token of every row on the device. Built once per generation for B rows of V logits: its
 * constants are uploaded once. `dispose()` frees them.
 */
export class TokenPicker {
  readonly sampling: boolean;
  /**
   * The id a sampling row gets when no token has a probability (every logit -Infinity or NaN): V, outside the
   * vocabulary. Greedy never gives it.
   */
  readonly noToken: number;
  private readonly lowest: LowestMaximum | null = null;
  private readonly sampler: Sampler | null = null;

  constructor(
    opts: SamplingOptions,
    readonly batch: number,
    readonly vocabSize: number,
  ) {
    checkSampling(opts);
    const temperature = opts.temperature ?? 0;
    this.sampling = temperature > 0;
    this.noToken = vocabSize;
    if (!this.sampling) {
      if (argMaxTakesLowestId()) return;
      this.lowest = tf.tidy(() => ({
        ids: tf.tile(tf.reshape(tf.range(0, vocabSize, 1, 'int32'), [1, vocabSize]), [
          batch,
          1,
        ]) as tf.Tensor2D,
        last: tf.fill([batch, vocabSize], vocabSize - 1, 'int32') as tf.Tensor2D,
      }));
      return;
    }
    const k = opts.topK && opts.topK < vocabSize ? opts.topK : vocabSize;
    this.sampler = {
      k,
      temperature: tf.scalar(temperature),
      topP: opts.topP !== undefined && opts.topP < 1 ? tf.scalar(opts.topP) : null,
      zero: tf.scalar(0),
      zeroInt: tf.scalar(0, 'int32'),
      oneInt: tf.scalar(1, 'int32'),
      rowStart: tf.tidy(() => tf.mul(tf.range(0, batch, 1, 'int32'), tf.scalar(k, 'int32')) as tf.Tensor1D),
      noTokens: tf.fill([batch], vocabSize, 'int32') as tf.Tensor1D,
    };
  }

  /**
   * Ids [B] int32 for logits [B, V]; `uniforms` [B] in [0, 1) when sampling (see {@link drawUniforms}).
   * Greedy takes the lowest id among a row's maxima on every backend.
   */
  pick(logits: tf.Tensor2D, uniforms?: tf.Tensor1D): tf.Tensor1D {
    return tf.tidy(() => {
      const s = this.sampler;
      if (!s) {
        if (!this.lowest) return tf.argMax(logits, 1) as tf.Tensor1D; // [B]
        const isMax = tf.equal(logits, tf.max(logits, 1, true)); // [B, V]
        return tf.min(tf.where(isMax, this.lowest.ids, this.lowest.last), 1) as tf.Tensor1D; // [B]
      }
      if (!uniforms) throw new Error('sampling needs one uniform per row');
      const b = this.batch;
      // The k most likely tokens, most likely first, ties by lower id (tf.topk on cpu, wasm and webgpu).
      const { values, indices } = tf.topk(logits, s.k); // [B, k] each
      const top = tf.slice(values, [0, 0], [b, 1]); // [B, 1]
      let probs = tf.exp(tf.div(tf.sub(values, top), s.temperature)); // [B, k], unnormalised
      if (s.topP) {
        // The smallest prefix whose mass reaches p: a token stays while the mass before it is below p.
        const before = tf.cumsum(probs, 1, true); // [B, k]
        const target = tf.mul(tf.sum(probs, 1, true), s.topP); // [B, 1]
        probs = tf.where(tf.less(before, target), probs, s.zero) as tf.Tensor2D;
      }
      const cum = tf.cumsum(probs, 1); // [B, k]
      const mass = tf.slice(cum, [0, s.k - 1], [b, 1]); // [B, 1]
      const u = tf.mul(tf.reshape(uniforms, [b, 1]), mass); // [B, 1]
      // The first token whose cumulative mass passes u, among those with a probability (a prefix).
      const passed = tf.sum(tf.cast(tf.lessEqual(cum, u), 'int32'), 1); // [B]
      const candidates = tf.sum(tf.cast(tf.greater(probs, s.zero), 'int32'), 1); // [B]
      const at = tf.maximum(tf.minimum(passed, tf.sub(candidates, s.oneInt)), s.zeroInt); // [B]
      const id = tf.gather(tf.reshape(indices, [-1]), tf.add(at, s.rowStart)); // [B]
      return tf.where(tf.greater(candidates, s.zeroInt), id, s.noTokens) as tf.Tensor1D;
    });
  }

  dispose(): void {
    const s = this.sampler;
    if (s)
      tf.dispose([
        s.temperature,
        s.zero,
        s.zeroInt,
        s.oneInt,
        s.rowStart,
        s.noTokens,
        ...(s.topP ? [s.topP] : []),
      ]);
    if (this.lowest) tf.dispose([this.lowest.ids, this.lowest.last]);
  }
}
