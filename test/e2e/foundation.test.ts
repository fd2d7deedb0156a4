// Issue 2's acceptance, end to end: the real CLI, a real daemon, real Docker.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pod } from '../../src/api/types.js';
import { TestCluster, docker, dockerLogs, waitFor, watchPod } from './harness.js';

const cluster = new TestCluster();
beforeAll(() => cluster.start(), 30_000);
afterAll(() => cluster.cleanup(), 60_000);

const running = (p: Pod) => p.status?.phase === 'Running' && (p.status.containerStatuses ?? []).every((s) => s.state.running);

describe('a two-container pod', () => {
  it('shares network, hostname and IPC through its pause container', async () => {
    const apply = await cluster.mp(['apply', '-f', 'manifests/two-containers.yaml']);
    expect(apply).toMatchObject({ code: 0, stdout: 'pod/two-containers created\n' });
    const pod = await watchPod(cluster.client, 'default', 'two-containers', running, 30_000, 'Running');

    const client = pod.status!.containerStatuses!.find((s) => s.name === 'client')!;
    const id = client.containerID!.replace('docker://', '');
    const line = await waitFor(async () => (await dockerLogs(id)).match(/web says: .*/)?.[0], 20_000, 'the client to fetch from web');
    // Fetched over 127.0.0.1 from the other container; both see the pod's hostname; shm is shared.
    expect(line).toBe('web says: two-containers, my hostname: two-containers, shm: hello from web');

    const containers = await cluster.containers(pod.metadata.uid);
    const pause = containers.find((c) => c.Labels['minipod.io/kind'] === 'sandbox')!;
    expect(pause.Image).toBe('minipod/pause:1');
    const pauseInfo = await docker.getContainer(pause.Id).inspect();
    expect(pauseInfo.State.Running).toBe(true);
    expect(pauseInfo.HostConfig.IpcMode).toBe('shareable');
    for (const c of containers.filter((c) => c.Labels['minipod.io/kind'] === 'app')) {
      const info = await docker.getContainer(c.Id).inspect();
      expect(info.HostConfig.NetworkMode).toBe(`container:${pause.Id}`);
      expect(info.HostConfig.IpcMode).toBe(`container:${pause.Id}`);
      expect(c.Labels).toMatchObject({ 'io.kubernetes.pod.name': 'two-containers', 'io.kubernetes.pod.namespace': 'default' });
    }
    const wide = await cluster.mp(['get', 'pods', '-o', 'wide']);
    const row = wide.stdout.split('\n').find((l) => l.startsWith('two-containers'))!;
    const ip = pauseInfo.NetworkSettings.IPAddress;
    expect(ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(row.split(/\s+/)).toEqual(['two-containers', '2/2', 'Running', '0', expect.any(String), ip, cluster.node]);
  }, 60_000);
});

describe('delete with a grace period', () => {
  const manifest = (name: string, script: string) => `apiVersion: v1
kind: Pod
metadata: {name: ${name}}
spec:
  containers:
  - name: main
    image: busybox:1.36
    command: ["sh", "-c", ${JSON.stringify(script)}]
`;

  async function applyAndRun(name: string, script: string) {
    expect((await cluster.mp(['apply', '-f', '-'], manifest(name, script))).code).toBe(0);
    const pod = await watchPod(cluster.client, 'default', name, running, 30_000, 'Running');
    // The shell must have installed its trap before we signal it.
    const id = pod.status!.containerStatuses![0].containerID!.replace('docker://', '');
    await waitFor(async () => (await dockerLogs(id)).includes('ready'), 10_000, `${name} to be ready`);
    return pod;
  }

  it('kills a container that ignores SIGTERM when the grace period ends, and removes everything', async () => {
    const pod = await applyAndRun('stubborn', 'trap "" TERM; echo ready; while true; do sleep 1; done');
    const started = Date.now();
    const del = await cluster.mp(['delete', 'pod', 'stubborn', '--grace-period', '3']);
    const took = (Date.now() - started) / 1000;
    expect(del).toMatchObject({ code: 0, stdout: 'pod "stubborn" deleted\n' });
    expect(took).toBeGreaterThanOrEqual(2.5);
    expect(took).toBeLessThanOrEqual(4.5);
    expect(await cluster.containers(pod.metadata.uid)).toEqual([]);
    const nets = await docker.listNetworks({ filters: { label: [`io.kubernetes.pod.uid=${pod.metadata.uid}`] } });
    const vols = await docker.listVolumes({ filters: { label: [`io.kubernetes.pod.uid=${pod.metadata.uid}`] } });
    expect(nets).toEqual([]);
    expect(vols.Volumes ?? []).toEqual([]);
    expect((await cluster.mp(['get', 'pod', 'stubborn'])).stderr).toBe('Error from server (NotFound): pods "stubborn" not found\n');
  }, 60_000);

  it('is done well before the grace period when the container exits on SIGTERM', async () => {
    const pod = await applyAndRun('polite', 'trap "exit 0" TERM; echo ready; while true; do sleep 0.1; done');
    const started = Date.now();
    const del = await cluster.mp(['delete', 'pod', 'polite', '--grace-period', '3']);
    expect(del.code).toBe(0);
    expect((Date.now() - started) / 1000).toBeLessThan(2);
    expect(await cluster.containers(pod.metadata.uid)).toEqual([]);
  }, 60_000);

  it('--grace-period=0 --force removes the pod at once', async () => {
    const pod = await applyAndRun('forced', 'trap "" TERM; echo ready; while true; do sleep 1; done');
    const started = Date.now();
    const del = await cluster.mp(['delete', 'pod', 'forced', '--grace-period=0', '--force']);
    expect(del.code).toBe(0);
    expect(del.stderr).toContain('Immediate deletion does not wait');
    await waitFor(async () => (await cluster.containers(pod.metadata.uid)).length === 0, 5_000, 'containers to be removed');
    expect((Date.now() - started) / 1000).toBeLessThan(2);
  }, 60_000);
});

describe('the daemon', () => {
  it('keeps stored pods across a restart and adopts their running containers', async () => {
    const m = readFileSync('manifests/sleeper.yaml', 'utf8');
    expect((await cluster.mp(['apply', '-f', '-'], m)).code).toBe(0);
    const before = await watchPod(cluster.client, 'default', 'sleeper', running, 30_000, 'Running');
    await cluster.stopDaemon();
    const down = await cluster.mp(['get', 'pods']);
    expect(down.code).toBe(1);
    expect(down.stderr).toBe(`error: cannot reach the minipod daemon at ${cluster.home}/minipod.sock — start it with: minipod daemon start\n`);
    await cluster.start();
    const get = await cluster.mp(['get', 'pods', 'sleeper']);
    expect(get.stdout).toMatch(/^sleeper\s+1\/1\s+Running\s+0\s/m);
    const after = await cluster.client.getPod('default', 'sleeper');
    expect(after.metadata.uid).toBe(before.metadata.uid);
    // Adopted, not restarted: the same container, still the first attempt.
    expect(after.status!.containerStatuses![0].containerID).toBe(before.status!.containerStatuses![0].containerID);
    expect((await cluster.containers(before.metadata.uid)).length).toBe(2);
  }, 90_000);
});
