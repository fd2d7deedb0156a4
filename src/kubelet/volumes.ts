// Pod volumes on the host: emptyDir is a directory under the pod's own folder
// (a tmpfs mounted there for medium: Memory), removed with the pod; hostPath is the host's path, checked per its type.
import { chmodSync, closeSync, constants, existsSync, lstatSync, mkdirSync, openSync, realpathSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { Pod } from '../api/types.js';
import { atFd, makeDirInside, openInside, withinBase } from './subpath.js';
import { isMountPoint, memoryVolumeSize, mountTmpfs, unmountAllUnder } from './tmpfs.js';

export function podDir(podsDir: string, uid: string): string {
  return join(podsDir, uid);
}

export function emptyDirPath(podsDir: string, uid: string, volume: string): string {
  return join(podDir(podsDir, uid), 'volumes', volume);
}

/** Creates what the pod's volumes need and returns volume name → host path. */
export function prepareVolumes(podsDir: string, pod: Pod): Map<string, string> {
  const dirs = new Map<string, string>();
  for (const v of pod.spec.volumes ?? []) {
    if (v.emptyDir) {
      const dir = emptyDirPath(podsDir, pod.metadata.uid!, v.name);
      if (!existsSync(dir)) {
        mkdirSync(dir, { recursive: true });
        chmodSync(dir, 0o777); // any user of any container may write, as on a node
      }
      if (v.emptyDir.medium === 'Memory' && !isMountPoint(dir)) mountTmpfs(dir, memoryVolumeSize(pod, v.emptyDir.sizeLimit));
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
  // The type checks follow a symlink at the path, as the kubelet's do; creation
  // does not: it never goes through a planted link, dangling or not.
  switch (type) {
    case 'DirectoryOrCreate':
      if (!existsSync(path)) createHostDir(path);
      if (!statSync(path).isDirectory()) fail('a directory');
      break;
    case 'FileOrCreate':
      if (!existsSync(path)) createHostFile(path);
      if (!statSync(path).isFile()) fail('a file');
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

/**
 * mkdir -p for a hostPath: the folders that exist are the host's (their links
 * are followed), each missing one is made through a handle on its verified
 * parent, so a link planted at a missing component fails instead of being
 * followed. Another creator winning the race is fine: the type check decides.
 */
function createHostDir(path: string): void {
  try {
    makeDirInside('/', path, 0o755);
  } catch (err) {
    if (!existsSync(path)) throw new Error(`hostPath ${path} could not be created: ${(err as Error).message}`);
  }
}

/** An empty file at a hostPath: O_EXCL|O_NOFOLLOW, so a dangling link there is not written through. */
function createHostFile(path: string): void {
  let dir: number | undefined;
  try {
    dir = openInside(realpathSync(dirname(path)), '/');
    closeSync(openSync(atFd(dir, basename(path)), constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644));
  } catch (err) {
    if (!existsSync(path)) throw new Error(`hostPath ${path} could not be created: ${(err as Error).message}`);
  } finally {
    if (dir !== undefined) closeSync(dir);
  }
}

/**
 * Whether a hostPath stays under an allowed prefix once the host's symlinks are
 * followed: a lexical check passes `/allowed/link` even when the link leads to
 * /etc. What does not exist yet is taken as written; a dangling link is refused,
 * since what it names may appear anywhere later.
 */
export function hostPathWithin(path: string, prefix: string): boolean {
  const real = (p: string): string | undefined => {
    let existing = resolve(p);
    const rest: string[] = [];
    while (existing !== '/' && !lexists(existing)) {
      rest.unshift(basename(existing));
      existing = dirname(existing);
    }
    try {
      return join(realpathSync(existing), ...rest);
    } catch {
      return undefined;
    }
  };
  const [realPath, realPrefix] = [real(path), real(prefix)];
  return withinBase(resolve(path), resolve(prefix)) && !!realPath && !!realPrefix && withinBase(realPath, realPrefix);
}

function lexists(p: string): boolean {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

export function removePodDir(podsDir: string, uid: string): void {
  unmountAllUnder(podDir(podsDir, uid)); // memory-backed emptyDirs: never delete into a live mount
  rmSync(podDir(podsDir, uid), { recursive: true, force: true });
}
