// The last step of safe subPaths, as the kubelet takes it: the verified subPath is
// bind-mounted, from the open O_PATH handle itself, onto a target of the pod's own
// (pods/<uid>/volume-subpaths/<volume>/<container>/<index>), and the runtime gets
// that target. The mount pins the inode that was checked, so a container that
// swaps a component of the path for a link after the check changes nothing.
// It needs mount(2), i.e. root; without it the runtime gets the verified path and
// the window between check and mount stays open (see subpath.ts).
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, fstatSync, mkdirSync, openSync, realpathSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { isMountPoint } from './tmpfs.js';
import { SubPathError, openInside, resolveSubPath } from './subpath.js';

/** Whether this process may bind-mount (root in its namespace). */
export const canBindMount = () => process.getuid?.() === 0;

export function subPathTarget(subPathsDir: string, volume: string, container: string, index: number): string {
  return join(subPathsDir, volume, container, String(index));
}

/** Resolves the subPath safely and returns the pinned bind-mount target to hand the runtime. */
export function bindSubPath(volumePath: string, subPath: string, target: string): string {
  const resolved = resolveSubPath(volumePath, subPath);
  let fd: number;
  try {
    fd = openInside(resolved.path, realpathSync(volumePath)); // verified again, component by component
  } catch (err) {
    throw new SubPathError('prepare', (err as Error).message);
  }
  try {
    const checked = fstatSync(fd);
    mkdirSync(dirname(target), { recursive: true, mode: 0o700 });
    if (existsSync(target) && isMountPoint(target)) execFileSync('umount', ['-l', target], { stdio: 'ignore' });
    if (!existsSync(target)) {
      if (checked.isDirectory()) mkdirSync(target, { mode: 0o700 });
      else closeSync(openSync(target, 'wx', 0o600));
    }
    // The kernel resolves /proc/<pid>/fd/<n> to the handle's own inode, never by name.
    execFileSync('mount', ['--bind', `/proc/${process.pid}/fd/${fd}`, target], { stdio: ['ignore', 'ignore', 'pipe'] });
    const mounted = statSync(target);
    if (mounted.ino !== checked.ino || mounted.dev !== checked.dev) throw new Error(`bind mount of subpath at ${target} does not show the verified inode`);
    return target;
  } catch (err) {
    throw err instanceof SubPathError ? err : new SubPathError('prepare', (err as Error).message);
  } finally {
    closeSync(fd);
  }
}
