import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { useWebgpuBackend, webgpuAdapter } from '../testing/tf-backend.ts';
import { installWebgpuGemm, VARIANTS, type WebgpuGemmOptions, webgpuGemmCalls } from './webgpu-gemm.ts';

// On lavapipe (~1 GFLOP/s, and each new pipeline takes seconds to compile) the shapes stay small, and each
// variant is compiled for few combinations; the tiles are still crossed in every dimension (130 > 128).

/** Uniform values in [-1, 1) from a fixed seed (mulberry32). */
function values(count: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: count }, () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) / 2 ** 32) * 2 - 1;
  });
}

interface Case {
  batch?: number;
  m: number;
  k: number;
  n: number;
  ta: boolean;
  tb: boolean;
  bias?: boolean;
  /** Batch entries of A and B (1 broadcasts); `batch` by default. */
  batchA?: number;
  batchB?: number;
}

/** op(A)·op(B) (+ bias) in float64, per batch entry, from the row-major stored operands. */
function reference(c: Case, A: Float32Array, B: Float32Array, bias?: Float32Array): Float64Array {
  const { m, k, n, ta, tb } = c;
  const batch = c.batch ?? 1;
  const C = new Float64Array(batch * m * n);
  for (let z = 0; z < batch; z++) {
    const offA = (c.batchA ?? batch) === 1 ? 0 : z * m * k;
    const offB = (c.batchB ?? batch) === 1 ? 0 : z * k * n;
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let s = bias ? (bias[j] as number) : 0;
        for (let p = 0; p < k; p++)
          s +=
            (A[offA + (ta ? p * m + i : i * k + p)] as number) *
            (B[offB + (tb ? j * k + p : p * n + j)] as number);
        C[z * m * n + i * n + j] = s;
      }
  }
  return C;
}

/** Runs a product (fused with a bias when the case has one) and returns its error and where it ran. */
async function check(c: Case, opts: WebgpuGemmOptions = {}) {
  installWebgpuGemm({ scope: 'all', ...opts });
  const batch = c.batch ?? 1;
  const [ba, bb] = [c.batchA ?? batch, c.batchB ?? batch];
  const outer = (b: number) => (c.batch === undefined ? [] : [b]);
  const A = values(ba * c.m * c.k, 1 + c.m);
  const B = values(bb * c.k * c.n, 2 + c.n);
  const bias = c.bias ? values(c.n, 3) : undefined;
  const before = { ...webgpuGemmCalls, byVariant: { ...webgpuGemmCalls.byVariant } };
  const out = tf.tidy(() => {
    const a = tf.tensor(A, [...outer(ba), ...(c.ta ? [c.k, c.m] : [c.m, c.k])]);
    const b = tf.tensor(B, [...outer(bb), ...(c.tb ? [c.n, c.k] : [c.k, c.n])]);
    return bias
      ? tf.fused.matMul({ a, b, transposeA: c.ta, transposeB: c.tb, bias: tf.tensor1d(bias) })
      : tf.matMul(a, b, c.ta, c.tb);
  });
  const got = await out.data();
  const shape = out.shape;
  out.dispose();
  const want = reference(c, A, B, bias);
  let diff = 0;
  let magnitude = 0;
  for (let i = 0; i < want.length; i++) {
    diff = Math.max(diff, Math.abs((got[i] as number) - (want[i] as number)));
    magnitude = Math.max(magnitude, Math.abs(want[i] as number));
  }
  const ranOn = Object.entries(webgpuGemmCalls.byVariant)
    .filter(([name, count]) => count > (before.byVariant[name] ?? 0))
    .map(([name]) => name);
  return {
    shape,
    relative: diff / magnitude,
    ours: webgpuGemmCalls.ours - before.ours,
    split: webgpuGemmCalls.split - before.split,
    deferred: webgpuGemmCalls.deferred - before.deferred,
    ranOn,
  };
}

/** max |Δ| / max |C|: fp32 accumulation over K ≤ 1000 stays well inside; one wrong entry does not. */
const TOLERANCE = 1e-5;
const transposes = [
  [false, false],
  [false, true],
  [true, false],
  [true, true],
] as const;
const name = (ta: boolean, tb: boolean) => `${ta ? 'Aᵀ' : 'A'}·${tb ? 'Bᵀ' : 'B'}`;

