// Pod volumes on the host: emptyDir is a directory under the pod's own folder,
// removed with the pod; hostPath is the host's path, checked per its type.
import { existsSync, mkdirSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import type { Pod } from '../api/types.js';

export function podDir(podsDir: string, uid: string): string {
  return join(podsDir, uid);
}

/** Creates what the pod's volumes need and returns volume name → host path. */
export function prepareVolumes(podsDir: string, pod: Pod): Map<string, string> {
  const dirs = new Map<string, string>();
  for (const v of pod.spec.volumes ?? []) {
    if (v.emptyDir) {
      const dir = join(podDir(podsDir, pod.metadata.uid!), 'volumes', v.name);
      if (!existsSync(dir)) {
        mkdirSync(dir, { recursive: true });
        chmodSync(dir, 0o777); // any user of any container may write, as on a node
      }
      dirs.set(v.name, dir);
    } else if (v.hostPath) {
      dirs.set(v.name, prepareHostPath(v.hostPath.path, v.hostPath.type ?? ''));
    }
  }
  return dirs;
}

function prepareHostPath(path: string, type: string): string {
  const fail = (what: string) => {
    throw new Error(`hostPath type check failed: ${path} is not ${what}`);
  };
  switch (type) {
    case 'DirectoryOrCreate':
      if (!existsSync(path)) mkdirSync(path, { recursive: true, mode: 0o755 });
      break;
    case 'FileOrCreate':
      if (!existsSync(path)) writeFileSync(path, '', { mode: 0o644 });
      break;
    case 'Directory':
      if (!existsSync(path) || !statSync(path).isDirectory()) fail('a directory');
      break;
    case 'File':
      if (!existsSync(path) || !statSync(path).isFile()) fail('a file');
      break;
    case 'Socket':
      if (!existsSync(path) || !statSync(path).isSocket()) fail('a socket');
      break;
    case 'CharDevice':
      if (!existsSync(path) || !statSync(path).isCharacterDevice()) fail('a character device');
      break;
    case 'BlockDevice':
      if (!existsSync(path) || !statSync(path).isBlockDevice()) fail('a block device');
      break;
  }
  return path;
}

export function removePodDir(podsDir: string, uid: string): void {
  rmSync(podDir(podsDir, uid), { recursive: true, force: true });
}
