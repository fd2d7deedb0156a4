// emptyDir with medium: Memory is a tmpfs mounted on the volume's folder, shared
// by the pod's containers (Docker's own tmpfs mounts are per container). Its
// pages are charged to the memory cgroup of the container that writes them, so
// they count against that container's limit, as on a node; its size is the
// volume's sizeLimit, else the pod's memory limit when every container has one.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import type { Pod } from '../api/types.js';
import { parseQuantity } from '../api/quantity.js';

/** Mount points at or under `dir`, from the kernel's table (a bind mount on the same device has no other sign). */
function mountsUnder(path: string): string[] {
  const dir = realpathSync(path); // the table has real paths; $MINIPOD_HOME may lie behind a link
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4]?.replace(/\\040/g, ' '))
    .filter((m): m is string => !!m && (m === dir || m.startsWith(`${dir}/`)));
}

export function isMountPoint(path: string): boolean {
  return mountsUnder(path).includes(realpathSync(path));
}

/** The tmpfs size for a memory-backed emptyDir, or undefined for the kernel's default. */
export function memoryVolumeSize(pod: Pod, sizeLimit: string | number | undefined): number | undefined {
  if (sizeLimit !== undefined && parseQuantity(sizeLimit) > 0) return Math.ceil(parseQuantity(sizeLimit));
  const limits = pod.spec.containers.map((c) => c.resources?.limits?.memory);
  if (limits.every((l) => l !== undefined)) return Math.ceil(limits.reduce<number>((sum, l) => sum + parseQuantity(l!), 0));
  return undefined;
}

export function mountTmpfs(dir: string, sizeBytes: number | undefined): void {
  const options = ['mode=0777', 'nosuid', 'nodev', ...(sizeBytes !== undefined ? [`size=${sizeBytes}`] : [])];
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', options.join(','), 'tmpfs', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    const stderr = String((err as { stderr?: Buffer }).stderr ?? '').trim();
    throw new Error(`failed to mount a tmpfs for a memory-backed emptyDir at ${dir}: ${stderr || (err as Error).message}`);
  }
}

/** Unmounts every mount at or under `dir`, deepest first (before the folder is removed). */
export function unmountAllUnder(dir: string): void {
  if (!existsSync(dir)) return;
  const mounts = mountsUnder(dir).sort((a, b) => b.length - a.length);
  for (const m of mounts) execFileSync('umount', ['-l', m], { stdio: 'ignore' });
}
