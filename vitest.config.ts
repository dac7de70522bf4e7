import { defineConfig } from 'vitest/config';

// One vitest run for the whole monorepo, so `npm test` ends with a single `N passed, N failed` line.
export default defineConfig({
  test: {
    reporters: ['./scripts/vitest-count-reporter.ts'],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'core',
          include: ['packages/core/src/**/*.test.ts'],
          exclude: ['**/*.webgpu.test.ts', '**/node_modules/**'],
          pool: 'forks',
        },
      },
      {
        // The GPU path on whatever Vulkan the machine has (Mesa lavapipe in CI, ~1 GFLOP/s): one file at a
        // time, since the software rasterizer takes every core.
        extends: true,
        test: {
          name: 'webgpu',
          include: ['packages/core/src/**/*.webgpu.test.ts', 'apps/worker/src/**/*.webgpu.test.ts'],
          globalSetup: ['packages/db/test/global-setup.ts'],
          pool: 'forks',
          fileParallelism: false,
        },
      },
      {
        extends: true,
        test: {
          name: 'db',
          include: ['packages/db/src/**/*.test.ts'],
          globalSetup: ['packages/db/test/global-setup.ts'],
          fileParallelism: false,
        },
      },
      {
        extends: true,
        test: {
          name: 'worker',
          include: ['apps/worker/src/**/*.test.ts'],
          exclude: ['**/*.webgpu.test.ts', '**/node_modules/**'],
          globalSetup: ['packages/db/test/global-setup.ts'],
          fileParallelism: false,
        },
      },
      {
        extends: true,
        test: {
          name: 'web',
          include: ['apps/web/src/**/*.test.ts'],
          globalSetup: ['packages/db/test/global-setup.ts'],
          fileParallelism: false,
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['test/**/*.test.ts'],
          globalSetup: ['packages/db/test/global-setup.ts'],
          fileParallelism: false,
        },
      },
    ],
  },
});
