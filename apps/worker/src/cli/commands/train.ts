import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { saveHfModel } from '@regimen/core/checkpoint/hf';
import { defaultTokenizerPath, loadModelForTraining } from '@regimen/core/checkpoint/load';
import { parseRunConfig, type RunConfig } from '@regimen/core/config/run-config';
import { loadDataset, parseDatasetFormat } from '@regimen/core/data/import';
import type { DecoderModel } from '@regimen/core/model/types';
import { buildTrainingExamples, regimes } from '@regimen/core/regimes/index';
import { tuluFormat } from '@regimen/core/regimes/templates';
import { loadTokenizer } from '@regimen/core/tokenizer/load';
import { saveTokenizer } from '@regimen/core/tokenizer/save';
import {
  type LoadedCheckpoint,
  latestCheckpoint,
  readCheckpointAdapters,
  readTrainCheckpoint,
  writeTrainCheckpoint,
} from '@regimen/core/train/checkpoint';
import { type TrainExample, validateExample } from '@regimen/core/train/example';
import { createLoraAdapters, disposeLoraAdapters, mergeLoraAdapters } from '@regimen/core/train/lora';
import { type StepInfo, type TrainOptions, train } from '@regimen/core/train/trainer';
import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { describeBackend, selectBackend } from '../../backend.ts';
import { gradientEngineFor } from '../../train/parallel-engine.ts';

/** Pre-tokenized training examples, one JSON object `{ids, lossMask}` per line; bypasses the regime. */
const EXAMPLES_FORMAT = 'examples';

export interface TrainCliOptions {
  config: string;
  out?: string;
  resume?: boolean;
  datasetFile?: string[];
  datasetFormat?: string;
  tokenizer?: string;
  workers?: string;
}

function readJsonFile(path: string): unknown {
  if (!existsSync(path)) throw new Error(`${path}: no such file`);
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`${path}: not valid JSON (${(e as Error).message})`);
  }
}

/** `{ids, lossMask}` JSONL, each line checked, errors naming file and line. */
export function readExamplesJsonl(path: string): TrainExample[] {
  const out: TrainExample[] = [];
  const lines = readFileSync(path, 'utf8').split('\n');
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    let e: TrainExample;
    try {
      e = JSON.parse(line) as TrainExample;
    } catch (err) {
      throw new Error(`${path}:${i + 1}: not valid JSON (${(err as Error).message})`);
    }
    try {
      validateExample(e, out.length);
    } catch (err) {
      throw new Error(`${path}:${i + 1}: ${(err as Error).message}`);
    }
    out.push(e);
  });
  if (out.length === 0) throw new Error(`${path}: no training examples`);
  return out;
}

async function trainingExamples(
  opts: TrainCliOptions,
  config: RunConfig,
  model: DecoderModel,
): Promise<TrainExample[]> {
  const files = (opts.datasetFile ?? []).map((f) => resolve(f));
  if (files.length === 0) {
    throw new Error(
      `--dataset-file is required: the CLI reads datasets from files (config datasets [${config.datasets.join(', ')}] name stored datasets, which the worker resolves)`,
    );
  }
  if (!opts.datasetFormat) throw new Error('--dataset-format is required with --dataset-file');
  if (opts.datasetFormat === EXAMPLES_FORMAT) {
    const examples = files.flatMap(readExamplesJsonl);
    for (const [i, e] of examples.entries()) validateExample(e, i, model.config.vocabSize);
    return examples;
  }
  const format = parseDatasetFormat(opts.datasetFormat);
  const regime = regimes.get(config.regime.name);
  const data = await loadDataset({ format, paths: files });
  const rows = data.rows.filter((r) => r.split === 'train');
  const tokenizer = loadTokenizer(opts.tokenizer ?? defaultTokenizerPath(config.baseModel));
  const examples = buildTrainingExamples(regime, rows, config.regime.params, {
    meta: data.meta,
    seed: config.seed,
    chat: tuluFormat,
    tokenizer,
    maxSeqLen: config.train.maxSeqLen,
  });
  if (examples.length === 0) {
    throw new Error(
      `regime ${regime.name} built no training example with a loss-carrying token from ${rows.length} train rows of ${files.join(', ')}`,
    );
  }
  return examples;
}

/** One line per step for logs and pipes (a terminal gets the progress bar instead). */
function stepLine(s: StepInfo): string {
  return `step ${s.step}/${s.totalSteps} loss=${s.loss} lr=${s.lr.toExponential(4)} tokens/s=${s.tokensPerSecond.toFixed(0)} peakMB=${(s.memory.peakBytes / 2 ** 20).toFixed(1)}`;
}

