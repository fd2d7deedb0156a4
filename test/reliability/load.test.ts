// Load through the API. First 20 concurrent clients create, label and delete 500 pods
// that no node fits (nothing starts): no 5xx, nothing lost or duplicated, the final
// state (and what a watch saw) equals the expected state. Then real pods on Docker:
// all Running, then all deleted cleanly, measured against raw Docker doing the same
// (pause + app pairs, started all at once, then stopped and removed) in the same run,
// so that a loaded machine moves both sides alike.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pod, WatchEvent } from '../../src/api/types.js';
import { ApiStatusError, Client } from '../../src/client/client.js';
import { RAW_LABEL, rawCleanup, rawPodStart, rawPodStop } from '../../bench/raw.js';
import { TestCluster, docker, waitFor } from '../e2e/harness.js';

const cluster = new TestCluster();
const RAW_RUN = `load-${cluster.node}`; // the raw baseline's containers carry ${RAW_LABEL}=this
const figures: string[] = [];
beforeAll(async () => {
  await cluster.start();
  for (const ns of ['load', 'real']) await cluster.client.request('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
}, 30_000);
afterAll(async () => {
  await cluster.cleanup();
  await rawCleanup(RAW_RUN, docker);
  console.info(`load: ${figures.join('; ')}`);
}, 120_000);

const CLIENTS = 20;
const PODS = 500;
// Real pods: 30 in the suite keeps it short (Docker alone needs ~1 s per pod here); MINIPOD_LOAD_PODS=100 gives the figure.
const REAL = Number(process.env.MINIPOD_LOAD_PODS ?? 30);
const GRACE = 2;
const MAX_RATIO = 1.5;
const APP = { image: 'busybox:1.36', cmd: ['sh', '-c', 'trap "exit 0" TERM; while :; do sleep 1; done'] };

function unschedulable(name: string, client: number): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: { client: `c${client}`, step: 'created' } },
    spec: { nodeSelector: { 'minipod.io/nowhere': 'true' }, containers: [{ name: 'c', image: 'busybox:1.36' }] },
  };
}

