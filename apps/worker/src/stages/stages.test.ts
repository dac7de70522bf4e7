import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasSharedData, sharedData, skipReasonWithoutSharedData } from '@regimen/core/testing/shared-data';
import { createPrismaClient, type PrismaClient } from '@regimen/db/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DbStageQueue } from '../stage-queue.ts';
import { submitRun } from '../submit.ts';
import {
  openTestQueue,
  STORIES_MODEL,
  seedStories,
  shortRunConfig,
  testQueueEnv,
  until,
  WorkerProcess,
} from '../testing/fixtures.ts';
import {
  DOMAIN_SIMILARITY_SUITE,
  INSTRUCTION_SIMILARITY,
  RESPONSE_SIMILARITY_DELTA,
} from './domain-similarity.ts';

skipReasonWithoutSharedData();

/** A run that only decodes: the six tiny-chat test prompts, answered by stories260K. */
const decodeRun = (regime: string, extra: object = {}) => ({
  baseModel: STORIES_MODEL,
  regime: { name: regime, params: {} },
  seed: 0,
  decoding: { maxNewTokens: 200, batchSize: 6 },
  eval: [{ suite: 'instructions' as const, dataset: 'tiny-chat', limit: 6 }],
  ...extra,
});

describe.skipIf(!hasSharedData)('train and evaluate stages in a worker', () => {
  const url = process.env.DATABASE_URL as string;
  let db: PrismaClient;
  let queue: DbStageQueue;
  let home: string;
  let worker: WorkerProcess | undefined;
  // Unique to this file, so the broad dataset is absent until the domain-similarity test stores it.
  const broadName = `lima-broad-${process.pid}-${Date.now()}`;
  const workerEnv = () => ({ ...testQueueEnv(url, home), REGIMEN_BROAD_DATASET: broadName });
  const finished = (runId: string) =>
    until(
      `run ${runId} to end`,
      async () => {
        const r = await db.run.findUniqueOrThrow({ where: { id: runId } });
        return ['done', 'failed', 'cancelled'].includes(r.status) ? r : undefined;
      },
      90_000,
    );

  beforeAll(async () => {
    db = createPrismaClient(url);
    await seedStories(db);
    queue = await openTestQueue(url);
    home = await mkdtemp(join(tmpdir(), 'regimen-stages-'));
    worker = new WorkerProcess(workerEnv(), ['--kinds', 'train,evaluate']);
    await worker.waitFor(/claiming .* jobs/);
  }, 60_000);
  afterAll(async () => {
    await worker?.stop();
    await queue?.stop();
    await db?.$disconnect();
    if (home) await rm(home, { recursive: true, force: true });
  }, 60_000);

  it('cuts an eval prompt longer than the model context from the left and evaluates the rest', async () => {
    // stories260K reads 512 tokens; one test prompt here is ~1,200.
    const long =
      'Once upon a time there was a little girl who liked to play in the park with her dog. '.repeat(60);
    const rows = [long, 'Tell me a story.', 'What is a cat?'].map((q) => ({
      kind: 'chat' as const,
      messages: [
        { role: 'user' as const, content: q },
        { role: 'assistant' as const, content: 'A story.' },
      ],
    }));
    const name = `long-chat-${process.pid}-${Date.now()}`;
    await db.dataset.create({
      data: {
        name,
        format: 'chat',
        source: 'stages.test.ts',
        contentHash: name,
        rowCount: rows.length,
        meta: { duplicatesDropped: 0, splits: { test: rows.length } },
        items: {
          create: rows.map((data, index) => ({ index, split: 'test', data, hash: `${name}-${index}` })),
        },
      },
    });
    const run = await submitRun(db, queue, {
      ...decodeRun('zero-shot'),
      decoding: { maxNewTokens: 8, batchSize: 3 },
      eval: [{ suite: 'instructions' as const, dataset: name, limit: 3 }],
    });
    const r = await finished(run.id);
    expect(r.error, worker?.output).toBeNull();
    expect(r.status).toBe('done');
    const gens = await db.generation.findMany({ where: { runId: run.id } });
    expect(gens).toHaveLength(3);
    // The long prompt kept its last 512 − 8 tokens; the others were left as they were.
    expect(Math.max(...gens.map((g) => g.promptTokens ?? 0))).toBe(504);
    expect(gens.every((g) => (g.completionTokens ?? 0) > 0)).toBe(true);
    expect(worker?.output).toMatch(
      new RegExp(`evaluate ${run.id}: 1 eval prompt was longer than the model's context \\(512 tokens\\)`),
    );
  }, 120_000);

  it("ends the rule-based adapter's generations earlier than zero-shot's, at the model's own end token", async () => {
    const zero = await submitRun(db, queue, decodeRun('zero-shot'));
    const adapted = await submitRun(db, queue, decodeRun('rule-based-adapter'));
    for (const run of [zero, adapted]) {
      const r = await finished(run.id);
      expect(r.error, worker?.output).toBeNull();
    }
    const gens = async (runId: string) =>
      db.generation.findMany({ where: { runId }, orderBy: { evalItemId: 'asc' } });
    const z = await gens(zero.id);
    const a = await gens(adapted.id);
    expect(z).toHaveLength(6);
    expect(a.map((g) => g.evalItemId)).toEqual(z.map((g) => g.evalItemId));
    const tokens = (gs: typeof z) => gs.reduce((n, g) => n + (g.completionTokens ?? 0), 0);
    expect(tokens(a)).toBeLessThan(tokens(z));
    // stories260K ends a text with BOS: with it among the end ids, the ramp ends every adapted answer.
    expect(a.every((g) => g.finishReason === 'eos')).toBe(true);
  }, 120_000);

  it("fails a chatTemplate 'model' run on a model without a chat template, naming what to change", async () => {
    const run = await submitRun(db, queue, decodeRun('rule-based-adapter', { chatTemplate: 'model' }));
    const r = await finished(run.id);
    expect(r.status).toBe('failed');
    expect(r.error).toMatch(/tokenizer_config\.json has no chat_template.*"chatTemplate": "tulu"/);
  }, 60_000);

  it("stores the raw instruction on the eval item, not the first regime's formatted prompt", async () => {
    const name = `raw-items-${process.pid}-${Date.now()}`;
    const rows = [
      {
        kind: 'chat',
        messages: [
          { role: 'user', content: 'Name a red fruit.' },
          { role: 'assistant', content: 'An apple.' },
        ],
      },
      {
        kind: 'chat',
        messages: [
          { role: 'user', content: 'Say hi.' },
          { role: 'assistant', content: 'Hi.' },
        ],
      },
    ];
    await db.dataset.create({
      data: {
        name,
        format: 'chat',
        source: 'apps/worker/src/stages/stages.test.ts',
        contentHash: name,
        rowCount: rows.length,
        meta: { duplicatesDropped: 0, splits: { test: rows.length } },
        items: {
          create: rows.map((data, index) => ({ index, split: 'test', data, hash: `${name}:${index}` })),
        },
      },
    });
    const run = await submitRun(
      db,
      queue,
      decodeRun('rule-based-adapter', {
        decoding: { maxNewTokens: 2, batchSize: 2 },
        eval: [{ suite: 'instructions', dataset: name }],
      }),
    );
    expect((await finished(run.id)).error, worker?.output).toBeNull();
    const items = await db.evalItem.findMany({
      where: { suite: 'instructions', key: { startsWith: `${name}:` } },
      orderBy: { key: 'asc' },
    });
    expect(items.map((i) => [i.key, i.instruction, i.input])).toEqual([
      [`${name}:0`, 'Name a red fruit.', null],
      [`${name}:1`, 'Say hi.', null],
    ]);
    const gens = await db.generation.findMany({ where: { runId: run.id } });
    expect(gens.every((g) => g.prompt.startsWith('<|user|>\n'))).toBe(true);
  }, 60_000);

  it('scores domain similarity of a finetuned run once the broad dataset is stored, and skips it before', async () => {
    const config = shortRunConfig({ seed: 5, train: { maxSteps: 2, batchSize: 2, maxSeqLen: 48 } });
    const domainScores = (runId: string) =>
      db.score.findMany({ where: { runId, suite: DOMAIN_SIMILARITY_SUITE }, orderBy: { metric: 'asc' } });

    const without = await submitRun(db, queue, config);
    const w = await finished(without.id);
    expect(w.error, worker?.output).toBeNull();
    expect(w.status).toBe('done');
    expect(await domainScores(without.id)).toEqual([]);
    expect(worker?.output).toContain(`domain similarity skipped: no broad dataset "${broadName}" is stored`);

    // The broad set: real LIMA rows, stored as chat rows under this test's name.
    const lima = JSON.parse(await readFile(sharedData('lima', 'lima.json'), 'utf8')) as Array<{
      instruction: string;
      output: string;
    }>;
    const rows = lima.slice(0, 40).map((r) => ({
      kind: 'chat',
      messages: [
        { role: 'user', content: r.instruction },
        { role: 'assistant', content: r.output },
      ],
    }));
    await db.dataset.create({
      data: {
        name: broadName,
        format: 'lima',
        source: 'apps/worker/src/stages/stages.test.ts',
        contentHash: broadName,
        rowCount: rows.length,
        meta: { duplicatesDropped: 0, splits: { train: rows.length } },
        items: { create: rows.map((data, index) => ({ index, data, hash: `${broadName}:${index}` })) },
      },
    });
    const withBroad = await submitRun(db, queue, config);
    expect((await finished(withBroad.id)).error, worker?.output).toBeNull();
    expect(worker?.output).toMatch(
      new RegExp(`domain similarity over 2 items against 6 finetuning rows and 40 "${broadName}" responses`),
    );
    const scores = await domainScores(withBroad.id);
    expect(scores.map((s) => [s.metric, s.scope, s.n])).toEqual([
      [INSTRUCTION_SIMILARITY, 'overall', 2],
      [RESPONSE_SIMILARITY_DELTA, 'overall', 2],
    ]);
    const [x, y] = scores.map((s) => s.value) as [number, number];
    // The eval instructions are tiny-chat's own, so they share words with its finetuning instructions.
    expect(x).toBeGreaterThan(0);
    expect(x).toBeLessThanOrEqual(1);
    expect(Number.isFinite(y)).toBe(true);
    expect(Math.abs(y)).toBeLessThanOrEqual(1);
  }, 120_000);

  it('trains on two gradient threads (REGIMEN_TRAIN_THREADS=2) with the losses of one thread', async () => {
    const config = shortRunConfig({
      seed: 21,
      train: { maxSteps: 4, batchSize: 4, maxSeqLen: 48, learningRate: 1e-3 },
      eval: [],
    });
    const losses = async (runId: string) =>
      (await db.metricPoint.findMany({ where: { runId, split: 'train' }, orderBy: { step: 'asc' } })).map(
        (p) => p.loss as number,
      );
    const one = await submitRun(db, queue, config);
    expect((await finished(one.id)).error, worker?.output).toBeNull();
    // Only the two-thread worker serves from here on.
    await worker?.stop();
    worker = new WorkerProcess({ ...workerEnv(), REGIMEN_TRAIN_THREADS: '2' }, ['--kinds', 'train,evaluate']);
    await worker.waitFor(/claiming .* jobs/);
    const two = await submitRun(db, queue, config);
    expect((await finished(two.id)).error, worker.output).toBeNull();
    expect(worker.output).toMatch(/computing gradients on 2 wasm threads/);
    const expected = await losses(one.id);
    const actual = await losses(two.id);
    expect(expected).toHaveLength(4);
    expect(actual).toHaveLength(4);
    for (const [i, l] of actual.entries()) expect(l).toBeCloseTo(expected[i] as number, 4);
  }, 120_000);
});
