import { notifyRunEvent } from '@regimen/db/events';
import type { PrismaClient, Run, RunStatus } from '@regimen/db/generated/prisma/client';
import { withDbRetry } from './db-retry.ts';

export type Db = PrismaClient;

/** The stages a run passes through; each one is a queue job of the same kind. */
export const STAGES = ['train', 'evaluate'] as const;
export type Stage = (typeof STAGES)[number];

/** The run status a stage runs under. */
const STATUS_OF: Record<Stage, RunStatus> = { train: 'running', evaluate: 'evaluating' };
/** The statuses from which a stage may (re)start: its own (a retry after a crash) and the one before it. */
const STARTS_FROM: Record<Stage, RunStatus[]> = {
  train: ['queued', 'running'],
  evaluate: ['evaluating'],
};
const TERMINAL: RunStatus[] = ['done', 'failed', 'cancelled'];

export type BeginResult = { run: Run } | { skip: string };

/**
 * The run's state machine in the database: queued → running → evaluating → done, or failed / cancelled.
 * Every transition is a conditional update, so two workers that somehow hold the same run cannot both
 * move it, and a job retried after a crash finds the run where the dead worker left it.
 */
export class RunLifecycle {
  constructor(
    private readonly db: Db,
    private readonly info: { backend: string; codeRevision: string },
  ) {}

  /** Start or resume `stage`; a skip says why the job has nothing to do (finished, cancelled, wrong state). */
  async begin(runId: string, stage: Stage, jobId: string): Promise<BeginResult> {
    const status = STATUS_OF[stage];
    const updated = await withDbRetry(() =>
      this.db.run.updateMany({
        where: { id: runId, status: { in: STARTS_FROM[stage] }, cancelRequested: false },
        data: {
          status,
          stage,
          jobId,
          attempts: { increment: 1 },
          backend: this.info.backend,
          codeRevision: this.info.codeRevision,
          error: null,
        },
      }),
    );
    const run = await withDbRetry(() => this.db.run.findUnique({ where: { id: runId } }));
    if (!run) return { skip: `run ${runId} no longer exists` };
    if (updated.count === 0) {
      if (run.cancelRequested && !TERMINAL.includes(run.status)) {
        await this.cancelled(runId);
        return { skip: `run ${runId} was cancelled before its ${stage} stage started` };
      }
      return { skip: `run ${runId} is ${run.status}; the ${stage} stage does not run from there` };
    }
    if (!run.startedAt) {
      await withDbRetry(() =>
        this.db.run.updateMany({ where: { id: runId, startedAt: null }, data: { startedAt: new Date() } }),
      );
    }
    await this.notify({ type: 'status', runId, status, stage });
    return { run };
  }

  /**
   * Finish `stage` and move to `next` (or to done). Returns false when the run was meanwhile cancelled or
   * failed, in which case nothing moves.
   */
  async advance(runId: string, stage: Stage, next: Stage | null, seconds: number): Promise<boolean> {
    const run = await withDbRetry(() =>
      this.db.run.findUnique({ where: { id: runId }, select: { timings: true } }),
    );
    const timings = { ...((run?.timings as Record<string, number> | null) ?? {}), [stage]: round3(seconds) };
    const status: RunStatus = next ? STATUS_OF[next] : 'done';
    const updated = await withDbRetry(() =>
      this.db.run.updateMany({
        where: { id: runId, status: STATUS_OF[stage], cancelRequested: false },
        data: {
          status,
          stage: next,
          progress: next ? 0 : 1,
          timings,
          ...(next ? {} : { finishedAt: new Date() }),
        },
      }),
    );
    if (updated.count === 0) return false;
    await this.notify({ type: 'status', runId, status, stage: next });
    return true;
  }

  /** Mark the run failed with an error a user can act on; a finished run stays as it is. */
  async fail(runId: string, message: string): Promise<void> {
    const updated = await withDbRetry(() =>
      this.db.run.updateMany({
        where: { id: runId, status: { notIn: TERMINAL } },
        data: { status: 'failed', error: message, finishedAt: new Date() },
      }),
    );
    if (updated.count > 0) await this.notify({ type: 'status', runId, status: 'failed', error: message });
  }

  async cancelled(runId: string): Promise<void> {
    const updated = await withDbRetry(() =>
      this.db.run.updateMany({
        where: { id: runId, status: { notIn: TERMINAL } },
        data: { status: 'cancelled', finishedAt: new Date() },
      }),
    );
    if (updated.count > 0) await this.notify({ type: 'status', runId, status: 'cancelled' });
  }

  async progress(runId: string, stage: Stage, progress: number): Promise<void> {
    const p = Math.min(1, Math.max(0, progress));
    // Progress only moves forward within a stage: writes sent one after another may land out of order (a
    // retried write, a slow connection), and a resumed attempt repeats steps already counted.
    const { count } = await withDbRetry(() =>
      this.db.run.updateMany({ where: { id: runId, stage, progress: { lt: p } }, data: { progress: p } }),
    );
    if (count > 0) await this.notify({ type: 'progress', runId, stage, progress: p });
  }

  /** Keep the largest peak seen over all stages and attempts. */
  async recordPeakMemory(runId: string, mb: number): Promise<void> {
    await withDbRetry(() =>
      this.db.$executeRawUnsafe(
        'UPDATE "Run" SET "peakMemoryMb" = GREATEST(COALESCE("peakMemoryMb", 0), $2) WHERE id = $1',
        runId,
        mb,
      ),
    );
  }

  async log(runId: string, level: 'info' | 'warn' | 'error', message: string): Promise<void> {
    await withDbRetry(() => this.db.runLog.create({ data: { runId, level, message } }));
  }

  async cancelRequested(runId: string): Promise<boolean> {
    const run = await withDbRetry(() =>
      this.db.run.findUnique({ where: { id: runId }, select: { cancelRequested: true, status: true } }),
    );
    return !run || run.cancelRequested || TERMINAL.includes(run.status);
  }

  private async notify(event: Parameters<typeof notifyRunEvent>[1]): Promise<void> {
    // A lost notification costs a listener one refresh; it must never fail the transition it reports.
    await notifyRunEvent(this.db, event).catch(() => {});
  }
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
