import { existsSync } from 'node:fs';
import { readModelConfig } from '@regimen/core/checkpoint/load';
import { type ConfigIssue, checkRunFitsModel } from '@regimen/core/config/run-check';
import { parseRunConfig, type RunConfig, RunConfigError } from '@regimen/core/config/run-config';
import type { ModelConfig } from '@regimen/core/model/types';
import { regimes } from '@regimen/core/regimes/index';
import { findDataset } from './queries/datasets.ts';
import type { Db } from './queries/db.ts';
import { findModel } from './queries/models.ts';

export type { ConfigIssue } from '@regimen/core/config/run-check';

/**
 * Everything wrong with a config that can be known before launch, for the form's inline errors and for
 * `regimen runs submit`: the RunConfig schema, the regime's parameters, the models and datasets it names
 * (training and eval), and whether it fits its base model (context, LoRA target modules, decoding budget),
 * read from the model's config.json or llama2.c header. A run that passes can still fail, but not the same
 * way on every attempt.
 */
export async function checkRunConfig(
  db: Db,
  input: unknown,
): Promise<{ config: RunConfig | null; issues: ConfigIssue[] }> {
  let config: RunConfig;
  try {
    config = parseRunConfig(input);
  } catch (error) {
    if (error instanceof RunConfigError) {
      return {
        config: null,
        issues: error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
      };
    }
    throw error;
  }
  const issues: ConfigIssue[] = [];
  const regime = regimes.get(config.regime.name);
  const params = regime.params.safeParse(config.regime.params);
  if (!params.success) {
    for (const i of params.error.issues) {
      issues.push({ path: ['regime', 'params', ...i.path].join('.'), message: i.message });
    }
  }
  if (regime.kind === 'train' && config.datasets.length === 0) {
    issues.push({ path: 'datasets', message: `regime ${regime.name} trains: pick at least one dataset` });
  }
  for (const [i, name] of config.datasets.entries()) {
    if (!(await findDataset(db, name))) {
      issues.push({
        path: `datasets.${i}`,
        message: `no dataset named or with id "${name}"; import it first`,
      });
    }
  }
  for (const [i, suite] of config.eval.entries()) {
    if (suite.dataset && !(await findDataset(db, suite.dataset))) {
      issues.push({
        path: `eval.${i}.dataset`,
        message: `no dataset named or with id "${suite.dataset}"; import it first`,
      });
    }
  }
  if (regime.kind !== 'heuristic') {
    const model = await baseModelConfig(db, config.baseModel);
    if ('issue' in model) issues.push({ path: 'baseModel', message: model.issue });
    else issues.push(...checkRunFitsModel(config, model.config));
  }
  return { config, issues };
}

/** The base model's config: a registered model (by id or name) or a checkpoint path. */
async function baseModelConfig(
  db: Db,
  baseModel: string,
): Promise<{ config: ModelConfig } | { issue: string }> {
  const registered = await findModel(db, baseModel);
  const path = registered ? registered.path : existsSync(baseModel) ? baseModel : undefined;
  if (!registered && !path) {
    return {
      issue: `no registered model "${baseModel}" and no such folder or .bin file; register it on the Models page`,
    };
  }
  if (registered && registered.status !== 'ready') {
    return {
      issue: `model "${baseModel}" is ${registered.status}${registered.error ? `: ${registered.error}` : ''}`,
    };
  }
  if (!path) return { issue: `model "${baseModel}" is registered without a local path` };
  try {
    return { config: readModelConfig(path) };
  } catch (e) {
    return { issue: `model "${baseModel}": ${(e as Error).message}` };
  }
}

export class InvalidRunConfigError extends Error {
  constructor(readonly issues: ConfigIssue[]) {
    super(`run config is invalid:\n${issues.map((i) => `  ${i.path || '(root)'}: ${i.message}`).join('\n')}`);
    this.name = 'InvalidRunConfigError';
  }
}
