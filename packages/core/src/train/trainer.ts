import * as tf from '@tensorflow/tfjs-core';
import type { RunConfig, TrainConfig } from '../config/run-config.ts';
import { yieldToEventLoop } from '../util/event-loop.ts';
import type { GradientEngine } from './engine.ts';
import { collate, markedCount, type TrainExample, validateExample } from './example.ts';
import { deriveSeed, epochOrder, Rng } from './rng.ts';
import { learningRateAt } from './schedule.ts';

/** Everything a resumed run needs, besides the model it started from. Valid only during the callback. */
export interface TrainState {
  /** Optimizer steps completed. */
  step: number;
  totalSteps: number;
  /** State of the run's RNG (adapter dropout and anything else drawn during training). */
  rngState: number;
  /**
   * Trainable tensors in engine order, with AdamW's first and second moments (read from the engine for the
   * checkpoint); the trained values are in the model's variables (or the adapters').
   */
  names: readonly string[];
  shapes: readonly number[][];
  m: readonly Float32Array[];
  v: readonly Float32Array[];
  /** The fully resolved config the run was started with. */
  config: RunConfig;
}

export interface StepInfo {
  step: number;
  totalSteps: number;
  epoch: number;
  loss: number;
  lr: number;
  gradNorm: number;
  /** Non-padding input tokens processed in this step, and per second of this step's wall time. */
  tokens: number;
  tokensPerSecond: number;
  stepMs: number;
  /** tfjs memory after the step: live tensors on the threads computing gradients, this thread's bytes. */
  memory: { tensors: number; bytes: number; peakBytes: number };
}

export interface EvalInfo {
  step: number;
  loss: number;
  markedTokens: number;
}

export interface TrainCallbacks {
  onStep?(info: StepInfo): void | Promise<void>;
  onEval?(info: EvalInfo): void | Promise<void>;
  /** Called every `checkpointEvery` steps and at the end; the trainer waits for it. */
  onCheckpoint?(state: TrainState): void | Promise<void>;
  /** Checked between optimizer steps; an aborted run returns after the step in flight. */
  signal?: AbortSignal;
}

export interface TrainOptions extends TrainCallbacks {
  /** Continue from a stored state instead of step 0 (the engine must hold the stored values). */
  resume?: Pick<TrainState, 'step' | 'rngState' | 'names' | 'm' | 'v'>;
  /** Which trainable tensors get weight decay; all of them by default, as torch.optim.AdamW does. */
  decays?(name: string): boolean;
}

export interface TrainResult {
  steps: number;
  aborted: boolean;
  finalLoss: number;
  evalLoss?: number;
}

/** The deterministic split into train and held-out rows: a seeded shuffle, the last `evalFraction` held out. */
export function splitTrainEval(
  n: number,
  seed: number,
  evalFraction: number,
): { train: number[]; eval: number[] } {
  const order = new Rng(deriveSeed(seed, 0)).shuffle(Array.from({ length: n }, (_, i) => i));
  const nEval = evalFraction > 0 ? Math.max(1, Math.round(n * evalFraction)) : 0;
  if (nEval >= n) throw new Error(`evalFraction ${evalFraction} leaves no training rows out of ${n}`);
  return { train: order.slice(0, n - nEval).sort((a, b) => a - b), eval: order.slice(n - nEval) };
}

/** Rows per optimizer step and the number of steps a config asks for. */
export function plannedSteps(nTrain: number, t: TrainConfig): { rowsPerStep: number; totalSteps: number } {
  const rowsPerStep = t.batchSize * t.gradAccumSteps;
  return { rowsPerStep, totalSteps: t.maxSteps ?? Math.ceil((t.epochs * nTrain) / rowsPerStep) };
}

/**
 * Train with AdamW on loss-masked examples. Data order is a pure function of (seed, step): row `p` of the
 * stream is row `p mod n` of epoch `floor(p / n)`'s seeded permutation, so a resumed run reads exactly the
 * rows the uninterrupted run would have. No I/O: progress goes to the callbacks.
 */
