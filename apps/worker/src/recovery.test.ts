import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasSharedData, skipReasonWithoutSharedData } from '@regimen/core/testing/shared-data';
import { createPrismaClient, type PrismaClient } from '@regimen/db/client';
import { type Database, openDatabase } from '@regimen/db/database';
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
import { tinyS3 } from './testing/tiny-s3.ts';

skipReasonWithoutSharedData();

/** Long enough that a kill after the first checkpoint lands well before the end on a fast machine too. */
const STEPS = 48;
const longerRun = (seed: number, steps = STEPS, checkpointEvery = 4) =>
  shortRunConfig({
    seed,
    train: { maxSteps: steps, batchSize: 2, maxSeqLen: 48, checkpointEvery, learningRate: 1e-3 },
    decoding: { maxNewTokens: 2, batchSize: 2 },
    eval: [{ suite: 'instructions', dataset: 'tiny-chat', limit: 2 }],
  });

async function ended(db: PrismaClient, runId: string, timeoutMs = 120_000) {
  return until(
    `run ${runId} to end`,
    async () => {
      const r = await db.run.findUniqueOrThrow({ where: { id: runId } });
      return ['done', 'failed', 'cancelled'].includes(r.status) ? r : undefined;
    },
    timeoutMs,
  );
}

async function trainLosses(db: PrismaClient, runId: string): Promise<Array<[number, number | null]>> {
  const points = await db.metricPoint.findMany({
    where: { runId, split: 'train' },
    orderBy: { step: 'asc' },
  });
  return points.map((p) => [p.step, p.loss]);
}

describe.skipIf(!hasSharedData)('crash recovery', () => {
  const url = process.env.DATABASE_URL as string;
  let db: PrismaClient;
  let queue: DbStageQueue;
  let home: string;
  const workers: WorkerProcess[] = [];

  beforeAll(async () => {
    db = createPrismaClient(url);
    await seedStories(db);
    queue = await openTestQueue(url);
    home = await mkdtemp(join(tmpdir(), 'regimen-recovery-'));
  }, 60_000);
  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop()));
    await queue?.stop();
    await db?.$disconnect();
    if (home) await rm(home, { recursive: true, force: true });
  }, 60_000);

  it('resumes a SIGKILLed worker’s run on another machine from its checkpoint, with the same loss curve', async () => {
    // Two "machines": separate local folders, checkpoints shared only through an S3-compatible bucket.
    const s3 = tinyS3();
    await new Promise<void>((r) => s3.server.listen(0, '127.0.0.1', r));
    const bucketEnv = {
      REGIMEN_S3_BUCKET: 'regimen',
      REGIMEN_S3_ENDPOINT: `http://127.0.0.1:${(s3.server.address() as { port: number }).port}`,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
    };
    const machine = (name: string) => ({ ...testQueueEnv(url, join(home, name)), ...bucketEnv });
    const doomed = new WorkerProcess(machine('a'), ['--kinds', 'train']);
    workers.push(doomed);
    await doomed.waitFor(/claiming train jobs/);
    const crashed = await submitRun(db, queue, longerRun(7));
    // Kill once the first checkpoint is stored and training has gone past it.
    await until('a checkpoint and a step after it', async () => {
      const ckpt = await db.checkpoint.findFirst({ where: { runId: crashed.id } });
      const after = await db.metricPoint.count({ where: { runId: crashed.id, step: { gt: 4 } } });
      return ckpt && after > 0 ? true : undefined;
    });
    doomed.child.kill('SIGKILL');
    await doomed.exited;
    const stepsBeforeKill = await db.metricPoint.count({ where: { runId: crashed.id } });
    expect(stepsBeforeKill).toBeLessThan(STEPS);
    expect((await db.run.findUniqueOrThrow({ where: { id: crashed.id } })).status).toBe('running');

    const survivor = new WorkerProcess(machine('b'), ['--kinds', 'train,evaluate']);
    workers.push(survivor);
    await survivor.waitFor(/claiming train, evaluate jobs/);
    // The same config, never interrupted: trained while the dead worker's lease runs out.
    const reference = await submitRun(db, queue, longerRun(7));

    const resumed = await ended(db, crashed.id);
    expect(resumed.status).toBe('done');
    expect((await ended(db, reference.id)).status).toBe('done');
    const resumedAt = new RegExp(`train ${crashed.id}: resuming from the checkpoint at step (\\d+)`).exec(
      survivor.output,
    );
    expect(resumedAt, survivor.output).not.toBeNull();
    const from = Number(resumedAt![1]);
    expect(from % 4 === 0 && from >= 4 && from < STEPS).toBe(true);
    expect(resumed.attempts).toBe(3);
    const curve = await trainLosses(db, crashed.id);
    expect(curve.map(([s]) => s)).toEqual(Array.from({ length: STEPS }, (_, i) => i + 1));
    expect(curve).toEqual(await trainLosses(db, reference.id));
    const ckpts = await db.checkpoint.findMany({ where: { runId: crashed.id }, orderBy: { step: 'asc' } });
    expect(ckpts.map((c) => c.step)).toEqual(Array.from({ length: STEPS / 4 }, (_, i) => 4 * (i + 1)));
    expect(ckpts.every((c) => c.uri.startsWith(`s3://regimen/runs/${crashed.id}/checkpoints/step-`))).toBe(
      true,
    );
    expect(
      s3.objects.has(
        `regimen/runs/${crashed.id}/checkpoints/step-${String(STEPS).padStart(6, '0')}/model.safetensors`,
      ),
    ).toBe(true);
    expect(await db.generation.count({ where: { runId: crashed.id } })).toBe(2);
    await survivor.stop();
    await new Promise((r) => s3.server.close(r));
  }, 180_000);
});

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

