// kill -9 of the daemon at random moments (fixed seeds) while pods are being
// created and deleted. After a restart and convergence: every stored pod has one
// pause and one container per spec container, no Docker object is left without a
// stored pod, no acknowledged pod is lost, and nothing was restarted.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Pod } from '../../src/api/types.js';
import { ApiStatusError } from '../../src/client/client.js';
import { TestCluster, waitFor } from '../e2e/harness.js';
import { prng } from './prng.js';

const ROUNDS = 10;
const PODS = 30;
const cluster = new TestCluster();
beforeAll(() => cluster.start(), 30_000);
afterAll(() => cluster.cleanup(), 120_000);


const pod = (name: string, containers: number): Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, labels: { test: 'crash' } },
  spec: {
    terminationGracePeriodSeconds: 1,
    containers: Array.from({ length: containers }, (_, i) => ({ name: `c${i}`, image: 'busybox:1.36', command: ['sleep', '3600'] })),
  },
});

it(`keeps pods and Docker consistent across ${ROUNDS} kill -9s of the daemon`, async () => {
  const acked = new Map<string, 'present' | 'deleted'>(); // what the API acknowledged
  for (let round = 0; round < ROUNDS; round++) {
    const rand = prng(1000 + round);
    if (round > 0) await cluster.start();
    const ops: Promise<void>[] = [];
    for (let i = 0; i < 12; i++) {
      const name = `p${Math.floor(rand() * PODS)}`;
      const del = rand() < 0.35;
      ops.push(
        (async () => {
          try {
            if (del) {
              await cluster.client.deletePod('default', name, { gracePeriodSeconds: 1 });
              acked.set(name, 'deleted');
            } else {
              await cluster.client.createPod('default', pod(name, 1 + Math.floor(rand() * 2)));
              acked.set(name, 'present');
            }
          } catch (err) {
            // Refused (AlreadyExists, NotFound) or cut off by the kill: not acknowledged.
            if (err instanceof ApiStatusError && err.code === 409 && !del) acked.set(name, acked.get(name) ?? 'present');
          }
        })(),
      );
    }
    await new Promise((r) => setTimeout(r, 100 + rand() * 1400));
    await cluster.stopDaemon('SIGKILL');
    await Promise.allSettled(ops);
  }

  await cluster.start();
  // Converge: terminating pods finish, every other pod runs all its containers.
  const settled = await waitFor(async () => {
    const pods = (await cluster.client.listPods('default')).items;
    const ok = pods.every(
      (p) => !p.metadata.deletionTimestamp && p.status?.phase === 'Running' && (p.status.containerStatuses ?? []).every((s) => s.ready),
    );
    return ok ? pods : undefined;
  }, 90_000, 'every pod to run');

  const stored = new Set(settled.map((p) => p.metadata.uid));
  for (const [name, state] of acked) {
    if (state === 'present') expect(settled.map((p) => p.metadata.name), `acknowledged pod ${name}`).toContain(name);
  }
  const containers = await cluster.containers();
  for (const p of settled) {
    const mine = containers.filter((c) => c.Labels['io.kubernetes.pod.uid'] === p.metadata.uid);
    expect(mine.filter((c) => c.Labels['minipod.io/kind'] === 'sandbox').length, `sandboxes of ${p.metadata.name}`).toBe(1);
    expect(mine.filter((c) => c.Labels['minipod.io/kind'] === 'app').length, `containers of ${p.metadata.name}`).toBe(p.spec.containers.length);
    expect(mine.every((c) => c.State === 'running')).toBe(true);
    expect(p.status!.containerStatuses!.every((s) => s.restartCount === 0)).toBe(true);
  }
  // Orphans are removed once the kubelet has resynced.
  await waitFor(async () => (await cluster.containers()).every((c) => stored.has(c.Labels['io.kubernetes.pod.uid'])), 20_000, 'orphans to be removed');
  console.info(`crash safety: ${ROUNDS} kill -9s, ${settled.length} pods converged with ${containers.length} containers`);
}, 240_000);
