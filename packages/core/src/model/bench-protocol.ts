import type { TrainExample } from '../train/example.ts';
import type { ModelConfig } from './types.ts';

/**
 * The shared benchmark protocol (../shared/bench/README.md): the model and token stream that Regimen and
 * the PyTorch reference both use, so their numbers can be compared side by side.
 */

/** GPT-2 style, vocab 8192, context 128, 4 layers, d 256, 4 heads, MLP 1024, tied embeddings. */
export const BENCH_MODEL: ModelConfig = {
  family: 'gpt2',
  vocabSize: 8192,
  dim: 256,
  nLayers: 4,
  nHeads: 4,
  nKvHeads: 4,
  hiddenDim: 1024,
  maxSeqLen: 128,
  normEps: 1e-5,
  ropeTheta: 10000,
  ropeLayout: 'half',
  tieEmbeddings: true,
};

/** The protocol's 31-bit LCG token stream: x = (x·1103515245 + 12345) mod 2³¹, token = (x >> 8) mod vocab. */
export function lcgTokens(n: number, seed: number, vocab = BENCH_MODEL.vocabSize): number[] {
  const out: number[] = [];
  let x = seed;
  for (let i = 0; i < n; i++) {
    // Only the low 31 bits matter, and Math.imul keeps the low 32 exactly.
    x = (Math.imul(x, 1103515245) + 12345) & 0x7fffffff;
    out.push((x >> 8) % vocab);
  }
  return out;
}

/** The bench batch as plain-LM training rows: B rows of T + 1 tokens, every prediction carrying loss. */
export function benchRows(B: number, T: number, vocab: number, seed: number): TrainExample[] {
  const tokens = lcgTokens(B * (T + 1), seed, vocab);
  return Array.from({ length: B }, (_, b) => {
    const ids = tokens.slice(b * (T + 1), (b + 1) * (T + 1));
    return { ids, lossMask: ids.map(() => 1) };
  });
}
