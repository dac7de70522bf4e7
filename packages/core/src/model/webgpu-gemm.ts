import * as tf from '@tensorflow/tfjs-core';
import { matMulCall } from './matmul-call.ts';
import { dispatch, outputTensor, type WebgpuBackend, workgroups1d } from './webgpu-program.ts';

/*
 * Regimen's own float32 matrix product for tfjs's webgpu backend, in front of its BatchMatMul and
 * _FusedMatMul kernels (as wasm-gemm.ts is for wasm). tfjs-webgpu's packed program computes a 32×32 tile per
 * workgroup of 64 threads, 4×4 outputs each, and reached 2.9-15 TFLOP/s fp32 on an H200 whose fp32 peak is
 * ~60. This file computes C [batch, M, N] = op(A)·op(B) (+ bias [N]), op = an optional transpose, with:
 *
 * - tile kernels: a workgroup computes a BM×BN tile of C, each thread a TM×TN register block held as vec4
 *   accumulators. A BK-deep slice of A and of B is staged in workgroup memory per step, both stored k-major
 *   (As[k][m], Bs[k][n]) so the inner loop reads vec4s of 4 rows of A and 4 columns of B. A thread's rows and
 *   columns are groups of 4 spread across the tile (rows ty·4 + g·BM/(TM/4)), so the threads of a warp read
 *   neighbouring vec4s of Bs and the same vec4 of As. A transposed operand changes only the tile load: each
 *   thread gathers 4 values along the tile's outer dimension, the warp reading along whichever dimension is
 *   contiguous in memory, and a k-contiguous operand's tile is padded by one vec4 per k-row, which makes its
 *   vec4 stores conflict-free. The next slice is fetched into registers while the current one is multiplied.
 *   Ragged M, N and K are zero-filled at load and masked at store.
 * - a rows kernel for M ≤ 8 (decoding): memory-bound, so the threads of a workgroup split K among
 *   themselves, each streaming B along its contiguous dimension, and sum their partial dot products in
 *   workgroup memory at the end.
 * - split-K: when C has too few tiles to fill the GPU and K is long (weight gradients xᵀ·dy, decoding), the
 *   K range is cut into slices computed by separate workgroups into a [splits, batch, M, N] scratch tensor,
 *   and a second pass sums the slices (and adds the bias). Deterministic: no atomics.
 *
 * Which variant runs is planned per product by a small cost model (planWebgpuGemm) whose constants were
 * guessed, not measured: `npm run bench -- gemm` on the target GPU times every variant against tfjs's kernel
 * and prints the best per shape, to tune VARIANTS' `efficiency`/`resident` and GPU below. A variant can be
 * forced for every product it supports with installWebgpuGemm({ variant }).
 *
 * Everything else goes to tfjs's own kernel: non-float32 operands, activations other than linear, prelu,
 * biases other than one per column, batch dimensions that broadcast other than as a whole, empty products,
 * and operands larger than one storage binding.
 */

/** A tile kernel: BM×BN outputs per workgroup, TM×TN per thread, BK-deep slices of A and B per step. */
export interface TileVariant {
  kind: 'tile';
  name: string;
  bm: number;
  bn: number;
  bk: number;
  tm: number;
  tn: number;
  /** Guess: fraction of the GPU's fp32 peak this tile reaches when every SM is busy. */
  efficiency: number;
  /** Guess: workgroups of this tile that run at once on one SM (registers and workgroup memory allow). */
  resident: number;
}

/** How the rows kernel's threads share a product: `kLanes` threads split K, each owning `cols` columns. */
interface RowsLayout {
  kLanes: number;
  cols: number;
}

/** The kernel for M ≤ ROWS_MAX_M, one layout for B [K, N] (n-contiguous) and one for B [N, K]. */
export interface RowsVariant {
  kind: 'rows';
  name: string;
  threads: number;
  nContiguous: RowsLayout;
  kContiguous: RowsLayout;
}

export type GemmVariant = TileVariant | RowsVariant;

/** The rows kernel keeps M × cols accumulators per thread: M is a compile-time constant up to this. */
export const ROWS_MAX_M = 8;

