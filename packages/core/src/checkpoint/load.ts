import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { DecoderModel, ModelConfig } from '../model/types.ts';
import { loadHfModel, readHfConfig } from './hf.ts';
import { loadLlama2c, readLlama2cHeader, toHalfRopeLayout } from './llama2c.ts';

export type CheckpointFormat = 'hf' | 'llama2c';

/** A Hugging Face folder or a llama2.c `.bin` file. */
export function checkpointFormat(path: string): CheckpointFormat {
  if (!existsSync(path)) throw new Error(`${path}: no such model folder or file`);
  if (statSync(path).isDirectory()) return 'hf';
  if (path.endsWith('.bin')) return 'llama2c';
  throw new Error(`${path}: expected a Hugging Face model folder or a llama2.c .bin checkpoint`);
}

/** A checkpoint's model config, read from its config.json or llama2.c header, without loading weights. */
export function readModelConfig(path: string): ModelConfig {
  return checkpointFormat(path) === 'hf' ? readHfConfig(path) : readLlama2cHeader(path);
}

/** Loads a model from a Hugging Face folder or a llama2.c `.bin` checkpoint. */
export function loadModel(path: string): DecoderModel {
  return checkpointFormat(path) === 'hf' ? loadHfModel(path) : loadLlama2c(path);
}

/**
 * Loads a model to train: as {@link loadModel}, with a llama2.c model's rotary pairs permuted once into
 * Hugging Face's "half" layout (the same model, its query/key columns reordered), because checkpoints are
 * written in Hugging Face layout; training, its checkpoints and evaluation then all see one model.
 */
export function loadModelForTraining(path: string): DecoderModel {
  if (checkpointFormat(path) === 'hf') return loadHfModel(path);
  const interleaved = loadLlama2c(path);
  try {
    return toHalfRopeLayout(interleaved);
  } finally {
    interleaved.dispose();
  }
}

/**
 * Where a model's tokenizer lives when none is named: the folder itself (Hugging Face), or for a llama2.c
 * checkpoint a `tokenizer.bin` beside it, else the one other `tok*.bin` there (e.g. `tok512.bin`).
 */
export function defaultTokenizerPath(modelPath: string): string {
  if (checkpointFormat(modelPath) === 'hf') return modelPath;
  const dir = dirname(modelPath);
  if (existsSync(join(dir, 'tokenizer.bin'))) return join(dir, 'tokenizer.bin');
  const candidates = readdirSync(dir).filter(
    (f) => f.startsWith('tok') && f.endsWith('.bin') && f !== basename(modelPath),
  );
  if (candidates.length === 1) return join(dir, candidates[0]!);
  throw new Error(
    `${modelPath}: no tokenizer named; found ${candidates.length ? candidates.join(', ') : 'no tokenizer.bin or tok*.bin'} beside it — pass --tokenizer`,
  );
}
