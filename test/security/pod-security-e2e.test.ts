// Pod Security Admission on a real daemon with its default (baseline), through
// the real CLI: what is refused and in which words, what a namespace labelled
// enforce=privileged then runs on Docker, and the warnings of warn mode on
// stderr next to a pod that is created all the same. One daemon for the file.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pod } from '../../src/api/types.js';
import { TestCluster, waitFor, watchPod } from '../e2e/harness.js';

const cluster = new TestCluster();
beforeAll(() => cluster.start(), 30_000);
afterAll(() => cluster.cleanup(), 60_000);

const manifest = (name: string, { namespace, spec = '', container = '' }: { namespace?: string; spec?: string; container?: string } = {}) => `apiVersion: v1
kind: Pod
metadata: {name: ${name}${namespace ? `, namespace: ${namespace}` : ''}}
spec:
  terminationGracePeriodSeconds: 1
  ${spec}
  containers:
  - name: main
    image: busybox:1.36
    command: ["sleep", "3600"]
    ${container}
`;
const running = (p: Pod) => p.status?.phase === 'Running';
const addCap = (cap: string) => `securityContext: {capabilities: {add: [${cap}]}}`;

describe('the default level, baseline', () => {
  it('refuses hostNetwork: true with the API server\'s words, also on a server dry run', async () => {
    for (const args of [['apply', '-f', '-'], ['apply', '--dry-run=server', '-f', '-'], ['create', '-f', '-']]) {
      const res = await cluster.mp(args, manifest('host-net', { spec: 'hostNetwork: true' }));
      expect(res).toEqual({
        code: 1,
        stdout: '',
        stderr: 'Error from server (Forbidden): pods "host-net" is forbidden: violates PodSecurity "baseline:latest": host namespaces (hostNetwork=true)\n',
      });
    }
    expect((await cluster.client.listPods('default')).items).toEqual([]);
    expect(await cluster.containers()).toEqual([]);
  });
});

