import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { assertReachable, type Database, openDatabase, processAlive } from '../src/database.ts';
import { migrate } from '../src/migrate.ts';

/**
 * Gives each vitest project (db, worker, web, e2e) a fresh, migrated database and drops it afterwards. The server
 * is TEST_DATABASE_SERVER, else the server of DATABASE_URL, else postgresql://postgres@127.0.0.1:5432/postgres;
 * when that default is unreachable a throwaway embedded PostgreSQL in a temp folder serves instead, so `npm test`
 * works on a machine with no PostgreSQL at all. Tests read the URL from process.env.DATABASE_URL.
 */

const DEFAULT_SERVER = 'postgresql://postgres@127.0.0.1:5432/postgres';

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
  }
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

async function admin(serverUrl: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** Databases of earlier runs that were killed before their teardown: their vitest process is gone. */
async function dropAbandoned(serverUrl: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ datname: string }>(
      "SELECT datname FROM pg_database WHERE datname LIKE 'regimen\\_test\\_%'",
    );
    for (const { datname } of rows) {
      const pid = Number(/_(\d+)_[a-z0-9]+$/.exec(datname)?.[1]);
      if (pid > 0 && !processAlive(pid))
        await client.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
    }
  } finally {
    await client.end();
  }
}

export default async function setup(project: TestProject) {
  const explicit =
    process.env.TEST_DATABASE_SERVER ??
    (process.env.DATABASE_URL && withDatabase(process.env.DATABASE_URL, 'postgres'));
  let serverUrl = explicit || DEFAULT_SERVER;
  let embedded: { db: Database; dir: string } | undefined;
  if (!explicit) {
    try {
      await assertReachable(serverUrl, 2000);
    } catch {
      const dir = mkdtempSync(join(tmpdir(), 'regimen-test-pg-'));
      // As root the server runs as the postgres user, which must be able to enter the (0700) temp folder.
      chmodSync(dir, 0o755);
      const port = 20000 + Math.floor(Math.random() * 20000);
      const db = await openDatabase({ dataDir: join(dir, 'pgdata'), port, migrate: false, log: () => {} });
      embedded = { db, dir };
      serverUrl = withDatabase(db.url, 'postgres');
    }
  }

  await dropAbandoned(serverUrl);
  const name = `regimen_test_${project.name}_${process.pid}_${Date.now().toString(36)}`.replace(/\W/g, '_');
  await admin(serverUrl, `CREATE DATABASE "${name}"`);
  const url = withDatabase(serverUrl, name);
  await migrate(url);

  project.provide('databaseUrl', url);
  // Each project's workers start with process.env overlaid by its config's env, so each sees its own database.
  const config = project.config as { env?: Record<string, string> };
  config.env = { ...config.env, DATABASE_URL: url };

  return async () => {
    // WITH (FORCE) ends connections a test left open (a pool not closed), which would otherwise block the drop.
    await admin(serverUrl, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    if (embedded) {
      await embedded.db.close();
      rmSync(embedded.dir, { recursive: true, force: true });
    }
  };
}