function tile(
  bm: number,
  bn: number,
  bk: number,
  tm: number,
  tn: number,
  efficiency: number,
  resident: number,
) {
  const v: TileVariant = {
    kind: 'tile',
    name: `${bm}x${bn}x${bk}_${tm}x${tn}`,
    bm,
    bn,
    bk,
    tm,
    tn,
    efficiency,
    resident,
  };
  const threads = (bm / tm) * (bn / tn);
  // Each thread loads whole vec4s of each slice; rows and columns come in groups of 4.
  if (tm % 4 || tn % 4 || bm % tm || bn % tn || ((bk * bm) / 4) % threads || ((bk * bn) / 4) % threads)
    throw new Error(`gemm variant ${v.name}: tile, thread block and ${threads} threads do not divide`);
  return v;
}

function rows(name: string, nContiguous: RowsLayout, kContiguous: RowsLayout): RowsVariant {
  return { kind: 'rows', name, threads: 256, nContiguous, kContiguous };
}

/** The variants, named `BMxBNxBK_TMxTN` (tile) or `rows…`. Efficiencies and residency are guesses to tune. */
export const VARIANTS: readonly GemmVariant[] = [
  tile(128, 128, 8, 8, 8, 0.7, 2),
  tile(128, 128, 16, 8, 8, 0.75, 2),
  tile(128, 64, 16, 8, 8, 0.6, 4),
  tile(64, 128, 16, 8, 8, 0.6, 4),
  tile(64, 64, 16, 4, 4, 0.45, 4),
  // B [K, N]: 64 threads across 64 columns × 4 along K. B [N, K]: a warp's 32 threads along K, 8 × 4 columns.
  rows('rows', { kLanes: 4, cols: 1 }, { kLanes: 32, cols: 4 }),
  // Narrower workgroups, for more of them on short N: 32 columns × 8 along K; 8 × 2 columns × 32 along K.
  rows('rows32', { kLanes: 8, cols: 1 }, { kLanes: 32, cols: 2 }),
];

/** Guesses for the GPU the plan is made for (an H200); to tune with `npm run bench -- gemm`. */
const GPU = {
  sms: 132,
  /** fp32 fused multiply-adds per SM per µs at peak (128 lanes × ~1.98 GHz). */
  fmaPerSmUs: 253_000,
  /** Device memory bytes per µs. */
  bytesPerUs: 4_000_000,
  /** Cost of one more dispatch in a compute pass (the split-K reduction), µs. */
  dispatchUs: 4,
};

/** A split-K slice is at least this deep, so that each slice still amortises its tile loads and barriers. */
const MIN_SPLIT_DEPTH = 256;
const MAX_SPLITS = 16;
/** The rows kernel splits K until it has about this many workgroups. */
const ROWS_TARGET_WORKGROUPS = 4 * GPU.sms;

export interface GemmProblem {
  batch: number;
  m: number;
  k: number;
  n: number;
  transposeA: boolean;
  transposeB: boolean;
}

export interface GemmPlan {
  variant: GemmVariant;
  /** Slices K is cut into (1: no split-K pass). */
  splits: number;
  /** Depth of each slice: a multiple of the variant's BK, the last slice possibly shorter. */
  kChunk: number;
}

/** The device limits a plan must respect (a GPUDevice's `limits` has them). */
export interface GemmLimits {
  maxComputeWorkgroupStorageSize: number;
  maxComputeWorkgroupsPerDimension: number;
  maxStorageBufferBindingSize: number;
}

export interface WebgpuGemmOptions {
  /**
   * A variant's name to use for every product it can compute (others are planned as usual), 'tfjs' to leave
   * every product to tfjs's kernel, or 'auto' (the default) for the cost model's choice.
   */
  variant?: string;
  /** A split-K factor to use instead of the planned one (1: never split). */
  splits?: number;
  /**
   * Which products to take: 'all' that it can compute, or 'atomic' (the default) only those tfjs would
   * compute with its split-K program, which adds partial sums with atomics in whatever order the GPU runs
   * them (so a LoRA adapter's gradient, a small output over thousands of tokens, differed from run to run).
   * Every other product stays on tfjs's kernel until this one is tuned on a real GPU (`npm run bench -- gemm`).
   */
  scope?: 'atomic' | 'all';
}

/**
 * Whether tfjs-webgpu 4.22's BatchMatMul would pick its atomic split-K program for this product (the rule in
 * its kernels/BatchMatMul_impl.js, under the default WEBGPU_MATMUL_PROGRAM_TYPE).
 */
