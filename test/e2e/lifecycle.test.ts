// Issue 3: the kubelet's pod lifecycle on real Docker — init containers, hooks,
// restart policies, termination, and what else a manifest says.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Event, Pod } from '../../src/api/types.js';
import { TestCluster, docker, dockerExec, dockerLogs, waitFor, watchPod } from './harness.js';

// The prestop test mounts a folder under the temp dir: admission must allow it.
// Privileged Pod Security: these pods use hostPath (under the allowed prefix) and hostPort.
const cluster = new TestCluster({ daemonArgs: ['--pod-security', 'privileged', '--allow-host-path', os.tmpdir()] });
beforeAll(() => cluster.start(), 30_000);
afterAll(() => cluster.cleanup(), 60_000);

const running = (p: Pod) => p.status?.phase === 'Running' && (p.status.containerStatuses ?? []).every((s) => s.state.running);
const idOf = (p: Pod, name: string) =>
  [...(p.status?.containerStatuses ?? []), ...(p.status?.initContainerStatuses ?? [])].find((s) => s.name === name)!.containerID!.replace('docker://', '');

async function apply(file: string): Promise<void> {
  const res = await cluster.mp(['apply', '-f', file]);
  expect(res.stderr).toBe('');
  expect(res.code).toBe(0);
}

async function applyText(yaml: string): Promise<void> {
  const res = await cluster.mp(['apply', '-f', '-'], yaml);
  expect(res.stderr).toBe('');
  expect(res.code).toBe(0);
}

async function events(pod: string): Promise<Event[]> {
  const list = await cluster.client.listEvents('default', { fieldSelector: `involvedObject.name=${pod}` });
  return list.items.sort((a, b) => (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? '') || Number(a.metadata.resourceVersion) - Number(b.metadata.resourceVersion));
}

async function logLine(id: string, re: RegExp): Promise<string> {
  return waitFor(async () => (await dockerLogs(id)).match(re)?.[0], 15_000, `a log line ${re}`);
}

describe('init containers', () => {
  it('run in order, each to completion, before the app container', async () => {
    await apply('manifests/init-containers.yaml');
    const pod = await watchPod(cluster.client, 'default', 'init-demo', running, 30_000, 'Running');
    expect(await logLine(idOf(pod, 'app'), /order: .*/)).toBe('order: first second ');
    const init = pod.status!.initContainerStatuses!;
    expect(init.map((s) => [s.name, s.state.terminated?.reason, s.ready])).toEqual([
      ['first', 'Completed', true],
      ['second', 'Completed', true],
    ]);
    expect(pod.status!.conditions!.find((c) => c.type === 'Initialized')!.status).toBe('True');
    // The app started only after the second init container finished.
    const second = await docker.getContainer(idOf(pod, 'second')).inspect();
    const app = await docker.getContainer(idOf(pod, 'app')).inspect();
    expect(Date.parse(app.State.StartedAt)).toBeGreaterThanOrEqual(Date.parse(second.State.FinishedAt));
  }, 60_000);

  it('a failing init container under Never fails the pod and no app container is ever created', async () => {
    await apply('manifests/init-failure.yaml');
    const pod = await watchPod(cluster.client, 'default', 'init-failure', (p) => p.status?.phase === 'Failed', 30_000, 'Failed');
    expect(pod.status!.initContainerStatuses![0].state.terminated).toMatchObject({ exitCode: 3, reason: 'Error' });
    const get = await cluster.mp(['get', 'pod', 'init-failure']);
    expect(get.stdout).toMatch(/^init-failure\s+0\/1\s+Init:Error\s+0\s/m);
    const kinds = (await cluster.containers(pod.metadata.uid)).map((c) => c.Labels['minipod.io/kind']);
    expect(kinds).not.toContain('app');
    expect((await events('init-failure')).map((e) => e.message)).not.toContain('Created container app');
  }, 60_000);
});

