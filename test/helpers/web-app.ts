import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnGroup } from './process.ts';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const WEB_DIR = join(REPO_ROOT, 'apps', 'web');
// Resolved from apps/web, wherever npm put it (hoisted to the root or nested in apps/web/node_modules).
const NEXT_BIN = join(
  dirname(createRequire(join(WEB_DIR, 'package.json')).resolve('next/package.json')),
  'dist',
  'bin',
  'next',
);
const BUILD_ID = join(WEB_DIR, '.next', 'BUILD_ID');
/** Sources the production build depends on; a build older than any of them is rebuilt. */
const BUILD_INPUTS = [
  join(WEB_DIR, 'src'),
  join(WEB_DIR, 'next.config.ts'),
  join(WEB_DIR, 'package.json'),
  join(REPO_ROOT, 'packages', 'core', 'src'),
  join(REPO_ROOT, 'packages', 'db', 'src'),
];

function newestMtime(path: string): number {
  if (!existsSync(path)) return 0;
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const entry of readdirSync(path)) {
    if (entry === 'node_modules' || entry.endsWith('.test.ts')) continue;
    newest = Math.max(newest, newestMtime(join(path, entry)));
  }
  return newest;
}

/** A cold `next build` takes about a minute on 2 shared cores; give the first browser test room for it. */
export const BUILD_TIMEOUT_MS = 300_000;

/**
 * Builds apps/web for production unless an up-to-date build exists. Browser test files run one after another,
 * so the first one builds and the rest reuse it.
 */
export function ensureWebBuild(): void {
  if (existsSync(BUILD_ID)) {
    const built = statSync(BUILD_ID).mtimeMs;
    if (BUILD_INPUTS.every((p) => newestMtime(p) < built)) return;
  }
  const result = spawnSync(process.execPath, [NEXT_BIN, 'build'], {
    cwd: WEB_DIR,
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1', NODE_ENV: 'production' },
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.status !== 0) {
    throw new Error(`next build failed (exit ${result.status}):\n${result.stdout}\n${result.stderr}`);
  }
}

/** The migrated per-run database that packages/db/test/global-setup.ts creates for the e2e project. */
export function testDatabaseUrl(): string {
  const url = process.env.DATABASE_URL;
  if (!url)
    throw new Error(
      'DATABASE_URL is not set: run browser tests through vitest (npx vitest run --project e2e)',
    );
  return url;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** The first admin every test app bootstraps from REGIMEN_ADMIN_EMAIL / REGIMEN_ADMIN_PASSWORD. */
export const TEST_ADMIN = { email: 'admin@regimen.test', password: 'admin-password-1' };

export interface WebApp {
  url: string;
  /** Everything the server printed, for failure messages. */
  output(): string;
  stop(): Promise<void>;
}

/** Starts the built app with `next start` on a free port against the given database and waits until it answers. */
export async function startWebApp(opts: {
  databaseUrl: string;
  env?: Record<string, string>;
}): Promise<WebApp> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const proc = spawnGroup(
    process.execPath,
    [NEXT_BIN, 'start', '--port', String(port), '--hostname', '127.0.0.1'],
    {
      cwd: WEB_DIR,
      env: {
        ...process.env,
        NEXT_TELEMETRY_DISABLED: '1',
        NODE_ENV: 'production',
        DATABASE_URL: opts.databaseUrl,
        REGIMEN_WEB_URL: url,
        REGIMEN_AUTH_SECRET: 'browser-test-secret-browser-test-secret',
        REGIMEN_ADMIN_EMAIL: TEST_ADMIN.email,
        REGIMEN_ADMIN_PASSWORD: TEST_ADMIN.password,
        ...opts.env,
      },
    },
  );
  const { child } = proc;
  // next start forks a server process; stopping signals the whole group so none is left behind.
  const stop = () => proc.stop(5000);

  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null)
      throw new Error(`next start exited with ${child.exitCode}:\n${proc.output()}`);
    try {
      const res = await fetch(`${url}/api/health`);
      if (res.ok) return { url, output: proc.output, stop };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  await stop();
  throw new Error(`next start did not answer on ${url} within 60 s:\n${proc.output()}`);
}
