import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { installWasmFastPaths } from '@regimen/core/model/wasm-gemm';
import { installWebgpuFastPaths } from '@regimen/core/model/webgpu-kernels';
import * as tf from '@tensorflow/tfjs-core';
import { loadEnv } from './env.ts';

export const BACKENDS = ['tensorflow-gpu', 'webgpu', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKENDS)[number];

/** What a WebGPU adapter says about itself, and the limits that bound the largest tensor it can hold. */
export interface AdapterSummary {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** A CPU implementation of Vulkan (Mesa lavapipe, SwiftShader) rather than a GPU. */
  software: boolean;
  maxBufferSize: number;
  maxStorageBufferBindingSize: number;
}

export interface BackendChoice {
  /** tfjs backend name as tf.getBackend() reports it. */
  name: string;
  /** The key of the chain (`REGIMEN_BACKEND` values). */
  key: BackendName;
  /** The package that provided it. */
  pkg: string;
  /** webgpu: the adapter it runs on. */
  adapter?: AdapterSummary;
  /** Why earlier candidates were passed over. */
  skipped: string[];
}

const require = createRequire(import.meta.url);

/** libtensorflow 2.9.1's GPU build loads these CUDA 11.2 + cuDNN 8.1 libraries. */
const CUDA_LIBRARIES = [
  'libcudart.so.11.0',
  'libcublas.so.11',
  'libcublasLt.so.11',
  'libcufft.so.10',
  'libcurand.so.10',
  'libcusolver.so.11',
  'libcusparse.so.11',
  'libcudnn.so.8',
];