describe.skipIf(!hasSharedData)('PostgreSQL restarting under a running worker', () => {
  let dir: string;
  let port: number;
  let database: Database | undefined;
  let worker: WorkerProcess | undefined;
  let db: PrismaClient | undefined;
  let queue: DbStageQueue | undefined;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'regimen-pg-restart-'));
    // As root the server runs as the postgres user, which must be able to enter the folder.
    await chmod(dir, 0o755);
    port = await freePort();
    database = await openDatabase({ dataDir: join(dir, 'pgdata'), port, log: () => {} });
  }, 120_000);
  afterAll(async () => {
    await worker?.stop();
    await queue?.stop().catch(() => {});
    await db?.$disconnect();
    await database?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 60_000);

  it('finishes the run after the server restarts mid-training', async () => {
    const url = (database as Database).url;
    db = createPrismaClient(url);
    await seedStories(db);
    queue = await openTestQueue(url);
    worker = new WorkerProcess(testQueueEnv(url, join(dir, 'home')), ['--kinds', 'train,evaluate']);
    await worker.waitFor(/claiming train, evaluate jobs/);
    // Long enough that the restart lands mid-training even on a quiet machine, where 12 steps end before the
    // first metric flush is seen.
    const steps = 150;
    const run = await submitRun(db, queue, longerRun(3, steps, 25));
    await until('training to start', async () =>
      (await db?.metricPoint.count({ where: { runId: run.id } })) ? true : undefined,
    );

    const stepsBeforeRestart = await db.metricPoint.count({ where: { runId: run.id } });
    await (database as Database).close();
    await new Promise((r) => setTimeout(r, 1500));
    database = await openDatabase({ dataDir: join(dir, 'pgdata'), port, log: () => {} });

    const done = await ended(db, run.id);
    expect(stepsBeforeRestart).toBeLessThan(steps);
    expect(done.error).toBeNull();
    expect(done.status).toBe('done');
    const curve = await trainLosses(db, run.id);
    expect(curve.map(([s]) => s)).toEqual(Array.from({ length: steps }, (_, i) => i + 1));
    expect(await db.generation.count({ where: { runId: run.id } })).toBe(2);
    expect(worker.output).toMatch(/events: connection lost/);
  }, 180_000);
});
