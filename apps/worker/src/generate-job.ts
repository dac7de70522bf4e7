import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tuluPrompt } from '@regimen/core/chat/template';
import { loadHfModel } from '@regimen/core/checkpoint/hf';
import { checkpointFormat, loadModel } from '@regimen/core/checkpoint/load';
import { generate, type TextCodec } from '@regimen/core/decode/generate';
import type { DecoderModel } from '@regimen/core/model/types';
import { ruleBasedAdapter } from '@regimen/core/regimes/rule-based-adapter';
import { loadTokenizer } from '@regimen/core/tokenizer/load';
import type { Tokenizer } from '@regimen/core/tokenizer/types';
import type { PrismaClient } from '@regimen/db/client';
import { type GenerateEvent, notifyGenerateEvent } from '@regimen/db/events';
import type { QueueJob as DbQueueJob, GenerateJob } from '@regimen/db/queue';
import * as tf from '@tensorflow/tfjs-core';

/** A prompt target's files: a model, and optionally a checkpoint folder whose weights replace the model's. */
interface GenerateTarget {
  label: string;
  modelPath: string;
  tokenizerPath: string;
  checkpointDir?: string;
}

/** Resolves a registered model or a run checkpoint (over its run's base model) to files on this machine. */
async function resolveGenerateTarget(
  db: PrismaClient,
  target: GenerateJob['target'],
): Promise<GenerateTarget> {
  let modelId: string;
  let checkpointDir: string | undefined;
  let label: string | undefined;
  if ('checkpointId' in target) {
    const c = await db.checkpoint.findUnique({
      where: { id: target.checkpointId },
      select: { step: true, uri: true, run: { select: { name: true, modelId: true, config: true } } },
    });
    if (!c) throw new Error(`checkpoint ${target.checkpointId} does not exist`);
    if (!c.run.modelId) throw new Error(`run "${c.run.name}" has no registered base model`);
    if ((c.run.config as { train?: { method?: string } }).train?.method === 'lora') {
      throw new Error('LoRA checkpoints hold adapters only; prompt the merged model from the CLI');
    }
    if (!c.uri.startsWith('file://')) throw new Error(`checkpoint ${c.uri} is not on this worker's disk`);
    checkpointDir = fileURLToPath(c.uri);
    if (!existsSync(checkpointDir)) throw new Error(`${checkpointDir}: checkpoint folder is missing`);
    modelId = c.run.modelId;
    label = `${c.run.name} @ step ${c.step}`;
  } else {
    modelId = target.modelId;
  }
  const m = await db.model.findUnique({
    where: { id: modelId },
    select: { name: true, path: true, tokenizer: true, status: true },
  });
  if (!m) throw new Error(`model ${modelId} does not exist`);
  if (m.status !== 'ready' || !m.path || !m.tokenizer)
    throw new Error(`model ${m.name} is not ready (${m.status})`);
  return {
    label: label ?? m.name,
    modelPath: m.path,
    tokenizerPath: m.tokenizer,
    ...(checkpointDir ? { checkpointDir } : {}),
  };
}

interface Loaded {
  model: DecoderModel;
  tokenizer: Tokenizer;
  llama2c: boolean;
}

/**
 * Models kept loaded between prompts, least recently used first out. Two, because the playground prompts a
 * checkpoint and its base model side by side.
 */
export class ModelCache {
  private readonly entries = new Map<string, Loaded>();
  constructor(private readonly capacity = 2) {}

  get(target: GenerateTarget): Loaded {
    const key = `${target.modelPath}|${target.checkpointDir ?? ''}`;
    const hit = this.entries.get(key);
    if (hit) {
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit;
    }
    const loaded = {
      model: target.checkpointDir ? loadHfModel(target.checkpointDir) : loadModel(target.modelPath),
      tokenizer: loadTokenizer(target.tokenizerPath),
      llama2c: checkpointFormat(target.modelPath) === 'llama2c',
    };
    this.entries.set(key, loaded);
    while (this.entries.size > this.capacity) {
      const [oldest, value] = this.entries.entries().next().value as [string, Loaded];
      value.model.dispose();
      this.entries.delete(oldest);
    }
    return loaded;
  }

  get size(): number {
    return this.entries.size;
  }

  dispose(): void {
    for (const value of this.entries.values()) value.model.dispose();
    this.entries.clear();
  }
}

/**
 * Turns one row's tokens, as they are decoded, into text deltas whose concatenation is the generated text:
 * the continuation is decoded with the prompt (a piece's leading space depends on what precedes it), stop ids
 * add nothing, and a trailing U+FFFD (an incomplete UTF-8 sequence of byte tokens) is held back until the
 * bytes after it complete it.
 */