export function tfjsWouldSplitK(
  backend: { thresholdToIncreaseWorkgroups?: number },
  p: { batch: number; m: number; k: number; n: number },
): boolean {
  if ((tf.env().get('WEBGPU_MATMUL_PROGRAM_TYPE') as number) >= 0) return false;
  const flag = tf.env().getNumber('WEBGPU_THRESHOLD_TO_INCREASE_WORKGROUPS_FOR_MATMUL');
  const threshold = flag > 0 ? flag : (backend.thresholdToIncreaseWorkgroups ?? 8);
  const workgroups = p.batch * Math.ceil(p.m / 32) * Math.ceil(p.n / 32);
  const few = workgroups <= threshold || (p.m <= 8 && workgroups <= threshold * 2);
  return few && p.batch * p.m * p.n > 128 && p.batch === 1 && p.k >= 2000;
}

/**
 * Products this kernel has computed since start-up (`ours`; `split`: of those, with split-K; `byVariant`: by
 * variant name), and calls it left to tfjs's own kernels (`deferred`).
 */
export const webgpuGemmCalls = { ours: 0, deferred: 0, split: 0, byVariant: {} as Record<string, number> };

let options: WebgpuGemmOptions = {};

const ceil = (a: number, b: number) => Math.ceil(a / b);

/** Workgroup memory a variant needs, in bytes (the tile kernel's depends on which operands are k-contiguous). */
function workgroupBytes(v: GemmVariant, p: GemmProblem): number {
  if (v.kind === 'rows') return v.threads * REDUCE_VALUES * 4;
  return v.bk * (v.bm + (p.transposeA ? 0 : 4) + v.bn + (p.transposeB ? 4 : 0)) * 4;
}

/** The rows kernel's columns per workgroup for this orientation of B. */
function rowsLayout(v: RowsVariant, transposeB: boolean): RowsLayout & { nLanes: number; bn: number } {
  const l = transposeB ? v.kContiguous : v.nContiguous;
  const nLanes = v.threads / l.kLanes;
  return { ...l, nLanes, bn: nLanes * l.cols };
}

/** Workgroups along x, y (one slice of K, one batch entry). */
function grid(v: GemmVariant, p: GemmProblem): [number, number] {
  if (v.kind === 'rows') return [ceil(p.n, rowsLayout(v, p.transposeB).bn), 1];
  return [ceil(p.n, v.bn), ceil(p.m, v.bm)];
}

/** Whether this variant can compute this product on a device with these limits, with this many slices. */
export function variantSupports(v: GemmVariant, p: GemmProblem, limits: GemmLimits, splits = 1): boolean {
  if (v.kind === 'rows' && p.m > ROWS_MAX_M) return false;
  if (workgroupBytes(v, p) > limits.maxComputeWorkgroupStorageSize) return false;
  const [x, y] = grid(v, p);
  const most = limits.maxComputeWorkgroupsPerDimension;
  if (x > most || y > most || p.batch * splits > most) return false;
  return splits === 1 || p.batch * p.m * p.n * splits * 4 <= limits.maxStorageBufferBindingSize;
}

/** Slices for K of this depth: `wanted` (or fewer) slices, each a multiple of BK deep and none empty. */
function slices(v: GemmVariant, k: number, wanted: number): { splits: number; kChunk: number } {
  const step = v.kind === 'tile' ? v.bk : 1;
  const kChunk = ceil(ceil(k, Math.max(1, wanted)), step) * step;
  return { splits: ceil(k, kChunk), kChunk };
}

/** Estimated µs for a plan: whole waves of workgroups at the tile's efficiency, or memory time if longer. */
function estimateUs(v: TileVariant, p: GemmProblem, splits: number, kChunk: number): number {
  const [x, y] = grid(v, p);
  const waves = ceil(x * y * p.batch * splits, GPU.sms * v.resident);
  const perWorkgroup =
    (v.bm * v.bn * ceil(kChunk, v.bk) * v.bk) / ((GPU.fmaPerSmUs * v.efficiency) / v.resident);
  const bytes = 4 * p.batch * (p.m * p.k + p.k * p.n + p.m * p.n * (splits > 1 ? 2 * splits + 1 : 1));
  const reduce = splits > 1 ? GPU.dispatchUs : 0;
  return Math.max(waves * perWorkgroup, bytes / GPU.bytesPerUs) + reduce;
}