export async function train(
  engine: GradientEngine,
  examples: readonly TrainExample[],
  config: RunConfig,
  opts: TrainOptions = {},
): Promise<TrainResult> {
  const t = config.train;
  const rows = t.maxTrainRows !== undefined ? examples.slice(0, t.maxTrainRows) : examples;
  for (const [i, e] of rows.entries()) validateExample(e, i);
  const split = splitTrainEval(rows.length, config.seed, t.evalFraction);
  const trainRows = split.train.map((i) => rows[i] as TrainExample);
  const evalRows = split.eval.map((i) => rows[i] as TrainExample);
  const { rowsPerStep, totalSteps } = plannedSteps(trainRows.length, t);
  const streamEnd = t.maxSteps !== undefined ? Number.POSITIVE_INFINITY : t.epochs * trainRows.length;
  if (opts.resume) {
    engine.loadMoments(alignMoments(engine, opts.resume, 'm'), alignMoments(engine, opts.resume, 'v'));
  }
  const rng = Rng.fromState(opts.resume?.rngState ?? deriveSeed(config.seed, 0x7a11));
  const decays = engine.names.map((n) => (opts.decays ? opts.decays(n) : true));
  const orders = new Map<number, number[]>();
  const rowAt = (p: number): TrainExample => {
    const epoch = Math.floor(p / trainRows.length);
    let order = orders.get(epoch);
    if (!order) {
      orders.clear();
      order = epochOrder(trainRows.length, config.seed, epoch);
      orders.set(epoch, order);
    }
    return trainRows[order[p % trainRows.length] as number] as TrainExample;
  };
  const checkpoint = async (step: number): Promise<void> => {
    if (!opts.onCheckpoint) return;
    await engine.syncModel();
    const { m, v } = await engine.moments();
    const state = {
      step,
      totalSteps,
      rngState: rng.state,
      names: engine.names,
      shapes: engine.shapes,
      m,
      v,
      config,
    };
    await opts.onCheckpoint(state);
  };
  const runEval = async (step: number): Promise<number | undefined> => {
    if (evalRows.length === 0) return undefined;
    let sum = 0;
    let marked = 0;
    for (let i = 0; i < evalRows.length; i += t.batchSize) {
      const batch = collate(evalRows.slice(i, i + t.batchSize), t.maxSeqLen);
      if (batch.markedTokens === 0) continue;
      sum += await engine.evalLossSum(batch);
      marked += batch.markedTokens;
    }
    const loss = sum / Math.max(1, marked);
    await opts.onEval?.({ step, loss, markedTokens: marked });
    return loss;
  };

  let step = opts.resume?.step ?? 0;
  let finalLoss = Number.NaN;
  let evalLoss: number | undefined;
  let peakBytes = 0;
  /** Live tensors on the engine's own threads after the last pass, where it has any. */
  let computeTensors: number | undefined;
  while (step < totalSteps) {
    // A macrotask turn per step: on the host backends every await here resolves at once, so without it timers
    // (the queue's heartbeat), I/O and a cancel request would wait for the whole run.
    await yieldToEventLoop();
    if (opts.signal?.aborted) return { steps: step, aborted: true, finalLoss, evalLoss };
    const t0 = performance.now();
    const first = step * rowsPerStep;
    const micro: TrainExample[][] = [];
    for (let k = 0; k < t.gradAccumSteps; k++) {
      const chunk: TrainExample[] = [];
      for (let p = first + k * t.batchSize; p < Math.min(first + (k + 1) * t.batchSize, streamEnd); p++) {
        chunk.push(rowAt(p));
      }
      if (chunk.length > 0) micro.push(chunk);
    }
    const denominator = micro.flat().reduce((s, e) => s + markedCount(e, t.maxSeqLen), 0);
    engine.zeroGrads();
    let tokens = 0;
    for (const chunk of micro) {
      const batch = collate(chunk, t.maxSeqLen);
      tokens += chunk.reduce((s, e) => s + Math.min(e.ids.length - 1, t.maxSeqLen), 0);
      if (batch.markedTokens === 0) continue;
      // Drawn for every micro-batch, so the RNG's state (stored in checkpoints) is the same with or
      // without adapter dropout; only LoRA adapter dropout uses it.
      const dropoutSeed = Math.floor(rng.next() * 2 ** 32);
      const r = await engine.accumulate(batch, denominator, { dropoutSeed });
      peakBytes = Math.max(peakBytes, r.peakBytes);
      computeTensors = r.tensors;
    }
    const lr = learningRateAt(step, totalSteps, t);
    const { loss, gradNorm } = await engine.update({
      step: step + 1,
      lr,
      weightDecays: decays.map((d) => (d ? t.weightDecay : 0)),
      beta1: t.beta1,
      beta2: t.beta2,
      eps: t.eps,
      maxGradNorm: t.gradClip,
    });
    step++;
    finalLoss = loss;
    const stepMs = performance.now() - t0;
    const mem = tf.memory();
    peakBytes = Math.max(peakBytes, mem.numBytes);
    await opts.onStep?.({
      step,
      totalSteps,
      epoch: Math.floor(Math.max(0, Math.min(first + rowsPerStep, streamEnd) - 1) / trainRows.length),
      loss,
      lr,
      gradNorm,
      tokens,
      tokensPerSecond: (tokens * 1000) / stepMs,
      stepMs,
      memory: { tensors: computeTensors ?? mem.numTensors, bytes: mem.numBytes, peakBytes },
    });
    if (t.evalEvery > 0 && step % t.evalEvery === 0 && step < totalSteps) evalLoss = await runEval(step);
    if (t.checkpointEvery > 0 && step % t.checkpointEvery === 0 && step < totalSteps) {
      await checkpoint(step);
    }
  }
  evalLoss = (await runEval(step)) ?? evalLoss;
  await checkpoint(step);
  return { steps: step, aborted: false, finalLoss, evalLoss };
}

/** Stored moments put into the engine's tensor order, checking that every tensor is there with its size. */
function alignMoments(
  engine: GradientEngine,
  stored: NonNullable<TrainOptions['resume']>,
  which: 'm' | 'v',
): Float32Array[] {
  const byName = new Map(stored.names.map((n, i) => [n, stored[which][i]]));
  return engine.names.map((n, i) => {
    const a = byName.get(n);
    const size = (engine.shapes[i] as number[]).reduce((p, d) => p * d, 1);
    if (!a) throw new Error(`resume: optimizer state has no ${which} for ${n}`);
    if (a.length !== size)
      throw new Error(`resume: ${which}.${n} has ${a.length} values, the model's tensor has ${size}`);
    return a;
  });
}