export function textDeltas(
  tokenizer: TextCodec,
  promptIds: number[],
  stopIds: readonly number[],
): { next: (id: number) => string; sent: () => string } {
  const before = tokenizer.decode(promptIds);
  const ids = [...promptIds];
  let sent = '';
  return {
    next: (id) => {
      if (stopIds.includes(id)) return '';
      ids.push(id);
      const all = tokenizer.decode(ids);
      const text = (all.startsWith(before) ? all.slice(before.length) : all).replace(/\uFFFD+$/, '');
      if (!text.startsWith(sent)) return '';
      const delta = text.slice(sent.length);
      sent = text;
      return delta;
    },
    sent: () => sent,
  };
}

interface PromptOutput {
  text: string;
  tokens: number;
  finishReason: string;
  seconds: number;
  backend: string;
}

/**
 * Prompts a target once with the backend this process chose. `onDelta` sees pieces of text as they are decoded;
 * their concatenation is the returned text. Stops (throwing) at the next token once `signal` aborts.
 */
async function runPrompt(
  models: ModelCache,
  target: GenerateTarget,
  opts: Pick<GenerateJob, 'prompt' | 'chatTemplate' | 'adapter' | 'decoding'>,
  onDelta?: (delta: string) => void,
  signal?: AbortSignal,
): Promise<PromptOutput> {
  const loaded = models.get(target);
  const { model, tokenizer } = loaded;
  const eos = tokenizer.eosId ?? model.config.eosTokenId;
  const stopTokenIds = [
    ...(eos === undefined ? [] : [eos]),
    // llama2.c samples end at the next BOS, which delimits its training sequences.
    ...(loaded.llama2c && tokenizer.bosId !== undefined ? [tokenizer.bosId] : []),
  ];
  const processors = opts.adapter
    ? (ruleBasedAdapter.logitsProcessors?.(ruleBasedAdapter.params.parse({}), {
        tokenizer,
        endIds: stopTokenIds,
      }) ?? [])
    : [];
  const started = performance.now();
  const promptText = opts.chatTemplate ? tuluPrompt(opts.prompt) : opts.prompt;
  const encoded = tokenizer.encode(promptText);
  // generate() starts an empty prompt from BOS alone; the deltas decode after the same ids.
  const promptIds = encoded.length === 0 && tokenizer.bosId !== undefined ? [tokenizer.bosId] : encoded;
  const deltas = textDeltas(tokenizer, promptIds, stopTokenIds);
  const [g] = await generate(model, tokenizer, [promptText], {
    maxNewTokens: opts.decoding.maxNewTokens,
    temperature: opts.decoding.temperature,
    seed: opts.decoding.seed,
    stopTokenIds,
    processors,
    onToken: (_, [id]) => {
      signal?.throwIfAborted();
      if (id === null || id === undefined) return;
      const delta = deltas.next(id);
      if (delta) onDelta?.(delta);
    },
  });
  if (!g) throw new Error('generation returned nothing');
  // Whatever the pieces held back (an incomplete character at the very end) completes the text.
  const sent = deltas.sent();
  if (g.text.startsWith(sent) && g.text.length > sent.length) onDelta?.(g.text.slice(sent.length));
  return {
    text: g.text,
    tokens: g.generatedIds.length,
    finishReason: g.finishReason,
    seconds: (performance.now() - started) / 1000,
    backend: tf.getBackend(),
  };
}

/**
 * A generate job: resolves its target, then streams `started`, the text deltas and `done` (or `error`) on the
 * generate channel under the job's requestId. A failure is the asker's to see, not a reason to retry, so the job
 * itself completes either way; only a lost database connection fails it.
 */
export async function runGenerateJob(
  db: PrismaClient,
  models: ModelCache,
  job: Pick<DbQueueJob<'generate'>, 'id' | 'data'> & Partial<Pick<DbQueueJob<'generate'>, 'signal'>>,
  log: (line: string) => void,
): Promise<void> {
  const { requestId } = job.data;
  // Sent one after another, so listeners see the pieces in decoding order.
  let sending: Promise<void> = Promise.resolve();
  const send = (event: GenerateEvent) => {
    sending = sending.then(() => notifyGenerateEvent(db, event));
  };
  try {
    const target = await resolveGenerateTarget(db, job.data.target);
    send({ type: 'started', requestId, label: target.label, backend: tf.getBackend() });
    const out = await runPrompt(
      models,
      target,
      job.data,
      (delta) => send({ type: 'delta', requestId, delta }),
      job.signal,
    );
    send({
      type: 'done',
      requestId,
      tokens: out.tokens,
      finishReason: out.finishReason,
      seconds: out.seconds,
      backend: out.backend,
    });
    log(`generate ${job.id}: ${out.tokens} tokens of ${target.label} in ${out.seconds.toFixed(1)} s`);
  } catch (error) {
    const message = (error as Error).message;
    log(`generate ${job.id}: ${message}`);
    send({ type: 'error', requestId, error: message });
  }
  await sending;
}
