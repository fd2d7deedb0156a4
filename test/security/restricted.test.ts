// Pod Security "restricted" on a real daemon: a pod that meets it runs as its uid
// under Docker's default seccomp filter; runAsNonRoot against an image that runs as
// root is the kubelet's CreateContainerConfigError with nothing created in Docker;
// Unconfined and Localhost seccomp profiles reach the container, and a Localhost
// profile that is a symlink out of $MINIPOD_HOME/seccomp is refused. One daemon.
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Event, Pod } from '../../src/api/types.js';
import { TestCluster, waitFor, watchPod } from '../e2e/harness.js';

const cluster = new TestCluster();
beforeAll(async () => {
  await cluster.start();
  for (const [ns, level] of [['locked', 'restricted'], ['open', 'privileged']]) {
    expect(await cluster.mp(['create', 'namespace', ns])).toEqual({ code: 0, stdout: `namespace/${ns} created\n`, stderr: '' });
    expect(await cluster.mp(['label', 'namespace', ns, `pod-security.kubernetes.io/enforce=${level}`])).toEqual({ code: 0, stdout: `namespace/${ns} labeled\n`, stderr: '' });
  }
}, 30_000);
afterAll(() => cluster.cleanup(), 60_000);

const RESTRICTED_CONTAINER = '{allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}';

const manifest = (name: string, ns: string, podSc: string, containerSc = RESTRICTED_CONTAINER) => `apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: ${ns}}
spec:
  terminationGracePeriodSeconds: 1
  securityContext: ${podSc}
  containers:
  - name: main
    image: busybox:1.36
    command: ["sleep", "3600"]
    securityContext: ${containerSc}
`;

const running = (p: Pod) => p.status?.phase === 'Running';
const waiting = (p: Pod) => p.status?.containerStatuses?.[0]?.state.waiting;
const configError = (p: Pod) => waiting(p)?.reason === 'CreateContainerConfigError';
const exec = (ns: string, pod: string, ...cmd: string[]) => cluster.mp(['exec', '-n', ns, pod, '--', ...cmd]);

async function apply(yaml: string): Promise<void> {
  expect(await cluster.mp(['apply', '-f', '-'], yaml)).toMatchObject({ code: 0, stderr: '' });
}

/** A refused container: the waiting message, its Failed event, and nothing in Docker but the pause container. */
async function expectConfigError(ns: string, name: string, message: string): Promise<void> {
  const pod = await watchPod(cluster.client, ns, name, configError, 30_000, 'CreateContainerConfigError');
  expect(waiting(pod)!.message).toBe(message);
  const events = await waitFor(async () => {
    const evs: Event[] = (await cluster.client.listEvents(ns, { fieldSelector: `involvedObject.name=${name},reason=Failed` })).items;
    return evs.length > 0 && evs;
  }, 10_000, 'the Failed event');
  expect(events[0]).toMatchObject({ type: 'Warning', message: `Error: ${message}` });
  const kinds = (await cluster.containers(pod.metadata.uid)).map((c) => c.Labels['minipod.io/kind']);
  expect(kinds).toEqual(['sandbox']);
}

describe('a namespace labelled enforce=restricted', () => {
  it('runs a pod that meets restricted, as uid 1000 under the runtime\'s default seccomp filter', async () => {
    await apply(manifest('strict', 'locked', '{runAsNonRoot: true, runAsUser: 1000, seccompProfile: {type: RuntimeDefault}}'));
    await watchPod(cluster.client, 'locked', 'strict', running, 30_000, 'Running');
    expect(await exec('locked', 'strict', 'id', '-u')).toEqual({ code: 0, stdout: '1000\n', stderr: '' });
    const status = await exec('locked', 'strict', 'grep', '^Seccomp:', '/proc/1/status');
    expect(status.stdout).toMatch(/^Seccomp:\s+2\n$/); // 2: a filter
  }, 60_000);

  it('refuses runAsNonRoot for an image that runs as root: CreateContainerConfigError, no container', async () => {
    await apply(manifest('rooted', 'locked', '{runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}'));
    const pod = (await cluster.client.listPods('locked', { fieldSelector: 'metadata.name=rooted' })).items[0];
    await expectConfigError('locked', 'rooted', `container has runAsNonRoot and image will run as root (pod: "rooted_locked(${pod.metadata.uid})", container: main)`);
    const get = await cluster.mp(['get', 'pod', '-n', 'locked', 'rooted']);
    expect(get.stdout).toMatch(/^rooted\s+0\/1\s+CreateContainerConfigError\s/m);
  }, 60_000);
});

describe('seccomp profiles', () => {
  it('Unconfined, in a namespace labelled enforce=privileged: no filter', async () => {
    const res = await cluster.mp(['apply', '-f', '-'], manifest('loose', 'open', '{seccompProfile: {type: Unconfined}}', '{}'));
    expect(res.code).toBe(0);
    expect(res.stdout).toBe('pod/loose created\n');
    // warn keeps the daemon's baseline: admitted, but said
    expect(res.stderr).toBe('Warning: would violate PodSecurity "baseline:latest": seccompProfile (pod must not set securityContext.seccompProfile.type to "Unconfined")\n');
    await watchPod(cluster.client, 'open', 'loose', running, 30_000, 'Running');
    const status = await exec('open', 'loose', 'grep', '^Seccomp:', '/proc/1/status');
    expect(status.stdout).toMatch(/^Seccomp:\s+0\n$/);
  }, 60_000);

  it('Localhost: the profile under $MINIPOD_HOME/seccomp applies; a symlink out of that folder is refused', async () => {
    const root = join(cluster.home, 'seccomp');
    mkdirSync(join(root, 'profiles'), { recursive: true });
    const profile = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO' }] };
    writeFileSync(join(root, 'profiles/no-mkdir.json'), JSON.stringify(profile, null, 2));
    writeFileSync(join(cluster.home, 'outside.json'), JSON.stringify(profile));
    symlinkSync(join(cluster.home, 'outside.json'), join(root, 'escape.json'));

    const localhost = (p: string) => `{runAsNonRoot: true, runAsUser: 1000, seccompProfile: {type: Localhost, localhostProfile: ${p}}}`;
    await apply(manifest('no-mkdir', 'locked', localhost('profiles/no-mkdir.json')));
    await watchPod(cluster.client, 'locked', 'no-mkdir', running, 30_000, 'Running');
    const res = await exec('locked', 'no-mkdir', 'mkdir', '/tmp/x');
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain("mkdir: can't create directory '/tmp/x': Operation not permitted");
    expect((await exec('locked', 'no-mkdir', 'grep', '^Seccomp:', '/proc/1/status')).stdout).toMatch(/^Seccomp:\s+2\n$/);

    await apply(manifest('escape', 'locked', localhost('escape.json')));
    await expectConfigError(
      'locked',
      'escape',
      `failed to generate seccomp spec opts: cannot load seccomp profile "${join(root, 'escape.json')}": it resolves to a path outside ${root}`,
    );
  }, 60_000);
});
