import { checkRunFitsModel } from '@regimen/core/config/run-check';
import type { DatasetMeta, StoredRow } from '@regimen/core/data/types';
import { buildTrainingExamples } from '@regimen/core/regimes/index';
import {
  type LoadedCheckpoint,
  readCheckpointAdapters,
  readTrainCheckpoint,
  writeTrainCheckpoint,
} from '@regimen/core/train/checkpoint';
import { createLoraAdapters, disposeLoraAdapters } from '@regimen/core/train/lora';
import { type TrainOptions, train } from '@regimen/core/train/trainer';
import { withDbRetry } from '../db-retry.ts';
import { loadEnv } from '../env.ts';
import { RunInputError, type StageContext, type StageResult } from '../stage.ts';
import { gradientEngineFor } from '../train/parallel-engine.ts';
import { RunCheckpoints } from './checkpoints.ts';
import {
  chatFormatOf,
  checkFitsInMemory,
  loadBase,
  loadDatasetRows,
  regimeOf,
  resolveBaseModel,
} from './inputs.ts';

/**
 * The train stage: build the regime's examples from the run's datasets, finetune with core's trainer, and
 * store checkpoints as it goes. A retried job resumes from the newest checkpoint: weights, AdamW moments,
 * step and RNG, so the rest of the loss curve is the one an uninterrupted run would have drawn.
 * Regimes that do not train go straight to evaluation.
 */
export async function trainStage(ctx: StageContext): Promise<StageResult> {
  const { config, run } = ctx;
  const regime = regimeOf(config);
  if (regime.kind !== 'train') {
    ctx.log(`regime ${regime.name} (${regime.kind}) does not train`);
    return { next: 'evaluate' };
  }
  if (config.datasets.length === 0) {
    throw new RunInputError(`regime ${regime.name} trains, but the run config lists no datasets`);
  }
  const src = await resolveBaseModel(ctx.db, config.baseModel);
  // Submission checks this too; a run stored before (or a model replaced since) fails here once, not per attempt.
  const misfit = checkRunFitsModel(config, src.config);
  if (misfit.length > 0) throw new RunInputError(misfit.map((i) => `${i.path}: ${i.message}`).join('; '));
  checkFitsInMemory(src, 'train', config.train.method);
  const chat = chatFormatOf(config, src);

  const rows: StoredRow[] = [];
  const meta: DatasetMeta = { duplicatesDropped: 0, splits: {}, tasks: {} };
  for (const name of config.datasets) {
    const d = await loadDatasetRows(ctx.db, name, 'train');
    // One by one: spreading ~150k rows as arguments overflows the stack.
    for (const r of d.rows) rows.push(r);
    Object.assign(meta.tasks as object, d.meta.tasks ?? {});
  }

  const checkpoints = new RunCheckpoints(ctx.db, ctx.store, run.id, ctx.stagingDir);
  const resumeFrom = await checkpoints.latest();
  if (resumeFrom?.isFinal) {
    ctx.log(`final checkpoint at step ${resumeFrom.step} already stored`);
    return { next: 'evaluate' };
  }

  const base = loadBase(src);
  let model = base.model;
  const examples = buildTrainingExamples(regime, rows, config.regime.params, {
    meta,
    seed: config.seed,
    chat,
    tokenizer: base.tokenizer,
    maxSeqLen: config.train.maxSeqLen,
  });
  if (examples.length === 0) {
    throw new RunInputError(
      `regime ${regime.name} built no training example with a loss-carrying token from ${rows.length} rows of ${config.datasets.join(', ')} (maxSeqLen ${config.train.maxSeqLen})`,
    );
  }
  ctx.log(`${examples.length} training examples from ${rows.length} rows; ${model.numParams()} parameters`);

  let saved: LoadedCheckpoint | undefined;
  if (resumeFrom) {
    saved = readTrainCheckpoint(resumeFrom.dir);
    if (saved.model) {
      model.dispose();
      model = saved.model;
    }
  }
  const loraConfig = config.train.method === 'lora' ? config.train.lora : undefined;
  const lora = loraConfig
    ? resumeFrom
      ? readCheckpointAdapters(resumeFrom.dir, model, config)
      : createLoraAdapters(model, loraConfig, config.seed)
    : undefined;
  const threads = loadEnv().REGIMEN_TRAIN_THREADS;
  // The trainer makes the model's variables (or the adapters) hold the trained values before each
  // checkpoint, whichever engine computes.
  const { engine, note } = await gradientEngineFor(model, threads, lora);
  ctx.log(note);
  const opts: TrainOptions = {};
  if (saved) {
    opts.resume = { step: saved.step, rngState: saved.rngState, names: saved.names, m: saved.m, v: saved.v };
    ctx.log(`resuming from the checkpoint at step ${saved.step}`);
  }

  try {
    const result = await train(engine, examples, config, {
      ...opts,
      signal: ctx.signal,
      onStep: (s) => {
        ctx.metrics.push({
          step: s.step,
          split: 'train',
          loss: s.loss,
          lr: s.lr,
          tokensPerSec: s.tokensPerSecond,
          memoryMb: s.memory.peakBytes / 2 ** 20,
        });
        ctx.noteMemory(process.memoryUsage().rss + s.memory.peakBytes);
        ctx.progress(s.step / s.totalSteps);
      },
      onEval: (e) => ctx.metrics.push({ step: e.step, split: 'eval', loss: e.loss }),
      onCheckpoint: async (state) => {
        // The points up to this step are stored before the checkpoint is: a run resumed from it replays only
        // later steps, so points still buffered when the worker died would be lost for good.
        await withDbRetry(() => ctx.metrics.flush());
        const dir = await writeTrainCheckpoint(checkpoints.runDir, model, state, lora);
        await checkpoints.commit(dir, state.step, state.step === state.totalSteps);
      },
    });
    if (result.aborted) return { aborted: true };
    ctx.log(`trained ${result.steps} steps, final loss ${result.finalLoss.toFixed(4)}`);
    return { next: 'evaluate' };
  } finally {
    await engine.dispose();
    if (lora) disposeLoraAdapters(lora);
    model.dispose();
  }
}
