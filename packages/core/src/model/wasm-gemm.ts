import { setFlagsFromString } from 'node:v8';
import * as tf from '@tensorflow/tfjs-core';
import wabtInit from 'wabt';
import { gemmWat, KC, MC, NC } from './gemm-wat.ts';
import { matMulCall } from './matmul-call.ts';
import { shareIdentityOnWasm } from './ops.ts';

/*
 * Regimen's own float32 matrix product for the wasm backend. tfjs-backend-wasm multiplies through XNNPACK,
 * whose 128-bit kernels reach ~27 GFLOP/s per thread on the machines we measure (a Zen 4 core); the kernel
 * in gemm-wat.ts reaches ~37 with a separate multiply and add and ~45-50 with relaxed SIMD's fused
 * multiply-add, transposed operands included (XNNPACK's transposed and batched paths are 10-60x slower
 * still). It replaces the wasm backend's BatchMatMul and _FusedMatMul kernels for the products it is
 * good at: float32, bias-only fusion, batch dims that are equal or 1, and, for plain unbatched products, at
 * least MIN_ROWS rows. Every other call goes to tfjs's own kernel, and so does every call where the
 * backend's memory cannot be reached; a decode step's single-row projections stay on XNNPACK, which keeps
 * its packed weights across calls.
 */

/**
 * Plain (untransposed, unbatched) products with fewer output rows than this stay on XNNPACK, which keeps a
 * weight matrix packed across calls (a decode step's projections are a row per sequence); this kernel packs
 * its second operand on every call, which costs more than it gains below ~8-16 rows for a 256×1024 weight
 * and ~32 rows for a 256×8192 output head (measured on the bench machine).
 */
export const MIN_ROWS = 32;

/** Products this kernel has computed since start-up, and calls it left to tfjs's own kernels. */
export const wasmGemmCalls = { ours: 0, deferred: 0 };

type Gemm = (
  a: number,
  b: number,
  c: number,
  bias: number,
  m: number,
  k: number,
  n: number,
  ta: number,
  tb: number,
  apack: number,
  bpack: number,
  tile: number,
) => void;

/** The parts of tfjs-backend-wasm's backend object the kernel uses (duck-typed: core imports no backend). */
interface WasmBackend {
  wasm: { asm?: { memory?: unknown }; _malloc(bytes: number): number; _free(ptr: number): void };
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: 'float32'): tf.TensorInfo;
}

/** The kernel instantiated on one backend's memory, with its packing workspace in that memory. */
interface Bound {
  gemm: Gemm;
  memory: WebAssembly.Memory;
  apack: number;
  bpack: number;
  tile: number;
  bias: number;
  biasFloats: number;
}

let compiled: { module: WebAssembly.Module; fma: boolean } | undefined;
const bound = new WeakMap<object, Bound | null>();

/** Whether the fused multiply-add variant is in use (false before install or where relaxed SIMD is off). */
export function wasmGemmUsesFma(): boolean {
  return compiled?.fma ?? false;
}

/**
 * The wasm backend's fast paths, for every entry point that chooses wasm (the worker, the CLI, benches,
 * tests): tensors saved for gradients share memory (`shareIdentityOnWasm`) and matrix products run on this
 * kernel. Returns false where the wasm backend is not registered.
 */
export async function installWasmFastPaths(): Promise<boolean> {
  shareIdentityOnWasm();
  return installWasmGemm();
}

/**
 * Compiles the kernel and puts it in front of the wasm backend's BatchMatMul and _FusedMatMul. Uses the
 * fused multiply-add variant where relaxed SIMD is available: on by default from Node 22; on Node 20 V8
 * has it behind --experimental-wasm-relaxed-simd, which this turns on (it applies to modules compiled
 * after it). Returns false, changing nothing, where the wasm backend is not registered. Safe to call more
 * than once.
 */
export async function installWasmGemm(): Promise<boolean> {
  const kernels = ['BatchMatMul', '_FusedMatMul'].map((name) => tf.getKernel(name, 'wasm'));
  if (kernels.some((k) => !k)) return false;
  if (!compiled) compiled = await compile();
  for (const kernel of kernels as tf.KernelConfig[]) {
    if ((kernel.kernelFunc as { regimen?: boolean }).regimen) continue;
    const fallback = kernel.kernelFunc;
    const func = ((args: Parameters<tf.KernelFunc>[0]) => {
      const out = matMulKernel(args);
      if (out) return out;
      wasmGemmCalls.deferred++;
      return fallback(args);
    }) as tf.KernelFunc & { regimen?: boolean };
    func.regimen = true;
    tf.unregisterKernel(kernel.kernelName, 'wasm');
    tf.registerKernel({ ...kernel, kernelFunc: func });
  }
  return true;
}

