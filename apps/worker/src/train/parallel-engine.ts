import { Worker } from 'node:worker_threads';
import type { DecoderModel, ModelConfig } from '@regimen/core/model/types';
import { clipScale } from '@regimen/core/train/adamw';
import {
  adapterTensors,
  type GradientEngine,
  LocalGradientEngine,
  type LoraAdapters,
  type UpdateArgs,
} from '@regimen/core/train/engine';
import type { Batch } from '@regimen/core/train/example';
import { deriveSeed } from '@regimen/core/train/rng';
import * as tf from '@tensorflow/tfjs-core';
import { FlatLayout } from './flat-layout.ts';
import type { WorkerLora, WorkerReply, WorkerRequest, WorkerSetup } from './grad-worker.ts';

/**
 * Data-parallel gradients over worker threads. tfjs-wasm runs one thread in Node, so each worker runs its
 * own wasm instance on a contiguous shard of every micro-batch's rows. Parameters live once, in a
 * SharedArrayBuffer; each worker copies them into its variables when they changed and writes its gradient
 * (already divided by the whole step's marked-token count) into its own shared region. The reduction and
 * the optimizer run in the workers too, each over its own contiguous part of the flat parameter layout:
 * the workers sum every region into the shared accumulators, then (`optimizer`) compute their part of the
 * squared gradient norm and apply AdamW to their part of the parameters and moments, so the main thread
 * never loops over the ~millions of floats itself. Summing the shards' gradients of Σnll/denominator
 * gives exactly the gradient of the mean over all marked tokens, so the optimizer step is the one a single
 * thread would take (up to float summation order).
 *
 * With LoRA the trainable parameters are the adapters (named `<weight>.lora_A` / `.lora_B`, as
 * LocalGradientEngine names them) and the frozen base weights go to every worker once. Adapter dropout
 * draws each shard's masks from (the micro-batch's seed, the worker's index), so with dropout > 0 a run
 * repeats exactly for the same number of threads, not across thread counts.
 */
export class ParallelGradientEngine implements GradientEngine {
  readonly names: string[];
  readonly shapes: number[][];
  /** The trainable values, in shared memory (the workers' optimizer writes them). */
  readonly values: Float32Array[];
  private readonly grads: Float32Array[];
  private readonly m: Float32Array[];
  private readonly v: Float32Array[];
  /** The step's loss so far, summed over micro-batches and shards. */
  private stepLoss = 0;
  private readonly workers: Worker[];
  private readonly total: number;
  private version = 0;
  /** zeroGrads was called and no reduction has overwritten the accumulators since. */
  private zeroPending = false;
  /** Σ g² over the accumulators as the last reduction left them. */
  private gradSumsq = 0;
  private nextId = 0;
  private readonly pending = new Map<
    number,
    { resolve: (r: WorkerReply) => void; reject: (e: Error) => void }
  >();

  private constructor(
    config: ModelConfig,
    params: Record<string, Float32Array>,
    shapes: Record<string, number[]>,
    nWorkers: number,
    lora?: WorkerLora,
    /** The variables on this thread that checkpoints read (`syncModel` copies the trained values there). */
    private readonly targets?: Record<string, tf.Variable>,
  ) {
    this.names = Object.keys(params).sort();
    this.shapes = this.names.map((n) => shapes[n] as number[]);
    const layout = new FlatLayout(this.shapes);
    this.total = layout.total;
    const paramBuf = layout.shared(this.names.map((n) => params[n] as Float32Array));
    this.values = layout.views(paramBuf);
    const [accBuf, mBuf, vBuf] = [layout.shared(), layout.shared(), layout.shared()];
    this.grads = layout.views(accBuf);
    const gradBufs = Array.from({ length: nWorkers }, () => layout.shared());
    this.m = layout.views(mBuf);
    this.v = layout.views(vBuf);
    this.workers = gradBufs.map((_, index) => {
      const setup: WorkerSetup = {
        config,
        names: this.names,
        shapes: this.shapes,
        paramBuf,
        index,
        gradBufs,
        accBuf,
        mBuf,
        vBuf,
        lora,
      };
      const w = new Worker(new URL('./grad-worker-entry.mjs', import.meta.url), { workerData: setup });
      w.on('message', (r: WorkerReply) => {
        const p = this.pending.get(r.id);
        if (!p) return;
        this.pending.delete(r.id);
        if (r.error) p.reject(new Error(`gradient worker: ${r.error}`));
        else p.resolve(r);
      });
      w.on('error', (e) => {
        for (const p of this.pending.values()) p.reject(e);
        this.pending.clear();
      });
      return w;
    });
  }

