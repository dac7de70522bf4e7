import * as tf from '@tensorflow/tfjs-core';
import './gradients.ts';
import type { DecoderModel, ForwardOptions, LoraAdapter } from '../model/types.ts';
import { adamwScalars, adamwStep } from './adamw.ts';
import type { Batch } from './example.ts';
import { maskedCrossEntropy } from './loss.ts';
import { deriveSeed } from './rng.ts';

/** What the trainer needs of a model: named parameters and a pure logits function of them. */
export type TrainableModel = Pick<DecoderModel, 'params' | 'logits'>;

/**
 * Computes gradients and applies the optimizer for the trainer. The trainer keeps the schedule, the data
 * order and the RNG on the host; the engine keeps the trainable values, the gradient accumulators and
 * AdamW's moments wherever it computes (tensors on the backend's device, or shared memory for the wasm
 * threads), so a step moves the batch in and two scalars out.
 */
export interface GradientEngine {
  /** Trainable tensors, in the order of moments and snapshots. */
  readonly names: readonly string[];
  readonly shapes: readonly number[][];
  /** Starts an optimizer step: the gradient accumulators and the step's loss start again from zero. */
  zeroGrads(): void;
  /**
   * Forward + backward on one micro-batch; adds ∂(Σ weighted nll / denominator) to the accumulators and
   * that loss to the step's. Returns the most tensor memory held during the pass (per compute thread); an
   * engine whose passes run on other threads also returns their live tensors afterwards (`tensors`, summed
   * over them). `dropoutSeed`, drawn by the trainer from the run's RNG for each micro-batch, seeds the masks
   * of LoRA adapter dropout. Reads nothing back.
   */
  accumulate(
    batch: Batch,
    denominator: number,
    opts?: { dropoutSeed?: number },
  ): Promise<{ peakBytes: number; tensors?: number }>;
  /**
   * Global-norm clipping and one AdamW update of every trainable tensor from the accumulated gradients.
   * Returns the step's loss and the gradient norm before clipping: the only values a step reads back.
   */
  update(args: UpdateArgs): Promise<{ loss: number; gradNorm: number }>;
  /** Summed (not averaged) nll over marked tokens, without gradients. */
  evalLossSum(batch: Batch): Promise<number>;
  /** AdamW's moments on the host, in `names` order (for a checkpoint). */
  moments(): Promise<{ m: Float32Array[]; v: Float32Array[] }>;
  /** Resume: AdamW's moments, in `names` order. */
  loadMoments(m: readonly Float32Array[], v: readonly Float32Array[]): void;
  /**
   * Makes the model's variables (or the adapters') hold the trained values, for a checkpoint writer to read.
   * A no-op for an engine that trains them in place.
   */
  syncModel(): Promise<void>;
  /** Release what the engine holds (tensors, worker threads). */
  dispose(): Promise<void>;
}

/** One optimizer step's settings, as the trainer's schedule resolves them. */
export interface UpdateArgs {
  /** 1-based count of updates including this one. */
  step: number;
  lr: number;
  /** Weight decay per tensor, in `names` order. */
  weightDecays: number[];
  beta1: number;
  beta2: number;
  eps: number;
  /** clip_grad_norm_'s max_norm; 0 turns clipping off. */
  maxGradNorm: number;
}

/** A LoRA adapter set: trainable variables per wrapped parameter. */
export interface LoraAdapters {
  scale: number;
  rank: number;
  /** Adapter dropout rate while training (PEFT's lora_dropout). */
  dropout: number;
  /** Wrapped parameter name -> its A [in, r] and B [r, out] variables. */
  modules: Record<string, { a: tf.Variable; b: tf.Variable }>;
}

/** An adapter set's trainable tensors by name: `<weight>.lora_A` and `<weight>.lora_B` for each wrapped weight. */
export function adapterTensors(lora: LoraAdapters): Array<[string, tf.Variable]> {
  return Object.entries(lora.modules).flatMap(
    ([n, m]): Array<[string, tf.Variable]> => [
      [`${n}.lora_A`, m.a],
      [`${n}.lora_B`, m.b],
    ],
  );
}

/** The wrapped weight and the matrix ('a' or 'b') of an adapter tensor name from {@link adapterTensors}. */
export function splitAdapterName(name: string): [string, 'a' | 'b'] {
  const which = name.endsWith('.lora_A') ? 'a' : name.endsWith('.lora_B') ? 'b' : undefined;
  if (!which) throw new Error(`${name} is not an adapter tensor name (<weight>.lora_A or <weight>.lora_B)`);
  return [name.slice(0, -'.lora_A'.length), which];
}

/**
 * The forward options that apply the adapters. With `dropoutSeed` (training) and a dropout rate, each
 * adapter draws its own mask from (dropoutSeed, its place in name order).
 */