describe('load', () => {
  it(`${CLIENTS} concurrent clients create, label and delete ${PODS} pods: no 5xx, nothing lost or duplicated`, async () => {
    const ns = 'load';
    const codes = new Map<number, number>(); // failures by HTTP status
    const expected = new Map<string, Record<string, string>>(); // name -> labels
    const start = await cluster.client.listPods(ns);
    const seen = new Map<string, Pod>(); // what one watch saw, from before the first write
    const watch = cluster.client.watch<Pod>('pods', ns, { resourceVersion: start.metadata.resourceVersion }, (e: WatchEvent<Pod>) => {
      if (e.type === 'DELETED') seen.delete(e.object.metadata.name!);
      else if (e.type === 'ADDED' || e.type === 'MODIFIED') seen.set(e.object.metadata.name!, e.object);
    });
    const clients = Array.from({ length: CLIENTS }, () => new Client({ socketPath: join(cluster.home, 'minipod.sock') }));
    let ops = 0;
    const call = async <T>(fn: () => Promise<T>): Promise<T | undefined> => {
      ops++;
      try {
        return await fn();
      } catch (err) {
        const code = err instanceof ApiStatusError ? err.code : -1;
        codes.set(code, (codes.get(code) ?? 0) + 1);
        return undefined;
      }
    };
    const began = Date.now();
    const mine = (c: number) => Array.from({ length: PODS / CLIENTS }, (_, k) => c + k * CLIENTS);
    // Each client creates its pods; then each labels its own pods while its neighbour
    // labels them too (another key, same moment: a merge patch must not conflict);
    // then each deletes one pod in five of its own.
    await Promise.all(
      clients.map(async (client, c) => {
        for (const i of mine(c)) {
          const created = await call(() => client.createPod(ns, unschedulable(`load-${i}`, c)));
          if (created) expected.set(`load-${i}`, { ...created.metadata.labels });
        }
      }),
    );
    await Promise.all(
      clients.map(async (client, c) => {
        const peer = (c + 1) % CLIENTS;
        const theirs = mine(peer);
        for (const [k, i] of mine(c).entries()) {
          const own = call(() => client.patchPod(ns, `load-${i}`, { metadata: { labels: { step: 'labelled', n: String(i) } } }));
          const other = call(() => client.patchPod(ns, `load-${theirs[k]}`, { metadata: { labels: { peer: `c${c}` } } }));
          const [a, b] = await Promise.all([own, other]);
          if (a) Object.assign(expected.get(`load-${i}`)!, { step: 'labelled', n: String(i) });
          if (b) Object.assign(expected.get(`load-${theirs[k]}`)!, { peer: `c${c}` });
        }
      }),
    );
    await Promise.all(
      clients.map(async (client, c) => {
        for (const i of mine(c).filter((i) => i % 5 === 0)) {
          if (await call(() => client.deletePod(ns, `load-${i}`, { gracePeriodSeconds: 0 }))) expected.delete(`load-${i}`);
        }
      }),
    );
    const elapsed = Date.now() - began;
    for (const c of clients) c.close();
    figures.push(`${ops} API writes by ${CLIENTS} clients in ${elapsed} ms (${Math.round((ops / elapsed) * 1000)} writes/s)`);

    expect(Object.fromEntries(codes), 'failed requests by status code').toEqual({});
    expect(expected.size).toBe(PODS - PODS / 5);
    const list = (await cluster.client.listPods(ns)).items;
    const names = list.map((p) => p.metadata.name!);
    expect(new Set(names).size, 'no duplicated names').toBe(names.length);
    expect(new Set(list.map((p) => p.metadata.uid)).size, 'no duplicated uids').toBe(list.length);
    expect(names.sort()).toEqual([...expected.keys()].sort());
    for (const p of list) expect(p.metadata.labels, p.metadata.name).toEqual(expected.get(p.metadata.name!));
    expect(list.every((p) => p.metadata.labels?.step === 'labelled' && p.metadata.labels.peer), 'every pod labelled twice').toBe(true);
    // A selector sees exactly one client's pods.
    const c3 = (await cluster.client.listPods(ns, { labelSelector: 'client=c3,step=labelled' })).items.map((p) => p.metadata.name);
    expect(c3.sort()).toEqual([...expected].filter(([, l]) => l.client === 'c3').map(([n]) => n).sort());
    // The watch missed nothing: replaying it gives the same state.
    await waitFor(() => seen.size === expected.size && [...seen.values()].every((p) => p.metadata.labels?.step === 'labelled' && p.metadata.labels.peer), 10_000, 'the watch to catch up');
    watch.stop();
    expect([...seen.keys()].sort()).toEqual([...expected.keys()].sort());
  }, 120_000);

  it(`${REAL} real pods on Docker: all Running, then all deleted, within ${MAX_RATIO}× raw Docker doing the same in the same run`, async () => {
    const ns = 'real';
    const names = Array.from({ length: REAL }, (_, i) => `real-${i}`);
    // The floor: the same pause + app pairs, all at once as the kubelet starts them,
    // then stopped with the same grace period and removed.
    const raw = await timed(() => Promise.all(names.map((n) => rawPodStart(RAW_RUN, n, APP, docker))));
    const rawStop = await timed(() => Promise.all(raw.value.map((p) => rawPodStop(p, GRACE, docker))));

    const pod = (name: string): Pod => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, labels: { load: 'real' } },
      spec: { terminationGracePeriodSeconds: GRACE, containers: [{ name: 'c', image: APP.image, command: APP.cmd }] },
    });
    const running = await timed(async () => {
      await Promise.all(names.map((n) => cluster.client.createPod(ns, pod(n))));
      return waitFor(async () => {
        const pods = (await cluster.client.listPods(ns)).items;
        return pods.length === REAL && pods.every((p) => p.status?.phase === 'Running' && p.status.containerStatuses?.[0]?.ready) ? pods : undefined;
      }, 40 * raw.ms + 30_000, `${REAL} pods to run`);
    });

    // Docker agrees: one sandbox and one container per pod, all running, distinct pod IPs.
    const containers = (await cluster.containers()).filter((c) => c.Labels['io.kubernetes.pod.namespace'] === ns);
    for (const p of running.value) {
      const mine = containers.filter((c) => c.Labels['io.kubernetes.pod.uid'] === p.metadata.uid);
      expect(mine.map((c) => `${c.Labels['minipod.io/kind']}:${c.State}`).sort(), p.metadata.name).toEqual(['app:running', 'sandbox:running']);
    }
    expect(new Set(running.value.map((p) => p.status!.podIP)).size).toBe(REAL);

    const deleted = await timed(async () => {
      await Promise.all(running.value.map((p) => cluster.client.deletePod(ns, p.metadata.name!)));
      await waitFor(async () => (await cluster.client.listPods(ns)).items.length === 0, 40 * rawStop.ms + 30_000, 'every pod to be deleted');
      await waitFor(async () => (await cluster.containers()).filter((c) => c.Labels['io.kubernetes.pod.namespace'] === ns).length === 0, 20_000, 'every container to be removed');
    });
    const startRatio = running.ms / raw.ms;
    const deleteRatio = deleted.ms / rawStop.ms;
    figures.push(
      `${REAL} real pods all Running in ${running.ms} ms vs raw Docker ${raw.ms} ms (${startRatio.toFixed(2)}×); ` +
        `deleted (grace ${GRACE} s) and removed in ${deleted.ms} ms vs raw Docker ${rawStop.ms} ms (${deleteRatio.toFixed(2)}×)`,
    );
    expect(startRatio, 'pods Running, against raw Docker').toBeLessThanOrEqual(MAX_RATIO);
    expect(deleteRatio, 'pods deleted, against raw Docker').toBeLessThanOrEqual(MAX_RATIO);
  }, Math.max(180_000, REAL * 8_000)); // ~1 s per pod for Docker alone, four passes (raw and minipod, start and stop)
});

async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const t0 = performance.now();
  const value = await fn();
  return { value, ms: Math.round(performance.now() - t0) };
}
