// The official JavaScript client (@kubernetes/client-node 1.4, the last line that
// runs on Node 20) against `minipod daemon --listen` with its bearer token, over
// HTTPS verified against the cluster CA ($MINIPOD_HOME/ca.crt): typed calls, Watch,
// and an informer (list + watch with resume).
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestCluster, waitFor } from './harness.js';

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise((r) => srv.close(r));
  return port;
}

const port = await freePort();
const cluster = new TestCluster({ daemonArgs: ['--listen', `127.0.0.1:${port}`] });
let kc: k8s.KubeConfig;
let api: k8s.CoreV1Api;

function kubeConfig(token: string): k8s.KubeConfig {
  const config = new k8s.KubeConfig();
  config.loadFromOptions({
    clusters: [{ name: 'minipod', server: `https://127.0.0.1:${port}`, caFile: join(cluster.home, 'ca.crt') }],
    users: [{ name: 'me', token }],
    contexts: [{ name: 'minipod', cluster: 'minipod', user: 'me', namespace: 'default' }],
    currentContext: 'minipod',
  });
  return config;
}

beforeAll(async () => {
  await cluster.start();
  kc = kubeConfig(readFileSync(join(cluster.home, 'token'), 'utf8').trim());
  api = kc.makeApiClient(k8s.CoreV1Api);
}, 30_000);
afterAll(() => cluster.cleanup(), 60_000);

const podBody = (name: string, labels: Record<string, string>): k8s.V1Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, labels },
  spec: {
    terminationGracePeriodSeconds: 2,
    containers: [{ name: 'main', image: 'busybox:1.36', command: ['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 0.2; done'] }],
  },
});

describe('@kubernetes/client-node', () => {
  it('is refused without the token (401) and with a wrong one', async () => {
    for (const token of ['', 'wrong']) {
      const bad = kubeConfig(token).makeApiClient(k8s.CoreV1Api);
      const err = await bad.listNamespacedPod({ namespace: 'default' }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(k8s.ApiException);
      expect((err as k8s.ApiException<unknown>).code).toBe(401);
    }
  });

  it('creates, reads, lists with a labelSelector, watches and deletes a pod', async () => {
    const seen: { type: string; name: string; phase?: string; deleting: boolean }[] = [];
    const watch = new k8s.Watch(kc);
    let watchError: unknown;
    const controller = await watch.watch(
      '/api/v1/namespaces/default/pods',
      { labelSelector: 'suite=client-node' },
      (type: string, obj: k8s.V1Pod) => seen.push({ type, name: obj.metadata!.name!, phase: obj.status?.phase, deleting: !!obj.metadata?.deletionTimestamp }),
      (err: unknown) => (watchError = err),
    );
    try {
      const created = await api.createNamespacedPod({ namespace: 'default', body: podBody('js-client', { suite: 'client-node' }) });
      expect(created.metadata?.uid).toMatch(/^[0-9a-f-]{36}$/);
      expect(created.status?.phase).toBe('Pending');

      const read = await api.readNamespacedPod({ name: 'js-client', namespace: 'default' });
      expect(read.metadata?.labels).toEqual({ suite: 'client-node' });
      expect(read.spec?.containers[0].imagePullPolicy).toBe('IfNotPresent'); // defaulted by the server

      await api.createNamespacedPod({ namespace: 'default', body: podBody('js-other', { suite: 'elsewhere' }) });
      const list = await api.listNamespacedPod({ namespace: 'default', labelSelector: 'suite in (client-node)' });
      expect(list.items.map((p) => p.metadata?.name)).toEqual(['js-client']);
      expect(list.metadata?.resourceVersion).toMatch(/^\d+$/);

      await waitFor(() => seen.some((e) => e.type === 'MODIFIED' && e.phase === 'Running'), 30_000, 'the pod to run');
      const deleted = await api.deleteNamespacedPod({ name: 'js-client', namespace: 'default', gracePeriodSeconds: 2 });
      expect(deleted.metadata?.deletionTimestamp).toBeDefined();
      await waitFor(() => seen.some((e) => e.type === 'DELETED'), 15_000, 'the DELETED event');

      expect(seen[0]).toMatchObject({ type: 'ADDED', name: 'js-client', phase: 'Pending' });
      expect(seen.some((e) => e.type === 'MODIFIED' && e.deleting)).toBe(true);
      expect(seen.at(-1)).toMatchObject({ type: 'DELETED', name: 'js-client' });
      expect(seen.every((e) => e.name === 'js-client')).toBe(true); // the selector held
      expect(watchError).toBeUndefined();
      await expect(api.readNamespacedPod({ name: 'js-client', namespace: 'default' })).rejects.toMatchObject({ code: 404 });
      await api.deleteNamespacedPod({ name: 'js-other', namespace: 'default' });
    } finally {
      controller.abort();
    }
  }, 60_000);

  it('runs an informer (list, then watch from its resourceVersion) that sees adds, updates and deletes', async () => {
    const labelSelector = 'suite=informer';
    const informer = k8s.makeInformer(kc, '/api/v1/namespaces/default/pods', () => api.listNamespacedPod({ namespace: 'default', labelSelector }), labelSelector);
    const log: string[] = [];
    informer.on('add', (p) => log.push(`add ${p.metadata!.name}`));
    informer.on('update', (p) => log.push(`update ${p.metadata!.name} ${p.metadata!.labels?.step ?? ''}`.trim()));
    informer.on('delete', (p) => log.push(`delete ${p.metadata!.name}`));
    const parked = (name: string): k8s.V1Pod => ({
      metadata: { name, labels: { suite: 'informer' } },
      spec: { nodeSelector: { 'minipod.io/parked': 'true' }, containers: [{ name: 'main', image: 'busybox:1.36' }] },
    });
    await api.createNamespacedPod({ namespace: 'default', body: parked('inf-a') });
    await informer.start();
    try {
      await waitFor(() => log.includes('add inf-a'), 5_000, 'the listed pod');
      await api.createNamespacedPod({ namespace: 'default', body: parked('inf-b') });
      await api.patchNamespacedPod(
        { name: 'inf-a', namespace: 'default', body: { metadata: { labels: { step: 'two' } } } },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
      );
      await api.deleteNamespacedPod({ name: 'inf-b', namespace: 'default' });
      await waitFor(() => log.includes('update inf-a two') && log.includes('delete inf-b'), 10_000, 'the informer to catch up');
      expect(log.filter((l) => l.startsWith('add'))).toEqual(['add inf-a', 'add inf-b']);
      expect(informer.list().map((p) => p.metadata!.name)).toEqual(['inf-a']);
      expect(informer.get('inf-a', 'default')?.metadata?.labels?.step).toBe('two');
    } finally {
      await informer.stop();
    }
  }, 30_000);
});
