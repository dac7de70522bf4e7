import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasSharedData, skipReasonWithoutSharedData } from '@regimen/core/testing/shared-data';
import { createPrismaClient, type PrismaClient } from '@regimen/db/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DbStageQueue } from './stage-queue.ts';
import { submitRun } from './submit.ts';
import {
  openTestQueue,
  seedStories,
  shortRunConfig,
  testQueueEnv,
  until,
  WorkerProcess,
} from './testing/fixtures.ts';

skipReasonWithoutSharedData();

const STEPS = 2000;

// A run far longer than the heartbeat limit (10 s here): its job must never be taken over while its worker
// lives, and its metric points must keep arriving while it trains, not in one burst at the end.
describe.skipIf(!hasSharedData)('a long training run', () => {
  const url = process.env.DATABASE_URL as string;
  let db: PrismaClient;
  let queue: DbStageQueue;
  let home: string;
  let worker: WorkerProcess | undefined;

  beforeAll(async () => {
    db = createPrismaClient(url);
    await seedStories(db);
    queue = await openTestQueue(url);
    home = await mkdtemp(join(tmpdir(), 'regimen-long-'));
  }, 60_000);
  afterAll(async () => {
    await worker?.stop();
    await queue?.stop();
    await db?.$disconnect();
    if (home) await rm(home, { recursive: true, force: true });
  }, 60_000);

  it(`keeps its job for ${STEPS} steps and streams its metrics`, async () => {
    worker = new WorkerProcess(testQueueEnv(url, home), ['--kinds', 'train,evaluate']);
    await worker.waitFor(/claiming .* jobs/);
    const run = await submitRun(
      db,
      queue,
      shortRunConfig({
        train: { maxSteps: STEPS, batchSize: 2, maxSeqLen: 48, checkpointEvery: 500, learningRate: 1e-3 },
        decoding: { maxNewTokens: 2, batchSize: 2 },
      }),
    );
    const started = Date.now();
    // The checker: every 2 s, how many points are stored; the run must not be failed over meanwhile.
    const counts: number[] = [];
    const done = await until(
      `run ${run.id} to end`,
      async () => {
        counts.push(await db.metricPoint.count({ where: { runId: run.id, split: 'train' } }));
        const r = await db.run.findUniqueOrThrow({ where: { id: run.id } });
        await new Promise((resolve) => setTimeout(resolve, 2000));
        return ['done', 'failed', 'cancelled'].includes(r.status) ? r : undefined;
      },
      600_000,
    );
    const seconds = (Date.now() - started) / 1000;
    expect(done.status, `${done.error}\n${worker.output}`).toBe('done');
    // One attempt per stage: train, then evaluate; a failed-over train job would add one.
    expect(done.attempts).toBe(2);
    expect(worker.output.match(new RegExp(`train ${run.id}: started`, 'g'))).toHaveLength(1);
    expect(worker.output).not.toMatch(/taken over|stopped heartbeating/);
    expect(await db.metricPoint.count({ where: { runId: run.id, split: 'train' } })).toBe(STEPS);
    // Longer than a heartbeat limit, so the test means something on a fast machine too.
    expect(seconds).toBeGreaterThan(10);
    // Points arrived in many polls while training, not all at the end.
    const growing = counts.filter((c, i) => i > 0 && c > (counts[i - 1] as number)).length;
    expect(growing, `points stored per poll: ${counts.join(', ')}`).toBeGreaterThanOrEqual(3);
  }, 660_000);
});