describe('a namespace labelled enforce=privileged', () => {
  it('refuses SYS_PTRACE and NET_ADMIN until labelled, then runs them with those capabilities', async () => {
    expect(await cluster.mp(['create', 'namespace', 'tools'])).toEqual({ code: 0, stdout: 'namespace/tools created\n', stderr: '' });
    const pods = [
      ['ptrace', 'SYS_PTRACE'],
      ['netadmin', 'NET_ADMIN'],
    ] as const;
    for (const [name, cap] of pods) {
      const res = await cluster.mp(['apply', '-f', '-'], manifest(name, { namespace: 'tools', container: addCap(cap) }));
      expect(res).toEqual({
        code: 1,
        stdout: '',
        stderr: `Error from server (Forbidden): pods "${name}" is forbidden: violates PodSecurity "baseline:latest": non-default capabilities (container "main" must not include "${cap}" in securityContext.capabilities.add)\n`,
      });
    }
    expect(await cluster.mp(['label', 'namespace', 'tools', 'pod-security.kubernetes.io/enforce=privileged', '--overwrite'])).toEqual({
      code: 0,
      stdout: 'namespace/tools labeled\n',
      stderr: '',
    });
    for (const [name, cap] of pods) {
      const res = await cluster.mp(['apply', '-f', '-'], manifest(name, { namespace: 'tools', container: addCap(cap) }));
      expect(res.code).toBe(0);
      expect(res.stdout).toBe(`pod/${name} created\n`);
      // warn (and audit) stay at the daemon's baseline: admitted, but said
      expect(res.stderr).toBe(
        `Warning: would violate PodSecurity "baseline:latest": non-default capabilities (container "main" must not include "${cap}" in securityContext.capabilities.add)\n`,
      );
    }
    for (const [name, cap] of pods) {
      const pod = await watchPod(cluster.client, 'tools', name, running, 30_000, 'Running');
      const id = pod.status!.containerStatuses![0].containerID!.replace(/^docker:\/\//, '');
      const inspect = await cluster.docker.getContainer(id).inspect();
      expect(inspect.HostConfig.CapAdd).toContain(cap);
    }
  }, 60_000);
});

describe('warn and audit modes', () => {
  const RESTRICTED =
    'allowPrivilegeEscalation != false (container "main" must set securityContext.allowPrivilegeEscalation=false), ' +
    'unrestricted capabilities (container "main" must set securityContext.capabilities.drop=["ALL"]), ' +
    'runAsNonRoot != true (pod or container "main" must set securityContext.runAsNonRoot=true), ' +
    'seccompProfile (pod or container "main" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")';

  it('prints the warning of a warn=restricted namespace on stderr, and creates the pod', async () => {
    await cluster.mp(['create', 'namespace', 'warned']);
    expect((await cluster.mp(['label', 'ns', 'warned', 'pod-security.kubernetes.io/warn=restricted', 'pod-security.kubernetes.io/audit=restricted'])).code).toBe(0);
    const res = await cluster.mp(['apply', '-f', '-'], manifest('web', { namespace: 'warned' }));
    expect(res).toEqual({ code: 0, stdout: 'pod/web created\n', stderr: `Warning: would violate PodSecurity "restricted:latest": ${RESTRICTED}\n` });
    const run = await cluster.mp(['run', 'quick', '-n', 'warned', '--image', 'busybox:1.36', '--', 'sleep', '3600']);
    expect(run).toEqual({ code: 0, stdout: 'pod/quick created\n', stderr: `Warning: would violate PodSecurity "restricted:latest": ${RESTRICTED.replaceAll('"main"', '"quick"')}\n` });
    await watchPod(cluster.client, 'warned', 'web', running, 30_000, 'Running');

    // audit: the same finding in the daemon's log, under upstream's annotation key
    const log = join(cluster.home, 'daemon.log');
    const line = await waitFor(
      () => readFileSync(log, 'utf8').split('\n').find((l) => l.includes('"pod":"web"') && l.includes('audit-violations')),
      10_000,
      'the audit line',
    );
    expect(JSON.parse(line)).toMatchObject({
      component: 'pod-security',
      namespace: 'warned',
      pod: 'web',
      operation: 'create',
      'pod-security.kubernetes.io/enforce-policy': 'baseline:latest',
      'pod-security.kubernetes.io/audit-violations': `would violate PodSecurity "restricted:latest": ${RESTRICTED}`,
    });
  }, 60_000);

  it('warns about existing pods when the enforce level gets stricter, and refuses bad labels', async () => {
    const res = await cluster.mp(['label', 'namespace', 'warned', 'pod-security.kubernetes.io/enforce=restricted']);
    expect(res.code).toBe(0);
    expect(res.stdout).toBe('namespace/warned labeled\n');
    expect(res.stderr).toBe(
      'Warning: existing pods in namespace "warned" violate the new PodSecurity enforce level "restricted:latest"\n' +
        'Warning: quick (and 1 other pod): allowPrivilegeEscalation != false, unrestricted capabilities, runAsNonRoot != true, seccompProfile\n',
    );
    const bad = await cluster.mp(['label', 'namespace', 'warned', 'pod-security.kubernetes.io/enforce=strict', '--overwrite']);
    expect(bad).toEqual({
      code: 1,
      stdout: '',
      stderr: 'Error from server (Invalid): Namespace "warned" is invalid: metadata.labels[pod-security.kubernetes.io/enforce]: Invalid value: "strict": must be one of privileged, baseline, restricted\n',
    });
    // the pods stay; a new one is now refused
    expect((await cluster.client.listPods('warned')).items.map((p) => p.metadata.name).sort()).toEqual(['quick', 'web']);
    const refused = await cluster.mp(['apply', '-f', '-'], manifest('late', { namespace: 'warned' }));
    expect(refused.stderr).toBe(`Error from server (Forbidden): pods "late" is forbidden: violates PodSecurity "restricted:latest": ${RESTRICTED}\n`);
  });
});
