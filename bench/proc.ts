// Timing child processes from spawn to exit, the way a user's shell runs them.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

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

/** Runnable tasks right now (the 4th field of /proc/loadavg counts the reader too). */
function runnable(): number {
  try {
    return Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[3].split('/')[0]) - 1;
  } catch {
    return 0;
  }
}

/**
 * Waits (at most `maxMs`) until the machine looks idle: at most one other runnable
 * task in three samples in a row. Other people's test runs share these two cores;
 * a sample pair taken in a burst of theirs measures them, not us. Resolves whether
 * it got quiet, so the results can say how many samples were.
 */
export async function waitQuiet(maxMs: number): Promise<boolean> {
  const deadline = Date.now() + maxMs;
  let calm = 0;
  while (Date.now() < deadline) {
    calm = runnable() <= 1 ? calm + 1 : 0;
    if (calm >= 3) return true;
    await sleep(20);
  }
  return false;
}
