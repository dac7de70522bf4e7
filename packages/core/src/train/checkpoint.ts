import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadHfModel, saveHfModel } from '../checkpoint/hf.ts';
import { SafetensorsFile, writeSafetensors } from '../checkpoint/safetensors.ts';
import { parseRunConfig, type RunConfig } from '../config/run-config.ts';
import type { DecoderModel } from '../model/types.ts';
import { type LoraAdapters, splitAdapterName } from './engine.ts';
import { loadLoraAdapters, saveLoraAdapters } from './lora.ts';
import type { TrainState } from './trainer.ts';

/*
 * A run folder holds one sub-folder per checkpoint, `step-000120/`, and a `latest` file naming the newest
 * complete one. A checkpoint is written to a temporary folder and renamed into place, and `latest` is
 * replaced by rename too, so a run killed at any moment leaves the previous checkpoint intact.
 *
 *   step-000120/model.safetensors + config.json   full finetuning: the weights, Hugging Face layout
 *   step-000120/adapter_model.safetensors + adapter_config.json   LoRA: the adapters only (PEFT layout)
 *   step-000120/optimizer.safetensors              AdamW moments, `m.<name>` and `v.<name>`
 *   step-000120/trainer_state.json                 step, total steps, RNG state, tensor order
 *   step-000120/run-config.json                    the fully resolved RunConfig
 */

interface TrainerStateFile {
  step: number;
  totalSteps: number;
  rngState: number;
  names: string[];
}

export function checkpointName(step: number): string {
  return `step-${String(step).padStart(6, '0')}`;
}

/**
 * Writes one checkpoint of a run under `runDir` from the model's variables (with `lora`, the adapters') and
 * the trainer's state; returns its folder. Reads tensors asynchronously, one at a time.
 */
export async function writeTrainCheckpoint(
  runDir: string,
  model: DecoderModel,
  state: TrainState,
  lora?: LoraAdapters,
): Promise<string> {
  mkdirSync(runDir, { recursive: true });
  const name = checkpointName(state.step);
  const tmp = join(runDir, `.${name}.tmp`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  if (lora) {
    const cfg = state.config.train.lora;
    if (!cfg) throw new Error('writeTrainCheckpoint: adapters given but the run config has no train.lora');
    for (const n of state.names) {
      const [param] = splitAdapterName(n);
      if (!lora.modules[param]) throw new Error(`writeTrainCheckpoint: no adapter for ${param}`);
    }
    await saveLoraAdapters(tmp, lora, cfg, state.config.baseModel);
  } else {
    for (const n of state.names) {
      if (!model.params[n]) throw new Error(`writeTrainCheckpoint: the model has no parameter ${n}`);
    }
    await saveHfModel(model, tmp);
  }
  const specs = state.names.flatMap((n, i) => [
    { name: `m.${n}`, shape: state.shapes[i] as number[] },
    { name: `v.${n}`, shape: state.shapes[i] as number[] },
  ]);
  const index = new Map(state.names.map((n, i) => [n, i]));
  await writeSafetensors(join(tmp, 'optimizer.safetensors'), specs, (key) => {
    const i = index.get(key.slice(2)) as number;
    return (key.startsWith('m.') ? state.m[i] : state.v[i]) as Float32Array;
  });
  const trainerState: TrainerStateFile = {
    step: state.step,
    totalSteps: state.totalSteps,
    rngState: state.rngState,
    names: [...state.names],
  };
  writeJson(join(tmp, 'trainer_state.json'), trainerState);
  writeJson(join(tmp, 'run-config.json'), state.config);
  const dir = join(runDir, name);
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  writeFileSync(join(runDir, 'latest.tmp'), `${name}\n`);
  renameSync(join(runDir, 'latest.tmp'), join(runDir, 'latest'));
  return dir;
}

/** The newest complete checkpoint folder of a run, or undefined when none was written. */
export function latestCheckpoint(runDir: string): string | undefined {
  const file = join(runDir, 'latest');
  if (!existsSync(file)) return undefined;
  const dir = join(runDir, readFileSync(file, 'utf8').trim());
  if (!existsSync(join(dir, 'trainer_state.json'))) {
    throw new Error(`${file} names ${dir}, which holds no trainer_state.json`);
  }
  return dir;
}

export interface LoadedCheckpoint {
  config: RunConfig;
  /** Full finetuning: the checkpoint's weights. LoRA: undefined (load the base model, then the adapters). */
  model?: DecoderModel;
  step: number;
  totalSteps: number;
  rngState: number;
  names: string[];
  m: Float32Array[];
  v: Float32Array[];
}

/** Reads a checkpoint folder written by {@link writeTrainCheckpoint}. */
export function readTrainCheckpoint(dir: string): LoadedCheckpoint {
  const statePath = join(dir, 'trainer_state.json');
  const s = readJson(statePath) as TrainerStateFile;
  for (const k of ['step', 'totalSteps', 'rngState'] as const) {
    if (!Number.isInteger(s[k])) throw new Error(`${statePath}: ${k} must be an integer`);
  }
  if (!Array.isArray(s.names)) throw new Error(`${statePath}: names must be a list of tensor names`);
  const config = parseRunConfig(readJson(join(dir, 'run-config.json')), join(dir, 'run-config.json'));
  const opt = new SafetensorsFile(join(dir, 'optimizer.safetensors'));
  let m: Float32Array[];
  let v: Float32Array[];
  try {
    const read = (key: string) => {
      if (!opt.entries.has(key)) throw new Error(`${opt.path}: optimizer tensor ${key} is missing`);
      return opt.read(key);
    };
    m = s.names.map((n) => read(`m.${n}`));
    v = s.names.map((n) => read(`v.${n}`));
  } finally {
    opt.close();
  }
  const model = config.train.method === 'full' ? loadHfModel(dir) : undefined;
  return {
    config,
    model,
    step: s.step,
    totalSteps: s.totalSteps,
    rngState: s.rngState,
    names: s.names,
    m,
    v,
  };
}

/** LoRA runs: the adapters stored in a checkpoint folder, for `base` (the run's base model). */
export function readCheckpointAdapters(dir: string, base: DecoderModel, config: RunConfig): LoraAdapters {
  if (!config.train.lora) throw new Error(`${dir}: run config has no train.lora`);
  return loadLoraAdapters(dir, base, config.train.lora);
}

function writeJson(file: string, value: unknown): void {
  writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);
}

function readJson(file: string): unknown {
  if (!existsSync(file)) throw new Error(`${file}: not found`);
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file}: not valid JSON (${(e as Error).message})`);
  }
}
