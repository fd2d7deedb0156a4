// An emptyDir is node disk (or memory) that a pod can fill: sizeLimit is enforced
// as the kubelet's eviction manager does (the pod is evicted with its reason and
// message), and medium: Memory is a tmpfs of that size shared by the pod's
// containers, unmounted when the pod goes.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestCluster, waitFor, watchPod } from '../e2e/harness.js';

const cluster = new TestCluster({ env: { MINIPOD_EVICTION_MONITORING_PERIOD_MS: '300' } });
beforeAll(() => cluster.start(), 60_000);
afterAll(() => cluster.cleanup(), 60_000);

const pod = (name: string, volume: string, command: string) => `apiVersion: v1
kind: Pod
metadata: {name: ${name}}
spec:
  terminationGracePeriodSeconds: 30
  volumes: [{name: cache, emptyDir: ${volume}}]
  containers:
  - name: main
    image: busybox:1.36
    command: ["sh", "-c", ${JSON.stringify(command)}]
    volumeMounts: [{name: cache, mountPath: /cache}]
`;
const mountsUnder = (dir: string) => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.split(' ')[4]?.startsWith(dir));

describe('emptyDir sizeLimit', () => {
  it('evicts a pod that writes 2 MiB into a 1Mi emptyDir, at once and with the kubelet\'s words', async () => {
    const res = await cluster.mp(['apply', '-f', '-'], pod('filler', '{sizeLimit: 1Mi}', 'dd if=/dev/zero of=/cache/fill bs=1024 count=2048; exec sleep 3600'));
    expect(res.stderr).toBe('');
    const start = Date.now();
    const evicted = await watchPod(cluster.client, 'default', 'filler', (p) => p.status?.phase === 'Failed', 30_000, 'Failed');
    expect(evicted.status).toMatchObject({ phase: 'Failed', reason: 'Evicted', message: 'Usage of EmptyDir volume "cache" exceeds the limit "1Mi". ' });
    expect(evicted.status!.conditions).toContainEqual(expect.objectContaining({ type: 'DisruptionTarget', status: 'True', reason: 'TerminationByKubelet' }));
    // Grace 0: not the pod's 30 s.
    expect(Date.now() - start).toBeLessThan(20_000);
    const events = await cluster.mp(['get', 'events', '--field-selector', 'involvedObject.name=filler']);
    expect(events.stdout).toMatch(/Warning\s+Evicted\s+pod\/filler\s+Usage of EmptyDir volume "cache" exceeds the limit "1Mi"/);
    const running = (await cluster.containers(evicted.metadata.uid)).filter((c) => c.State === 'running');
    expect(running).toEqual([]);
  }, 60_000);

  it('leaves a pod alone while it stays under the limit', async () => {
    await cluster.mp(['apply', '-f', '-'], pod('small', '{sizeLimit: 1Mi}', 'dd if=/dev/zero of=/cache/fill bs=1024 count=256; touch /cache/done; exec sleep 3600'));
    const p = await watchPod(cluster.client, 'default', 'small', (x) => x.status?.phase === 'Running', 30_000, 'Running');
    const dir = join(cluster.home, 'pods', p.metadata.uid!, 'volumes', 'cache');
    await waitFor(() => existsSync(join(dir, 'done')), 10_000, 'the write to finish');
    // An absence can only be shown over time: three eviction periods later it still runs.
    await new Promise((r) => setTimeout(r, 1000));
    expect((await cluster.client.getPod('default', 'small')).status?.phase).toBe('Running');
  }, 60_000);
});

describe('emptyDir medium: Memory', () => {
  it('is a tmpfs of sizeLimit shared by the containers, full at the limit, unmounted with the pod', async () => {
    await cluster.mp(['apply', '-f', '-'], pod('ram', '{medium: Memory, sizeLimit: 1Mi}', 'grep " /cache " /proc/mounts; dd if=/dev/zero of=/cache/fill bs=1024 count=2048 2>&1 | grep -o "No space left on device"; exec sleep 3600'));
    const p = await watchPod(cluster.client, 'default', 'ram', (x) => x.status?.phase === 'Running', 30_000, 'Running');
    const podDir = join(cluster.home, 'pods', p.metadata.uid!);
    await waitFor(async () => /No space left on device/.test((await cluster.mp(['logs', 'ram'])).stdout), 10_000, 'dd to hit the limit');
    const logs = (await cluster.mp(['logs', 'ram'])).stdout;
    expect(logs).toMatch(/^tmpfs \/cache tmpfs rw,nosuid,nodev.*size=1024k/m);
    expect(mountsUnder(podDir)).toHaveLength(1);
    const del = await cluster.mp(['delete', 'pod', 'ram', '--grace-period', '0', '--force']);
    expect(del.code).toBe(0);
    await waitFor(() => !existsSync(podDir), 20_000, 'the pod folder to be removed');
    expect(mountsUnder(podDir)).toEqual([]);
  }, 60_000);
});
