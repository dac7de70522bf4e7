import { checkpointFormat, defaultTokenizerPath, loadModel } from '@regimen/core/checkpoint/load';
import { generate } from '@regimen/core/decode/generate';
import { repetitionPenalty } from '@regimen/core/decode/processors';
import { loadTokenizer } from '@regimen/core/tokenizer/load';
import type { Command } from 'commander';
import { describeBackend, selectBackend } from '../../backend.ts';

export interface GenerateCliOptions {
  model: string;
  prompt: string;
  tokenizer?: string;
  maxNewTokens: string;
  temperature: string;
  topK?: string;
  topP?: string;
  seed: string;
  stop?: string[];
  repetitionPenalty?: string;
  cache: boolean;
  json?: boolean;
}

function num(value: string | undefined, flag: string, integer: boolean): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || (integer && !Number.isInteger(n))) {
    throw new Error(`${flag}: expected ${integer ? 'an integer' : 'a number'}, got ${value}`);
  }
  return n;
}

/** Loads a model and tokenizer, continues the prompt, and writes the result (text, or JSON with --json). */
export async function generateCommand(
  opts: GenerateCliOptions,
  write: (text: string) => void,
): Promise<void> {
  const backend = await selectBackend();
  const tokenizer = loadTokenizer(opts.tokenizer ?? defaultTokenizerPath(opts.model));
  const model = loadModel(opts.model);
  try {
    const penalty = num(opts.repetitionPenalty, '--repetition-penalty', false);
    const eos = tokenizer.eosId ?? model.config.eosTokenId;
    // run.c ends a llama2.c sample at the next BOS, which delimits its training sequences.
    const stopTokenIds = [
      ...(eos === undefined ? [] : [eos]),
      ...(checkpointFormat(opts.model) === 'llama2c' && tokenizer.bosId !== undefined
        ? [tokenizer.bosId]
        : []),
    ];
    const started = performance.now();
    const [g] = await generate(model, tokenizer, [opts.prompt], {
      maxNewTokens: num(opts.maxNewTokens, '--max-new-tokens', true)!,
      temperature: num(opts.temperature, '--temperature', false),
      topK: num(opts.topK, '--top-k', true),
      topP: num(opts.topP, '--top-p', false),
      seed: num(opts.seed, '--seed', true),
      stop: opts.stop,
      stopTokenIds,
      processors: penalty === undefined ? [] : [repetitionPenalty(penalty)],
      useCache: opts.cache,
    });
    const seconds = (performance.now() - started) / 1000;
    if (!g) throw new Error('generation returned no result');
    if (opts.json) {
      write(
        JSON.stringify({
          model: opts.model,
          backend: describeBackend(backend),
          prompt: opts.prompt,
          promptIds: g.promptIds,
          generatedIds: g.generatedIds,
          text: g.text,
          finishReason: g.finishReason,
          seconds: Number(seconds.toFixed(3)),
        }),
      );
    } else {
      write(`${opts.prompt}${g.text}`);
      write(
        `[${g.generatedIds.length} tokens, finish: ${g.finishReason}, ${(g.generatedIds.length / seconds).toFixed(1)} tokens/s on ${describeBackend(backend)}]`,
      );
    }
  } finally {
    model.dispose();
  }
}

export function register(program: Command): void {
  program
    .command('generate')
    .description('Continue a prompt with a model (Hugging Face folder or llama2.c .bin)')
    .requiredOption('--model <path>', 'Hugging Face model folder, or a llama2.c .bin checkpoint')
    .option('--prompt <text>', 'text to continue (empty: start from BOS)', '')
    .option(
      '--tokenizer <path>',
      'tokenizer file or folder (default: the model folder, or a tok*.bin beside a .bin)',
    )
    .option('--max-new-tokens <n>', 'most tokens to generate', '128')
    .option('--temperature <t>', '0 = greedy', '0')
    .option('--top-k <k>', 'sample only from the k most likely tokens')
    .option('--top-p <p>', 'sample only from the smallest set of tokens with probability ≥ p')
    .option('--seed <s>', 'sampling seed', '0')
    .option('--stop <text...>', 'strings that end the output')
    .option('--repetition-penalty <x>', 'penalise tokens already seen (Hugging Face semantics; 1 = off)')
    .option('--no-cache', 'recompute the whole sequence for every token instead of using the KV cache')
    .option('--json', 'print one JSON object: prompt ids, generated ids, text, finish reason')
    .action(async (opts: GenerateCliOptions) => {
      await generateCommand(opts, (t) => console.log(t));
    });
}