/** Split-K for the rows kernel: enough slices to reach ROWS_TARGET_WORKGROUPS, none shallower than MIN_SPLIT_DEPTH. */
function rowsSplits(v: RowsVariant, p: GemmProblem): number {
  const groups = grid(v, p)[0] * p.batch;
  const wanted = Math.min(
    ceil(ROWS_TARGET_WORKGROUPS, groups),
    Math.floor(p.k / MIN_SPLIT_DEPTH),
    MAX_SPLITS,
  );
  return Math.max(1, wanted);
}

/**
 * The variant and split-K for a product, or undefined to leave it to tfjs. With no forced variant, M ≤ 8
 * goes to the rows kernel and larger M to the tile variant (and split) with the least estimated time.
 */
export function planWebgpuGemm(
  p: GemmProblem,
  limits: GemmLimits,
  opts: WebgpuGemmOptions = options,
): GemmPlan | undefined {
  if (opts.variant === 'tfjs') return undefined;
  let pool = VARIANTS.filter((v) => variantSupports(v, p, limits));
  const forced = pool.find((v) => v.name === opts.variant);
  if (forced) pool = [forced];
  const plan = (v: GemmVariant, wanted: number): GemmPlan | undefined => {
    const s = slices(v, p.k, wanted);
    return variantSupports(v, p, limits, s.splits) ? { variant: v, ...s } : undefined;
  };
  const rowsKernel = p.m <= ROWS_MAX_M ? pool.find((v) => v.kind === 'rows') : undefined;
  if (rowsKernel)
    return plan(rowsKernel, opts.splits ?? rowsSplits(rowsKernel as RowsVariant, p)) ?? plan(rowsKernel, 1);
  let best: { plan: GemmPlan; us: number } | undefined;
  for (const v of pool) {
    if (v.kind !== 'tile') continue;
    const [x, y] = grid(v, p);
    const most = Math.min(
      MAX_SPLITS,
      Math.floor(p.k / MIN_SPLIT_DEPTH),
      ceil(2 * GPU.sms * v.resident, x * y * p.batch),
    );
    const tries = opts.splits ? [opts.splits, 1] : Array.from({ length: Math.max(1, most) }, (_, i) => i + 1);
    for (const wanted of tries) {
      const candidate = plan(v, wanted);
      if (!candidate) continue;
      const us = estimateUs(v, p, candidate.splits, candidate.kChunk);
      if (!best || us < best.us) best = { plan: candidate, us };
      if (opts.splits) break;
    }
  }
  return best?.plan;
}

// ---------------------------------------------------------------------------------------------------------
// WGSL

/** The uniform block every kernel here reads (u32 each). */
const UNIFORMS = /* wgsl */ `struct U { m: u32, n: u32, k: u32, kChunk: u32, batch: u32, strideA: u32, strideB: u32, sliceC: u32 }`;

/** Storage bindings A, B, [bias], C and the uniform block, in dispatch order. */
function bindings(bias: boolean): string {
  const c = bias ? 3 : 2;
  return /* wgsl */ `
${UNIFORMS}
@group(0) @binding(0) var<storage, read> A: array<f32>;
@group(0) @binding(1) var<storage, read> B: array<f32>;
${bias ? '@group(0) @binding(2) var<storage, read> bias: array<f32>;' : ''}
@group(0) @binding(${c}) var<storage, read_write> C: array<f32>;
@group(0) @binding(${c + 1}) var<uniform> u: U;`;
}

/** Element (row, k) of op(A) and (col, k) of op(B) in batch entry `base`, as WGSL index expressions. */
const indexA = (ta: boolean, row: string, k: string) => (ta ? `${k} * u.m + ${row}` : `${row} * u.k + ${k}`);
const indexB = (tb: boolean, col: string, k: string) => (tb ? `${col} * u.k + ${k}` : `${k} * u.n + ${col}`);

/** The offset of batch entry `batch` (and K slice `split` when writing partial sums) in C. */
const cBase = (partial: boolean) => `${partial ? 'split * u.sliceC + ' : ''}batch * u.m * u.n`;

const LANES = ['x', 'y', 'z', 'w'];

/**
 * Code that fills registers with one BK-deep slice of an operand's tile and stores them to workgroup memory.
 * The tile is `outer` (BM or BN) wide; each thread handles whole vec4s along the outer dimension. Along K
 * (A [M,K], B [N,K]) neighbouring threads take neighbouring k, else neighbouring vec4s, so that a warp reads
 * along the operand's contiguous dimension.
 */
