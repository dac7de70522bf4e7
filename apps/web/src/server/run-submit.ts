import { regimes } from '@regimen/core/regimes/index';
import { createRun, findModel } from '@regimen/db';
import type { Prisma } from '@regimen/db/client';
import { type ConfigIssue, checkRunConfig, InvalidRunConfigError } from '@regimen/db/run-check';
import type { Db } from './db.ts';

export { type ConfigIssue, checkRunConfig, InvalidRunConfigError };

/** Checks then stores one run per seed (a sweep when there are several), returning the new run ids. */
export async function storeRuns(
  db: Db,
  input: unknown,
  opts: { seeds?: number[]; sweepName?: string; createdById?: string },
): Promise<{ runIds: string[]; sweepId: string | null }> {
  const { config, issues } = await checkRunConfig(db, input);
  if (!config || issues.length > 0) throw new InvalidRunConfigError(issues);
  const seeds = opts.seeds && opts.seeds.length > 0 ? [...new Set(opts.seeds)] : [config.seed];
  const regime = regimes.get(config.regime.name);
  const model = await findModel(db, config.baseModel);
  const configs = seeds.map((seed) => ({
    ...config,
    seed,
    name: seeds.length > 1 && config.name ? `${config.name} · seed ${seed}` : config.name,
  }));
  return db.$transaction(async (tx) => {
    let sweepId: string | null = null;
    if (configs.length > 1) {
      const sweep = await tx.sweep.create({
        data: {
          name: opts.sweepName ?? config.name ?? `${config.regime.name} × ${seeds.length} seeds`,
          spec: { base: config, seeds } as unknown as Prisma.InputJsonValue,
        },
      });
      sweepId = sweep.id;
    }
    const runIds: string[] = [];
    for (const c of configs) {
      const run = await createRun(tx, {
        config: c,
        regimeVersion: regime.version,
        ...(model ? { modelId: model.id } : {}),
        ...(sweepId ? { sweepId } : {}),
        ...(opts.createdById ? { createdById: opts.createdById } : {}),
      });
      runIds.push(run.id);
    }
    return { runIds, sweepId };
  });
}
