// Timing child processes from spawn to exit, the way a user's shell runs them.
import { spawn } from 'node:child_process';

export interface Timed {
  ms: number;
  code: number;
  stdout: string;
  stderr: string;
}

export function timeProcess(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env, cwd?: string): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ ms: performance.now() - t0, code: code ?? -1, stdout, stderr }));
  });
}

/** Runs and fails loudly: a benchmark of a failing command measures nothing. */
export async function mustRun(cmd: string, args: string[], env?: NodeJS.ProcessEnv, cwd?: string): Promise<Timed> {
  const r = await timeProcess(cmd, args, env, cwd);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}: ${r.stderr.trim() || r.stdout.trim()}`);
  return r;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