function tileLoads(x: 'a' | 'b', outer: number, alongK: boolean, threads: number, bk: number) {
  const X = x.toUpperCase();
  const per = (bk * outer) / 4 / threads;
  const stride = (outer + (alongK ? 4 : 0)) / 4;
  const setup: string[] = [];
  const store: string[] = [];
  const fetch = (k0: string) => {
    const out: string[] = [];
    for (let j = 0; j < per; j++) {
      const v = [0, 1, 2, 3].map(
        (r) => `load${X}(${x}Base, ${x}Origin + ${x}o${j} * 4u + ${r}u, ${k0} + ${x}k${j}, kEnd)`,
      );
      out.push(`${x}r${j} = vec4<f32>(${v.join(', ')});`);
    }
    return out;
  };
  for (let j = 0; j < per; j++) {
    const s = `(lid + ${threads * j}u)`;
    if (alongK) setup.push(`let ${x}k${j} = ${s} % ${bk}u;`, `let ${x}o${j} = ${s} / ${bk}u;`);
    else setup.push(`let ${x}o${j} = ${s} % ${outer / 4}u;`, `let ${x}k${j} = ${s} / ${outer / 4}u;`);
    setup.push(`var ${x}r${j}: vec4<f32>;`);
    store.push(`${X}s[${x}k${j} * ${stride}u + ${x}o${j}] = ${x}r${j};`);
  }
  return { setup, fetch, store, stride };
}

/** Steps of the inner k loop written out per pass (the rest is left to the shader compiler). */
const K_UNROLL = 4;

/** The tile kernel's WGSL for one variant, transpose pair, bias and output (C, or partial sums per K slice). */
function tileShader(v: TileVariant, ta: boolean, tb: boolean, bias: boolean, partial: boolean): string {
  const { bm, bn, bk, tm, tn } = v;
  const wx = bn / tn;
  const wy = bm / tm;
  const threads = wx * wy;
  const a = tileLoads('a', bm, !ta, threads, bk);
  const b = tileLoads('b', bn, tb, threads, bk);
  const acc = (i: number, h: number) => `c${i}_${h}`;
  // The k loop of a slice, K_UNROLL steps per pass: each step is TM·TN/4 independent vec4 FMAs already.
  const unroll = Math.min(K_UNROLL, bk);
  const compute = [`for (var kk = 0u; kk < ${bk}u; kk += ${unroll}u) {`];
  for (let d = 0; d < unroll; d++) {
    const step: string[] = [];
    for (let g = 0; g < tm / 4; g++)
      step.push(`let a${g} = As[(kk + ${d}u) * ${a.stride}u + ${g * wy}u + ty];`);
    for (let h = 0; h < tn / 4; h++)
      step.push(`let b${h} = Bs[(kk + ${d}u) * ${b.stride}u + ${h * wx}u + tx];`);
    for (let g = 0; g < tm / 4; g++)
      for (let r = 0; r < 4; r++)
        for (let h = 0; h < tn / 4; h++)
          step.push(`${acc(g * 4 + r, h)} = fma(vec4<f32>(a${g}.${LANES[r]}), b${h}, ${acc(g * 4 + r, h)});`);
    compute.push(`  { ${step.join(' ')} }`);
  }
  compute.push('}');
  const accs: string[] = [];
  const epilogue: string[] = [];
  for (let g = 0; g < tm / 4; g++)
    for (let r = 0; r < 4; r++) {
      const i = g * 4 + r;
      const stores: string[] = [];
      for (let h = 0; h < tn / 4; h++) {
        accs.push(`var ${acc(i, h)} = vec4<f32>(0.0);`);
        stores.push(`store4(at, col0 + ${h * wx * 4}u + tx * 4u, ${acc(i, h)});`);
      }
      epilogue.push(`{ let row = row0 + ${g * wy * 4 + r}u + ty * 4u;`);
      epilogue.push(`  if (row < u.m) { let at = cBase + row * u.n; ${stores.join(' ')} } }`);
    }
  const withBias = bias && !partial;
  const plusBias = (col: string) => (withBias ? ` + bias[${col}]` : '');
  return /* wgsl */ `
${bindings(withBias)}
var<workgroup> As: array<vec4<f32>, ${bk * a.stride}>;
var<workgroup> Bs: array<vec4<f32>, ${bk * b.stride}>;

fn loadA(base: u32, row: u32, k: u32, kEnd: u32) -> f32 {
  if (row >= u.m || k >= kEnd) { return 0.0; }
  return A[base + ${indexA(ta, 'row', 'k')}];
}
fn loadB(base: u32, col: u32, k: u32, kEnd: u32) -> f32 {
  if (col >= u.n || k >= kEnd) { return 0.0; }
  return B[base + ${indexB(tb, 'col', 'k')}];
}
fn store4(at: u32, col: u32, v: vec4<f32>) {
  if (col + 3u < u.n) {
    ${[0, 1, 2, 3].map((i) => `C[at + col + ${i}u] = v.${LANES[i]}${plusBias(`col + ${i}u`)};`).join(' ')}
    return;
  }
  for (var i = 0u; i < 4u; i++) {
    if (col + i < u.n) { C[at + col + i] = v[i]${plusBias('col + i')}; }
  }
}

@compute @workgroup_size(${threads})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let batch = wg.z % u.batch;
  let split = wg.z / u.batch;
  let row0 = wg.y * ${bm}u;
  let col0 = wg.x * ${bn}u;
  let aOrigin = row0;
  let bOrigin = col0;
  let kBegin = split * u.kChunk;
  let kEnd = min(u.k, kBegin + u.kChunk);
  let tiles = (kEnd - kBegin + ${bk - 1}u) / ${bk}u;
  let aBase = batch * u.strideA;
  let bBase = batch * u.strideB;
  let tx = lid % ${wx}u;
  let ty = lid / ${wx}u;
  let cBase = ${cBase(partial)};
  ${a.setup.join('\n  ')}
  ${b.setup.join('\n  ')}
  ${accs.join('\n  ')}
  ${a.fetch('kBegin').join('\n  ')}
  ${b.fetch('kBegin').join('\n  ')}
  for (var t = 0u; t < tiles; t++) {
    workgroupBarrier();
    ${a.store.join('\n    ')}
    ${b.store.join('\n    ')}
    workgroupBarrier();
    let kNext = kBegin + (t + 1u) * ${bk}u;
    if (kNext < kEnd) {
      ${a.fetch('kNext').join('\n      ')}
      ${b.fetch('kNext').join('\n      ')}
    }
    ${compute.join('\n    ')}
  }
  ${epilogue.join('\n  ')}
}`;
}

