// A volumeMount's subPath, resolved inside its volume so that no symlink can carry
// the mount out of it (CVE-2017-1002101): a container that writes `ln -s / r` into
// a shared volume must not get the host's root by mounting `subPath: r`.
//
// Like the kubelet: symlinks inside the volume may be followed while they stay in
// it; the resolved path is then walked again one component at a time with
// O_NOFOLLOW handles, and missing directories are made through those handles, so
// a link planted during the walk is refused rather than followed.
//
// runc cannot bind-mount our verified handle itself (/proc/<pid>/fd/N lies in
// another mount namespace: EINVAL), so the kubelet, as root, bind-mounts the
// handle onto a target of the pod's own and hands Docker that target
// (subpath-mount.ts): the mount pins the checked inode, and a link swapped in
// after the check changes nothing. Without root, Docker gets the verified path,
// and a swap between this check and runc's mount could still win.
import { chmodSync, closeSync, constants, existsSync, fstatSync, mkdirSync, openSync, realpathSync, statSync } from 'node:fs';
import { isAbsolute, join, relative, sep } from 'node:path';

/** Linux's O_PATH (missing from fs.constants): a handle that neither reads nor blocks on a FIFO or device. */
const O_PATH = 0o10000000;
const { O_NOFOLLOW, O_DIRECTORY } = constants;

/** Which of the kubelet's steps refused the subPath; each has its own message for the user. */
export type SubPathStep = 'validate' | 'create' | 'prepare';

export class SubPathError extends Error {
  constructor(
    readonly step: SubPathStep,
    message: string,
  ) {
    super(message);
    this.name = 'SubPathError';
  }
}

export interface ResolvedSubPath {
  /** The real path to hand the runtime: inside the volume, no symlink left in it. */
  path: string;
  directory: boolean;
}

/** `path` is `base` or below it, compared as written (both should be real paths). */
export function withinBase(path: string, base: string): boolean {
  const rel = relative(base, path);
  return rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}

/** A path relative to an open directory handle: the kernel resolves it from that very directory. */
export function atFd(fd: number, name?: string): string {
  return name === undefined ? `/proc/self/fd/${fd}` : `/proc/self/fd/${fd}/${name}`;
}

function segments(rel: string): string[] {
  return rel.split('/').filter((s) => s !== '' && s !== '.');
}

/**
 * Opens `path` (a real path under `base`) from `base` down, one component at a
 * time, refusing any symlink on the way; the caller closes the handle.
 */
export function openInside(path: string, base: string): number {
  if (!withinBase(path, base)) throw new Error(`path ${path} is outside of allowed base ${base}`);
  let fd = openSync(base, O_PATH | O_NOFOLLOW | O_DIRECTORY);
  let current = base;
  try {
    for (const seg of segments(relative(base, path))) {
      current = join(current, seg);
      let child: number;
      try {
        child = openSync(atFd(fd, seg), O_PATH | O_NOFOLLOW);
      } catch (err) {
        throw new Error(`cannot open ${current}: ${(err as Error).message}`);
      }
      closeSync(fd);
      fd = child;
      if (fstatSync(fd).isSymbolicLink()) throw new Error(`unexpected symlink found ${current}`);
    }
    return fd;
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}

/**
 * Makes the missing directories of `rel` under `base` (a real path) with `mode`.
 * The existing part may go through links that stay inside `base`; each new
 * directory is made and entered through a handle on its verified parent, and
 * mkdir never follows a link in its last component (a planted one fails it).
 */
export function makeDirInside(base: string, rel: string, mode: number): void {
  const segs = segments(rel);
  let existing = base;
  let i = 0;
  for (; i < segs.length && existsSync(join(existing, segs[i])); i++) existing = join(existing, segs[i]);
  if (i === segs.length) return;
  const realExisting = realpathSync(existing);
  if (!withinBase(realExisting, base)) throw new Error(`path ${realExisting} is outside of allowed base ${base}`);
  let fd = openInside(realExisting, base);
  try {
    let current = realExisting;
    for (const seg of segs.slice(i)) {
      current = join(current, seg);
      try {
        mkdirSync(atFd(fd, seg), { mode });
      } catch (err) {
        throw new Error(`cannot create directory ${current}: ${(err as Error).message}`);
      }
      const child = openSync(atFd(fd, seg), O_PATH | O_NOFOLLOW | O_DIRECTORY);
      closeSync(fd);
      fd = child;
      chmodSync(atFd(fd), mode); // mkdir's mode was cut by the umask
    }
  } finally {
    closeSync(fd);
  }
}

/** The API's own subPath rules, checked again here: the node must not trust them. */
function validateSubPath(subPath: string): void {
  if (isAbsolute(subPath)) throw new SubPathError('validate', `error SubPath \`${subPath}\` must not be an absolute path`);
  if (subPath.split('/').includes('..')) throw new SubPathError('validate', `unable to provision SubPath \`${subPath}\`: must not contain '..'`);
}

function step<T>(name: SubPathStep, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw err instanceof SubPathError ? err : new SubPathError(name, (err as Error).message);
  }
}

/**
 * Resolves `subPath` inside the volume at `volumePath`, making it a directory
 * (with the volume's own mode) when nothing is there; throws a SubPathError
 * when it is invalid, cannot be made, or leads out of the volume.
 */
export function resolveSubPath(volumePath: string, subPath: string): ResolvedSubPath {
  validateSubPath(subPath);
  const base = step('prepare', () => realpathSync(volumePath));
  const full = join(base, ...segments(subPath));
  if (!existsSync(full)) step('create', () => makeDirInside(base, subPath, statSync(base).mode & 0o7777));
  return step('prepare', () => {
    let real: string;
    try {
      real = realpathSync(full);
    } catch (err) {
      throw new Error(`error resolving symlinks in ${JSON.stringify(full)}: ${(err as Error).message}`);
    }
    if (!withinBase(real, base)) throw new Error(`subpath ${JSON.stringify(real)} not within volume path ${JSON.stringify(base)}`);
    const fd = openInside(real, base);
    try {
      return { path: real, directory: fstatSync(fd).isDirectory() };
    } finally {
      closeSync(fd);
    }
  });
}
