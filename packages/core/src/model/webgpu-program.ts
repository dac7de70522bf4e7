import * as tf from '@tensorflow/tfjs-core';

/*
 * Running Regimen's own WGSL on tfjs's webgpu backend. tfjs generates its shaders from programs with its own
 * preamble; Regimen's kernels are plain WGSL compute shaders instead, bound to the GPU buffers tfjs keeps for
 * the tensors and recorded into tfjs's own command encoder and compute pass, in order with its kernels. So a
 * kernel's output is an ordinary tensor, nothing is read back, and tfjs's buffer reuse and deferred disposal
 * (a buffer a queued command still uses is released only after the queue is submitted) apply unchanged.
 *
 * This module reaches into the backend object (the fields below are tfjs-backend-webgpu 4.22's); core never
 * imports the backend package itself.
 */

// Dawn's enums (WebGPU spec values), so that core needs no WebGPU globals.
const BUFFER_USAGE = { COPY_DST: 0x0008, UNIFORM: 0x0040 } as const;

export interface GpuBuffer {
  size: number;
}
interface GpuDevice {
  createShaderModule(d: { code: string }): unknown;
  createComputePipeline(d: { layout: 'auto'; compute: { module: unknown; entryPoint: string } }): GpuPipeline;
  createBindGroup(d: { layout: unknown; entries: Array<{ binding: number; resource: unknown }> }): unknown;
  queue: {
    writeBuffer(b: GpuBuffer, offset: number, data: ArrayBuffer, dataOffset: number, size: number): void;
  };
}
interface GpuPipeline {
  getBindGroupLayout(i: number): unknown;
}
interface GpuPass {
  setPipeline(p: GpuPipeline): void;
  setBindGroup(i: number, g: unknown): void;
  dispatchWorkgroups(x: number, y?: number, z?: number): void;
}

/** The parts of tfjs-backend-webgpu's WebGPUBackend that Regimen's kernels use. */
export interface WebgpuBackend {
  device: GpuDevice & { limits: Record<string, number> };
  tensorMap: { get(dataId: object): { resource: GpuBuffer | null } };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values?: tf.backend_util.BackendValues): tf.TensorInfo;
  uploadToGPU(dataId: object): void;
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
  commandEncoder: { beginComputePass(d: object): GpuPass };
  computePassEncoder: GpuPass | null;
  commandQueueOwnedIds: WeakSet<object>;
  dispatchCountInPass: number;
  uniformPendingDisposal: GpuBuffer[];
  bufferManager: { acquireBuffer(size: number, usage: number): GpuBuffer };
}

/** The webgpu backend when it is the active one (and looks like the version these kernels were written for). */
export function webgpuBackend(): WebgpuBackend | undefined {
  if (tf.getBackend() !== 'webgpu') return undefined;
  const b = tf.backend() as unknown as Partial<WebgpuBackend>;
  if (!b.device || !b.tensorMap || typeof b.ensureCommandEncoderReady !== 'function') return undefined;
  return b as WebgpuBackend;
}

const pipelines = new WeakMap<object, Map<string, GpuPipeline>>();

/** A compute pipeline for this WGSL source (entry point `main`), compiled once per device. */
function pipelineFor(backend: WebgpuBackend, key: string, code: () => string): GpuPipeline {
  let cache = pipelines.get(backend.device);
  if (!cache) {
    cache = new Map();
    pipelines.set(backend.device, cache);
  }
  let p = cache.get(key);
  if (!p) {
    const module = backend.device.createShaderModule({ code: code() });
    p = backend.device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
    cache.set(key, p);
  }
  return p;
}

export interface Dispatch {
  /** Identifies the shader source (its specialisation constants included). */
  key: string;
  code: () => string;
  /**
   * Bindings 0… in order: tensors (storage buffers, as tfjs holds them). The shader declares them with
   * `@group(0) @binding(i)`; the uniform block, when given, is the next binding.
   */
  tensors: tf.TensorInfo[];
  /** Uniform block contents (std140-like layout is the shader's business), bound after the tensors. */
  uniforms?: ArrayBuffer;
  workgroups: [number, number?, number?];
}

/** Records one dispatch into tfjs's current compute pass, as tfjs records its own programs. */
export function dispatch(backend: WebgpuBackend, d: Dispatch): void {
  for (const t of d.tensors) backend.uploadToGPU(t.dataId);
  const pipeline = pipelineFor(backend, d.key, d.code);
  const entries: Array<{ binding: number; resource: unknown }> = d.tensors.map((t, i) => ({
    binding: i,
    resource: { buffer: backend.tensorMap.get(t.dataId).resource },
  }));
  if (d.uniforms) {
    const size = Math.max(16, Math.ceil(d.uniforms.byteLength / 16) * 16);
    const buffer = backend.bufferManager.acquireBuffer(size, BUFFER_USAGE.COPY_DST | BUFFER_USAGE.UNIFORM);
    backend.device.queue.writeBuffer(buffer, 0, d.uniforms, 0, d.uniforms.byteLength);
    backend.uniformPendingDisposal.push(buffer);
    entries.push({ binding: d.tensors.length, resource: { buffer, offset: 0, size } });
  }
  const bindGroup = backend.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries });
  for (const t of d.tensors) backend.commandQueueOwnedIds.add(t.dataId);
  backend.ensureCommandEncoderReady();
  if (!backend.computePassEncoder) backend.computePassEncoder = backend.commandEncoder.beginComputePass({});
  const pass = backend.computePassEncoder;
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, bindGroup);
  const [x, y = 1, z = 1] = d.workgroups;
  pass.dispatchWorkgroups(x, y, z);
  backend.dispatchCountInPass++;
  if (backend.dispatchCountInPass >= (tf.env().get('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE') as number)) {
    backend.endComputePassEncoder();
    backend.submitQueue();
  }
}

/** An output tensor with a GPU buffer of its own, for a kernel to write. */
export function outputTensor(
  backend: WebgpuBackend,
  shape: number[],
  dtype: tf.DataType = 'float32',
): tf.TensorInfo {
  const info = backend.makeTensorInfo(shape, dtype);
  backend.uploadToGPU(info.dataId);
  return info;
}

/** Workgroups for `n` invocations of `size` threads, folded into two dimensions past the per-dimension limit. */
export function workgroups1d(backend: WebgpuBackend, n: number, size: number): [number, number] {
  const groups = Math.ceil(n / size);
  const limit = backend.device.limits.maxComputeWorkgroupsPerDimension ?? 65535;
  if (groups <= limit) return [groups, 1];
  const x = Math.min(limit, Math.ceil(Math.sqrt(groups)));
  return [x, Math.ceil(groups / x)];
}
