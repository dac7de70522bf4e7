import { parseRunConfig, type RunConfig } from '@regimen/core/config/run-config';
import { regimes } from '@regimen/core/regimes/index';
import { createRun, findModel, type RunRecord } from '@regimen/db';
import type { Prisma } from '@regimen/db/client';
import { checkRunConfig, InvalidRunConfigError } from '@regimen/db/run-check';
import type { Db } from './lifecycle.ts';
import type { StageQueue } from './runner.ts';
import { expandSweep, type SweepSpec } from './sweep.ts';

type Enqueue = Pick<StageQueue, 'enqueue'>;

/** Validate a run config (schema and regime parameters), store the run, and queue its first stage. */
export async function submitRun(
  db: Db,
  queue: Enqueue,
  input: unknown,
  opts: { source?: string; sweepId?: string } = {},
): Promise<RunRecord> {
  const config = parseRunConfig(input, opts.source);
  const run = await createRun(db, await runInput(db, config, opts.sweepId));
  await queue.enqueue('train', run.id);
  return run;
}

/**
 * Checks a config before it is stored (checkRunConfig: schema, regime parameters, models and datasets, fit
 * to the base model), so a run that would fail on every attempt is refused with the fields to fix.
 */
async function runInput(db: Db, config: RunConfig, sweepId?: string) {
  const { issues } = await checkRunConfig(db, config);
  if (issues.length > 0) throw new InvalidRunConfigError(issues);
  const regime = regimes.get(config.regime.name);
  const model = await findModel(db, config.baseModel);
  return { config, regimeVersion: regime.version, modelId: model?.id, sweepId };
}

/** Expand a sweep into its runs, store them under one Sweep row in one transaction, then queue them all. */
export async function submitSweep(
  db: Db,
  queue: Enqueue,
  spec: SweepSpec,
): Promise<{ sweepId: string; runIds: string[] }> {
  const configs = expandSweep(spec);
  const inputs: Awaited<ReturnType<typeof runInput>>[] = [];
  for (const config of configs) inputs.push(await runInput(db, config));
  const { sweepId, runIds } = await db.$transaction(async (tx) => {
    const sweep = await tx.sweep.create({
      data: { name: spec.name, spec: spec as unknown as Prisma.InputJsonValue },
    });
    const runIds: string[] = [];
    for (const input of inputs) runIds.push((await createRun(tx, { ...input, sweepId: sweep.id })).id);
    return { sweepId: sweep.id, runIds };
  });
  for (const id of runIds) await queue.enqueue('train', id);
  return { sweepId, runIds };
}

export interface SweepProgress {
  sweepId: string;
  name: string;
  runs: number;
  byStatus: Record<string, number>;
  finished: boolean;
}

/** A sweep as a whole: how many of its runs are in each status, and whether all of them have ended. */
export async function sweepProgress(db: Db, sweepId: string): Promise<SweepProgress> {
  const sweep = await db.sweep.findUnique({ where: { id: sweepId }, select: { id: true, name: true } });
  if (!sweep) throw new Error(`no sweep with id ${sweepId}`);
  const groups = await db.run.groupBy({ by: ['status'], where: { sweepId }, _count: { _all: true } });
  const byStatus = Object.fromEntries(groups.map((g) => [g.status, g._count._all]));
  const runs = groups.reduce((s, g) => s + g._count._all, 0);
  const ended = (byStatus.done ?? 0) + (byStatus.failed ?? 0) + (byStatus.cancelled ?? 0);
  return { sweepId, name: sweep.name, runs, byStatus, finished: runs > 0 && ended === runs };
}
