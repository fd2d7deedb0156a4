// Issue 9: what a user sees — run, trace, completion, --wait.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pod } from '../../src/api/types.js';
import { TestCluster, watchPod } from './harness.js';

const cluster = new TestCluster();
beforeAll(() => cluster.start(), 30_000);
afterAll(() => cluster.cleanup(), 60_000);

const running = (p: Pod) => p.status?.phase === 'Running' && (p.status.containerStatuses ?? []).every((s) => s.state.running);

describe('run', () => {
  it('makes a one-container pod like kubectl run, with args after --', async () => {
    const res = await cluster.mp(['run', 'quick', '--image', 'busybox:1.36', '--restart', 'Never', '--env', 'WHO=world', '--command', '--', 'sh', '-c', 'echo hello $WHO']);
    expect(res).toMatchObject({ code: 0, stdout: 'pod/quick created\n' });
    const pod = await watchPod(cluster.client, 'default', 'quick', (p) => p.status?.phase === 'Succeeded', 30_000, 'Succeeded');
    expect(pod.metadata.labels).toEqual({ run: 'quick' });
    expect(pod.spec.containers[0]).toMatchObject({ name: 'quick', image: 'busybox:1.36', command: ['sh', '-c', 'echo hello $WHO'], env: [{ name: 'WHO', value: 'world' }] });
    expect(pod.spec.restartPolicy).toBe('Never');
  }, 60_000);

  it('--dry-run -o yaml prints the pod without creating it', async () => {
    const res = await cluster.mp(['run', 'dry', '--image', 'busybox:1.36', '--dry-run', '-o', 'yaml', '--', 'sleep', '1']);
    expect(res.code).toBe(0);
    expect(res.stdout).toContain('name: dry');
    expect(res.stdout).toContain('args:\n        - sleep');
    expect((await cluster.mp(['get', 'pod', 'dry'])).code).toBe(1);
  });

  it('refuses a bad name with the validation message', async () => {
    const res = await cluster.mp(['run', 'Bad_Name', '--image', 'busybox:1.36']);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/^error: metadata\.name: Invalid value: "Bad_Name"/);
  });
});

describe('trace', () => {
  it('shows the lifecycle in order with durations', async () => {
    expect((await cluster.mp(['apply', '-f', 'manifests/init-containers.yaml'])).code).toBe(0);
    await watchPod(cluster.client, 'default', 'init-demo', (p) => running(p) && p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true, 30_000, 'Ready');
    const res = await cluster.mp(['trace', 'pod', 'init-demo']);
    expect(res.code).toBe(0);
    const lines = res.stdout.trim().split('\n').slice(1);
    const labels = lines.map((l) => l.replace(/^\s*[\d.]+s\s+\S*\s*([\d.]+s\+?)?\s+/, ''));
    const order = ['created', `scheduled to ${cluster.node}`, 'init first ran, exited 0 (Completed)', 'init second ran, exited 0 (Completed)', 'app running'];
    const idx = order.map((o) => labels.findIndex((l) => l === o));
    expect(idx.every((i) => i >= 0), labels.join(' | ')).toBe(true);
    expect([...idx].sort((a, b) => a - b)).toEqual(idx);
    const offsets = lines.map((l) => Number(/^\s*([\d.]+)s/.exec(l)![1]));
    expect([...offsets].sort((a, b) => a - b)).toEqual(offsets);
    // The first init container sleeps 0.5 s: its bar says so.
    const first = lines.find((l) => l.endsWith('init first ran, exited 0 (Completed)'))!;
    expect(Number(/([\d.]+)s\s+init first/.exec(first)![1])).toBeGreaterThanOrEqual(0.5);
    expect(lines.find((l) => l.endsWith('app running'))).toMatch(/[\d.]+s\+\s+app running$/);
  }, 60_000);
});

describe('completion', () => {
  it('prints a bash script that completes commands', async () => {
    const res = await cluster.mp(['completion', 'bash']);
    expect(res.code).toBe(0);
    expect(res.stdout).toContain('complete -F _minipod minipod');
    expect(res.stdout).toMatch(/compgen -W "[^"]*\bapply\b[^"]*\btrace\b/);
    expect((await cluster.mp(['completion', 'fish'])).stderr).toBe('error: unsupported shell "fish": use bash or zsh\n');
  });
});

describe('apply --wait', () => {
  const pod = (name: string, extra: string, image = 'busybox:1.36') => `apiVersion: v1
kind: Pod
metadata: {name: ${name}}
spec:
  ${extra}
  containers:
  - {name: main, image: "${image}", command: ["sleep", "3600"]}
`;

  it('prints each step and the time it took, and exits 0 once Running', async () => {
    const res = await cluster.mp(['apply', '-f', 'manifests/sleeper.yaml', '--wait']);
    expect(res.code).toBe(0);
    const lines = res.stdout.trim().split('\n');
    expect(lines[0]).toBe('pod/sleeper created');
    expect(lines).toContainEqual(expect.stringMatching(/^pod\/sleeper: (Scheduled|ContainerCreating) \([\d.]+s\)$/));
    expect(lines.at(-1)).toMatch(/^pod\/sleeper (Running|Running and Ready) in [\d.]+s$/);
  }, 60_000);

  it('exits 1 with FailedScheduling for a pod no node fits', async () => {
    const res = await cluster.mp(['apply', '-f', '-', '--wait', '--timeout', '30s'], pod('nowhere', 'nodeSelector: {disktype: ssd}'));
    expect(res.code).toBe(1);
    expect(res.stderr).toBe("error: pod/nowhere cannot be scheduled (FailedScheduling): 0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector.\n");
  }, 60_000);

  it('exits 1 with ErrImagePull for an image that cannot be pulled', async () => {
    const res = await cluster.mp(['apply', '-f', '-', '--wait', '--timeout', '30s'], pod('no-image', '', '127.0.0.1:5000/minipod/no-such-image:1'));
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/^error: pod\/no-image cannot start: (ErrImagePull|ImagePullBackOff)\n$/);
  }, 60_000);
});
