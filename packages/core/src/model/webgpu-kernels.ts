import * as tf from '@tensorflow/tfjs-core';
import { ADAMW_KERNEL, type AdamWScalars } from '../train/adamw.ts';
import { DROPOUT_MASK_KERNEL, type DropoutMaskAttrs, EMBEDDING_GRAD_KERNEL } from './ops.ts';
import { installWebgpuGemm, type WebgpuGemmOptions } from './webgpu-gemm.ts';
import { dispatch, outputTensor, type WebgpuBackend, webgpuBackend, workgroups1d } from './webgpu-program.ts';

/*
 * Regimen's own WGSL kernels for tfjs's webgpu backend, each the device twin of a host kernel that cpu and
 * wasm run (same formula, same inputs), registered by `installWebgpuFastPaths` where an entry point chose
 * webgpu.
 */

const WORKGROUP = 256;

/** WGSL for one element per invocation over n elements, the grid folded into two dimensions. */
function elementwise(bindings: string, uniformBinding: number, uniforms: string, body: string): string {
  return /* wgsl */ `
${bindings}
struct U { n: u32, rowStride: u32, ${uniforms} }
@group(0) @binding(${uniformBinding}) var<uniform> u: U;
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.y * u.rowStride + gid.x;
  if (i >= u.n) { return; }
${body}
}`;
}

/** The uniform block {n, rowStride, ...rest}: u32 pairs first, then the rest as written (u32 or f32). */
function uniformBlock(n: number, rowStride: number, rest: Array<['u32' | 'f32', number]>): ArrayBuffer {
  const buf = new ArrayBuffer(4 * (2 + rest.length));
  const u32 = new Uint32Array(buf);
  const f32 = new Float32Array(buf);
  u32[0] = n;
  u32[1] = rowStride;
  rest.forEach(([type, value], i) => {
    if (type === 'u32') u32[2 + i] = value;
    else f32[2 + i] = value;
  });
  return buf;
}

const ADAMW_WGSL = elementwise(
  /* wgsl */ `
@group(0) @binding(0) var<storage, read> p: array<f32>;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read> m: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read> scale: array<f32>;
@group(0) @binding(5) var<storage, read_write> pOut: array<f32>;
@group(0) @binding(6) var<storage, read_write> mOut: array<f32>;
@group(0) @binding(7) var<storage, read_write> vOut: array<f32>;`,
  8,
  'beta1: f32, beta2: f32, eps: f32, stepSize: f32, invBc2Sqrt: f32, decay: f32,',
  /* wgsl */ `
  let gi = g[i] * scale[0];
  let mi = u.beta1 * m[i] + (1.0 - u.beta1) * gi;
  let vi = u.beta2 * v[i] + (1.0 - u.beta2) * gi * gi;
  mOut[i] = mi;
  vOut[i] = vi;
  pOut[i] = p[i] * u.decay - (u.stepSize * mi) / (sqrt(vi) * u.invBc2Sqrt + u.eps);`,
);

function adamw(
  backend: WebgpuBackend,
  inputs: Record<string, tf.TensorInfo>,
  s: AdamWScalars & { decay: number },
) {
  const { p, g, m, v, scale } = inputs as Record<'p' | 'g' | 'm' | 'v' | 'scale', tf.TensorInfo>;
  const n = tf.util.sizeFromShape(p.shape);
  const outs = [0, 1, 2].map(() => outputTensor(backend, p.shape));
  const groups = workgroups1d(backend, n, WORKGROUP);
  dispatch(backend, {
    key: 'regimen-adamw',
    code: () => ADAMW_WGSL,
    tensors: [p, g, m, v, scale, ...outs],
    uniforms: uniformBlock(n, groups[0] * WORKGROUP, [
      ['f32', s.beta1],
      ['f32', s.beta2],
      ['f32', s.eps],
      ['f32', s.stepSize],
      ['f32', s.invBc2Sqrt],
      ['f32', s.decay],
    ]),
    workgroups: groups,
  });
  return outs;
}

/** The hash of `dropoutMaskValues` (ops.ts), in u32 arithmetic (WGSL's wraps as Math.imul does). */
const DROPOUT_WGSL = elementwise(
  '@group(0) @binding(0) var<storage, read_write> out: array<f32>;',
  1,
  'seedMix: u32, threshold: u32, keepScale: f32,',
  /* wgsl */ `
  var x = i ^ u.seedMix;
  x = x ^ (x >> 16u); x = x * 0x7feb352du; x = x ^ (x >> 15u); x = x * 0x846ca68bu; x = x ^ (x >> 16u);
  out[i] = select(0.0, u.keepScale, (x >> 8u) >= u.threshold);`,
);

