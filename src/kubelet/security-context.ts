// The parts of a securityContext the kubelet decides at each container start,
// before anything reaches Docker: runAsNonRoot against the uid the container would
// get, and the seccomp profile, a Localhost one read from the kubelet's seccomp root.
// A refusal is a ContainerConfigError (CreateContainerConfigError), with the
// kubelet's or its runtime's words.
import { readFileSync, realpathSync } from 'node:fs';
import { dirname, join, sep } from 'node:path';
import type { Container, Pod, SeccompProfile } from '../api/types.js';
import type { SeccompConfig } from '../runtime/docker.js';
import { ContainerConfigError } from './container-config.js'; // used at call time only: the import cycle is harmless

/** The kubelet keeps pods/ and seccomp/ side by side under its root directory. */
export function seccompRoot(podsDir: string): string {
  return join(dirname(podsDir), 'seccomp');
}

const MAX_UID = 2147483647n;
const INT64 = 2n ** 63n;

/** format.Pod: name_namespace(uid). */
function podDesc(pod: Pod): string {
  const m = pod.metadata;
  return `${m.name}_${m.namespace ?? 'default'}(${m.uid})`;
}

/**
 * An image's User as the runtime reports it: the part before ':', a uid when Go's
 * ParseInt takes it (sign allowed, int64 range), otherwise a user name; empty → none.
 */
export function parseImageUser(user: string): { uid?: bigint; username?: string } {
  const name = user.split(':')[0];
  if (name === '') return {};
  if (/^[+-]?[0-9]+$/.test(name)) {
    const uid = BigInt(name);
    if (uid >= -INT64 && uid < INT64) return { uid };
  }
  return { username: name };
}

/** True when the kubelet needs the image's user to decide runAsNonRoot. */
export function needsImageUser(pod: Pod, c: Container): boolean {
  const sec = c.securityContext ?? {};
  const podSec = pod.spec.securityContext ?? {};
  return (sec.runAsNonRoot ?? podSec.runAsNonRoot) === true && (sec.runAsUser ?? podSec.runAsUser) === undefined;
}

/**
 * runAsNonRoot (container's, else pod's): refuses a container that would run as
 * uid 0, or whose image names a user the kubelet cannot map to a uid. `imageUser`
 * is the image's configured user, needed only when no runAsUser is set.
 */
export function verifyRunAsNonRoot(pod: Pod, c: Container, imageUser: string | undefined): void {
  const sec = c.securityContext ?? {};
  const podSec = pod.spec.securityContext ?? {};
  if ((sec.runAsNonRoot ?? podSec.runAsNonRoot) !== true) return;
  const who = `(pod: ${JSON.stringify(podDesc(pod))}, container: ${c.name})`;
  const runAsUser = sec.runAsUser ?? podSec.runAsUser;
  if (runAsUser !== undefined) {
    if (runAsUser === 0) throw new ContainerConfigError(`container's runAsUser breaks non-root policy ${who}`);
    return;
  }
  const { uid, username } = parseImageUser(imageUser ?? '');
  if (username !== undefined) {
    throw new ContainerConfigError(`container has runAsNonRoot and image has non-numeric user (${username}), cannot verify user is non-root ${who}`);
  }
  // No user in the image: it runs as root.
  if (uid === undefined || uid === 0n) throw new ContainerConfigError(`container has runAsNonRoot and image will run as root ${who}`);
  if (uid < 0n || uid > MAX_UID) {
    throw new ContainerConfigError(
      `container has runAsNonRoot and image has an invalid user id (${uid}). (Must be 1-(${MAX_UID})): must be between 0 and ${MAX_UID}, inclusive ${who}`,
    );
  }
}

/**
 * The container's seccomp profile (container's, else pod's). Unset stays unset:
 * Docker's default profile, as the kubelet's --seccomp-default gives. A Localhost
 * profile is read here, below `root` only: a symlink leading out is refused. A
 * privileged container runs unconfined whatever it asks (the runtime skips
 * seccomp), so its profile is not loaded.
 */
export function seccompFor(pod: Pod, c: Container, root: string | undefined): SeccompConfig | undefined {
  const profile: SeccompProfile | undefined = c.securityContext?.seccompProfile ?? pod.spec.securityContext?.seccompProfile;
  if (!profile) return undefined;
  switch (profile.type) {
    case 'RuntimeDefault':
      return { type: 'RuntimeDefault' };
    case 'Localhost': {
      if (!profile.localhostProfile) throw new ContainerConfigError('localhostProfile must be set if seccompProfile type is Localhost.');
      if (c.securityContext?.privileged) return undefined;
      if (root === undefined) throw new ContainerConfigError('this kubelet has no seccomp profile root for Localhost profiles');
      return { type: 'Localhost', json: loadLocalhostProfile(root, profile.localhostProfile) };
    }
    default:
      return { type: 'Unconfined' };
  }
}

// The runtime's words (containerd: "failed to generate seccomp spec opts: cannot load
// seccomp profile ..."), with Go's "open PATH: reason" for the file error.
function loadLocalhostProfile(root: string, localhostProfile: string): string {
  const file = join(root, localhostProfile);
  const fail = (why: string, detail?: string) =>
    new ContainerConfigError(`failed to generate seccomp spec opts: cannot load seccomp profile ${JSON.stringify(file)}: ${why}`, detail);
  let text: string;
  try {
    const real = realpathSync(file);
    const realRoot = realpathSync(root);
    if (!real.startsWith(realRoot + sep)) throw fail(`it resolves to a path outside ${root}`, `resolves to ${real}`);
    text = readFileSync(real, 'utf8');
  } catch (err) {
    if (err instanceof ContainerConfigError) throw err;
    const e = err as NodeJS.ErrnoException;
    throw fail(`${e.code === 'EISDIR' ? 'read' : 'open'} ${file}: ${goReason(e)}`);
  }
  try {
    JSON.parse(text); // checked only: re-serialising would round 64-bit syscall argument values
    return text;
  } catch (err) {
    throw new ContainerConfigError(`failed to generate seccomp spec opts: decoding seccomp profile failed ${JSON.stringify(file)}: ${(err as Error).message}`);
  }
}

const GO_REASONS: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EISDIR: 'is a directory',
  ENOTDIR: 'not a directory',
  ELOOP: 'too many levels of symbolic links',
};
const goReason = (err: NodeJS.ErrnoException) => (err.code && GO_REASONS[err.code]) ?? err.message;
