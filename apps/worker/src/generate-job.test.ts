import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasSharedData, sharedData, skipReasonWithoutSharedData } from '@regimen/core/testing/shared-data';
import { useWasmBackend } from '@regimen/core/testing/tf-backend';
import { createPrismaClient, type PrismaClient } from '@regimen/db/client';
import { type GenerateEvent, listenGenerateEvents } from '@regimen/db/events';
import type { GenerateJob } from '@regimen/db/queue';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelCache, runGenerateJob, textDeltas } from './generate-job.ts';
import type { DbStageQueue } from './stage-queue.ts';
import {
  openTestQueue,
  STORIES_MODEL,
  seedStories,
  testQueueEnv,
  until,
  WorkerProcess,
} from './testing/fixtures.ts';

skipReasonWithoutSharedData();

describe('textDeltas', () => {
  // A byte-level codec: each id is one UTF-8 byte, so a multi-byte character arrives in pieces.
  const codec = {
    encode: (s: string) => [...Buffer.from(s)],
    decode: (ids: number[]) => Buffer.from(ids).toString('utf8'),
    bosId: undefined,
    eosId: 0,
    padId: undefined,
  };

  it('holds back an incomplete UTF-8 character and adds nothing for a stop id', () => {
    const deltas = textDeltas(codec, codec.encode('Hi '), [0]);
    expect([...Buffer.from('é!'), 0].map(deltas.next)).toEqual(['', 'é', '!', '']);
    expect(deltas.sent()).toBe('é!');
  });
});

describe.skipIf(!hasSharedData)('generate jobs', () => {
  const url = process.env.DATABASE_URL as string;
  let db: PrismaClient;
  let modelId: string;
  let dir: string;
  const received: GenerateEvent[] = [];
  let listener: Awaited<ReturnType<typeof listenGenerateEvents>>;

  const job = (target: GenerateJob['target'], maxNewTokens = 24): GenerateJob => ({
    requestId: randomUUID(),
    target,
    prompt: 'Once upon a time',
    chatTemplate: false,
    adapter: false,
    decoding: { maxNewTokens, temperature: 0, seed: 0 },
  });
  const eventsOf = (requestId: string) => received.filter((e) => e.requestId === requestId);
  const ended = (requestId: string) =>
    until(`the end of request ${requestId}`, async () => {
      const last = eventsOf(requestId).at(-1);
      return last?.type === 'done' || last?.type === 'error' ? eventsOf(requestId) : undefined;
    });

  beforeAll(async () => {
    await useWasmBackend();
    db = createPrismaClient(url);
    await seedStories(db);
    modelId = (await db.model.findUniqueOrThrow({ where: { name: STORIES_MODEL } })).id;
    dir = await mkdtemp(join(tmpdir(), 'regimen-generate-'));
    listener = await listenGenerateEvents(url, (e) => received.push(e));
  }, 60_000);
  afterAll(async () => {
    await listener?.close();
    await db?.$disconnect();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('streams a model’s text as deltas that add up to what greedy decoding gives', {
    timeout: 120_000,
  }, async () => {
    const models = new ModelCache(2);
    const data = job({ modelId });
    const numTensors = tf.memory().numTensors;
    await runGenerateJob(db, models, { id: 'j1', data }, () => {});
    const events = await ended(data.requestId);
    expect(events[0]).toEqual({
      type: 'started',
      requestId: data.requestId,
      label: STORIES_MODEL,
      backend: 'wasm',
    });
    const deltas = events.filter((e) => e.type === 'delta').map((e) => e.delta);
    expect(deltas.length).toBeGreaterThan(1);
    const done = events.at(-1);
    expect(done).toMatchObject({ type: 'done', backend: 'wasm', finishReason: expect.any(String) });
    expect(done?.type === 'done' && done.tokens).toBeGreaterThan(1);

    // The same prompt through the playground's decoding, in process: same text, and only the cached model's
    // tensors stay allocated.
    const { generate } = await import('@regimen/core/decode/generate');
    const { loadModel } = await import('@regimen/core/checkpoint/load');
    const { loadTokenizer } = await import('@regimen/core/tokenizer/load');
    const model = loadModel(sharedData('llama2c_stories260K', 'stories260K.bin'));
    const tokenizer = loadTokenizer(sharedData('llama2c_stories260K', 'tok512.bin'));
    const stop = [tokenizer.eosId, tokenizer.bosId].filter((x): x is number => x !== undefined);
    const [expected] = await generate(model, tokenizer, ['Once upon a time'], {
      maxNewTokens: 24,
      stopTokenIds: stop,
    });
    model.dispose();
    expect(deltas.join('')).toBe(expected?.text);
    expect(models.size).toBe(1);
    const afterOne = tf.memory().numTensors;
    await runGenerateJob(db, models, { id: 'j2', data: { ...data, requestId: randomUUID() } }, () => {});
    expect(tf.memory().numTensors).toBe(afterOne);
    models.dispose();
    expect(tf.memory().numTensors).toBe(numTensors);
  });

  it('keeps the two most recently used models and disposes the older one', async () => {
    const models = new ModelCache(2);
    const copies = await Promise.all(
      ['a', 'b', 'c'].map(async (name) => {
        const path = join(dir, `${name}.bin`);
        await symlink(sharedData('llama2c_stories260K', 'stories260K.bin'), path);
        return {
          label: name,
          modelPath: path,
          tokenizerPath: sharedData('llama2c_stories260K', 'tok512.bin'),
        };
      }),
    );
    const [a, b, c] = copies as [(typeof copies)[0], (typeof copies)[0], (typeof copies)[0]];
    const base = tf.memory().numTensors;
    const first = models.get(a);
    const perModel = tf.memory().numTensors - base;
    models.get(b);
    expect(models.get(a)).toBe(first);
    models.get(c); // b is the least recently used now
    expect(models.size).toBe(2);
    expect(models.get(a)).toBe(first);
    expect(tf.memory().numTensors).toBe(base + 2 * perModel);
    models.dispose();
    expect(tf.memory().numTensors).toBe(base);
  });

  it('sends an error naming the missing checkpoint, and completes', async () => {
    const data = job({ checkpointId: 'no-such-checkpoint' });
    await runGenerateJob(db, new ModelCache(), { id: 'j3', data }, () => {});
    expect(await ended(data.requestId)).toEqual([
      { type: 'error', requestId: data.requestId, error: 'checkpoint no-such-checkpoint does not exist' },
    ]);
  });

  describe('in a worker process', () => {
    let queue: DbStageQueue;
    let worker: WorkerProcess;
    afterAll(async () => {
      await worker?.stop();
      await queue?.stop();
    });

    it('claims a queued generate job and streams its text', { timeout: 120_000 }, async () => {
      queue = await openTestQueue(url);
      worker = new WorkerProcess(testQueueEnv(url, dir), ['--kinds', 'generate']);
      await worker.waitFor(/claiming generate jobs/);
      const data = job({ modelId }, 8);
      await queue.jobs.enqueue('generate', data);
      const events = await ended(data.requestId);
      expect(events.map((e) => e.type)).toContain('delta');
      expect(events.at(-1)).toMatchObject({ type: 'done', tokens: expect.any(Number) });
    });
  });
});