export function loraLogitsOptions(lora: LoraAdapters, dropoutSeed?: number): ForwardOptions {
  const out: Record<string, LoraAdapter> = {};
  const names = Object.keys(lora.modules).sort();
  for (const [i, name] of names.entries()) {
    const m = lora.modules[name] as LoraAdapters['modules'][string];
    const dropout =
      dropoutSeed !== undefined && lora.dropout > 0
        ? { rate: lora.dropout, seed: deriveSeed(dropoutSeed, i) }
        : undefined;
    out[name] = { a: m.a as tf.Tensor2D, b: m.b as tf.Tensor2D, scale: lora.scale, dropout };
  }
  return { lora: out };
}

/**
 * Gradients in this thread with tf.variableGrads, on whatever backend tfjs runs: the trainable values are
 * the model's own variables (with `lora`, the adapters', and the base weights stay frozen), and the gradient
 * accumulators and AdamW's moments are tensors beside them. Accumulation, the global norm, clipping and the
 * update are tensor ops (AdamW one fused kernel where the backend has Regimen's, adamw.ts), so on a GPU
 * nothing but the batch and two scalars crosses to the host.
 */
export class LocalGradientEngine implements GradientEngine {
  readonly names: string[];
  readonly shapes: number[][];
  private readonly vars: tf.Variable[];
  /** The step's summed gradients (kept tensors), null until the step's first micro-batch. */
  private acc: tf.Tensor[] | null = null;
  /** The step's loss so far (a kept scalar), null until the first micro-batch. */
  private stepLoss: tf.Scalar | null = null;
  private m: tf.Tensor[];
  private v: tf.Tensor[];

  constructor(
    private readonly model: TrainableModel,
    private readonly lora?: LoraAdapters,
  ) {
    // Sorted by name: the order of the parameters' records differs between checkpoint formats (a model loaded
    // from llama2c's file and the same model from its Hugging Face folder), and the global norm sums over this
    // order in float32, so a resumed run must see the order a fresh one saw.
    const entries = (lora ? adapterTensors(lora) : Object.entries(model.params)).sort(([a], [b]) =>
      a < b ? -1 : a > b ? 1 : 0,
    );
    this.names = entries.map(([n]) => n);
    this.vars = entries.map(([, v]) => v);
    this.shapes = this.vars.map((v) => v.shape.slice());
    this.m = this.vars.map((v) => tf.keep(tf.zerosLike(v)));
    this.v = this.vars.map((v) => tf.keep(tf.zerosLike(v)));
  }

  /** The micro-batch's loss; `dropoutSeed` (training only) turns on LoRA adapter dropout. */
  private lossOf(batch: Batch, denominator: number, dropoutSeed?: number): tf.Scalar {
    const { B, T } = batch;
    const tokens = tf.tensor2d(batch.inputs, [B, T], 'int32'); // [B, T]
    const targets = tf.tensor2d(batch.targets, [B, T], 'int32'); // [B, T]
    const weights = tf.tensor2d(batch.weights, [B, T], 'float32'); // [B, T]
    const opts = this.lora ? loraLogitsOptions(this.lora, dropoutSeed) : undefined;
    const logits = this.model.logits(tokens, opts); // [B, T, V]
    return maskedCrossEntropy(logits, targets, weights, denominator);
  }

  zeroGrads(): void {
    if (this.acc) tf.dispose(this.acc);
    this.stepLoss?.dispose();
    this.acc = null;
    this.stepLoss = null;
  }

  async accumulate(
    batch: Batch,
    denominator: number,
    opts: { dropoutSeed?: number } = {},
  ): Promise<{ peakBytes: number }> {
    const { loss, grads, peakBytes } = this.pass(batch, denominator, opts.dropoutSeed);
    if (!this.acc || !this.stepLoss) {
      this.acc = grads;
      this.stepLoss = loss;
    } else {
      const [acc, stepLoss] = [this.acc, this.stepLoss];
      this.acc = tf.tidy(() => acc.map((a, i) => tf.add(a, grads[i] as tf.Tensor)));
      this.stepLoss = tf.tidy(() => tf.add(stepLoss, loss) as tf.Scalar);
      tf.dispose([...acc, stepLoss, ...grads, loss]);
    }
    return { peakBytes };
  }

  /** Forward and backward: the loss and each trainable tensor's gradient, as tensors the caller owns. */
  private pass(
    batch: Batch,
    denominator: number,
    dropoutSeed: number | undefined,
  ): { loss: tf.Scalar; grads: tf.Tensor[]; peakBytes: number } {
    let peakBytes = 0;
    const { loss, grads } = tf.tidy(() => {
      const r = tf.variableGrads(() => {
        const l = this.lossOf(batch, denominator, dropoutSeed);
        peakBytes = tf.memory().numBytes;
        return l;
      }, this.vars);
      // Intermediates of forward and backward are all still alive here, until the tidy ends.
      peakBytes = Math.max(peakBytes, tf.memory().numBytes);
      return { loss: r.value, grads: this.vars.map((v) => r.grads[v.name] as tf.Tensor) };
    });
    return { loss, grads, peakBytes };
  }

