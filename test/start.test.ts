import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type GroupProcess, spawnGroup } from './helpers/process.ts';
import { BUILD_TIMEOUT_MS, ensureWebBuild, freePort, REPO_ROOT, testDatabaseUrl } from './helpers/web-app.ts';

/** Processes whose command line mentions `needle`, and whose ancestors include `root`. */
function descendants(root: number, needle: string): number[] {
  const parent = (pid: number) => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    } catch {
      return 0;
    }
  };
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    let cmd = '';
    try {
      cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    if (!cmd.includes(needle)) continue;
    for (let p = parent(pid); p > 1; p = parent(p)) {
      if (p === root) {
        out.push(pid);
        break;
      }
    }
  }
  return out;
}

async function until<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  ms: number,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('npm start', () => {
  let app: GroupProcess | undefined;
  const home = mkdtempSync(join(tmpdir(), 'regimen-start-'));
  afterAll(async () => {
    await app?.stop(15_000);
    rmSync(home, { recursive: true, force: true });
  });

  it(
    'starts a crashed worker again with back-off while the dashboard keeps answering',
    async () => {
      ensureWebBuild();
      const port = await freePort();
      const tsx = createRequire(join(REPO_ROOT, 'package.json')).resolve('tsx/cli');
      app = spawnGroup(process.execPath, [tsx, join(REPO_ROOT, 'scripts', 'start.ts')], {
        cwd: REPO_ROOT,
        env: {
          ...process.env,
          DATABASE_URL: testDatabaseUrl(),
          PORT: String(port),
          REGIMEN_HOME: home,
          REGIMEN_AUTH_SECRET: 'start-test-secret-start-test-secret',
          REGIMEN_BACKEND: 'cpu',
        },
      });
      const root = app.child.pid as number;
      const output = () => app?.output() ?? '';
      const health = async () => {
        try {
          return (await fetch(`http://127.0.0.1:${port}/api/health`)).ok;
        } catch {
          return false;
        }
      };
      await until('the dashboard', async () => ((await health()) ? true : undefined), 240_000);
      await until('the worker', () => (/claiming .* jobs/.test(output()) ? true : undefined), 120_000);
      const [worker] = descendants(root, 'apps/worker/src/main.ts');
      expect(worker, output()).toBeDefined();

      process.kill(worker as number, 'SIGKILL');
      await until(
        'the restart notice',
        () => (/worker exited \(SIGKILL\); starting it again in 1 s/.test(output()) ? true : undefined),
        30_000,
      );
      // While the worker is down and after, the dashboard answers; a new worker comes up.
      expect(await health()).toBe(true);
      await until(
        'a second worker',
        () => ((output().match(/claiming .* jobs/g) ?? []).length >= 2 ? true : undefined),
        120_000,
      );
      const [second] = descendants(root, 'apps/worker/src/main.ts');
      expect(second).toBeDefined();
      expect(second).not.toBe(worker);
      expect(await health()).toBe(true);
      expect(output()).not.toMatch(/stopping the rest/);
    },
    BUILD_TIMEOUT_MS + 300_000,
  );
});