describe('lifecycle hooks', () => {
  it('postStart runs before the app goes on, preStop before SIGTERM', async () => {
    await apply('manifests/lifecycle-hooks.yaml');
    const pod = await watchPod(cluster.client, 'default', 'hooks-demo', running, 30_000, 'Running');
    const id = idOf(pod, 'main');
    expect(await logLine(id, /app read: .*/)).toBe('app read: written by postStart');
    const del = await cluster.mp(['delete', 'pod', 'hooks-demo', '--no-wait']);
    expect(del.code).toBe(0);
    const get = await cluster.mp(['get', 'pod', 'hooks-demo']);
    expect(get.stdout).toMatch(/Terminating/);
    await waitFor(async () => (await docker.getContainer(id).inspect().catch(() => undefined))?.State.Running === false || undefined, 15_000, 'the container to stop');
  }, 60_000);

  it('a failing postStart kills the container, which is restarted, with a FailedPostStartHook event', async () => {
    await applyText(`apiVersion: v1
kind: Pod
metadata: {name: bad-poststart}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: busybox:1.36
    command: ["sleep", "3600"]
    lifecycle:
      postStart:
        exec: {command: ["sh", "-c", "exit 7"]}
`);
    const pod = await watchPod(cluster.client, 'default', 'bad-poststart', (p) => (p.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1, 30_000, 'restarted');
    expect(pod.status!.containerStatuses![0].lastState.terminated).toBeDefined();
    const ev = (await events('bad-poststart')).find((e) => e.reason === 'FailedPostStartHook')!;
    expect(ev.type).toBe('Warning');
    expect(ev.message).toContain(`Exec lifecycle hook (["sh","-c","exit 7"]) for Container "main" in Pod "bad-poststart_default(${pod.metadata.uid})" failed - error: command 'sh -c exit 7' exited with 7`);
  }, 60_000);

  it('preStop + SIGTERM + SIGKILL respect --grace-period, and preStop writes before SIGTERM', async () => {
    const dir = mkdtempSync(join(os.tmpdir(), 'minipod-prestop-'));
    try {
      await applyText(`apiVersion: v1
kind: Pod
metadata: {name: prestop}
spec:
  volumes: [{name: out, hostPath: {path: ${dir}}}]
  containers:
  - name: main
    image: busybox:1.36
    volumeMounts: [{name: out, mountPath: /out}]
    command: ["sh", "-c", "trap 'echo sigterm >> /out/log' TERM; echo ready > /out/ready; while true; do sleep 0.2; done"]
    lifecycle:
      preStop:
        exec: {command: ["sh", "-c", "echo prestop >> /out/log; sleep 1"]}
`);
      await watchPod(cluster.client, 'default', 'prestop', running, 30_000, 'Running');
      await waitFor(() => { try { return readFileSync(join(dir, 'ready'), 'utf8'); } catch { return undefined; } }, 10_000, 'ready');
      const started = Date.now();
      const del = await cluster.mp(['delete', 'pod', 'prestop', '--grace-period', '4']);
      const took = (Date.now() - started) / 1000;
      expect(del.code).toBe(0);
      expect(took).toBeGreaterThanOrEqual(3.5);
      expect(took).toBeLessThanOrEqual(5.5);
      // preStop first, then SIGTERM (ignored by the loop), then SIGKILL at the deadline.
      expect(readFileSync(join(dir, 'log'), 'utf8')).toBe('prestop\nsigterm\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('restart policies', () => {
  const pod = (name: string, policy: string, code: number) => `apiVersion: v1
kind: Pod
metadata: {name: ${name}}
spec:
  restartPolicy: ${policy}
  containers:
  - name: main
    image: busybox:1.36
    command: ["sh", "-c", "exit ${code}"]
`;

  it('OnFailure does not restart an exit 0: the pod Succeeds', async () => {
    await applyText(pod('onfailure-ok', 'OnFailure', 0));
    const p = await watchPod(cluster.client, 'default', 'onfailure-ok', (x) => x.status?.phase === 'Succeeded', 30_000, 'Succeeded');
    expect(p.status!.containerStatuses![0]).toMatchObject({ restartCount: 0, state: { terminated: { exitCode: 0, reason: 'Completed' } } });
    expect((await cluster.mp(['get', 'pod', 'onfailure-ok'])).stdout).toMatch(/^onfailure-ok\s+0\/1\s+Completed\s+0\s/m);
  }, 60_000);

  it('Never leaves a failed container failed: the pod is Failed', async () => {
    await applyText(pod('never-fails', 'Never', 2));
    const p = await watchPod(cluster.client, 'default', 'never-fails', (x) => x.status?.phase === 'Failed', 30_000, 'Failed');
    expect(p.status!.containerStatuses![0]).toMatchObject({ restartCount: 0, state: { terminated: { exitCode: 2, reason: 'Error' } } });
    expect((await cluster.mp(['get', 'pod', 'never-fails'])).stdout).toMatch(/^never-fails\s+0\/1\s+Error\s+0\s/m);
  }, 60_000);

  it('activeDeadlineSeconds fails the pod with DeadlineExceeded', async () => {
    await apply('manifests/active-deadline.yaml');
    const p = await watchPod(cluster.client, 'default', 'deadline', (x) => x.status?.phase === 'Failed', 20_000, 'Failed');
    expect(p.status).toMatchObject({ reason: 'DeadlineExceeded', message: 'Pod was active on the node longer than the specified deadline' });
    // kubectl's STATUS column prefers a container's terminated reason over the pod's.
    expect(p.status!.containerStatuses![0].state.terminated?.exitCode).toBe(137);
    expect((await cluster.mp(['get', 'pod', 'deadline'])).stdout).toMatch(/^deadline\s+0\/1\s+Error\s/m);
  }, 60_000);
});

describe('what else a manifest says', () => {
  it('expands $(VAR), fills env from the downward API, sets workingDir and limits', async () => {
    await apply('manifests/env-and-downward.yaml');
    const pod = await watchPod(cluster.client, 'default', 'env-demo', running, 30_000, 'Running');
    const line = await logLine(idOf(pod, 'main'), /hello world from .*/);
    expect(line).toBe(`hello world from env-demo in default at ${pod.status!.podIP} on ${cluster.node} tier=backend mem=64Mi cwd=/tmp`);
    const info = await docker.getContainer(idOf(pod, 'main')).inspect();
    // As the kubelet sets them (limits 500m/64Mi, requests 100m): test/e2e/resources.test.ts has the rest.
    expect(info.HostConfig).toMatchObject({ Memory: 64 * 1024 * 1024, MemorySwap: 64 * 1024 * 1024, CpuQuota: 50_000, CpuPeriod: 100_000, CpuShares: 102 });
  }, 60_000);

  it('publishes hostPort on the pause container, on 127.0.0.1', async () => {
    await apply('manifests/host-port.yaml');
    const pod = await watchPod(cluster.client, 'default', 'host-port', running, 30_000, 'Running');
    const body = await waitFor(async () => {
      const res = await fetch('http://127.0.0.1:18080/').catch(() => undefined);
      return res?.ok ? res.text() : undefined;
    }, 10_000, 'the host port to answer');
    expect(body).toBe('served by host-port\n');
    const pause = (await cluster.containers(pod.metadata.uid)).find((c) => c.Labels['minipod.io/kind'] === 'sandbox')!;
    expect(pause.Ports).toContainEqual(expect.objectContaining({ IP: '127.0.0.1', PrivatePort: 8080, PublicPort: 18080 }));
  }, 60_000);

  it('applies securityContext and shares the PID namespace with pause as PID 1', async () => {
    await apply('manifests/security-and-pid.yaml');
    const pod = await watchPod(cluster.client, 'default', 'security-demo', running, 30_000, 'Running');
    const id = idOf(pod, 'main');
    await logLine(id, /scratch writable/);
    expect(await dockerLogs(id)).toBe('uid=1000 gid=3000\nrootfs read-only\nscratch writable\n');
    const ps = await dockerExec(id, ['ps', '-o', 'pid,args']);
    expect(ps).toMatch(/^\s*1\s+\/pause$/m);
    expect(ps).toContain('sleep 3601'); // the other container's process
  }, 60_000);
});

describe('sidecars, termination messages, stdin', () => {
  it('keeps a sidecar running beside the app and counts it in READY', async () => {
    await apply('manifests/sidecar.yaml');
    const pod = await watchPod(cluster.client, 'default', 'sidecar-demo', (p) => running(p) && p.status?.initContainerStatuses?.[0]?.state.running !== undefined, 30_000, 'Running with its sidecar');
    const sidecar = await docker.getContainer(idOf(pod, 'log-shipper')).inspect();
    const app = await docker.getContainer(idOf(pod, 'app')).inspect();
    expect(Date.parse(app.State.StartedAt)).toBeGreaterThanOrEqual(Date.parse(sidecar.State.StartedAt));
    expect(await logLine(idOf(pod, 'log-shipper'), /tick/)).toBe('tick');
    expect((await cluster.mp(['get', 'pod', 'sidecar-demo'])).stdout).toMatch(/^sidecar-demo\s+2\/2\s+Running\s+0\s/m);
  }, 60_000);

  it('waits for a sidecar\'s startup probe before the app container starts', async () => {
    await applyText(`apiVersion: v1
kind: Pod
metadata: {name: sidecar-startup}
spec:
  initContainers:
  - name: proxy
    image: busybox:1.36
    restartPolicy: Always
    command: ["sh", "-c", "sleep 2; touch /tmp/up; exec sleep 3600"]
    startupProbe:
      exec: {command: ["test", "-f", "/tmp/up"]}
      periodSeconds: 1
      failureThreshold: 30
  containers:
  - {name: app, image: busybox:1.36, command: ["sleep", "3600"]}
`);
    const pod = await watchPod(cluster.client, 'default', 'sidecar-startup', running, 30_000, 'Running');
    const proxy = await docker.getContainer(idOf(pod, 'proxy')).inspect();
    const app = await docker.getContainer(idOf(pod, 'app')).inspect();
    expect(Date.parse(app.State.StartedAt) - Date.parse(proxy.State.StartedAt)).toBeGreaterThanOrEqual(2000);
    expect(pod.status!.initContainerStatuses![0]).toMatchObject({ started: true, restartCount: 0 });
  }, 60_000);

  it('reports the termination message from the file, or from the logs on error', async () => {
    await apply('manifests/termination-message.yaml');
    const pod = await watchPod(cluster.client, 'default', 'last-words', (p) => p.status?.phase === 'Failed', 30_000, 'Failed');
    const byName = Object.fromEntries(pod.status!.containerStatuses!.map((s) => [s.name, s.state.terminated]));
    expect(byName.writer).toMatchObject({ exitCode: 1, message: 'disk full, giving up\n' });
    expect(byName.logger).toMatchObject({ exitCode: 2, message: 'config not found\n' });
  }, 60_000);

  it('keeps a shell with stdin open running', async () => {
    await apply('manifests/stdin-shell.yaml');
    const pod = await watchPod(cluster.client, 'default', 'shell', running, 30_000, 'Running');
    const info = await docker.getContainer(idOf(pod, 'shell')).inspect();
    expect(info.Config).toMatchObject({ OpenStdin: true, Tty: true });
    expect(info.State.Running).toBe(true);
  }, 60_000);
});
