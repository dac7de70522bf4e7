import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { installWasmFastPaths } from '../model/wasm-gemm.ts';

/**
 * Test-only: put tfjs on the wasm backend (SIMD, one thread), as the worker does on machines without
 * tfjs-node. Core itself never imports a backend package; only tests and entry points do.
 */
export async function useWasmBackend(): Promise<void> {
  if (tf.getBackend() === 'wasm') return;
  const require = createRequire(import.meta.url);
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  const dist = join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist/');
  wasm.setWasmPaths(dist);
  wasm.setThreadsCount?.(1);
  await installWasmFastPaths(); // as the worker does (apps/worker/src/backend.ts)
  await tf.setBackend('wasm');
  await tf.ready();
}

/** Test-only: the pure-JS cpu backend, for reference computations. */
export async function useCpuBackend(): Promise<void> {
  await import('@tensorflow/tfjs-backend-cpu');
  await tf.setBackend('cpu');
  await tf.ready();
}

let adapterProbe: Promise<string | undefined> | undefined;

/**
 * Test-only: Dawn's WebGPU (the `webgpu` package) as `navigator.gpu`, and the description of the adapter it
 * finds (a software one included: Mesa lavapipe in CI), or undefined where it finds none. With
 * REGIMEN_REQUIRE_WEBGPU=1 (CI) a missing adapter is an error, not a skip.
 */
export function webgpuAdapter(): Promise<string | undefined> {
  adapterProbe ??= (async () => {
    const { create, globals } = (await import('webgpu')) as unknown as {
      create: (flags: string[]) => { requestAdapter(): Promise<{ info: Record<string, unknown> } | null> };
      globals: object;
    };
    Object.assign(globalThis, globals);
    const gpu = create([]);
    Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
    const adapter = await gpu.requestAdapter();
    const found = adapter ? `${adapter.info.vendor} ${adapter.info.description}` : undefined;
    if (!found && process.env.REGIMEN_REQUIRE_WEBGPU === '1') {
      throw new Error(
        'REGIMEN_REQUIRE_WEBGPU=1 but Dawn finds no WebGPU adapter (is mesa-vulkan-drivers installed?)',
      );
    }
    if (!found)
      console.warn(
        'SKIPPED: webgpu tests need a Vulkan driver (Mesa lavapipe will do); Dawn found no adapter',
      );
    return found;
  })();
  return adapterProbe;
}

/** Test-only: tfjs on the webgpu backend with Regimen's WGSL kernels, as the worker sets it up. */
export async function useWebgpuBackend(): Promise<void> {
  if (tf.getBackend() === 'webgpu') return;
  if (!(await webgpuAdapter())) throw new Error('no WebGPU adapter');
  await import('@tensorflow/tfjs-backend-webgpu');
  const { installWebgpuFastPaths } = await import('../model/webgpu-kernels.ts');
  installWebgpuFastPaths();
  if (!(await tf.setBackend('webgpu'))) throw new Error("tf.setBackend('webgpu') failed");
  await tf.ready();
}

/** Test-only: one of the backends tests compare. */
export async function useBackend(name: 'cpu' | 'wasm' | 'webgpu'): Promise<void> {
  if (name === 'cpu') return useCpuBackend();
  if (name === 'wasm') return useWasmBackend();
  return useWebgpuBackend();
}
