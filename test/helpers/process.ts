import { type ChildProcess, spawn } from 'node:child_process';

export interface GroupProcess {
  child: ChildProcess;
  /** Everything it wrote to stdout and stderr so far. */
  output(): string;
  /** SIGTERM to its whole process group, SIGKILL after `graceMs`; resolves once it exited. */
  stop(graceMs: number): Promise<void>;
}

/** Spawns a command in a process group of its own (servers fork children), collecting its output. */
export function spawnGroup(
  command: string,
  args: string[],
  opts: { cwd: string; env: NodeJS.ProcessEnv },
): GroupProcess {
  const child = spawn(command, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let log = '';
  const collect = (b: Buffer) => {
    log += b.toString();
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const signal = (s: NodeJS.Signals) => {
    if (!child.pid) return;
    try {
      process.kill(-child.pid, s);
    } catch {
      child.kill(s);
    }
  };
  return {
    child,
    output: () => log,
    async stop(graceMs) {
      if (child.exitCode !== null || !child.pid) return;
      signal('SIGTERM');
      const timer = setTimeout(() => signal('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}
