import { parentPort, workerData } from 'node:worker_threads';
import { modelFromTensors } from '@regimen/core/model/create';
import { heapView } from '@regimen/core/model/ops';
import type { ModelConfig } from '@regimen/core/model/types';
import { adamwUpdate, sumOfSquares } from '@regimen/core/train/adamw';
import {
  LocalGradientEngine,
  type LoraAdapters,
  splitAdapterName,
  type UpdateArgs,
} from '@regimen/core/train/engine';
import type { Batch } from '@regimen/core/train/example';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../backend.ts';
import { FlatLayout } from './flat-layout.ts';

export interface WorkerSetup {
  config: ModelConfig;
  names: string[];
  shapes: number[][];
  /** All parameters, concatenated in `names` order (written by the optimizer, read here). */
  paramBuf: SharedArrayBuffer;
  /** This worker's place among the workers; its gradient goes to `gradBufs[index]`. */
  index: number;
  /** Every worker's gradient region, same layout (each written by its worker, summed in the reduction). */
  gradBufs: SharedArrayBuffer[];
  /** The step's gradient accumulators and AdamW's moments, same layout, shared by every worker. */
  accBuf: SharedArrayBuffer;
  mBuf: SharedArrayBuffer;
  vBuf: SharedArrayBuffer;
  /** LoRA: the trainable parameters are adapters over these frozen base weights. */
  lora?: WorkerLora;
}

/** A LoRA run's adapter settings and its frozen base weights, concatenated in `baseNames` order. */
export interface WorkerLora {
  scale: number;
  rank: number;
  dropout: number;
  baseNames: string[];
  baseShapes: number[][];
  baseBuf: SharedArrayBuffer;
}

/** One AdamW update over every trainable tensor (the engine's update, clipping resolved to a factor). */
export type AdamWStepArgs = Omit<UpdateArgs, 'maxGradNorm'> & {
  /** Global-norm clipping's factor. */
  gradScale: number;
};

export interface WorkerRequest {
  id: number;
  /** Parameters changed since the worker last copied them when this differs from its own. */
  version: number;
  kind: 'ready' | 'grad' | 'eval' | 'reduce' | 'adamw';
  batch?: Batch;
  denominator?: number;
  /** For reduce and adamw: this worker's part [from, to) of the flat parameter layout. */
  from?: number;
  to?: number;
  /** reduce: how many workers' regions hold gradients for this micro-batch. */
  shards?: number;
  /** reduce: the first micro-batch of a step, whose sum replaces the accumulators' contents. */
  overwrite?: boolean;
  adamw?: AdamWStepArgs;
  /** grad: the seed of this shard's adapter-dropout masks. */
  dropoutSeed?: number;
}

export interface WorkerReply {
  id: number;
  loss?: number;
  /** reduce: Σ g² over this worker's part of the accumulators. */
  sumsq?: number;
  peakBytes?: number;
  /** grad: tensors alive in this worker after the pass. */
  tensors?: number;
  error?: string;
}

const setup = workerData as WorkerSetup;
const port = parentPort;
if (!port) throw new Error('grad-worker.ts runs only as a worker thread');

await selectBackend();
const layout = new FlatLayout(setup.shapes);
const params = layout.views(setup.paramBuf);
const engine = setup.lora ? loraEngine(setup.lora) : fullEngine();

/** A new tensor holding a copy of shared values (tfjs keeps its own copy; the shared ones change). */
function tensorOf(values: Float32Array, shape: number[] | undefined): tf.Tensor {
  return tf.tensor(values.slice(), shape);
}

function fullEngine(): LocalGradientEngine {
  const model = modelFromTensors(
    setup.config,
    Object.fromEntries(setup.names.map((n, i) => [n, tensorOf(params[i] as Float32Array, setup.shapes[i])])),
  );
  return new LocalGradientEngine(model);
}

/** The frozen base model and adapter variables holding the shared trainable values (`<weight>.lora_A/B`). */
function loraEngine(lora: WorkerLora): LocalGradientEngine {
  const baseValues = new FlatLayout(lora.baseShapes).views(lora.baseBuf);
  const model = modelFromTensors(
    setup.config,
    Object.fromEntries(
      lora.baseNames.map((n, i) => [n, tensorOf(baseValues[i] as Float32Array, lora.baseShapes[i])]),
    ),
  );
  const modules: LoraAdapters['modules'] = {};
  for (const [i, n] of setup.names.entries()) {
    const [weight, which] = splitAdapterName(n);
    const m = modules[weight] ?? ({} as LoraAdapters['modules'][string]);
    const initial = tensorOf(params[i] as Float32Array, setup.shapes[i]);
    m[which] = tf.variable(initial, true);
    initial.dispose();
    modules[weight] = m;
  }
  return new LocalGradientEngine(model, {
    scale: lora.scale,
    rank: lora.rank,
    dropout: lora.dropout,
    modules,
  });
}
const order = setup.names.map((n) => engine.names.indexOf(n));
/** The shared parameters in the engine's order, which `engine.load` copies into its variables. */
const engineValues: Float32Array[] = [];
for (const [i, engineIndex] of order.entries()) engineValues[engineIndex] = params[i] as Float32Array;
/** Where each of the engine's gradients goes in this worker's region, by the engine's tensor index. */
const slotOf: number[] = [];
for (const [i, engineIndex] of order.entries()) slotOf[engineIndex] = layout.offsets[i] as number;
const gradOut = new Float32Array(setup.gradBufs[setup.index] as SharedArrayBuffer);
const shardGrads = setup.gradBufs.map((b) => new Float32Array(b));
const acc = new Float32Array(setup.accBuf);
const [accs, ms, vs] = [layout.views(setup.accBuf), layout.views(setup.mBuf), layout.views(setup.vBuf)];
const tensors = setup.names.map((_, i) => ({
  offset: layout.offsets[i] as number,
  param: params[i] as Float32Array,
  grad: accs[i] as Float32Array,
  m: ms[i] as Float32Array,
  v: vs[i] as Float32Array,
}));
let version = 0;

