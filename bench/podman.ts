// The `podman kube play` baseline: the same manifest, through podman (no daemon
// hop: the CLI itself creates the infra and app containers).
import { execFileSync } from 'node:child_process';
import { timeProcess, type Timed } from './proc.js';

export function podmanAvailable(): string | undefined {
  try {
    execFileSync('podman', ['image', 'exists', 'localhost/minipod/testbox:1'], { stdio: 'ignore' });
    return execFileSync('podman', ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
}

export async function podmanPlay(file: string): Promise<Timed> {
  const r = await timeProcess('podman', ['kube', 'play', file]);
  if (r.code !== 0) throw new Error(`podman kube play failed: ${r.stderr.trim()}`);
  return r;
}

export function podmanDown(file: string): Promise<Timed> {
  return timeProcess('podman', ['kube', 'down', file]);
}

/** Removes the pods at once (kube down waits out a grace period; this is only cleanup). */
export async function podmanRemovePods(names: string[]): Promise<void> {
  if (names.length) await timeProcess('podman', ['pod', 'rm', '-f', '-t', '0', ...names]);
}
