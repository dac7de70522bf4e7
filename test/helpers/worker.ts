import { join } from 'node:path';
import { spawnGroup } from './process.ts';
import { REPO_ROOT } from './web-app.ts';

export interface WorkerProcess {
  output(): string;
  stop(): Promise<void>;
}

/** Starts `regimen worker` (all job kinds) against the given database, as `npm start` does beside the web app. */
export function startWorker(opts: { databaseUrl: string; home: string }): WorkerProcess {
  const proc = spawnGroup(
    process.execPath,
    [join(REPO_ROOT, 'apps', 'worker', 'bin', 'regimen.js'), 'worker'],
    {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        DATABASE_URL: opts.databaseUrl,
        REGIMEN_HOME: opts.home,
        REGIMEN_QUEUE_POLL_SECONDS: '1',
      },
    },
  );
  return { output: proc.output, stop: () => proc.stop(10_000) };
}