  /**
   * Forward + backward on one micro-batch, handing each trainable tensor's gradient of
   * Σ(weighted nll) / denominator to `sink` (index in `names` order; the tensor is disposed once the
   * sink's promise settles) instead of accumulating it. For the wasm gradient threads, which sum shards
   * in shared memory.
   */
  async gradients(
    batch: Batch,
    denominator: number,
    dropoutSeed: number | undefined,
    sink: (index: number, grad: tf.Tensor) => void | Promise<void>,
  ): Promise<{ loss: number; peakBytes: number }> {
    const { loss, grads, peakBytes } = this.pass(batch, denominator, dropoutSeed);
    try {
      for (let i = 0; i < grads.length; i++) await sink(i, grads[i] as tf.Tensor);
      return { loss: (await loss.data())[0] as number, peakBytes };
    } finally {
      tf.dispose([...grads, loss]);
    }
  }

  async update(args: UpdateArgs): Promise<{ loss: number; gradNorm: number }> {
    const grads = this.acc ?? this.vars.map((v) => tf.keep(tf.zerosLike(v)));
    const loss = this.stepLoss ?? tf.keep(tf.scalar(0));
    const [norm, scale] = tf.tidy(() => {
      // Pairwise, not tf.addN: a GPU kernel binds every input, and devices allow 8 storage buffers per stage.
      const sumsq = grads.map((g) => tf.sum(tf.square(g))).reduce((a, b) => tf.add(a, b));
      const n = tf.sqrt(sumsq);
      // clip_grad_norm_: gradients × max_norm / (norm + 1e-6) where that is below 1.
      const s =
        args.maxGradNorm > 0
          ? tf.minimum(tf.scalar(1), tf.div(tf.scalar(args.maxGradNorm), tf.add(n, tf.scalar(1e-6))))
          : tf.scalar(1);
      return [n, s] as [tf.Scalar, tf.Scalar];
    });
    const bias = adamwScalars(args);
    for (let i = 0; i < this.vars.length; i++) {
      const wd = args.weightDecays[i] as number;
      const [p, m, v] = adamwStep(
        this.vars[i] as tf.Variable,
        grads[i] as tf.Tensor,
        this.m[i] as tf.Tensor,
        this.v[i] as tf.Tensor,
        scale,
        { ...bias, decay: 1 - args.lr * wd },
      );
      (this.vars[i] as tf.Variable).assign(p);
      p.dispose();
      (this.m[i] as tf.Tensor).dispose();
      (this.v[i] as tf.Tensor).dispose();
      this.m[i] = m;
      this.v[i] = v;
    }
    // One readback for both scalars, queued after the update.
    const both = tf.tidy(() => tf.stack([tf.reshape(loss, []), norm]));
    tf.dispose([norm, scale]);
    this.zeroGrads();
    if (grads !== this.acc) tf.dispose(grads);
    loss.dispose();
    const [l, g] = (await both.data()) as Float32Array;
    both.dispose();
    return { loss: l as number, gradNorm: g as number };
  }

  async evalLossSum(batch: Batch): Promise<number> {
    const loss = tf.tidy(() => this.lossOf(batch, 1));
    const value = (await loss.data())[0] as number;
    loss.dispose();
    return value;
  }

  async moments(): Promise<{ m: Float32Array[]; v: Float32Array[] }> {
    const read = (ts: tf.Tensor[]) => Promise.all(ts.map(async (t) => (await t.data()) as Float32Array));
    return { m: await read(this.m), v: await read(this.v) };
  }

  loadMoments(m: readonly Float32Array[], v: readonly Float32Array[]): void {
    const load = (ts: tf.Tensor[], values: readonly Float32Array[]) =>
      ts.map((t, i) => {
        const next = tf.keep(tf.tensor(values[i] as Float32Array, t.shape, 'float32'));
        t.dispose();
        return next;
      });
    this.m = load(this.m, m);
    this.v = load(this.v, v);
  }

  /** Puts host values into the trainable variables (`names` order), for engines that own the values elsewhere. */
  load(values: readonly Float32Array[]): void {
    for (let i = 0; i < this.vars.length; i++) {
      const v = this.vars[i] as tf.Variable;
      tf.tidy(() => v.assign(tf.tensor(values[i] as Float32Array, v.shape, 'float32')));
    }
  }

  async syncModel(): Promise<void> {}

  async dispose(): Promise<void> {
    this.zeroGrads();
    tf.dispose([...this.m, ...this.v]);
  }
}