  /**
   * Starts `nWorkers` threads for a model with these trainable parameter values (the model's params, or
   * with `lora` its adapters, beside the frozen base weights `lora` carries).
   */
  static async create(
    config: ModelConfig,
    params: Record<string, Float32Array>,
    shapes: Record<string, number[]>,
    nWorkers: number,
    lora?: WorkerLora,
    targets?: Record<string, tf.Variable>,
  ): Promise<ParallelGradientEngine> {
    if (!Number.isInteger(nWorkers) || nWorkers < 1)
      throw new Error(`workers: expected an integer >= 1, got ${nWorkers}`);
    const engine = new ParallelGradientEngine(config, params, shapes, nWorkers, lora, targets);
    await Promise.all(engine.workers.map((_, i) => engine.call(i, { kind: 'ready' })));
    return engine;
  }

  /**
   * An engine starting from a loaded model's weights, or with `lora` from its adapters' values over the
   * frozen model (the model and adapters stay on this thread; `syncModel` copies the trained values into
   * them for checkpoints).
   */
  static async fromModel(
    model: DecoderModel,
    nWorkers: number,
    lora?: LoraAdapters,
  ): Promise<ParallelGradientEngine> {
    const params: Record<string, Float32Array> = {};
    const shapes: Record<string, number[]> = {};
    // The wasm engine's tensors live in host memory: reading them is a copy, not a device readback.
    const read = async (v: tf.Tensor) => (await v.data()) as Float32Array;
    const targets: Record<string, tf.Variable> = {};
    const add = async (name: string, v: tf.Variable) => {
      params[name] = await read(v);
      shapes[name] = v.shape.slice();
      targets[name] = v;
    };
    if (!lora) {
      for (const [n, v] of Object.entries(model.params)) await add(n, v);
      return ParallelGradientEngine.create(model.config, params, shapes, nWorkers, undefined, targets);
    }
    for (const [n, v] of adapterTensors(lora)) await add(n, v);
    const baseNames = Object.keys(model.params).sort();
    const base = baseNames.map((n) => model.params[n] as tf.Variable);
    const baseShapes = base.map((p) => p.shape.slice());
    const baseBuf = new FlatLayout(baseShapes).shared(await Promise.all(base.map(read)));
    const workerLora = {
      scale: lora.scale,
      rank: lora.rank,
      dropout: lora.dropout,
      baseNames,
      baseShapes,
      baseBuf,
    };
    return ParallelGradientEngine.create(model.config, params, shapes, nWorkers, workerLora, targets);
  }