/** Library folders the dynamic loader searches: LD_LIBRARY_PATH, then ldconfig's cache. */
function findLibrary(name: string): string | undefined {
  for (const dir of (process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean)) {
    if (existsSync(join(dir, name))) return join(dir, name);
  }
  try {
    const cache = execFileSync('ldconfig', ['-p'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const line = cache.split('\n').find((l) => l.trim().startsWith(`${name} `));
    return line?.split('=>')[1]?.trim();
  } catch {
    return undefined;
  }
}

/** Why tfjs-node(-gpu) did not load, with what it looked for. */
function tfjsNodeFailure(pkg: string, gpu: boolean, error: Error): string {
  let dir: string | undefined;
  try {
    dir = dirname(require.resolve(`${pkg}/package.json`));
  } catch {
    return `${pkg} is not installed (npm drops this optional dependency where its install step cannot download libtensorflow 2.9.1${gpu ? ', built for CUDA 11.2 + cuDNN 8.1' : ''})`;
  }
  const lib = join(dir, 'deps/lib/libtensorflow.so.2');
  const parts = [`${pkg}: ${error.message.split('\n')[0]}`];
  parts.push(`libtensorflow.so.2 ${existsSync(lib) ? `found at ${lib}` : `missing (looked for ${lib})`}`);
  if (gpu) {
    const missing = CUDA_LIBRARIES.filter((l) => !findLibrary(l));
    parts.push(
      missing.length === 0
        ? `CUDA libraries found: ${CUDA_LIBRARIES.join(', ')}`
        : `CUDA 11 libraries missing from LD_LIBRARY_PATH and ldconfig: ${missing.join(', ')} (it needs CUDA 11.2 + cuDNN 8.1; CUDA 12 or 13 alone will not do)`,
    );
  }
  return parts.join('; ');
}

interface Gpu {
  requestAdapter(opts?: { powerPreference?: string }): Promise<Adapter | null>;
}
interface Adapter {
  info: Record<string, unknown>;
  limits: Record<string, number>;
}

/** The adapter's self-description; a software rasterizer counts as software whatever it calls itself. */
export function summarizeAdapter(adapter: Adapter): AdapterSummary {
  const info = adapter.info;
  const text = (k: string) => String(info[k] ?? '');
  const description = text('description');
  const software =
    info.isFallbackAdapter === true ||
    text('architecture') === 'software' ||
    /llvmpipe|lavapipe|swiftshader|software/i.test(`${description} ${text('device')}`);
  return {
    vendor: text('vendor'),
    architecture: text('architecture'),
    device: text('device'),
    description,
    software,
    maxBufferSize: adapter.limits.maxBufferSize ?? 0,
    maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize ?? 0,
  };
}

/**
 * Dawn's WebGPU (the `webgpu` package) as `navigator.gpu`, which tfjs-backend-webgpu looks for when it is
 * imported; then the adapter it will get. A software adapter is refused unless `allowSoftware`.
 */
async function loadWebgpu(allowSoftware: boolean): Promise<AdapterSummary> {
  const { create, globals } = (await import('webgpu')) as unknown as {
    create: (flags: string[]) => Gpu;
    globals: Record<string, unknown>;
  };
  Object.assign(globalThis, globals);
  // Dawn's own switches, e.g. `enable-dawn-features=allow_unsafe_apis` (space-separated), for diagnostics.
  const gpu = create((process.env.REGIMEN_DAWN_FLAGS ?? '').split(' ').filter(Boolean));
  const nav = (globalThis as { navigator?: object }).navigator ?? {};
  Object.defineProperty(globalThis, 'navigator', {
    value: Object.assign(Object.create(nav), { gpu }),
    configurable: true,
    writable: true,
  });
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) {
    throw new Error(
      'Dawn found no WebGPU adapter: no Vulkan driver answered (a GPU driver with its Vulkan ICD, or Mesa lavapipe for a software one)',
    );
  }
  const summary = summarizeAdapter(adapter);
  if (summary.software && !allowSoftware) {
    throw new Error(
      `only a software adapter (${summary.description || summary.device}); set REGIMEN_BACKEND=webgpu to use it`,
    );
  }
  await import('@tensorflow/tfjs-backend-webgpu');
  return summary;
}

/**
 * Choose the compute backend once, at the entry point, in DESIGN.md's order: tfjs-node-gpu, WebGPU (Dawn, a
 * hardware adapter), tfjs-node, wasm, cpu. `REGIMEN_BACKEND` forces one of them (webgpu then takes a software
 * adapter too). Core never imports a backend package; the entry point installs core's fast paths for the
 * backend it chose.
 */
export async function selectBackend(forced = loadEnv().REGIMEN_BACKEND): Promise<BackendChoice> {
  const skipped: string[] = [];
  let adapter: AdapterSummary | undefined;
  const candidates: Array<{ key: BackendName; pkg: string; load: () => Promise<string> }> = [
    {
      key: 'tensorflow-gpu',
      pkg: '@tensorflow/tfjs-node-gpu',
      load: async () => {
        try {
          await import('@tensorflow/tfjs-node-gpu' as string);
        } catch (e) {
          throw new Error(tfjsNodeFailure('@tensorflow/tfjs-node-gpu', true, e as Error));
        }
        return 'tensorflow';
      },
    },
    {
      key: 'webgpu',
      pkg: '@tensorflow/tfjs-backend-webgpu',
      load: async () => {
        adapter = await loadWebgpu(forced === 'webgpu');
        return 'webgpu';
      },
    },
    {
      key: 'tensorflow',
      pkg: '@tensorflow/tfjs-node',
      load: async () => {
        try {
          await import('@tensorflow/tfjs-node' as string);
        } catch (e) {
          throw new Error(tfjsNodeFailure('@tensorflow/tfjs-node', false, e as Error));
        }
        return 'tensorflow';
      },
    },
    {
      key: 'wasm',
      pkg: '@tensorflow/tfjs-backend-wasm',
      load: async () => {
        const wasm = await import('@tensorflow/tfjs-backend-wasm');
        wasm.setWasmPaths(
          join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist/'),
        );
        // Threads need a blob: worker that Node cannot start (STACK-NOTES.md); SIMD stays on.
        wasm.setThreadsCount?.(1);
        await installWasmFastPaths();
        return 'wasm';
      },
    },
    {
      key: 'cpu',
      pkg: '@tensorflow/tfjs-backend-cpu',
      load: async () => {
        await import('@tensorflow/tfjs-backend-cpu');
        return 'cpu';
      },
    },
  ];
  if (forced && !candidates.some((c) => c.key === forced)) {
    throw new Error(
      `REGIMEN_BACKEND=${forced} is not a backend; expected one of ${candidates.map((c) => c.key).join(', ')}`,
    );
  }
  for (const c of candidates) {
    if (forced && c.key !== forced) continue;
    try {
      const name = await c.load();
      if (await tf.setBackend(name)) {
        await tf.ready();
        if (name === 'webgpu') {
          const gemm = loadEnv().REGIMEN_WEBGPU_GEMM ?? 'atomic';
          installWebgpuFastPaths(gemm === 'atomic' || gemm === 'all' ? { scope: gemm } : { variant: gemm });
        }
        return { name, key: c.key, pkg: c.pkg, adapter: c.key === 'webgpu' ? adapter : undefined, skipped };
      }
      skipped.push(`${c.key} (${c.pkg}): setBackend('${name}') failed`);
    } catch (e) {
      skipped.push(`${c.key}: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  throw new Error(`no tfjs backend could be loaded:\n  ${skipped.join('\n  ')}`);
}

const GiB = 2 ** 30;

/** A one-line description for logs and for the run record. */
export function describeBackend(b: BackendChoice): string {
  if (!b.adapter) return `${b.name} (${b.pkg})`;
  const a = b.adapter;
  const what = [a.vendor, a.description || a.device].filter(Boolean).join(' ');
  return `${b.name} (${b.pkg}; ${a.software ? 'software adapter ' : ''}${what})`;
}

/** The adapter's details for `regimen backend`, one per line. */
export function adapterLines(a: AdapterSummary): string[] {
  return [
    `  adapter: vendor ${a.vendor || '?'}, architecture ${a.architecture || '?'}, device ${a.device || '?'}`,
    `  description: ${a.description || '?'}${a.software ? ' (software: a CPU implementation of Vulkan)' : ''}`,
    `  limits: max buffer ${(a.maxBufferSize / GiB).toFixed(2)} GiB, max storage binding ${(a.maxStorageBufferBindingSize / GiB).toFixed(2)} GiB`,
  ];
}