/** Partial sums the rows kernel reduces per round: threads × this many floats of workgroup memory. */
const REDUCE_VALUES = 8;

/** The rows kernel's WGSL for M = `m` rows (≤ ROWS_MAX_M). */
function rowsShader(
  v: RowsVariant,
  m: number,
  ta: boolean,
  tb: boolean,
  bias: boolean,
  partial: boolean,
): string {
  const { kLanes, cols, nLanes, bn } = rowsLayout(v, tb);
  const threads = v.threads;
  // B [N, K]: neighbouring threads take neighbouring k; B [K, N]: neighbouring columns.
  const kStride = tb ? 1 : nLanes;
  const lanes = tb
    ? `let kl = lid % ${kLanes}u; let nl = lid / ${kLanes}u;`
    : `let nl = lid % ${nLanes}u; let kl = lid / ${nLanes}u;`;
  const sum = (i: number, j: number) => `s${i}_${j}`;
  const step = (k: string) => {
    const out: string[] = [];
    for (let j = 0; j < cols; j++) out.push(`let b${j} = B[bBase + ${indexB(tb, `n${j}`, k)}];`);
    for (let i = 0; i < m; i++) out.push(`let a${i} = A[aBase + ${indexA(ta, `${i}u`, k)}];`);
    for (let i = 0; i < m; i++)
      for (let j = 0; j < cols; j++) out.push(`${sum(i, j)} = fma(a${i}, b${j}, ${sum(i, j)});`);
    return `{ ${out.join(' ')} }`;
  };
  const setup: string[] = [];
  for (let j = 0; j < cols; j++) setup.push(`let n${j} = min(col0 + ${nLanes * j}u, u.n - 1u);`);
  for (let i = 0; i < m; i++) for (let j = 0; j < cols; j++) setup.push(`var ${sum(i, j)} = 0.0;`);
  const values: Array<[number, number]> = [];
  for (let i = 0; i < m; i++) for (let j = 0; j < cols; j++) values.push([i, j]);
  const withBias = bias && !partial;
  const reduce: string[] = [];
  for (let first = 0; first < values.length; first += REDUCE_VALUES) {
    const round = values.slice(first, first + REDUCE_VALUES);
    if (first > 0) reduce.push('workgroupBarrier();');
    round.forEach(([i, j], q) => {
      reduce.push(`red[${q * threads}u + lid] = ${sum(i, j)};`);
    });
    reduce.push('workgroupBarrier();');
    for (let s = kLanes / 2; s >= 1; s /= 2) {
      const adds = round.map(
        (_, q) => `red[${q * threads}u + lid] += red[${q * threads + s * kStride}u + lid];`,
      );
      reduce.push(`if (kl < ${s}u) { ${adds.join(' ')} }`, 'workgroupBarrier();');
    }
    const writes = round.map(([i, j], q) => {
      const value = `red[${q * threads}u + lid]${withBias ? ` + bias[col0 + ${nLanes * j}u]` : ''}`;
      return `if (col0 + ${nLanes * j}u < u.n) { C[cBase + ${i}u * u.n + col0 + ${nLanes * j}u] = ${value}; }`;
    });
    reduce.push(`if (kl == 0u) { ${writes.join(' ')} }`);
  }
  return /* wgsl */ `
${bindings(withBias)}
var<workgroup> red: array<f32, ${threads * REDUCE_VALUES}>;

@compute @workgroup_size(${threads})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let batch = wg.z % u.batch;
  let split = wg.z / u.batch;
  let kBegin = split * u.kChunk;
  let kEnd = min(u.k, kBegin + u.kChunk);
  ${lanes}
  let aBase = batch * u.strideA;
  let bBase = batch * u.strideB;
  let cBase = ${cBase(partial)};
  let col0 = wg.x * ${bn}u + nl;
  ${setup.join('\n  ')}
  var k = kBegin + kl;
  for (; k + ${3 * kLanes}u < kEnd; k += ${4 * kLanes}u) {
    ${step('k')}
    ${step(`(k + ${kLanes}u)`)}
    ${step(`(k + ${2 * kLanes}u)`)}
    ${step(`(k + ${3 * kLanes}u)`)}
  }
  for (; k < kEnd; k += ${kLanes}u) {
    ${step('k')}
  }
  ${reduce.join('\n  ')}
}`;
}