  private call(worker: number, req: Omit<WorkerRequest, 'id' | 'version'>): Promise<WorkerReply> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      (this.workers[worker] as Worker).postMessage({ ...req, id, version: this.version } as WorkerRequest);
    });
  }

  /** Row ranges of a batch, one per worker that gets at least one row. */
  private shards(batch: Batch): Array<{ worker: number; shard: Batch }> {
    const n = Math.min(this.workers.length, batch.B);
    const out: Array<{ worker: number; shard: Batch }> = [];
    let row = 0;
    for (let w = 0; w < n; w++) {
      const rows = Math.floor(batch.B / n) + (w < batch.B % n ? 1 : 0);
      const [from, to] = [row * batch.T, (row + rows) * batch.T];
      const weights = batch.weights.slice(from, to);
      out.push({
        worker: w,
        shard: {
          inputs: batch.inputs.slice(from, to),
          targets: batch.targets.slice(from, to),
          weights,
          B: rows,
          T: batch.T,
          markedTokens: weights.reduce((s, x) => s + x, 0),
        },
      });
      row += rows;
    }
    return out;
  }

  zeroGrads(): void {
    this.zeroPending = true;
    this.stepLoss = 0;
  }

  async accumulate(
    batch: Batch,
    denominator: number,
    opts: { dropoutSeed?: number } = {},
  ): Promise<{ peakBytes: number; tensors: number }> {
    const parts = this.shards(batch);
    const seed = opts.dropoutSeed;
    const replies = await Promise.all(
      parts.map(({ worker, shard }) =>
        this.call(worker, {
          kind: 'grad',
          batch: shard,
          denominator,
          dropoutSeed: seed === undefined ? undefined : deriveSeed(seed, worker),
        }),
      ),
    );
    let loss = 0;
    let peakBytes = 0;
    let tensors = 0;
    for (const r of replies) {
      loss += r.loss ?? 0;
      peakBytes = Math.max(peakBytes, r.peakBytes ?? 0);
      tensors += r.tensors ?? 0;
    }
    // The workers sum every region into the shared accumulators, each over its own part of the layout.
    const sums = await this.onRanges({ kind: 'reduce', shards: parts.length, overwrite: this.zeroPending });
    this.zeroPending = false;
    this.gradSumsq = sums.reduce((s, r) => s + (r.sumsq ?? 0), 0);
    this.stepLoss += loss;
    return { peakBytes, tensors };
  }

  async update(args: UpdateArgs): Promise<{ loss: number; gradNorm: number }> {
    if (this.zeroPending) {
      // No micro-batch reached the accumulators this step.
      for (const g of this.grads) g.fill(0);
      this.zeroPending = false;
      this.gradSumsq = 0;
    }
    const gradNorm = Math.sqrt(this.gradSumsq);
    const { maxGradNorm, ...rest } = args;
    await this.onRanges({ kind: 'adamw', adamw: { ...rest, gradScale: clipScale(gradNorm, maxGradNorm) } });
    this.version++;
    return { loss: this.stepLoss, gradNorm };
  }

  async moments(): Promise<{ m: Float32Array[]; v: Float32Array[] }> {
    return { m: this.m.map((a) => a.slice()), v: this.v.map((a) => a.slice()) };
  }

  loadMoments(m: readonly Float32Array[], v: readonly Float32Array[]): void {
    for (const [i, a] of m.entries()) (this.m[i] as Float32Array).set(a);
    for (const [i, a] of v.entries()) (this.v[i] as Float32Array).set(a);
  }

  async syncModel(): Promise<void> {
    if (!this.targets) return;
    for (const [i, n] of this.names.entries()) {
      const target = this.targets[n];
      if (!target) throw new Error(`syncModel: no variable for ${n} on this thread`);
      tf.tidy(() => target.assign(tf.tensor(this.values[i] as Float32Array, target.shape, 'float32')));
    }
  }

  /** One request per worker over its contiguous part [from, to) of the flat parameter layout. */
  private onRanges(req: Omit<WorkerRequest, 'id' | 'version' | 'from' | 'to'>): Promise<WorkerReply[]> {
    const n = this.workers.length;
    return Promise.all(
      this.workers.map((_, w) =>
        this.call(w, {
          ...req,
          from: Math.floor((w * this.total) / n),
          to: Math.floor(((w + 1) * this.total) / n),
        }),
      ),
    );
  }

  async evalLossSum(batch: Batch): Promise<number> {
    const replies = await Promise.all(
      this.shards(batch).map(({ worker, shard }) =>
        this.call(worker, { kind: 'eval', batch: shard, denominator: 1 }),
      ),
    );
    return replies.reduce((s, r) => s + (r.loss ?? 0), 0);
  }

  async dispose(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/**
 * The engine a run trains with: on the wasm backend, `threads` data-parallel worker threads (where they
 * win: one wasm instance runs one thread); otherwise, and with 1 thread, this thread on the backend's own
 * device. Full finetuning or, with `lora`, the adapters over the frozen model.
 */
export async function gradientEngineFor(
  model: DecoderModel,
  threads: number,
  lora?: LoraAdapters,
): Promise<{ engine: GradientEngine; note: string }> {
  if (!Number.isInteger(threads) || threads < 1)
    throw new Error(`gradient threads: expected an integer >= 1, got ${threads}`);
  const backend = tf.getBackend();
  if (threads > 1 && backend === 'wasm') {
    return {
      engine: await ParallelGradientEngine.fromModel(model, threads, lora),
      note: `computing gradients on ${threads} wasm threads`,
    };
  }
  const note =
    threads > 1
      ? `gradient threads apply to the wasm backend; training on ${backend} in this thread`
      : `training on ${backend} in this thread`;
  return { engine: new LocalGradientEngine(model, lora), note };
}
