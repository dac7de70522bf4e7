import { createPrismaClient } from '@regimen/db/client';
import { notifyRunEvent } from '@regimen/db/events';
import { afterAll, describe, expect, it } from 'vitest';
import { followRun, type LiveRunEvent } from './run-events.ts';

const db = createPrismaClient(process.env.DATABASE_URL!);

describe('live run events', () => {
  afterAll(async () => {
    await db.$disconnect();
  });

  it('keep flowing to a page after the LISTEN connection is lost and comes back', async () => {
    const runId = `live-${Date.now().toString(36)}`;
    const abort = new AbortController();
    const seen: LiveRunEvent[] = [];
    const stream = followRun(runId, abort.signal);
    const reader = (async () => {
      for await (const e of stream) seen.push(e);
    })();
    const waitFor = async (what: string, ok: () => boolean) => {
      const deadline = Date.now() + 15_000;
      while (!ok()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(seen)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    await waitFor('the opening sync', () => seen.length === 1);
    const progress = (p: number) =>
      notifyRunEvent(db, { type: 'progress', runId, stage: 'train', progress: p });
    await progress(0.1);
    await waitFor('the first event', () => seen.some((e) => e.type === 'progress'));

    // Drop the shared LISTEN connection, as a PostgreSQL restart does; it reconnects and re-syncs the page.
    await db.$queryRawUnsafe(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'LISTEN regimen_run_events%' AND pid <> pg_backend_pid()`,
    );
    await waitFor('the re-sync', () => seen.filter((e) => e.type === 'sync').length === 2);
    await progress(0.5);
    await waitFor('an event after the reconnect', () =>
      seen.some((e) => e.type === 'progress' && e.progress === 0.5),
    );
    abort.abort();
    await reader;
  }, 60_000);
});
