import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPrismaClient } from '@regimen/db/client';
import { importDataset } from '@regimen/db/queries/datasets';
import { runJobId } from '@regimen/db/queue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getQueue, stopQueue } from '../../queue.ts';
import { createCaller } from '../root.ts';

const db = createPrismaClient(process.env.DATABASE_URL!);
const tag = `create-${Date.now().toString(36)}`;
let caller: ReturnType<typeof createCaller>;

describe('run.create / run.validate / run.previewPrompt', () => {
  beforeAll(async () => {
    const user = await db.user.create({
      data: { email: `${tag}@example.org`, name: 'R', role: 'researcher' },
    });
    caller = createCaller({
      db,
      headers: new Headers(),
      user: { id: user.id, email: user.email, name: 'R', role: 'researcher' },
    });
    const dir = mkdtempSync(join(tmpdir(), 'regimen-web-'));
    // A llama2.c header is all that the pre-launch checks read: dim, hidden, layers, heads, kv heads, vocab, context.
    const header = Buffer.alloc(28);
    for (const [i, v] of [64, 128, 2, 4, 4, 512, 2048].entries()) header.writeInt32LE(v, 4 * i);
    writeFileSync(join(dir, 'model.bin'), header);
    await db.model.create({
      data: { name: `${tag}-model`, family: 'llama', source: 'llama2c', path: join(dir, 'model.bin') },
    });
    const file = join(dir, 'rows.json');
    writeFileSync(file, JSON.stringify([{ instruction: 'Name a colour.', input: '', output: 'Blue.' }]));
    await importDataset(db, { name: `${tag}-data`, spec: { format: 'lima', paths: [file] } });
  });
  afterAll(async () => {
    await stopQueue();
    await db.run.deleteMany({ where: { config: { path: ['baseModel'], equals: `${tag}-model` } } });
    await db.$disconnect();
  });

  const config = (over: Record<string, unknown> = {}) => ({
    baseModel: `${tag}-model`,
    regime: { name: 'instruction-tuning', params: {} },
    datasets: [`${tag}-data`],
    ...over,
  });

  it('names every problem with its field path', async () => {
    const { issues } = await caller.run.validate({
      config: config({ datasets: ['no-such-data'], baseModel: 'no-such-model', train: { learningRate: 5 } }),
    });
    expect(issues.map((i) => i.path)).toEqual(['train.learningRate']);
    const refs = await caller.run.validate({
      config: config({ datasets: ['no-such-data'], baseModel: 'no-such-model' }),
    });
    expect(refs.issues.map((i) => i.path).sort()).toEqual(['baseModel', 'datasets.0']);
    const params = await caller.run.validate({
      config: config({ regime: { name: 'single-task', params: { preset: 'poems' } } }),
    });
    expect(params.issues[0]?.path).toBe('regime.params.preset');
    await expect(caller.run.create({ config: config({ datasets: [] }) })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
    });
  });

  it('previews the exact training text with the loss on the response', async () => {
    const preview = await caller.run.previewPrompt({
      config: config({ regime: { name: 'response-tuning', params: {} } }),
    });
    expect(preview.ok).toBe(true);
    if (!preview.ok) return;
    const parts = preview.examples[0]!.parts;
    expect(parts.map((p) => p.text).join('')).toBe('<|user|>\n\n<|assistant|>\nBlue.</s>');
    expect(
      parts
        .filter((p) => p.loss)
        .map((p) => p.text)
        .join(''),
    ).toBe('Blue.</s>');
  });

  it('stores one run per seed under a sweep and queues each for training', async () => {
    const { runIds, sweepId } = await caller.run.create({
      config: config({ name: `${tag} sweep` }),
      seeds: [1, 2, 3],
    });
    expect(runIds).toHaveLength(3);
    expect(sweepId).not.toBeNull();
    const runs = await db.run.findMany({ where: { id: { in: runIds } }, orderBy: { seed: 'asc' } });
    expect(runs.map((r) => [r.seed, r.status, r.sweepId, r.regimeVersion])).toEqual([
      [1, 'queued', sweepId, 1],
      [2, 'queued', sweepId, 1],
      [3, 'queued', sweepId, 1],
    ]);
    const queue = await getQueue();
    for (const id of runIds) expect(await queue.getJob('train', runJobId('train', id))).not.toBeNull();

    await caller.run.cancel({ id: runIds[0]! });
    expect((await db.run.findUniqueOrThrow({ where: { id: runIds[0]! } })).status).toBe('cancelled');
    const retried = await caller.run.retry({ id: runIds[0]! });
    expect(retried.runId).not.toBe(runIds[0]);
    await expect(caller.run.retry({ id: runIds[1]! })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
  });
});
