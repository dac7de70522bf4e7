import { describe, expect, it } from 'vitest';
import { type GemmProblem, planWebgpuGemm, VARIANTS, variantSupports } from './webgpu-gemm.ts';

// The plan alone (no GPU): which variant and split-K a product gets. The kernels themselves are tested on
// a WebGPU adapter in webgpu-gemm.webgpu.test.ts.

const limits = {
  maxComputeWorkgroupStorageSize: 32768,
  maxComputeWorkgroupsPerDimension: 65535,
  maxStorageBufferBindingSize: 2 ** 31,
};
const product = (m: number, k: number, n: number, more: Partial<GemmProblem> = {}): GemmProblem => ({
  batch: 1,
  m,
  k,
  n,
  transposeA: false,
  transposeB: false,
  ...more,
});
const planned = (p: GemmProblem, opts = {}, l = limits) => {
  const plan = planWebgpuGemm(p, l, opts);
  return plan && `${plan.variant.name}/s${plan.splits}`;
};

describe('webgpu gemm plan', () => {
  it('sends decoding rows (M ≤ 8) to the rows kernel and training products to a tile', () => {
    expect(planned(product(1, 768, 50304, { transposeB: true }))).toMatch(/^rows/);
    expect(planned(product(8, 3072, 768))).toMatch(/^rows/);
    expect(planned(product(4096, 768, 2304))).toMatch(/^\d+x\d+x\d+_\dx\d\/s1$/);
    expect(planned(product(512, 512, 64, { batch: 96 }))).toMatch(/^\d+x\d+x\d+_/);
  });

  it('splits K where the output has few tiles and K is long (a weight gradient), never below 256 deep', () => {
    const dw = planWebgpuGemm(product(768, 4096, 768, { transposeA: true }), limits, {});
    expect(dw?.splits).toBeGreaterThan(1);
    expect(dw?.kChunk).toBeGreaterThanOrEqual(256);
    expect(planWebgpuGemm(product(4096, 2048, 5632), limits, {})?.splits).toBe(1);
    expect(planWebgpuGemm(product(8, 64, 512, { batch: 96 }), limits, {})?.splits).toBe(1);
  });

  it('slices K into whole BK steps that cover it exactly', () => {
    for (const splits of [2, 3, 5, 7]) {
      const plan = planWebgpuGemm(product(100, 1000, 100), limits, { variant: '64x64x16_4x4', splits });
      expect(plan!.kChunk % 16).toBe(0);
      expect(plan!.kChunk * plan!.splits).toBeGreaterThanOrEqual(1000);
      expect(plan!.kChunk * (plan!.splits - 1)).toBeLessThan(1000);
    }
  });

  it('honours a forced variant where it applies, plans as usual where it does not, and defers on tfjs', () => {
    expect(planned(product(4096, 768, 2304), { variant: '64x64x16_4x4' })).toBe('64x64x16_4x4/s1');
    expect(planned(product(4096, 768, 2304), { variant: 'rows' })).toMatch(/^\d+x\d+x\d+_/);
    expect(planned(product(4096, 768, 768), { splits: 1 })).toMatch(/\/s1$/);
    expect(planWebgpuGemm(product(64, 64, 64), limits, { variant: 'tfjs' })).toBeUndefined();
  });

  it('respects the device limits: workgroup memory, workgroups per dimension, binding size', () => {
    const small = { ...limits, maxComputeWorkgroupStorageSize: 16384 };
    const big = VARIANTS.find((v) => v.name === '128x128x16_8x8')!;
    // A [M, K] is k-contiguous, so its slice is padded: 16·(132 + 128)·4 bytes > 16 KiB.
    expect(variantSupports(big, product(512, 512, 512), small)).toBe(false);
    expect(variantSupports(big, product(512, 512, 512, { transposeA: true }), small)).toBe(true);
    expect(planned(product(512, 512, 512), { variant: big.name }, small)).not.toMatch(/^128x128x16_/);
    const narrow = { ...limits, maxComputeWorkgroupsPerDimension: 100 };
    expect(variantSupports(big, product(4096, 64, 50304), narrow)).toBe(false);
    const tight = { ...limits, maxStorageBufferBindingSize: 768 * 768 * 4 };
    expect(planWebgpuGemm(product(768, 4096, 768), tight, { splits: 4 })?.splits).toBe(1);
  });
});