async function compile(): Promise<{ module: WebAssembly.Module; fma: boolean }> {
  const wabt = await wabtInit();
  const binary = (fma: boolean) => {
    const parsed = wabt.parseWat('regimen-gemm.wat', gemmWat(fma), { simd: true, relaxed_simd: true });
    try {
      parsed.validate();
      return Uint8Array.from(parsed.toBinary({}).buffer);
    } finally {
      parsed.destroy();
    }
  };
  const fused = binary(true);
  if (!WebAssembly.validate(fused)) setFlagsFromString('--experimental-wasm-relaxed-simd');
  if (WebAssembly.validate(fused)) return { module: new WebAssembly.Module(fused), fma: true };
  return { module: new WebAssembly.Module(binary(false)), fma: false };
}

/** The kernel on this backend's memory, or null where that memory cannot be imported. */
function bind(backend: WasmBackend): Bound | null {
  let b = bound.get(backend);
  if (b !== undefined) return b;
  b = null;
  const memory = backend.wasm?.asm?.memory;
  // The threaded build's memory is shared, which this module does not declare; it then stays on XNNPACK.
  if (compiled && memory instanceof WebAssembly.Memory && !(memory.buffer instanceof SharedArrayBuffer)) {
    const instance = new WebAssembly.Instance(compiled.module, { env: { memory } });
    const malloc = (floats: number) => backend.wasm._malloc(floats * 4 + 16);
    const align = (p: number) => Math.ceil(p / 16) * 16; // addresses may pass 2³¹: no bitwise ops
    b = {
      gemm: instance.exports.gemm as Gemm,
      memory,
      apack: align(malloc(MC * KC)),
      bpack: align(malloc(KC * (NC + 8))),
      tile: align(malloc(32)),
      bias: 0,
      biasFloats: 0,
    };
  }
  bound.set(backend, b);
  return b;
}

/** A bias readable 8 floats past its end (the last panel reads whole panels). */
function paddedBias(b: Bound, backend: WasmBackend, ptr: number, n: number): number {
  if (n % 8 === 0) return ptr;
  if (b.biasFloats < n + 8) {
    if (b.bias) backend.wasm._free(b.bias);
    b.biasFloats = n + 8;
    b.bias = backend.wasm._malloc(b.biasFloats * 4);
  }
  const heap = new Float32Array(b.memory.buffer);
  heap.copyWithin(b.bias / 4, ptr / 4, ptr / 4 + n);
  heap.fill(0, b.bias / 4 + n, b.bias / 4 + n + 8);
  return b.bias;
}

/** The product through gemm-wat.ts, or undefined to leave the call to tfjs's own kernel. */
function matMulKernel(args: Parameters<tf.KernelFunc>[0]): tf.TensorInfo | undefined {
  const backend = args.backend as unknown as WasmBackend;
  const call = matMulCall(args);
  if (!call) return undefined;
  const { a, b, bias, transposeA, transposeB, m, k, n, outer, batchA, batchB, batch } = call;
  if (m < MIN_ROWS && !transposeA && !transposeB && batch === 1) return undefined;
  // The wasm kernel takes a bias of exactly [n].
  if (bias && bias.shape.length !== 1) return undefined;
  const kernel = bind(backend);
  if (!kernel) return undefined;
  const ptr = (t: tf.TensorInfo) => backend.dataIdMap.get(t.dataId)?.memoryOffset;
  const out = backend.makeOutput([...outer, m, n], 'float32');
  const [pa, pb, pc] = [ptr(a), ptr(b), ptr(out)];
  const pbias = bias ? ptr(bias) : 0;
  if (pa === undefined || pb === undefined || pc === undefined || pbias === undefined)
    throw new Error('wasm gemm: an operand has no memory on the wasm backend');
  const biasAt = bias ? paddedBias(kernel, backend, pbias, n) : 0;
  // A shared B under a batch of untransposed A's is one product of all their rows: B is packed once.
  const stacked = batchB === 1 && batch > 1 && !transposeA;
  const [calls, rows] = stacked ? [1, batch * m] : [batch, m];
  const strideA = batchA === 1 ? 0 : m * k * 4;
  const strideB = batchB === 1 ? 0 : k * n * 4;
  for (let i = 0; i < calls; i++) {
    kernel.gemm(
      pa + i * strideA,
      pb + i * strideB,
      pc + i * m * n * 4,
      biasAt,
      rows,
      k,
      n,
      transposeA ? 1 : 0,
      transposeB ? 1 : 0,
      kernel.apack,
      kernel.bpack,
      kernel.tile,
    );
  }
  wasmGemmCalls.ours++;
  return out;
}