const REDUCE_WORKGROUP = 256;

/** C = the sum of `splits` partial products (+ bias): the second pass of split-K. */
function reduceShader(bias: boolean): string {
  return /* wgsl */ `
struct R { total: u32, rowStride: u32, splits: u32, n: u32 }
@group(0) @binding(0) var<storage, read> P: array<f32>;
${bias ? '@group(0) @binding(1) var<storage, read> bias: array<f32>;' : ''}
@group(0) @binding(${bias ? 2 : 1}) var<storage, read_write> C: array<f32>;
@group(0) @binding(${bias ? 3 : 2}) var<uniform> r: R;

@compute @workgroup_size(${REDUCE_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.y * r.rowStride + gid.x;
  if (i >= r.total) { return; }
  var s = 0.0;
  for (var j = 0u; j < r.splits; j++) { s += P[j * r.total + i]; }
  C[i] = s${bias ? ' + bias[i % r.n]' : ''};
}`;
}

// ---------------------------------------------------------------------------------------------------------
// The kernel

/** The product on Regimen's kernels, or undefined to leave the call to tfjs's own kernel. */
function matMulKernel(args: Parameters<tf.KernelFunc>[0]): tf.TensorInfo | undefined {
  const backend = args.backend as unknown as Partial<WebgpuBackend>;
  if (!backend.device || !backend.tensorMap || typeof backend.ensureCommandEncoderReady !== 'function')
    return undefined;
  const call = matMulCall(args);
  if (!call) return undefined;
  const { a, b, bias, m, k, n, outer, batchA, batchB, batch } = call;
  const [ta, tb] = [call.transposeA, call.transposeB];
  const gpu = backend as WebgpuBackend;
  const limits = gpu.device.limits as unknown as GemmLimits;
  const most = limits.maxStorageBufferBindingSize;
  if (4 * Math.max(batchA * m * k, batchB * k * n, batch * m * n) > most) return undefined;
  const problem: GemmProblem = { batch, m, k, n, transposeA: ta, transposeB: tb };
  if (
    (options.scope ?? 'atomic') === 'atomic' &&
    options.variant === undefined &&
    !tfjsWouldSplitK(gpu as { thresholdToIncreaseWorkgroups?: number }, problem)
  )
    return undefined;
  const plan = planWebgpuGemm(problem, limits);
  if (!plan) return undefined;
  const out = outputTensor(gpu, [...outer, m, n]);
  run(gpu, plan, problem, a, b, bias, out, {
    strideA: batchA === 1 ? 0 : m * k,
    strideB: batchB === 1 ? 0 : k * n,
  });
  webgpuGemmCalls.ours++;
  if (plan.splits > 1) webgpuGemmCalls.split++;
  webgpuGemmCalls.byVariant[plan.variant.name] = (webgpuGemmCalls.byVariant[plan.variant.name] ?? 0) + 1;
  return out;
}

