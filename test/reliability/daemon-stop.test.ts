// `daemon stop` keeps the promise a graceful deletion made: a pod being deleted
// gets its grace period (its SIGTERM handler runs to the end) and is removed,
// from Docker and from the API, before the daemon exits; other pods keep running.
import { afterAll, expect, it } from 'vitest';
import { TestCluster, docker, waitFor } from '../e2e/harness.js';

const cluster = new TestCluster();
afterAll(async () => {
  await cluster.mp(['daemon', 'stop']);
  await cluster.cleanup();
}, 60_000);

const manifest = (name: string) => `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
spec:
  terminationGracePeriodSeconds: 20
  containers:
    - name: app
      image: busybox:1.36
      command: ["sh", "-c", "trap 'sleep 3; exit 7' TERM; while :; do sleep 1; done"]
`;

it('waits for a pod being deleted to finish its grace period, removes it, and leaves the others running', async () => {
  expect((await cluster.mp(['daemon', 'start'])).code).toBe(0);
  const applied = await cluster.mp(['apply', '-f', '-', '--wait'], manifest('leaving') + '---\n' + manifest('staying'));
  expect(applied.code, applied.stderr).toBe(0);
  const leaving = await cluster.client.getPod('default', 'leaving');
  const since = Math.floor(Date.now() / 1000) - 1;

  // Delete, and stop the daemon at once: the kubelet may not even have seen the deletion yet.
  await cluster.client.deletePod('default', 'leaving');
  const stopped = await cluster.mp(['daemon', 'stop']);
  expect(stopped.code, stopped.stderr).toBe(0);
  expect(stopped.stdout).toContain('waiting for pods being deleted to finish their grace period (at most 20 s)');
  expect(stopped.stdout).toContain('1 pod keeps running; the next start adopts them');

  // The handler ran to its end (exit 7 after its 3 s, not SIGKILL's 137), and nothing of the pod is left.
  const events = await docker.getEvents({ since, until: Math.ceil(Date.now() / 1000), filters: { type: ['container'], event: ['die'], label: [`io.kubernetes.pod.uid=${leaving.metadata.uid}`, 'minipod.io/kind=app'] } });
  const text = await new Promise<string>((resolve) => {
    let buf = '';
    events.on('data', (d: Buffer) => (buf += d));
    events.on('end', () => resolve(buf));
  });
  const exits = text.split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { Actor: { Attributes: { exitCode: string } } }).Actor.Attributes.exitCode);
  expect(exits).toEqual(['7']);
  expect(await cluster.containers(leaving.metadata.uid)).toEqual([]);
  const staying = await cluster.client.getPod('default', 'staying').catch(() => undefined);
  expect(staying, 'the API server is down once the daemon stopped').toBeUndefined();
  expect((await cluster.containers()).filter((c) => c.State === 'running').map((c) => c.Labels['io.kubernetes.pod.name']).sort()).toEqual(['staying', 'staying']);

  // The next start finds it gone from the API too.
  expect((await cluster.mp(['daemon', 'start'])).code).toBe(0);
  const got = await cluster.mp(['get', 'pod', 'leaving']);
  expect(got.stderr).toContain('pods "leaving" not found');
  await waitFor(async () => (await cluster.client.getPod('default', 'staying')).status?.phase === 'Running', 10_000, 'the other pod to be adopted');
}, 90_000);
