import * as tf from '@tensorflow/tfjs-core';

/*
 * Test-only: what crosses between the host and the backend. Downloads are reads of tensor values by code
 * outside the kernels (the engine's read and readSync, behind data(), dataSync(), array()…). Uploads are
 * host values becoming tensor data: on webgpu every backend.write with values (tf.tensor, and kernels that
 * compute on the host); on the host backends (cpu, wasm), whose kernels write their outputs through the same
 * call, the tensors made from host values (engine.makeTensor).
 */

// biome-ignore lint/suspicious/noExplicitAny: wraps backend and engine methods of every signature.
type AnyFunction = (...args: any[]) => any;

export interface TransferCounts {
  uploads: number;
  uploadBytes: number;
  downloads: number;
  downloadBytes: number;
  /** Synchronous reads (dataSync, arraySync, bufferSync): none may happen on a path that runs on a GPU. */
  syncReads: number;
  /** One line per transfer: what, how many bytes, and the shape where known. */
  log: string[];
}

export interface TransferWatch {
  readonly counts: TransferCounts;
  reset(): void;
  stop(): void;
}

function byteSize(values: unknown): number {
  if (values == null) return 0;
  if (ArrayBuffer.isView(values)) return values.byteLength;
  if (Array.isArray(values)) return values.length * 4;
  return 0;
}

/**
 * Counts transfers on the active backend until `stop()`. With `throwOnSyncRead`, a synchronous read throws
 * (naming what was read), as it would fail on a GPU.
 */
export function watchTransfers(opts: { throwOnSyncRead?: boolean } = {}): TransferWatch {
  const engine = tf.engine() as unknown as Record<string, unknown> & {
    read(dataId: object): Promise<unknown>;
    readSync(dataId: object): unknown;
    makeTensor(values: unknown, shape: number[], dtype: string, backend?: unknown): tf.Tensor;
  };
  const backend = tf.backend() as unknown as Record<string, unknown> & {
    write(values: unknown, shape: number[], dtype: string): object;
    readSync(dataId: object): unknown;
    tensorMap?: { get(dataId: object): { values: unknown } | undefined };
  };
  const onDevice = tf.getBackend() === 'webgpu';
  const counts: TransferCounts = {
    uploads: 0,
    uploadBytes: 0,
    downloads: 0,
    downloadBytes: 0,
    syncReads: 0,
    log: [],
  };
  const restore: Array<() => void> = [];
  const wrap = <T extends Record<string, unknown>>(
    obj: T,
    key: string,
    make: (orig: AnyFunction) => AnyFunction,
  ) => {
    const had = Object.hasOwn(obj, key);
    const orig = obj[key] as AnyFunction;
    (obj as Record<string, unknown>)[key] = make(orig.bind(obj));
    restore.push(() => {
      if (had) (obj as Record<string, unknown>)[key] = orig;
      else delete (obj as Record<string, unknown>)[key];
    });
  };
  const upload = (values: unknown, shape: number[], dtype: string) => {
    const bytes = byteSize(values);
    if (bytes === 0) return;
    counts.uploads++;
    counts.uploadBytes += bytes;
    counts.log.push(`up ${bytes} B [${shape}] ${dtype}`);
  };
  if (onDevice) {
    wrap(backend, 'write', (orig) => (values: unknown, shape: number[], dtype: string) => {
      upload(values, shape, dtype);
      return orig(values, shape, dtype);
    });
    // Kernels that read inputs synchronously would stall a GPU as much as user code doing it.
    wrap(backend, 'readSync', (orig) => (dataId: object) => {
      const cached = backend.tensorMap?.get(dataId)?.values != null;
      if (!cached) {
        counts.syncReads++;
        counts.log.push('sync read (backend)');
        if (opts.throwOnSyncRead)
          throw new Error('synchronous read of a tensor on the device (backend.readSync)');
      }
      return orig(dataId);
    });
  } else {
    wrap(engine, 'makeTensor', (orig) => (values: unknown, shape: number[], dtype: string, b?: unknown) => {
      upload(values, shape, dtype);
      return orig(values, shape, dtype, b);
    });
  }
  wrap(engine, 'read', (orig) => async (dataId: object) => {
    const values = await orig(dataId);
    counts.downloads++;
    counts.downloadBytes += byteSize(values);
    counts.log.push(`down ${byteSize(values)} B`);
    return values;
  });
  wrap(engine, 'readSync', (orig) => (dataId: object) => {
    counts.syncReads++;
    counts.log.push('sync read');
    if (opts.throwOnSyncRead) {
      throw new Error('synchronous read of tensor values (dataSync/arraySync/bufferSync) on a device path');
    }
    const values = orig(dataId);
    counts.downloads++;
    counts.downloadBytes += byteSize(values);
    return values;
  });
  return {
    counts,
    reset() {
      Object.assign(counts, {
        uploads: 0,
        uploadBytes: 0,
        downloads: 0,
        downloadBytes: 0,
        syncReads: 0,
        log: [],
      });
    },
    stop() {
      for (const r of restore.reverse()) r();
    },
  };
}