/** Records the plan's dispatches: the product into `out`, or into partial sums and then their sum. */
function run(
  backend: WebgpuBackend,
  plan: GemmPlan,
  p: GemmProblem,
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  bias: tf.TensorInfo | undefined,
  out: tf.TensorInfo,
  strides: { strideA: number; strideB: number },
): void {
  const { variant: v, splits, kChunk } = plan;
  const partial = splits > 1;
  const total = p.batch * p.m * p.n;
  const target = partial ? outputTensor(backend, [splits * total]) : out;
  const withBias = !!bias && !partial;
  const ta = p.transposeA;
  const tb = p.transposeB;
  const rowsM = v.kind === 'rows' ? `-m${p.m}` : '';
  const key = `regimen-gemm-${v.name}${rowsM}-${ta ? 't' : 'n'}${tb ? 't' : 'n'}${withBias ? '-bias' : ''}${partial ? '-partial' : ''}`;
  const uniforms = new Uint32Array([p.m, p.n, p.k, kChunk, p.batch, strides.strideA, strides.strideB, total]);
  const [x, y] = grid(v, p);
  dispatch(backend, {
    key,
    code: () =>
      v.kind === 'tile'
        ? tileShader(v, ta, tb, withBias, partial)
        : rowsShader(v, p.m, ta, tb, withBias, partial),
    tensors: withBias ? [a, b, bias as tf.TensorInfo, target] : [a, b, target],
    uniforms: uniforms.buffer,
    workgroups: [x, y, p.batch * splits],
  });
  if (!partial) return;
  const groups = workgroups1d(backend, total, REDUCE_WORKGROUP);
  dispatch(backend, {
    key: `regimen-gemm-reduce${bias ? '-bias' : ''}`,
    code: () => reduceShader(!!bias),
    tensors: bias ? [target, bias, out] : [target, out],
    uniforms: new Uint32Array([total, groups[0] * REDUCE_WORKGROUP, splits, p.n]).buffer,
    workgroups: groups,
  });
  (backend as unknown as { disposeData(id: object): void }).disposeData(target.dataId);
}

/**
 * Puts Regimen's matrix product in front of the webgpu backend's BatchMatMul and _FusedMatMul (once; a
 * later call only changes the options). Does nothing where tfjs-backend-webgpu is not registered.
 */
export function installWebgpuGemm(opts: WebgpuGemmOptions = {}): void {
  const names = ['auto', 'tfjs', ...VARIANTS.map((v) => v.name)];
  if (opts.variant !== undefined && !names.includes(opts.variant))
    throw new Error(`webgpu gemm: unknown variant "${opts.variant}"; expected one of ${names.join(', ')}`);
  if (opts.splits !== undefined && !(Number.isInteger(opts.splits) && opts.splits >= 1))
    throw new Error(`webgpu gemm: splits must be a positive integer, got ${opts.splits}`);
  options = { ...opts };
  for (const name of ['BatchMatMul', '_FusedMatMul']) {
    const kernel = tf.getKernel(name, 'webgpu');
    if (!kernel || (kernel.kernelFunc as { regimen?: boolean }).regimen) continue;
    const fallback = kernel.kernelFunc;
    const func = ((args: Parameters<tf.KernelFunc>[0]) => {
      const out = matMulKernel(args);
      if (out) return out;
      webgpuGemmCalls.deferred++;
      return fallback(args);
    }) as tf.KernelFunc & { regimen?: boolean };
    func.regimen = true;
    tf.unregisterKernel(name, 'webgpu');
    tf.registerKernel({ ...kernel, kernelFunc: func });
  }
}
