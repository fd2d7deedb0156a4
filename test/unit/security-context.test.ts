// runAsNonRoot and seccompProfile: what validation says of them (Kubernetes' words),
// what the kubelet decides at a container start (CreateContainerConfigError or the
// config), and the HostConfig.SecurityOpt Docker receives.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Container, Pod } from '../../src/api/types.js';
import { validatePod } from '../../src/api/validate.js';
import { ContainerConfigError, buildContainerConfig, type PodContext } from '../../src/kubelet/container-config.js';
import { needsImageUser, parseImageUser } from '../../src/kubelet/security-context.js';
import { DockerRuntime, type ContainerConfig, type RuntimeContainer } from '../../src/runtime/docker.js';

type Sc = Record<string, unknown>;
const podWith = (podSc?: Sc, containerSc?: Sc): Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'web', namespace: 'team', uid: 'u-1' },
  spec: { securityContext: podSc, containers: [{ name: 'app', image: 'busybox:1.36', securityContext: containerSc }] },
} as Pod);

describe('validation of runAsNonRoot and seccompProfile', () => {
  const P = 'spec.securityContext';
  const C = 'spec.containers[0].securityContext';
  const cases: [string, Sc | undefined, Sc | undefined, string[]][] = [
    ['runAsNonRoot at both levels', { runAsNonRoot: true }, { runAsNonRoot: false }, []],
    ['each seccomp type', { seccompProfile: { type: 'RuntimeDefault' } }, { seccompProfile: { type: 'Unconfined' } }, []],
    ['Localhost with a relative path', { seccompProfile: { type: 'Localhost', localhostProfile: 'profiles/audit.json' } }, undefined, []],
    ['Localhost with a name that only starts with dots', undefined, { seccompProfile: { type: 'Localhost', localhostProfile: '..x/p.json' } }, []],
    ['runAsNonRoot not a boolean', { runAsNonRoot: 'yes' }, undefined, [`${P}.runAsNonRoot: must be boolean`]],
    ['no type', { seccompProfile: {} }, undefined, [`${P}.seccompProfile.type: Required value: type is required when seccompProfile is set`]],
    ['an empty type', undefined, { seccompProfile: { type: '' } }, [`${C}.seccompProfile.type: Required value: type is required when seccompProfile is set`]],
    ['an unknown type', undefined, { seccompProfile: { type: 'Default' } }, [`${C}.seccompProfile.type: Unsupported value: "Default": must be one of Localhost, RuntimeDefault, Unconfined`]],
    ['Localhost without a profile', undefined, { seccompProfile: { type: 'Localhost' } }, [`${C}.seccompProfile.localhostProfile: Required value: must be set when seccomp type is Localhost`]],
    [
      'a profile with another type',
      { seccompProfile: { type: 'RuntimeDefault', localhostProfile: 'p.json' } },
      undefined,
      [`${P}.seccompProfile.localhostProfile: Invalid value: {"type":"RuntimeDefault","localhostProfile":"p.json"}: can only be set when seccomp type is Localhost`],
    ],
    ['an absolute profile', undefined, { seccompProfile: { type: 'Localhost', localhostProfile: '/etc/p.json' } }, [`${C}.seccompProfile.localhostProfile: Invalid value: "/etc/p.json": must be a relative path`]],
    ['a profile with ..', undefined, { seccompProfile: { type: 'Localhost', localhostProfile: 'a/../../p.json' } }, [`${C}.seccompProfile.localhostProfile: Invalid value: "a/../../p.json": must not contain '..'`]],
    ['a misspelt field', undefined, { seccompProfile: { type: 'Localhost', localhostprofile: 'p.json' } }, [
      `${C}.seccompProfile.localhostprofile: unknown field "localhostprofile", did you mean "localhostProfile"?`,
      `${C}.seccompProfile.localhostProfile: Required value: must be set when seccomp type is Localhost`,
    ]],
  ];
  it.each(cases)('%s', (_name, podSc, containerSc, want) => {
    expect(validatePod(podWith(podSc, containerSc)).map((e) => `${e.path}: ${e.message}`)).toEqual(want);
  });

  it('still refuses the securityContext fields minipod does not implement', () => {
    const got = validatePod(podWith({ sysctls: [], seLinuxOptions: {}, appArmorProfile: { type: 'RuntimeDefault' } }, { procMount: 'Default' }));
    expect(got.map((e) => e.path)).toEqual([`${P}.sysctls`, `${P}.seLinuxOptions`, `${P}.appArmorProfile`, `${C}.procMount`]);
    expect(new Set(got.map((e) => e.message))).toEqual(new Set(['field is not supported by minipod']));
  });
});

