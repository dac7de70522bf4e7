import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { useCpuBackend, useWasmBackend } from '../testing/tf-backend.ts';
import { collate } from './example.ts';
import { maskedCrossEntropy } from './loss.ts';

beforeAll(useWasmBackend);

describe('maskedCrossEntropy', () => {
  // Two positions over a vocabulary of 3; only the second carries loss.
  const logits = [
    [2, 0, -1],
    [0.5, 1.5, -0.5],
  ];
  const targets = [0, 2];
  const weights = [0, 1];

  it('is the mean nll over marked tokens, computed by hand', () => {
    const row = logits[1] as number[];
    const lse = Math.log(row.reduce((s, z) => s + Math.exp(z), 0));
    const expected = lse - (row[2] as number); // only position 1 is marked; mean over 1 token
    const loss = tf.tidy(() =>
      maskedCrossEntropy(
        tf.tensor2d(logits),
        tf.tensor1d(targets, 'int32'),
        tf.tensor1d(weights),
        1,
      ).dataSync(),
    );
    expect(loss[0]).toBeCloseTo(expected, 5);
  });

  it('has gradient (softmax − onehot) · weight / denominator, zero on unmarked rows', () => {
    const g = tf.tidy(() => {
      const x = tf.tensor2d(logits);
      return tf
        .grad((z: tf.Tensor) =>
          maskedCrossEntropy(z, tf.tensor1d(targets, 'int32'), tf.tensor1d(weights), 2),
        )(x)
        .arraySync() as number[][];
    });
    const row = logits[1] as number[];
    const sum = row.reduce((s, z) => s + Math.exp(z), 0);
    const expected = row.map((z, j) => (Math.exp(z) / sum - (j === 2 ? 1 : 0)) / 2);
    expect((g[0] as number[]).map(Math.abs)).toEqual([0, 0, 0]);
    for (const [j, x] of (g[1] as number[]).entries()) expect(x).toBeCloseTo(expected[j] as number, 6);
  });

  it('has the same gradient on cpu (scatter and add) as on wasm (targets lowered in place)', async () => {
    const run = () =>
      tf.tidy(() => {
        const z = tf.tensor2d(
          Array.from({ length: 4 * 5 }, (_, i) => Math.sin(i)),
          [4, 5],
        );
        const ids = tf.tensor1d([1, 4, 0, 4], 'int32');
        const w = tf.tensor1d([1, 0, 1, 1]);
        return [
          ...tf
            .grad((x: tf.Tensor) => maskedCrossEntropy(x, ids, w, 3))(z)
            .dataSync(),
        ];
      });
    await useWasmBackend();
    const wasm = run();
    await useCpuBackend();
    try {
      for (const [i, x] of run().entries()) expect(x).toBeCloseTo(wasm[i] as number, 6);
    } finally {
      await useWasmBackend();
    }
  });

  it('caps a hopeless token at −log(1e-30) nats and keeps its gradient exact', () => {
    const [loss, grad] = tf.tidy(() => {
      const x = tf.tensor2d([[100, 0, -100]]);
      const f = (z: tf.Tensor) => maskedCrossEntropy(z, tf.tensor1d([2], 'int32'), tf.tensor1d([1]), 1);
      return [f(x).dataSync()[0] as number, tf.grad(f)(x).arraySync() as number[][]];
    });
    expect(loss).toBeCloseTo(-Math.log(1e-30), 3);
    expect((grad[0] as number[]).map((g) => Math.round(g * 1e6) / 1e6)).toEqual([1, 0, -1]);
  });
});

describe('collate', () => {
  it('shifts targets by one, right-pads, and never marks padding or the first token', () => {
    const b = collate(
      [
        { ids: [5, 6, 7, 8], lossMask: [1, 0, 1, 1] },
        { ids: [9, 3], lossMask: [0, 1] },
      ],
      16,
    );
    expect([b.B, b.T]).toEqual([2, 3]);
    expect(Array.from(b.inputs)).toEqual([5, 6, 7, 9, 0, 0]);
    expect(Array.from(b.targets)).toEqual([6, 7, 8, 3, 0, 0]);
    expect(Array.from(b.weights)).toEqual([0, 1, 1, 1, 0, 0]);
    expect(b.markedTokens).toBe(3);
  });

  it('truncates to maxSeqLen inputs', () => {
    const b = collate([{ ids: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], lossMask: Array(10).fill(1) }], 8);
    expect(b.T).toBe(8);
    expect(Array.from(b.targets)).toEqual([2, 3, 4, 5, 6, 7, 8, 9]);
    expect(b.markedTokens).toBe(8);
  });
});
