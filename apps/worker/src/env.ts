import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

/** The repository root (apps/worker/src → ../../..), where `.regimen/` lives by default. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

export const JOB_KINDS = ['train', 'evaluate', 'generate', 'judge', 'import'] as const;
export type JobKind = (typeof JOB_KINDS)[number];

const optionalString = z
  .string()
  .trim()
  .transform((s) => (s === '' ? undefined : s))
  .optional();

const intFrom = (min: number, fallback: number) => z.coerce.number().int().min(min).default(fallback);

/** A comma-separated list of job kinds, e.g. `train,evaluate`. */
export const JobKindList = z
  .string()
  .transform((s) =>
    s
      .split(',')
      .map((k) => k.trim())
      .filter(Boolean),
  )
  .pipe(
    z
      .array(
        z.enum(JOB_KINDS, {
          error: (i) => `unknown job kind "${String(i.input)}"; expected one of ${JOB_KINDS.join(', ')}`,
        }),
      )
      .min(1),
  );

const WorkerEnv = z.object({
  DATABASE_URL: optionalString,
  /** Where Regimen keeps local state (artifacts, caches); `<repo>/.regimen` by default. */
  REGIMEN_HOME: optionalString,
  /** Overrides `git rev-parse HEAD` (for deployments without a .git folder). */
  REGIMEN_CODE_REVISION: optionalString,
  REGIMEN_BACKEND: optionalString,
  /**
   * webgpu: which matrix products Regimen's WGSL kernel takes from tfjs's: `atomic` (those tfjs would sum with
   * atomics, so runs repeat), `all`, or a variant's name (`npm run bench -- gemm` lists them).
   */
  REGIMEN_WEBGPU_GEMM: optionalString,
  /** Job kinds this worker claims; all of them by default. */
  REGIMEN_WORKER_KINDS: optionalString.pipe(JobKindList.optional()),
  REGIMEN_WORKER_CONCURRENCY: intFrom(1, 1),
  /**
   * Threads computing gradients in the train stage (data-parallel, one wasm instance each), for full
   * finetuning and LoRA. The steps equal one thread's up to float rounding (with LoRA adapter dropout > 0,
   * each thread draws its own masks).
   */
  REGIMEN_TRAIN_THREADS: intFrom(1, 1),
  /** Queue heartbeat: a job whose worker stops beating for this long fails over to another worker. */
  REGIMEN_HEARTBEAT_SECONDS: intFrom(10, 30),
  /** How often a worker looks for dead workers' jobs; with the heartbeat, bounds how soon a run is taken over. */
  REGIMEN_QUEUE_SUPERVISE_SECONDS: intFrom(1, 30),
  REGIMEN_QUEUE_POLL_SECONDS: z.coerce.number().min(0.5).default(2),
  /** Retries of a stage after its first attempt (a killed worker's attempt counts). */
  REGIMEN_RETRY_LIMIT: intFrom(0, 3),
  /** How often a worker looks for runs whose job the queue gave up on (their worker died on every attempt). */
  REGIMEN_RECONCILE_SECONDS: intFrom(1, 60),
  /** Metric points are written at most this often (the last point of a stage is always written). */
  REGIMEN_METRIC_FLUSH_MS: intFrom(0, 1000),
  /** How often a running job re-reads its run's cancel flag, besides the NOTIFY that usually arrives first. */
  REGIMEN_CANCEL_POLL_MS: intFrom(50, 1000),
  /** The automatic judge for judge jobs: an OpenAI-compatible endpoint and model (judge jobs need both). */
  REGIMEN_JUDGE_BASE_URL: optionalString.pipe(z.url().optional()),
  REGIMEN_JUDGE_MODEL: optionalString,
  REGIMEN_JUDGE_API_KEY: optionalString,
  /**
   * The broad instruction dataset (id or name) whose responses the domain-similarity analysis of finetuned
   * runs compares against (Hewitt et al. use LIMA); the analysis is skipped while it is not imported.
   */
  REGIMEN_BROAD_DATASET: z.string().trim().min(1).default('lima'),
  /** S3-compatible artifact store; the local folder is used when no bucket is set. */
  REGIMEN_S3_BUCKET: optionalString,
  REGIMEN_S3_ENDPOINT: optionalString.pipe(z.url().optional()),
  REGIMEN_S3_REGION: z.string().trim().default('us-east-1'),
  REGIMEN_S3_PREFIX: z.string().trim().default(''),
  REGIMEN_S3_FORCE_PATH_STYLE: z
    .enum(['0', '1', 'true', 'false'])
    .default('1')
    .transform((v) => v === '1' || v === 'true'),
});
export type WorkerEnv = z.infer<typeof WorkerEnv> & { regimenHome: string };

let cached: WorkerEnv | undefined;

/** Validate the worker's environment once; every other module takes values from here. */
export function loadEnv(source: NodeJS.ProcessEnv = process.env): WorkerEnv {
  if (source === process.env && cached) return cached;
  const parsed = WorkerEnv.safeParse(source);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new Error(`invalid environment for the worker:\n${lines.join('\n')}`);
  }
  const env = {
    ...parsed.data,
    regimenHome: resolve(parsed.data.REGIMEN_HOME ?? join(REPO_ROOT, '.regimen')),
  };
  if (source === process.env) cached = env;
  return env;
}
