import type * as tf from '@tensorflow/tfjs-core';

/*
 * Regimen's kernels on the backends whose tensors live in host memory (cpu, and wasm's heap): a kernel reads
 * its inputs where the backend keeps them and writes an output the backend allocated, so nothing is copied
 * in or out. Core never imports these backends; the fields used are theirs in tfjs 4.22.
 */

export interface HostAccess {
  /** A float32 tensor's values, in place. */
  values(backend: unknown, t: tf.TensorInfo): Float32Array;
  /** A new float32 output; `values()` gives its memory to write (fetch it after every allocation). */
  output(backend: unknown, shape: number[]): { info: tf.TensorInfo; values: () => Float32Array };
}

const size = (shape: number[]) => shape.reduce((a, d) => a * d, 1);

export const HOST_BACKENDS: Record<'cpu' | 'wasm', HostAccess> = {
  cpu: {
    values: (b, t) =>
      (b as { data: { get(id: object): { values: Float32Array } } }).data.get(t.dataId).values,
    output: (b, shape) => {
      const values = new Float32Array(size(shape));
      const backend = b as { makeTensorInfo(s: number[], d: string, v: Float32Array): tf.TensorInfo };
      return { info: backend.makeTensorInfo(shape, 'float32', values), values: () => values };
    },
  },
  wasm: {
    values: (b, t) => (b as { typedArrayFromHeap(t: tf.TensorInfo): Float32Array }).typedArrayFromHeap(t),
    output: (b, shape) => {
      const backend = b as {
        makeOutput(s: number[], d: string): tf.TensorInfo;
        typedArrayFromHeap(t: tf.TensorInfo): Float32Array;
      };
      const info = backend.makeOutput(shape, 'float32');
      return { info, values: () => backend.typedArrayFromHeap(info) };
    },
  },
};
