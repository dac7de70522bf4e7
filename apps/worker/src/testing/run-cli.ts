import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The `regimen` CLI of this repository. */
export const REGIMEN_BIN = join(dirname(fileURLToPath(import.meta.url)), '../../bin/regimen.js');

/**
 * Test-only: runs `regimen train …`, collecting `step N/M loss=…` lines; `killAt` sends SIGKILL once step N
 * is printed. `env` is added to this process's environment (e.g. REGIMEN_BACKEND).
 */
export function runTrainCli(
  args: string[],
  killAt?: number,
  env: Record<string, string> = {},
): Promise<{ losses: Map<number, string>; signal: string | null; log: string }> {
  return new Promise((resolveRun, reject) => {
    const child: ChildProcess = spawn(process.execPath, [REGIMEN_BIN, 'train', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    const losses = new Map<number, string>();
    let log = '';
    let pending = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      log += chunk.toString();
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        const m = /^step (\d+)\/\d+ loss=(\S+)/.exec(line);
        if (!m) continue;
        losses.set(Number(m[1]), m[2] as string);
        if (killAt !== undefined && Number(m[1]) === killAt) child.kill('SIGKILL');
      }
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      // main.ts reports a failure as a `regimen: …` line (the exit status is not reliable once wasm loaded).
      const failed = (code !== 0 && signal === null) || /^regimen: /m.test(log);
      if (failed) reject(new Error(`regimen train failed (exit ${code}):\n${log}`));
      else resolveRun({ losses, signal, log });
    });
  });
}

/** Test-only: runs `regimen …` to completion; its stdout and stderr. Rejects when it fails. */
export function runCli(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, [REGIMEN_BIN, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr?.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0 || /^regimen: /m.test(stderr))
        reject(new Error(`regimen ${args[0]} failed (exit ${code}):\n${stderr}`));
      else resolveRun({ stdout, stderr });
    });
  });
}
