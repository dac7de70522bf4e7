import { createRun } from '@regimen/db';
import { createPrismaClient, type PrismaClient } from '@regimen/db/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunLifecycle } from './lifecycle.ts';
import { shortRunConfig } from './testing/fixtures.ts';

describe('run progress', () => {
  const url = process.env.DATABASE_URL as string;
  let db: PrismaClient;
  beforeAll(() => {
    db = createPrismaClient(url);
  });
  afterAll(async () => {
    await db?.$disconnect();
  });

  it('only moves forward within a stage, whatever order the writes land in', async () => {
    const run = await createRun(db, { config: shortRunConfig(), regimeVersion: 1 });
    await db.run.update({ where: { id: run.id }, data: { stage: 'train', status: 'running', progress: 0 } });
    const lifecycle = new RunLifecycle(db, { backend: 'cpu', codeRevision: 'test' });
    // Sent 0.2, 0.4, 0.6, 0.8 one after another, landing in another order.
    await Promise.all([0.8, 0.2, 0.6, 0.4].map((p) => lifecycle.progress(run.id, 'train', p)));
    expect((await db.run.findUniqueOrThrow({ where: { id: run.id } })).progress).toBe(0.8);
    await lifecycle.progress(run.id, 'train', 0.5);
    expect((await db.run.findUniqueOrThrow({ where: { id: run.id } })).progress).toBe(0.8);
    // Another stage's writes do not touch it.
    await lifecycle.progress(run.id, 'evaluate', 1);
    expect((await db.run.findUniqueOrThrow({ where: { id: run.id } })).progress).toBe(0.8);
    await db.run.delete({ where: { id: run.id } });
  });
});