function dropoutMask(backend: WebgpuBackend, a: DropoutMaskAttrs): tf.TensorInfo {
  const n = tf.util.sizeFromShape(a.shape);
  const out = outputTensor(backend, a.shape);
  const groups = workgroups1d(backend, n, WORKGROUP);
  dispatch(backend, {
    key: 'regimen-dropout-mask',
    code: () => DROPOUT_WGSL,
    tensors: [out],
    uniforms: uniformBlock(n, groups[0] * WORKGROUP, [
      ['u32', a.seedMix],
      ['u32', a.threshold],
      ['f32', a.keepScale],
    ]),
    workgroups: groups,
  });
  return out;
}

const ZERO_WGSL = elementwise(
  '@group(0) @binding(0) var<storage, read_write> out: array<f32>;',
  1,
  '',
  '  out[i] = 0.0;',
);

/**
 * One invocation per column d walks the positions in order and adds dy[i, d] into row ids[i]: each output
 * element is summed in position order by one invocation, so the result is the same on every run (and equals
 * the host's scatter), with no atomics. Its parallelism is the width D; the walk is N long.
 */
const EMBEDDING_GRAD_WGSL = /* wgsl */ `
@group(0) @binding(0) var<storage, read> ids: array<i32>;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
struct U { n: u32, d: u32, vocab: u32 }
@group(0) @binding(3) var<uniform> u: U;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let col = gid.x;
  if (col >= u.d) { return; }
  for (var i = 0u; i < u.n; i = i + 1u) {
    let id = ids[i];
    if (id >= 0 && u32(id) < u.vocab) {
      let at = u32(id) * u.d + col;
      out[at] = out[at] + dy[i * u.d + col];
    }
  }
}`;

function embeddingGrad(backend: WebgpuBackend, ids: tf.TensorInfo, dy: tf.TensorInfo, vocab: number) {
  const [n, d] = dy.shape as [number, number];
  const out = outputTensor(backend, [vocab, d]);
  const size = vocab * d;
  const groups = workgroups1d(backend, size, WORKGROUP);
  // Pooled buffers come back dirty: zero the table first (dispatches in one pass run in order).
  dispatch(backend, {
    key: 'regimen-zero',
    code: () => ZERO_WGSL,
    tensors: [out],
    uniforms: uniformBlock(size, groups[0] * WORKGROUP, []),
    workgroups: groups,
  });
  const block = new Uint32Array([n, d, vocab, 0]);
  dispatch(backend, {
    key: 'regimen-embedding-grad',
    code: () => EMBEDDING_GRAD_WGSL,
    tensors: [ids, dy, out],
    uniforms: block.buffer,
    workgroups: [Math.ceil(d / 64)],
  });
  return out;
}

/**
 * Registers Regimen's WGSL kernels for the webgpu backend. Entry points that choose webgpu call it once,
 * after tfjs-backend-webgpu is imported; safe to call again.
 */
export function installWebgpuFastPaths(gemm: WebgpuGemmOptions = {}): void {
  // tfjs runs kernels whose inputs are small and still on the host on the CPU, and uploads the result: a
  // [T, T] causal mask built from two ranges would cross the bus every step. Regimen keeps work on the device.
  tf.env().set('WEBGPU_CPU_FORWARD', false);
  const kernels: tf.KernelConfig[] = [
    {
      kernelName: ADAMW_KERNEL,
      backendName: 'webgpu',
      kernelFunc: ({ inputs, attrs }) =>
        adamw(
          needBackend(),
          inputs as Record<string, tf.TensorInfo>,
          attrs as unknown as AdamWScalars & { decay: number },
        ),
    },
    {
      kernelName: EMBEDDING_GRAD_KERNEL,
      backendName: 'webgpu',
      kernelFunc: ({ inputs, attrs }) => {
        const { ids, dy } = inputs as Record<'ids' | 'dy', tf.TensorInfo>;
        return embeddingGrad(needBackend(), ids, dy, (attrs as { vocab: number }).vocab);
      },
    },
    {
      kernelName: DROPOUT_MASK_KERNEL,
      backendName: 'webgpu',
      kernelFunc: ({ attrs }) => dropoutMask(needBackend(), attrs as unknown as DropoutMaskAttrs),
    },
  ];
  for (const k of kernels) {
    if (tf.getKernel(k.kernelName, 'webgpu')) tf.unregisterKernel(k.kernelName, 'webgpu');
    tf.registerKernel(k);
  }
  installWebgpuGemm(gemm);
}

function needBackend(): WebgpuBackend {
  const b = webgpuBackend();
  if (!b) throw new Error('Regimen webgpu kernel called while the webgpu backend is not the active one');
  return b;
}