/**
 * acc[from, to) = (overwrite ? 0 : acc) + Σ over the first `shards` workers' regions, in one pass that
 * also returns Σ acc² over the range (the squared gradient norm's part, valid after the step's last one).
 */
function reduce(from: number, to: number, shards: number, overwrite: boolean): number {
  const [a, b] = shardGrads as [Float32Array, Float32Array | undefined];
  if (shards === 2 && b && overwrite) return sumPair(acc, a, b, from, to);
  if (overwrite) acc.fill(0, from, to);
  for (let w = 0; w < shards; w++) addInto(acc, shardGrads[w] as Float32Array, from, to);
  return sumOfSquares(acc, from, to);
}

// The loops take their arrays as arguments: V8 optimises them ~2x better than loops over closed-over ones.
function sumPair(out: Float32Array, a: Float32Array, b: Float32Array, from: number, to: number): number {
  let sumsq = 0;
  for (let j = from; j < to; j++) {
    const g = Math.fround((a[j] as number) + (b[j] as number));
    out[j] = g;
    sumsq += g * g;
  }
  return sumsq;
}

function addInto(out: Float32Array, src: Float32Array, from: number, to: number): void {
  for (let j = from; j < to; j++) out[j] = (out[j] as number) + (src[j] as number);
}

/** `f` on each tensor's part inside the flat range [from, to), with tensor-local bounds. */
function eachPart(
  from: number,
  to: number,
  f: (t: (typeof tensors)[number], i: number, lo: number, hi: number) => void,
) {
  for (const [i, t] of tensors.entries()) {
    const lo = Math.max(from, t.offset);
    const hi = Math.min(to, t.offset + t.param.length);
    if (lo < hi) f(t, i, lo - t.offset, hi - t.offset);
  }
}

/** Load the shared parameters into this thread's variables when the optimizer has changed them. */
async function syncParams(v: number): Promise<void> {
  if (v === version) return;
  engine.load(engineValues);
  version = v;
}

port.on('message', async (req: WorkerRequest) => {
  try {
    if (req.kind === 'ready') {
      port.postMessage({ id: req.id } satisfies WorkerReply);
      return;
    }
    const from = req.from as number;
    const to = req.to as number;
    if (req.kind === 'reduce') {
      const sumsq = reduce(from, to, req.shards as number, req.overwrite === true);
      port.postMessage({ id: req.id, sumsq } satisfies WorkerReply);
      return;
    }
    if (req.kind === 'adamw') {
      const a = req.adamw as AdamWStepArgs;
      const hyper = { beta1: a.beta1, beta2: a.beta2, eps: a.eps };
      eachPart(from, to, (t, i, lo, hi) => {
        const wd = a.weightDecays[i] as number;
        adamwUpdate(t.param, t.grad, t.m, t.v, a.step, a.lr, wd, hyper, a.gradScale, lo, hi);
      });
      port.postMessage({ id: req.id } satisfies WorkerReply);
      return;
    }
    await syncParams(req.version);
    const batch = req.batch as Batch;
    if (req.kind === 'eval') {
      port.postMessage({ id: req.id, loss: await engine.evalLossSum(batch) } satisfies WorkerReply);
      return;
    }
    // Each gradient goes straight from the tensor's values (a view of the wasm heap, where it is one) into
    // this worker's shared region: no fresh 21 MB buffer per step.
    const r = await engine.gradients(
      batch,
      req.denominator as number,
      req.dropoutSeed,
      async (engineIndex, g) => {
        gradOut.set(heapView(g) ?? ((await g.data()) as Float32Array), slotOf[engineIndex]);
      },
    );
    const tensors = tf.memory().numTensors;
    port.postMessage({ id: req.id, loss: r.loss, peakBytes: r.peakBytes, tensors } satisfies WorkerReply);
  } catch (e) {
    port.postMessage({ id: req.id, error: (e as Error).stack ?? String(e) } satisfies WorkerReply);
  }
});
