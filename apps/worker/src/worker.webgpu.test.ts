import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasSharedData, skipReasonWithoutSharedData } from '@regimen/core/testing/shared-data';
import { webgpuAdapter } from '@regimen/core/testing/tf-backend';
import { createPrismaClient, type PrismaClient } from '@regimen/db/client';
import { type GenerateEvent, listenGenerateEvents } from '@regimen/db/events';
import type { GenerateJob } from '@regimen/db/queue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DbStageQueue } from './stage-queue.ts';
import { submitRun } from './submit.ts';
import {
  openTestQueue,
  STORIES_MODEL,
  seedStories,
  shortRunConfig,
  testQueueEnv,
  until,
  WorkerProcess,
} from './testing/fixtures.ts';

skipReasonWithoutSharedData();
const adapter = await webgpuAdapter();

// A worker on webgpu (lavapipe here): a run goes through the queue — train, evaluate with generations — and a
// playground request streams its text, both on the GPU path.
describe.skipIf(!hasSharedData || !adapter)(`a worker on webgpu (${adapter ?? 'no adapter'})`, () => {
  const url = process.env.DATABASE_URL as string;
  let db: PrismaClient;
  let queue: DbStageQueue;
  let home: string;
  let worker: WorkerProcess | undefined;
  const received: GenerateEvent[] = [];
  let listener: Awaited<ReturnType<typeof listenGenerateEvents>> | undefined;

  beforeAll(async () => {
    db = createPrismaClient(url);
    await seedStories(db);
    queue = await openTestQueue(url);
    home = await mkdtemp(join(tmpdir(), 'regimen-worker-webgpu-'));
    listener = await listenGenerateEvents(url, (e) => received.push(e));
  }, 60_000);
  afterAll(async () => {
    await worker?.stop();
    await listener?.close();
    await queue?.stop();
    await db?.$disconnect();
    if (home) await rm(home, { recursive: true, force: true });
  }, 60_000);

  it('trains and evaluates a run, and answers the playground, on webgpu', async () => {
    worker = new WorkerProcess({ ...testQueueEnv(url, home), REGIMEN_BACKEND: 'webgpu' }, [
      '--kinds',
      'train,evaluate,generate',
    ]);
    await worker.waitFor(/claiming .* jobs/, 120_000);
    const run = await submitRun(db, queue, shortRunConfig());
    const done = await until(
      `run ${run.id} to end`,
      async () => {
        const r = await db.run.findUniqueOrThrow({ where: { id: run.id } });
        return ['done', 'failed', 'cancelled'].includes(r.status) ? r : undefined;
      },
      300_000,
    );
    expect(done.error, worker.output).toBeNull();
    expect(done.status).toBe('done');
    expect(done.backend).toMatch(/^webgpu/);
    const points = await db.metricPoint.findMany({ where: { runId: run.id, split: 'train' } });
    expect(points.map((p) => p.step).sort()).toEqual([1, 2, 3, 4]);
    expect(points.every((p) => Number.isFinite(p.loss))).toBe(true);
    expect(await db.generation.count({ where: { runId: run.id } })).toBe(2);

    const modelId = (await db.model.findUniqueOrThrow({ where: { name: STORIES_MODEL } })).id;
    const data: GenerateJob = {
      requestId: randomUUID(),
      target: { modelId },
      prompt: 'Once upon a time',
      chatTemplate: false,
      adapter: false,
      decoding: { maxNewTokens: 8, temperature: 0, seed: 0 },
    };
    await queue.jobs.enqueue('generate', data);
    const events = await until(
      'the playground answer',
      async () => {
        const mine = received.filter((e) => e.requestId === data.requestId);
        const last = mine.at(-1);
        return last?.type === 'done' || last?.type === 'error' ? mine : undefined;
      },
      120_000,
    );
    expect(events.map((e) => e.type)).toContain('delta');
    expect(events.at(-1)).toMatchObject({ type: 'done', backend: 'webgpu' });
  }, 480_000);
});