describe('runAsNonRoot at a container start', () => {
  const ctx = (pod: Pod): PodContext => ({ pod, volumeDirs: new Map() });
  const build = (pod: Pod, imageUser?: string) => buildContainerConfig(pod.spec.containers[0], 'app', 0, ctx(pod), imageUser);
  const who = '(pod: "web_team(u-1)", container: app)';
  const ROOT_USER = `container's runAsUser breaks non-root policy ${who}`;
  const IMAGE_ROOT = `container has runAsNonRoot and image will run as root ${who}`;
  const nonNumeric = (u: string) => `container has runAsNonRoot and image has non-numeric user (${u}), cannot verify user is non-root ${who}`;
  const OK = undefined;

  // [pod securityContext, container securityContext, image user, refusal or OK]
  const cases: [Sc | undefined, Sc | undefined, string, string | undefined][] = [
    [undefined, undefined, '', OK],
    [{ runAsNonRoot: false }, undefined, '0', OK],
    [{ runAsNonRoot: true }, { runAsNonRoot: false }, '', OK], // the container's wins
    [{ runAsNonRoot: true }, undefined, '', IMAGE_ROOT],
    [undefined, { runAsNonRoot: true }, 'root', nonNumeric('root')], // a name, even root, is not checked against /etc/passwd
    [undefined, { runAsNonRoot: true }, '0', IMAGE_ROOT],
    [undefined, { runAsNonRoot: true }, '0:1000', IMAGE_ROOT],
    [undefined, { runAsNonRoot: true }, ':1000', IMAGE_ROOT],
    [undefined, { runAsNonRoot: true }, '1000', OK],
    [undefined, { runAsNonRoot: true }, '1000:1000', OK],
    [undefined, { runAsNonRoot: true }, 'nobody', nonNumeric('nobody')],
    [undefined, { runAsNonRoot: true }, 'nobody:nogroup', nonNumeric('nobody')],
    [{ runAsNonRoot: true, runAsUser: 0 }, undefined, '1000', ROOT_USER],
    [{ runAsNonRoot: true }, { runAsUser: 0 }, '1000', ROOT_USER],
    [{ runAsNonRoot: true, runAsUser: 0 }, { runAsUser: 1000 }, 'root', OK], // the container's runAsUser wins, the image's user is moot
    [{ runAsNonRoot: true, runAsUser: 1000 }, undefined, '', OK],
    [undefined, { runAsNonRoot: true, runAsUser: 1000 }, 'nobody', OK],
    [undefined, { runAsNonRoot: true }, '4294967296', `container has runAsNonRoot and image has an invalid user id (4294967296). (Must be 1-(2147483647)): must be between 0 and 2147483647, inclusive ${who}`],
  ];
  it.each(cases)('pod %j, container %j, image user %j', (podSc, containerSc, imageUser, want) => {
    const pod = podWith(podSc, containerSc);
    const needed = needsImageUser(pod, pod.spec.containers[0]);
    if (want === OK) {
      expect(build(pod, imageUser).user).toBe(pod.spec.containers[0].securityContext?.runAsUser?.toString() ?? pod.spec.securityContext?.runAsUser?.toString());
      return;
    }
    let caught: unknown;
    try {
      build(pod, needed ? imageUser : undefined);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ContainerConfigError);
    expect((caught as Error).message).toBe(want);
  });

  it('asks for the image user only when runAsNonRoot is true and no runAsUser is set', () => {
    const needs = (podSc?: Sc, cSc?: Sc) => {
      const pod = podWith(podSc, cSc);
      return needsImageUser(pod, pod.spec.containers[0]);
    };
    expect(needs()).toBe(false);
    expect(needs({ runAsNonRoot: true })).toBe(true);
    expect(needs({ runAsNonRoot: true }, { runAsNonRoot: false })).toBe(false);
    expect(needs({ runAsNonRoot: true, runAsUser: 5 })).toBe(false);
    expect(needs(undefined, { runAsNonRoot: true, runAsUser: 0 })).toBe(false);
  });

  it('reads an image user as the runtime does', () => {
    expect(parseImageUser('')).toEqual({});
    expect(parseImageUser('1000:1000')).toEqual({ uid: 1000n });
    expect(parseImageUser('+7')).toEqual({ uid: 7n });
    expect(parseImageUser('-1')).toEqual({ uid: -1n });
    expect(parseImageUser('99999999999999999999')).toEqual({ username: '99999999999999999999' }); // beyond int64: a name
    expect(parseImageUser('app:staff')).toEqual({ username: 'app' });
  });
});