describe.skipIf(!(await webgpuAdapter()))('webgpu matrix product (webgpu-gemm.ts)', () => {
  beforeAll(async () => {
    await useWebgpuBackend();
  });
  afterEach(() => installWebgpuGemm({ scope: 'all' }));

  for (const v of VARIANTS.filter((x) => x.kind === 'tile')) {
    for (const [ta, tb] of transposes) {
      it(`${v.name}: ${name(ta, tb)}, 130×70×129 (ragged in M, K and N, two tiles each way)`, async () => {
        const r = await check({ m: 130, k: 70, n: 129, ta, tb }, { variant: v.name, splits: 1 });
        expect(r.ranOn).toEqual([v.name]);
        expect(r.shape).toEqual([130, 129]);
        expect(r.relative).toBeLessThan(TOLERANCE);
      });
    }
  }

  for (const [ta, tb] of transposes) {
    it(`rows: ${name(ta, tb)}, 1×64×100 and 5×300×37 (decoding)`, async () => {
      for (const c of [
        { m: 1, k: 64, n: 100 },
        { m: 5, k: 300, n: 37 },
      ]) {
        const r = await check({ ...c, ta, tb }, { variant: 'rows', splits: 1 });
        expect(r.ranOn).toEqual(['rows']);
        expect(r.relative).toBeLessThan(TOLERANCE);
      }
    });
    it(`rows32: ${name(ta, tb)}, 8×61×45`, async () => {
      const r = await check({ m: 8, k: 61, n: 45, ta, tb }, { variant: 'rows32', splits: 1 });
      expect(r.ranOn).toEqual(['rows32']);
      expect(r.relative).toBeLessThan(TOLERANCE);
    });
  }

  it('the plan: rows for M ≤ 8, tiles above, for 37×61×45 and 1×64×100', async () => {
    const tall = await check({ m: 37, k: 61, n: 45, ta: false, tb: false });
    expect(tall.ranOn).toHaveLength(1);
    expect(tall.ranOn[0]).toMatch(/^\d+x\d+x\d+_/);
    expect(tall.relative).toBeLessThan(TOLERANCE);
    const row = await check({ m: 1, k: 64, n: 100, ta: false, tb: true });
    expect(row.ranOn[0]).toMatch(/^rows/);
    expect(row.relative).toBeLessThan(TOLERANCE);
  });

  it('split-K: slices summed by a second pass, with and without a bias, tiles and rows', async () => {
    for (const [c, variant] of [
      [{ m: 70, k: 300, n: 33, ta: true, tb: false }, '64x64x16_4x4'],
      [{ m: 70, k: 300, n: 33, ta: false, tb: true, bias: true }, '64x64x16_4x4'],
      [{ m: 3, k: 1000, n: 20, ta: false, tb: true, bias: true }, 'rows'],
    ] as const) {
      const r = await check(c, { variant, splits: 3 });
      expect(r.ranOn).toEqual([variant]);
      expect(r.split).toBe(1);
      expect(r.relative).toBeLessThan(TOLERANCE);
    }
  });

  it('fused bias in the epilogue: tiles (both layouts of B) and rows', async () => {
    for (const c of [
      { m: 37, k: 61, n: 45, ta: false, tb: false, bias: true },
      { m: 37, k: 61, n: 45, ta: true, tb: true, bias: true },
      { m: 2, k: 61, n: 45, ta: false, tb: false, bias: true },
    ]) {
      const r = await check(c, { splits: 1 });
      expect(r.ours).toBe(1);
      expect(r.split).toBe(0);
      expect(r.relative).toBeLessThan(TOLERANCE);
    }
  });

  it('batched products (attention-like), with either side broadcast, every transpose pair', async () => {
    for (const [ta, tb] of transposes) {
      const r = await check({ batch: 6, m: 40, k: 16, n: 36, ta, tb });
      expect(r.ours).toBe(1);
      expect(r.shape).toEqual([6, 40, 36]);
      expect(r.relative).toBeLessThan(TOLERANCE);
    }
    for (const c of [
      { batch: 3, batchA: 1, m: 20, k: 24, n: 12, ta: false, tb: true },
      { batch: 3, batchB: 1, m: 20, k: 24, n: 12, ta: true, tb: false },
      { batch: 4, m: 2, k: 24, n: 12, ta: false, tb: true },
    ]) {
      const r = await check(c);
      expect(r.ours).toBe(1);
      expect(r.relative).toBeLessThan(TOLERANCE);
    }
  });

  it("leaves to tfjs's kernel what it does not handle, with tfjs's results", async () => {
    const deferred = async (f: () => tf.Tensor, want: ArrayLike<number>) => {
      const before = { ...webgpuGemmCalls };
      const out = f();
      const got = await out.data();
      out.dispose();
      expect(webgpuGemmCalls.deferred - before.deferred).toBe(1);
      expect(webgpuGemmCalls.ours - before.ours).toBe(0);
      for (let i = 0; i < want.length; i++) expect(got[i]).toBeCloseTo(want[i] as number, 5);
    };
    const a = tf.tensor2d([1, -2, 3, 4], [2, 2]);
    const b = tf.tensor2d([5, 6, -7, 8], [2, 2]);
    // [1·5 − 2·(−7), 1·6 − 2·8; 3·5 + 4·(−7), 3·6 + 4·8] = [19, −10; −13, 50]
    await deferred(() => tf.fused.matMul({ a, b, activation: 'relu' }), [19, 0, 0, 50]);
    await deferred(
      () => tf.fused.matMul({ a, b, activation: 'prelu', preluActivationWeights: tf.scalar(0.5) }),
      [19, -5, -6.5, 50],
    );
    await deferred(
      () => tf.fused.matMul({ a, b, bias: tf.tensor2d([1, 2, 3, 4], [2, 2]) }),
      [20, -8, -10, 54],
    );
    // Batch dimensions that broadcast in part: [2, 2] against [1, 2].
    await deferred(
      () => tf.matMul(tf.reshape(tf.concat([a, a]), [2, 2, 1, 2]), tf.reshape(b, [1, 2, 2, 1])),
      [-7, 11, -7, 11],
    );
    installWebgpuGemm({ variant: 'tfjs' });
    await deferred(() => tf.matMul(a, b), [19, -10, -13, 50]);
    tf.dispose([a, b]);
  });

  it('leaks no tensors or GPU buffers, split-K scratch included', async () => {
    const a = tf.tensor(values(3 * 300, 7), [3, 300]);
    const b = tf.tensor(values(300 * 20, 8), [20, 300]);
    const bias = tf.tensor(values(20, 9), [20]);
    const step = async () => {
      const c = tf.tidy(() => tf.sum(tf.fused.matMul({ a, b, transposeB: true, bias })));
      await c.data();
      c.dispose();
    };
    installWebgpuGemm({ variant: 'rows', splits: 3 });
    await step();
    const before = { tensors: tf.memory().numTensors, data: tf.engine().backend.numDataIds() };
    for (let i = 0; i < 3; i++) await step();
    expect(tf.memory().numTensors).toBe(before.tensors);
    expect(tf.engine().backend.numDataIds()).toBe(before.data);
    tf.dispose([a, b, bias]);
  });

  it('by default takes only the products tfjs would sum with atomics, and gives the same bits every run', async () => {
    installWebgpuGemm();
    // A small output over a long inner dimension (a LoRA adapter's gradient): tfjs's split-K program.
    const a = tf.tensor(values(64 * 2048, 3), [2048, 64]);
    const g = tf.tensor(values(2048 * 64, 4), [2048, 64]);
    const big = tf.tensor(values(64 * 256, 5), [64, 256]);
    const w = tf.tensor(values(256 * 256, 6), [256, 256]);
    const before = webgpuGemmCalls.ours;
    const deferredBefore = webgpuGemmCalls.deferred;
    const grad = async () => {
      const c = tf.matMul(a, g, true, false); // [64, 64] = aᵀ·g over 2048 rows
      const out = Array.from(await c.data());
      c.dispose();
      return out;
    };
    const first = await grad();
    expect(webgpuGemmCalls.ours).toBe(before + 1);
    for (let i = 0; i < 3; i++) expect(await grad()).toEqual(first);
    const plain = tf.matMul(big, w); // many workgroups: tfjs's tiled kernel, unchanged
    await plain.data();
    expect(webgpuGemmCalls.deferred).toBe(deferredBefore + 1);
    tf.dispose([a, g, big, w, plain]);
  });

  it('rejects an unknown variant name', () => {
    expect(() => installWebgpuGemm({ variant: '128x128' })).toThrow(
      /unknown variant "128x128"; expected one of/,
    );
  });
});
