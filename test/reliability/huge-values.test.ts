// Huge but valid values: Kubernetes takes any positive int64 for deadlines, probe
// periods and timeouts. Node fires a timer longer than 2^31-1 ms after 1 ms, which
// turned a 35-day activeDeadlineSeconds into a pod worker syncing (and asking
// Docker) hundreds of times a second, and a long probe timeout into an instant failure.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Pod } from '../../src/api/types.js';
import { realClock } from '../../src/kubelet/clock.js';
import { TestCluster, watchPod } from '../e2e/harness.js';

const cluster = new TestCluster();
beforeAll(() => cluster.start(), 30_000);
afterAll(() => cluster.cleanup(), 60_000);

/** CPU seconds (user + system) the process has used so far. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
}

it('a timer beyond 24.8 days does not fire at once', async () => {
  let fired = false;
  const t = realClock.setTimeout(() => (fired = true), 3e12);
  await new Promise((r) => setTimeout(r, 100));
  realClock.clearTimeout(t);
  expect(fired).toBe(false);
});

it('a pod with a 35-day deadline and 35-day probe timeouts runs quietly and Ready', async () => {
  const pod: Pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'patient' },
    spec: {
      activeDeadlineSeconds: 3_000_000,
      terminationGracePeriodSeconds: 3_000_000,
      containers: [
        {
          name: 'c',
          image: 'busybox:1.36',
          command: ['sh', '-c', 'trap "exit 0" TERM; while :; do sleep 1; done'],
          readinessProbe: { exec: { command: ['true'] }, periodSeconds: 1, timeoutSeconds: 3_000_000 },
          livenessProbe: { exec: { command: ['true'] }, periodSeconds: 1, timeoutSeconds: 3_000_000, initialDelaySeconds: 0 },
        },
      ],
    },
  };
  await cluster.client.createPod('default', pod);
  const ready = await watchPod(cluster.client, 'default', 'patient', (p) => p.status?.containerStatuses?.[0]?.ready === true, 30_000, 'Ready');
  expect(ready.status!.phase).toBe('Running');

  // A quiet daemon uses a few percent of a core; a hot loop uses most of one.
  const pid = cluster.daemonPid!;
  const before = cpuSeconds(pid);
  await new Promise((r) => setTimeout(r, 3_000));
  const used = cpuSeconds(pid) - before;
  console.info(`huge values: the daemon used ${used.toFixed(2)} CPU s in 3 s with a 35-day deadline`);
  expect(used).toBeLessThan(0.6);
  const after = await cluster.client.getPod('default', 'patient');
  expect(after.status!.containerStatuses![0]).toMatchObject({ ready: true, restartCount: 0 });
  await cluster.client.deletePod('default', 'patient', { gracePeriodSeconds: 0 });
}, 60_000);
