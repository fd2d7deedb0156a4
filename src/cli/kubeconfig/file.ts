// Which kubeconfig file kubectl reads, and writing it as kubectl would want it:
// mode 0600 whatever the umask (it holds tokens), all at once (a temp file renamed
// over it, so kubectl never reads half a file), and through a symlink to its
// target (as kubectl's own writes do), leaving the link in place.
import { randomBytes } from 'node:crypto';
import { closeSync, fchmodSync, fsyncSync, lstatSync, mkdirSync, openSync, readFileSync, readlinkSync, renameSync, rmSync, writeSync } from 'node:fs';
import os from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';

/** The first path of $KUBECONFIG (kubectl writes new entries there), else ~/.kube/config. */
export function kubeconfigPath(env: NodeJS.ProcessEnv = process.env): string {
  const first = (env.KUBECONFIG ?? '').split(delimiter).find((p) => p !== '');
  return resolve(first ?? join(env.HOME || os.homedir(), '.kube', 'config'));
}

/** `path` with every symlink of its last component followed (even a dangling one: the file is created there). */
export function followSymlinks(path: string): string {
  let p = path;
  for (let hops = 0; hops < 40; hops++) {
    let isLink: boolean;
    try {
      isLink = lstatSync(p).isSymbolicLink();
    } catch {
      return p; // does not exist yet
    }
    if (!isLink) return p;
    p = resolve(dirname(p), readlinkSync(p));
  }
  throw new Error(`${path}: too many levels of symbolic links`);
}

/** The file's text; '' when it does not exist. */
export function readKubeconfig(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw err;
  }
}

/** Replaces `path` (already symlink-free) with `text`, mode 0600, atomically. */
export function writeKubeconfig(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  // O_EXCL on a random name: never write through something planted at a guessable temp path.
  const tmp = join(dirname(path), `.${randomBytes(6).toString('hex')}.minipod.tmp`);
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    fchmodSync(fd, 0o600); // the mode, whatever the umask made of it
    writeSync(fd, text);
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, path);
  } catch (err) {
    try {
      closeSync(fd);
    } catch {
      // already closed
    }
    rmSync(tmp, { force: true });
    throw err;
  }
}