describe('seccompProfile at a container start', () => {
  let dir: string;
  let root: string;
  beforeEach(() => {
    dir = mkdtempSync(join(os.tmpdir(), 'minipod-seccomp-'));
    root = join(dir, 'seccomp');
    mkdirSync(join(root, 'profiles'), { recursive: true });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const PROFILE = '{\n  "defaultAction": "SCMP_ACT_ALLOW",\n  "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 18446744073709551615, "op": "SCMP_CMP_EQ"}]}]\n}\n';
  const build = (podSc?: Sc, cSc?: Sc) => {
    const pod = podWith(podSc, cSc);
    return buildContainerConfig(pod.spec.containers[0], 'app', 0, { pod, volumeDirs: new Map(), seccompRoot: root });
  };
  const refusal = (podSc?: Sc, cSc?: Sc) => {
    try {
      build(podSc, cSc);
    } catch (err) {
      expect(err).toBeInstanceOf(ContainerConfigError);
      return (err as Error).message;
    }
    throw new Error('expected a ContainerConfigError');
  };
  const localhost = (p: string) => ({ seccompProfile: { type: 'Localhost', localhostProfile: p } });

  it('unset stays unset (Docker default), the container wins over the pod', () => {
    expect(build().seccomp).toBeUndefined();
    expect(build({ seccompProfile: { type: 'Unconfined' } }).seccomp).toEqual({ type: 'Unconfined' });
    expect(build({ seccompProfile: { type: 'Unconfined' } }, { seccompProfile: { type: 'RuntimeDefault' } }).seccomp).toEqual({ type: 'RuntimeDefault' });
  });

  it('reads a Localhost profile below the root, as written (no rounding of 64-bit values)', () => {
    writeFileSync(join(root, 'profiles/audit.json'), PROFILE);
    expect(build(localhost('profiles/audit.json')).seccomp).toEqual({ type: 'Localhost', json: PROFILE });
    symlinkSync('profiles/audit.json', join(root, 'alias.json')); // a link that stays inside is fine
    expect(build(undefined, localhost('alias.json')).seccomp).toEqual({ type: 'Localhost', json: PROFILE });
  });

  it('refuses a missing, unreadable or broken profile with the runtime\'s words', () => {
    const file = join(root, 'nope.json');
    expect(refusal(localhost('nope.json'))).toBe(`failed to generate seccomp spec opts: cannot load seccomp profile "${file}": open ${file}: no such file or directory`);
    expect(refusal(localhost('profiles'))).toBe(
      `failed to generate seccomp spec opts: cannot load seccomp profile "${join(root, 'profiles')}": read ${join(root, 'profiles')}: is a directory`,
    );
    writeFileSync(join(root, 'bad.json'), '{"defaultAction":');
    expect(refusal(localhost('bad.json'))).toMatch(new RegExp(`^failed to generate seccomp spec opts: decoding seccomp profile failed "${join(root, 'bad.json')}": `));
    expect(refusal(localhost(''))).toBe('localhostProfile must be set if seccompProfile type is Localhost.');
  });

  it('refuses a profile that is a symlink out of the root, host paths only in the detail', () => {
    writeFileSync(join(dir, 'outside.json'), PROFILE);
    symlinkSync(join(dir, 'outside.json'), join(root, 'escape.json'));
    let caught: ContainerConfigError | undefined;
    try {
      build(undefined, localhost('escape.json'));
    } catch (err) {
      caught = err as ContainerConfigError;
    }
    expect(caught?.message).toBe(`failed to generate seccomp spec opts: cannot load seccomp profile "${join(root, 'escape.json')}": it resolves to a path outside ${root}`);
    expect(caught?.detail).toBe(`resolves to ${join(dir, 'outside.json')}`);
  });

  it('a privileged container does not load its profile: the runtime runs it unconfined', () => {
    expect(build(localhost('nope.json'), { privileged: true }).seccomp).toBeUndefined();
  });
});

describe('HostConfig.SecurityOpt', () => {
  // A runtime whose Docker client only records what createContainer is given.
  function runtime(): { rt: DockerRuntime; created: Record<string, unknown>[] } {
    const created: Record<string, unknown>[] = [];
    const rt = new DockerRuntime('n1');
    rt.cluster = 'cluster-1';
    Object.defineProperty(rt, 'docker', { value: { createContainer: async (o: Record<string, unknown>) => (created.push(o), { id: 'c1' }) } });
    return { rt, created };
  }
  const cfg = (extra: Partial<ContainerConfig>): ContainerConfig => ({ name: 'app', kind: 'app', attempt: 0, hash: 'h', image: 'busybox:1.36', env: [], mounts: [], ...extra });
  const sandbox = { id: 'sb' } as RuntimeContainer;
  const securityOpt = async (extra: Partial<ContainerConfig>) => {
    const { rt, created } = runtime();
    await rt.createContainer({ uid: 'u', name: 'web', namespace: 'team' }, sandbox, cfg(extra), false);
    return (created[0].HostConfig as { SecurityOpt?: string[] }).SecurityOpt;
  };

  const cases: [string, Partial<ContainerConfig>, string[] | undefined][] = [
    ['unset: Docker\'s default profile', {}, undefined],
    ['RuntimeDefault: Docker\'s default profile', { seccomp: { type: 'RuntimeDefault' } }, undefined],
    ['Unconfined', { seccomp: { type: 'Unconfined' } }, ['seccomp=unconfined']],
    ['Localhost: the profile\'s content', { seccomp: { type: 'Localhost', json: '{"defaultAction":"SCMP_ACT_ALLOW"}' } }, ['seccomp={"defaultAction":"SCMP_ACT_ALLOW"}']],
    ['with no-new-privileges', { noNewPrivileges: true, seccomp: { type: 'Unconfined' } }, ['no-new-privileges', 'seccomp=unconfined']],
    ['privileged: no seccomp option at all', { privileged: true, seccomp: { type: 'Unconfined' } }, undefined],
  ];
  it.each(cases)('%s', async (_name, extra, want) => {
    expect(await securityOpt(extra)).toEqual(want);
  });
});
