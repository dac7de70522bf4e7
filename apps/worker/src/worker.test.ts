import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasSharedData, skipReasonWithoutSharedData } from '@regimen/core/testing/shared-data';
import { createRun, upsertModel } from '@regimen/db';
import { createPrismaClient, type PrismaClient } from '@regimen/db/client';
import { listenRunEvents, notifyRunEvent, type RunEvent } from '@regimen/db/events';
import { runJobId } from '@regimen/db/queue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DbStageQueue } from './stage-queue.ts';
import { submitRun } from './submit.ts';
import { fakeJudge } from './testing/fake-judge.ts';
import {
  openTestQueue,
  seedStories,
  shortRunConfig,
  testQueueEnv,
  until,
  WorkerProcess,
} from './testing/fixtures.ts';

skipReasonWithoutSharedData();

describe.skipIf(!hasSharedData)('worker processes on the real queue', () => {
  const url = process.env.DATABASE_URL as string;
  let db: PrismaClient;
  let queue: DbStageQueue;
  let home: string;
  const workers: WorkerProcess[] = [];
  const judge = fakeJudge();
  const judgeEnv = () => ({
    REGIMEN_JUDGE_BASE_URL: `http://127.0.0.1:${(judge.server.address() as { port: number }).port}/v1`,
    REGIMEN_JUDGE_MODEL: 'fake-judge',
  });
  const startWorker = async (args: string[] = ['--kinds', 'train,evaluate,judge,import']) => {
    const w = new WorkerProcess({ ...testQueueEnv(url, home), ...judgeEnv() }, args);
    workers.push(w);
    await w.waitFor(/claiming .* jobs/);
    return w;
  };
  const finished = (runId: string, timeoutMs = 90_000) =>
    until(
      `run ${runId} to end`,
      async () => {
        const r = await db.run.findUniqueOrThrow({ where: { id: runId } });
        return ['done', 'failed', 'cancelled'].includes(r.status) ? r : undefined;
      },
      timeoutMs,
    );

  beforeAll(async () => {
    db = createPrismaClient(url);
    await seedStories(db);
    queue = await openTestQueue(url);
    home = await mkdtemp(join(tmpdir(), 'regimen-worker-'));
    await new Promise<void>((r) => judge.server.listen(0, '127.0.0.1', r));
  }, 60_000);
  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop()));
    await queue?.stop();
    await db?.$disconnect();
    if (home) await rm(home, { recursive: true, force: true });
    await new Promise((r) => judge.server.close(r));
  }, 60_000);

  it('takes a run from queued through running and evaluating to done, with live events', async () => {
    const events: RunEvent[] = [];
    const listener = await listenRunEvents(url, (e) => events.push(e));
    await startWorker();
    const run = await submitRun(db, queue, shortRunConfig());
    const done = await finished(run.id);
    // The row turns done a moment before its notification is sent.
    await until(
      'the done event',
      async () =>
        events.some((e) => e.type === 'status' && e.runId === run.id && e.status === 'done')
          ? true
          : undefined,
      5000,
    ).catch(() => {});
    await listener.close();
    expect(done.error).toBeNull();
    expect(done.status).toBe('done');
    expect(done.backend).toMatch(/^wasm/);
    expect(done.codeRevision).toBe('test-revision');
    expect(done.peakMemoryMb).toBeGreaterThan(10);
    expect(Object.keys(done.timings as object).sort()).toEqual(['evaluate', 'train']);
    const points = await db.metricPoint.findMany({
      where: { runId: run.id, split: 'train' },
      orderBy: { step: 'asc' },
    });
    expect(points.map((p) => p.step)).toEqual([1, 2, 3, 4]);
    expect(points.every((p) => Number.isFinite(p.loss) && (p.tokensPerSec ?? 0) > 0 && p.lr !== null)).toBe(
      true,
    );
    const ckpts = await db.checkpoint.findMany({ where: { runId: run.id }, orderBy: { step: 'asc' } });
    expect(ckpts.map((c) => [c.step, c.isFinal])).toEqual([
      [2, false],
      [4, true],
    ]);
    expect(ckpts[1]?.uri).toMatch(/^file:.*\/runs\/.*\/checkpoints\/step-000004$/);
    expect(await db.generation.count({ where: { runId: run.id } })).toBe(2);
    expect(await db.score.count({ where: { runId: run.id, scope: 'overall' } })).toBe(2);
    const statuses = events
      .filter((e) => e.type === 'status' && e.runId === run.id)
      .map((e) => (e as { status: string }).status);
    // On failure, say what arrived and what the worker did (a stage retried emits its status again).
    expect(statuses, `${JSON.stringify(events)}\n${workers[0]?.output}`).toEqual([
      'running',
      'evaluating',
      'evaluating',
      'done',
    ]);
    expect(events.some((e) => e.type === 'metrics' && e.runId === run.id && e.step === 4)).toBe(true);
  }, 120_000);

  it('fails bad input with a clear message and keeps serving', async () => {
    const huge = join(home, 'huge.bin');
    // A llama2.c header for a 70B-parameter model: the worker must refuse it before reading any weights.
    const header = Buffer.alloc(28);
    for (const [i, v] of [8192, 28672, 80, 64, 8, 32000, 4096].entries()) header.writeInt32LE(v, 4 * i);
    await writeFile(huge, header);
    await upsertModel(db, { name: 'huge', family: 'llama', source: 'llama2c', path: huge, tokenizer: huge });
    await db.dataset.create({
      data: { name: 'empty', format: 'chat', source: 'test', contentHash: 'empty', rowCount: 0 },
    });
    // What can be checked is refused at submission, naming the field.
    await expect(submitRun(db, queue, shortRunConfig({ baseModel: 'no-such-model' }))).rejects.toThrow(
      /baseModel: no registered model "no-such-model"/,
    );
    await expect(
      submitRun(db, queue, shortRunConfig({ train: { ...shortRunConfig().train, maxSeqLen: 4096 } })),
    ).rejects.toThrow(/train\.maxSeqLen: 4096 is longer than the model's context of 512 tokens/);
    const lora = { rank: 4, alpha: 8, dropout: 0, targetModules: ['c_attn'] };
    await expect(
      submitRun(db, queue, shortRunConfig({ train: { ...shortRunConfig().train, method: 'lora', lora } })),
    ).rejects.toThrow(/train\.lora\.targetModules: \[c_attn\] match no projection of this model/);
    await expect(
      submitRun(db, queue, shortRunConfig({ eval: [{ suite: 'instructions', dataset: 'nope', limit: 1 }] })),
    ).rejects.toThrow(/eval\.0\.dataset: no dataset named or with id "nope"/);
    // Runs stored before these checks (or whose model changed since) fail once in the stage.
    const stored = (config: ReturnType<typeof shortRunConfig>) =>
      createRun(db, { config, regimeVersion: 1 }).then(async (r) => {
        await queue.enqueue('train', r.id);
        return r;
      });
    const missingModel = await stored(shortRunConfig({ baseModel: 'no-such-model' }));
    const tooLong = await stored(shortRunConfig({ train: { ...shortRunConfig().train, maxSeqLen: 4096 } }));
    const emptyData = await submitRun(db, queue, shortRunConfig({ datasets: ['empty'] }));
    const tooBig = await submitRun(db, queue, shortRunConfig({ baseModel: 'huge' }));
    // A row whose config no longer parses (written by an older version, or by hand).
    const invalid = await db.run.create({
      data: {
        name: 'bad',
        config: { baseModel: 'x', regime: { name: 'nope' } },
        regime: 'nope',
        regimeVersion: 1,
        seed: 0,
      },
    });
    await queue.enqueue('train', invalid.id);
    const good = await submitRun(db, queue, shortRunConfig({ seed: 1 }));

    expect((await finished(missingModel.id)).error).toMatch(
      /base model "no-such-model" is neither a registered model \(id or name\) nor an existing folder or \.bin file/,
    );
    expect((await finished(tooLong.id)).error).toMatch(
      /train\.maxSeqLen: 4096 is longer than the model's context/,
    );
    expect((await finished(emptyData.id)).error).toMatch(/dataset "empty" has no "train" rows/);
    expect((await finished(tooBig.id)).error).toMatch(
      /about 6\d{4}M parameters; full finetuning needs about .* GB/,
    );
    expect((await finished(invalid.id)).error).toMatch(/run .* config is invalid:\n {2}regime\.name: /);
    const ok = await finished(good.id);
    expect(ok.status).toBe('done');
    for (const id of [missingModel.id, tooLong.id, emptyData.id, tooBig.id, invalid.id]) {
      expect((await db.run.findUniqueOrThrow({ where: { id } })).attempts).toBe(1);
    }
  }, 120_000);

  it('fails a run whose job the queue gave up on after its worker died on every attempt', async () => {
    if (workers.length === 0) await startWorker();
    const run = await submitRun(db, queue, shortRunConfig({ seed: 9 }));
    await finished(run.id);
    // As the queue leaves it when every attempt's worker was killed: the job failed, the run still running.
    await db.$executeRawUnsafe(
      `UPDATE pgboss.job SET state = 'failed' WHERE id = $1::uuid`,
      runJobId('train', run.id),
    );
    await db.$executeRawUnsafe(
      `UPDATE "Run" SET status = 'running', stage = 'train', "finishedAt" = NULL, "updatedAt" = now() - interval '1 hour' WHERE id = $1`,
      run.id,
    );
    const failed = await finished(run.id, 20_000);
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatch(/train stage: the queue gave up after its worker stopped on every attempt/);
  }, 60_000);

  it('judges the blind pairs that show a run once each, with the automatic judge', async () => {
    if (workers.length === 0) await startWorker();
    const run = await db.run.create({
      data: {
        name: 'judged',
        config: {},
        regime: 'instruction-tuning',
        regimeVersion: 1,
        seed: 0,
        status: 'done',
      },
    });
    const pairs: Array<{ id: string }> = [];
    for (const [i, hint] of ['answer: m', 'answer: M', 'no hint'].entries()) {
      const item = await db.evalItem.create({
        data: { suite: 'judge-test', key: `k${i}`, instruction: `Question ${i}` },
      });
      pairs.push(
        await db.comparison.create({
          data: {
            evalItemId: item.id,
            systemA: `run:${run.id}`,
            systemB: 'ref:gpt4',
            outputA: `Output A ${i} (${hint})`,
            outputB: `Output B ${i}`,
            seed: 0,
            swapped: false,
          },
        }),
      );
    }
    await queue.jobs.enqueue('judge', { runId: run.id });
    const judgments = await until('three judgments', async () => {
      const rows = await db.judgment.findMany({ where: { comparisonId: { in: pairs.map((p) => p.id) } } });
      return rows.length === 3 ? rows : undefined;
    });
    const byPair = new Map(judgments.map((j) => [j.comparisonId, j]));
    expect(pairs.map((p) => byPair.get(p.id)?.preference ?? null)).toEqual([1, 2, null]);
    expect(pairs.map((p) => byPair.get(p.id)?.verdict ?? null)).toEqual(['A', 'B', null]);
    expect(byPair.get(pairs[2]?.id as string)?.parseError).toMatch(/names neither output: I cannot decide/);
    expect(new Set(judgments.map((j) => j.annotator)).size).toBe(1);
    expect(judgments[0]?.annotator).toMatch(/^auto:[0-9a-f]{16,}$/);
    expect(await db.judgeCache.count()).toBe(3);
    expect(judge.requests()).toBe(3);
  }, 60_000);

  it('imports a dataset file queued as an import job, and fails a malformed one with its line', async () => {
    if (workers.length === 0) await startWorker();
    const good = join(home, 'chat.jsonl');
    await writeFile(
      good,
      [
        {
          messages: [
            { role: 'user', content: 'Hi?' },
            { role: 'assistant', content: 'Hello.' },
          ],
        },
        {
          messages: [
            { role: 'user', content: 'Bye?' },
            { role: 'assistant', content: 'Goodbye.' },
          ],
        },
      ]
        .map((r) => JSON.stringify(r))
        .join('\n'),
    );
    const bad = join(home, 'bad.jsonl');
    await writeFile(bad, '{"messages": [{"role": "user", "content": "Hi?"}]}\n{not json\n');
    await queue.jobs.enqueue('import', { source: good, format: 'chat', name: 'imported-chat' });
    const badJob = await queue.jobs.enqueue('import', { source: bad, format: 'chat', name: 'bad-chat' });
    const dataset = await until(
      'the imported dataset',
      async () => (await db.dataset.findUnique({ where: { name: 'imported-chat' } })) ?? undefined,
    );
    expect(dataset.rowCount).toBe(2);
    expect(await db.datasetItem.count({ where: { datasetId: dataset.id } })).toBe(2);
    const failed = await until('the bad import to fail', async () => {
      const job = await queue.jobs.getJob('import', badJob as string);
      return job && ['retry', 'failed'].includes(job.state) ? job : undefined;
    });
    expect((failed.output as { message?: string }).message).toMatch(/bad\.jsonl: line 2: invalid JSON/);
    expect(await db.dataset.findUnique({ where: { name: 'bad-chat' } })).toBeNull();
  }, 60_000);

  it('stops a cancelled run within 5 seconds, keeping its last checkpoint', async () => {
    const run = await submitRun(
      db,
      queue,
      shortRunConfig({
        train: { maxSteps: 500, batchSize: 2, maxSeqLen: 48, checkpointEvery: 2, learningRate: 1e-3 },
      }),
    );
    await until('a checkpoint', async () =>
      (await db.checkpoint.count({ where: { runId: run.id } })) > 0 ? true : undefined,
    );
    const t0 = Date.now();
    await queue.jobs.cancelRun(db, run.id);
    await notifyRunEvent(db, { type: 'cancel', runId: run.id });
    const ended = await finished(run.id, 10_000);
    expect(ended.status).toBe('cancelled');
    expect(Date.now() - t0).toBeLessThan(5000);
    const last = await db.checkpoint.findFirst({ where: { runId: run.id }, orderBy: { step: 'desc' } });
    expect(last?.step).toBeGreaterThanOrEqual(2);
    expect(await db.generation.count({ where: { runId: run.id } })).toBe(0);
  }, 120_000);

  it('shares the queue between two workers: twenty runs, each done exactly once, no duplicate rows', async () => {
    const first = workers[0] ?? (await startWorker());
    const second = await startWorker();
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      const config = shortRunConfig({
        seed: 100 + i,
        train: { maxSteps: 1, batchSize: 2, maxSeqLen: 48, checkpointEvery: 0, learningRate: 1e-3 },
        decoding: { maxNewTokens: 2, batchSize: 1 },
        eval: [{ suite: 'instructions', dataset: 'tiny-chat', limit: 1 }],
      });
      ids.push((await submitRun(db, queue, config)).id);
    }
    for (const id of ids) expect((await finished(id, 150_000)).status).toBe('done');
    const runs = await db.run.findMany({ where: { id: { in: ids } } });
    // One train and one evaluate attempt per run: nothing ran twice.
    expect(runs.map((r) => r.attempts)).toEqual(ids.map(() => 2));
    for (const id of ids) {
      expect(await db.metricPoint.count({ where: { runId: id } })).toBe(1);
      expect(await db.checkpoint.count({ where: { runId: id } })).toBe(1);
      expect(await db.generation.count({ where: { runId: id } })).toBe(1);
      expect(await db.score.count({ where: { runId: id } })).toBe(2);
      const starts = (w: WorkerProcess, stage: string) =>
        w.output.split(`${stage} ${id}: started`).length - 1;
      expect(starts(first, 'train') + starts(second, 'train')).toBe(1);
      expect(starts(first, 'evaluate') + starts(second, 'evaluate')).toBe(1);
    }
    const trainedBy = (w: WorkerProcess) =>
      ids.filter((id) => w.output.includes(`train ${id}: started`)).length;
    expect(trainedBy(first)).toBeGreaterThan(0);
    expect(trainedBy(second)).toBeGreaterThan(0);
    // SIGTERM is a clean stop: the worker closes its queue and database and exits 0.
    await second.stop();
    expect(second.child.exitCode).toBe(0);
    expect(second.output).toMatch(/SIGTERM: stopping/);
  }, 200_000);
});