/** Runs a whole training run headless and writes its checkpoint folder. */
export async function trainCommand(opts: TrainCliOptions, log: (line: string) => void): Promise<void> {
  const config = parseRunConfig(readJsonFile(opts.config), opts.config);
  const out = resolve(opts.out ?? join('runs', config.name ?? `run-${Date.now()}`));
  const backend = await selectBackend();
  log(`backend: ${describeBackend(backend)}; output: ${out}`);

  let saved: LoadedCheckpoint | undefined;
  const ckptDir = opts.resume ? latestCheckpoint(out) : undefined;
  if (opts.resume && !ckptDir)
    throw new Error(`--resume: ${out} holds no checkpoint (no ${join(out, 'latest')})`);
  if (!opts.resume && latestCheckpoint(out)) {
    throw new Error(
      `${out} already holds checkpoints; pass --resume to continue that run or choose another --out`,
    );
  }
  if (ckptDir) {
    saved = readTrainCheckpoint(ckptDir);
    if (JSON.stringify(saved.config) !== JSON.stringify(config)) {
      throw new Error(
        `--resume: ${opts.config} resolves to a different config than the run in ${ckptDir}/run-config.json`,
      );
    }
    log(`resuming from ${ckptDir} (step ${saved.step})`);
  }
  const base = loadModelForTraining(config.baseModel);
  let model = base;
  if (saved?.model) {
    base.dispose();
    model = saved.model;
  }
  const examples = await trainingExamples(opts, config, model);
  log(`${examples.length} training examples; ${model.numParams()} parameters; method ${config.train.method}`);
  const loraCfg = config.train.method === 'lora' ? config.train.lora : undefined;
  const lora = loraCfg
    ? ckptDir
      ? readCheckpointAdapters(ckptDir, model, config)
      : createLoraAdapters(model, loraCfg, config.seed)
    : undefined;
  const workers = Number(opts.workers ?? '1');
  if (!Number.isInteger(workers) || workers < 1)
    throw new Error(`--workers: expected an integer >= 1, got ${opts.workers}`);
  const { engine, note } = await gradientEngineFor(model, workers, lora);
  log(note);
  const trainOpts: TrainOptions = {};
  if (saved) trainOpts.resume = saved;

  const tty = process.stderr.isTTY === true;
  const bar = new SingleBar({
    format: 'train |{bar}| {value}/{total} steps | loss {loss} | {tps} tokens/s | ETA {eta_formatted}',
    etaBuffer: 20,
    hideCursor: true,
  });
  const abort = new AbortController();
  const stop = () => abort.abort();
  process.once('SIGINT', stop);
  try {
    let started = false;
    const result = await train(engine, examples, config, {
      ...trainOpts,
      signal: abort.signal,
      onStep: (s) => {
        if (tty) {
          if (!started) bar.start(s.totalSteps, s.step - 1, { loss: '-', tps: '-' });
          bar.update(s.step, { loss: s.loss.toFixed(4), tps: s.tokensPerSecond.toFixed(0) });
        } else log(stepLine(s));
        started = true;
      },
      onEval: (e) => {
        const line = `eval at step ${e.step}: loss=${e.loss} over ${e.markedTokens} tokens`;
        if (tty) bar.stop();
        log(line);
        started = false;
      },
      onCheckpoint: async (state) => {
        const dir = await writeTrainCheckpoint(out, model, state, lora);
        if (!tty) log(`checkpoint ${dir}`);
      },
    });
    if (tty && started) bar.stop();
    if (result.aborted) {
      log(`stopped after step ${result.steps}; resume with --resume --out ${out}`);
      return;
    }
    const final = join(out, 'final');
    if (lora) mergeLoraAdapters(model, lora);
    await saveHfModel(model, final);
    try {
      saveTokenizer(loadTokenizer(opts.tokenizer ?? defaultTokenizerPath(config.baseModel)), final);
    } catch (e) {
      log(`no tokenizer copied into ${final}: ${(e as Error).message}`);
    }
    log(
      `done: ${result.steps} steps, final loss ${result.finalLoss.toFixed(4)}${result.evalLoss !== undefined ? `, eval loss ${result.evalLoss.toFixed(4)}` : ''}; model in ${final}`,
    );
  } finally {
    process.off('SIGINT', stop);
    await engine.dispose();
    if (lora) disposeLoraAdapters(lora);
    model.dispose();
  }
}

export function register(program: Command): void {
  program
    .command('train')
    .description(
      'Finetune a model headless from a run config; writes checkpoints and the final model under --out',
    )
    .requiredOption('--config <file>', 'run config JSON (the RunConfig schema the dashboard uses)')
    .option('--out <dir>', 'run folder for checkpoints and the final model (default runs/<name>)')
    .option('--resume', 'continue the run in --out from its latest checkpoint')
    .option('--dataset-file <path...>', 'dataset file(s) to train on')
    .option(
      '--dataset-format <format>',
      `dataset format (an importer format, or "${EXAMPLES_FORMAT}": JSONL of {ids, lossMask})`,
    )
    .option('--tokenizer <path>', 'tokenizer file or folder (default: beside the model)')
    .option(
      '--workers <n>',
      'data-parallel gradient threads, each with its own tfjs backend (full finetuning and LoRA)',
      '1',
    )
    .action(async (opts: TrainCliOptions) => {
      await trainCommand(opts, (line) => console.error(line));
    });
}
