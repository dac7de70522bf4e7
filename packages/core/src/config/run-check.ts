import { FAMILIES } from '../model/decoder.ts';
import type { ModelConfig } from '../model/types.ts';
import { regimes } from '../regimes/index.ts';
import { loraTargets } from '../train/lora.ts';
import type { RunConfig } from './run-config.ts';

/** A problem with a run config, for an error before launch and an inline form message. */
export interface ConfigIssue {
  /** Dotted field path in the RunConfig, e.g. `train.maxSeqLen` or `regime.params.preset`. */
  path: string;
  message: string;
}

/**
 * What can be known about a run config against its base model's config before anything is loaded: the
 * training context fits the model, LoRA's target modules name projections the model has, and the decoding
 * budget leaves room for a prompt. A run that fails these would fail the same way on every attempt.
 */
export function checkRunFitsModel(config: RunConfig, model: ModelConfig): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const kind = regimes.get(config.regime.name).kind;
  if (kind === 'train' && config.train.maxSeqLen > model.maxSeqLen) {
    issues.push({
      path: 'train.maxSeqLen',
      message: `${config.train.maxSeqLen} is longer than the model's context of ${model.maxSeqLen} tokens`,
    });
  }
  if (kind === 'train' && config.train.method === 'lora' && config.train.lora) {
    try {
      loraTargets(FAMILIES[model.family].paramShapes(model), config.train.lora.targetModules);
    } catch (e) {
      issues.push({
        path: 'train.lora.targetModules',
        message: (e as Error).message.replace(/^train\.lora\.targetModules /, ''),
      });
    }
  }
  if (kind !== 'heuristic' && config.eval.length > 0 && config.decoding.maxNewTokens >= model.maxSeqLen) {
    issues.push({
      path: 'decoding.maxNewTokens',
      message: `${config.decoding.maxNewTokens} new tokens leave no room for a prompt in the model's context of ${model.maxSeqLen}`,
    });
  }
  return issues;
}
