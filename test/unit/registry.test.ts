// The API server's object rules on a real (in-memory) SQLite store: defaults,
// AlreadyExists, Conflict, immutable spec, binding, graceful deletion.
import { beforeEach, describe, expect, it } from 'vitest';
import type { Pod } from '../../src/api/types.js';
import { Registry } from '../../src/apiserver/registry.js';
import type { ApiError } from '../../src/apiserver/status.js';
import { SqliteStore } from '../../src/store/sqlite.js';

let registry: Registry;
beforeEach(() => {
  registry = new Registry(new SqliteStore(':memory:'));
});

const manifest = (name = 'web'): Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, labels: { app: 'web' } },
  spec: { containers: [{ name: 'main', image: 'busybox' }] },
});

const fail = async (p: Promise<unknown>) => (await p.then(() => undefined, (e) => e)) as ApiError;

describe('create', () => {
  it('sets uid, timestamps, resourceVersion, Pending and the defaults', async () => {
    const pod = (await registry.create('pods', 'default', manifest())) as unknown as Pod;
    expect(pod.metadata).toMatchObject({ name: 'web', namespace: 'default', uid: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    expect(Number(pod.metadata.resourceVersion)).toBeGreaterThan(0);
    expect(pod.status).toEqual({ phase: 'Pending', qosClass: 'BestEffort' });
    expect(pod.spec).toMatchObject({ restartPolicy: 'Always', terminationGracePeriodSeconds: 30 });
    expect(pod.spec.containers[0].imagePullPolicy).toBe('Always'); // no tag means latest
  });

  it('refuses a second pod of the same name with AlreadyExists', async () => {
    await registry.create('pods', 'default', manifest());
    const err = await fail(registry.create('pods', 'default', manifest()));
    expect(err.toStatus()).toMatchObject({ code: 409, reason: 'AlreadyExists', message: 'pods "web" already exists' });
  });

  it('refuses an invalid pod with 422 and every problem', async () => {
    const bad = manifest('Web');
    bad.spec.containers[0].imagePullPolicy = 'Sometimes' as never;
    const err = await fail(registry.create('pods', 'default', bad));
    expect(err.code).toBe(422);
    expect(err.message).toMatch(/^Pod "Web" is invalid: \[metadata\.name: Invalid value: "Web".*spec\.containers\[0\]\.imagePullPolicy: Unsupported value: "Sometimes"/);
  });

  it('gives resourceVersions that only grow', async () => {
    const a = await registry.create('pods', 'default', manifest('a'));
    const b = await registry.create('pods', 'default', manifest('b'));
    expect(Number(b.metadata.resourceVersion)).toBeGreaterThan(Number(a.metadata.resourceVersion));
  });
});

describe('update', () => {
  it('refuses a stale resourceVersion with Conflict', async () => {
    const pod = (await registry.create('pods', 'default', manifest())) as unknown as Pod;
    await registry.update('pods', 'default', 'web', { ...pod, metadata: { ...pod.metadata, labels: { app: 'v2' } } });
    const err = await fail(registry.update('pods', 'default', 'web', { ...pod, metadata: { ...pod.metadata, labels: { app: 'v3' } } }));
    expect(err.toStatus()).toMatchObject({ code: 409, reason: 'Conflict' });
  });

  it('refuses a changed spec with the Kubernetes message, allows labels', async () => {
    const pod = (await registry.create('pods', 'default', manifest())) as unknown as Pod;
    const changed = structuredClone(pod);
    changed.spec.containers[0].command = ['sleep', '1'];
    const err = await fail(registry.update('pods', 'default', 'web', changed));
    expect(err.message).toMatch(/^Pod "web" is invalid: spec: Forbidden: pod updates may not change fields other than `spec.containers\[\*\].image`/);
    const relabelled = await registry.update('pods', 'default', 'web', { ...pod, metadata: { ...pod.metadata, labels: { app: 'v2' } } });
    expect(relabelled.metadata.labels).toEqual({ app: 'v2' });
  });
});

describe('binding', () => {
  it('sets nodeName once and PodScheduled', async () => {
    await registry.create('pods', 'default', manifest());
    await registry.bind('default', 'web', { target: { name: 'node1' } });
    const pod = (await registry.get('pods', 'default', 'web')) as unknown as Pod;
    expect(pod.spec.nodeName).toBe('node1');
    expect(pod.status!.conditions).toContainEqual(expect.objectContaining({ type: 'PodScheduled', status: 'True' }));
    const err = await fail(registry.bind('default', 'web', { target: { name: 'node2' } }));
    expect(err.toStatus()).toMatchObject({ code: 409, reason: 'Conflict' });
  });
});

describe('graceful deletion', () => {
  it('deletes an unbound pod at once', async () => {
    await registry.create('pods', 'default', manifest());
    await registry.delete('pods', 'default', 'web', {});
    expect((await fail(registry.get('pods', 'default', 'web'))).code).toBe(404);
  });

  it('marks a bound pod with deletionTimestamp and its grace period', async () => {
    await registry.create('pods', 'default', manifest());
    await registry.bind('default', 'web', { target: { name: 'node1' } });
    const before = Date.now();
    const pod = (await registry.delete('pods', 'default', 'web', { gracePeriodSeconds: 5 })) as unknown as Pod;
    expect(pod.metadata.deletionGracePeriodSeconds).toBe(5);
    expect(Date.parse(pod.metadata.deletionTimestamp!)).toBeGreaterThanOrEqual(before + 4000);
    // A longer grace period does not extend it; the kubelet's final delete (grace 0) removes it.
    const again = (await registry.delete('pods', 'default', 'web', { gracePeriodSeconds: 30 })) as unknown as Pod;
    expect(again.metadata.deletionGracePeriodSeconds).toBe(5);
    const wrongUid = await fail(registry.delete('pods', 'default', 'web', { gracePeriodSeconds: 0, preconditions: { uid: 'other' } }));
    expect(wrongUid.code).toBe(409);
    await registry.delete('pods', 'default', 'web', { gracePeriodSeconds: 0, preconditions: { uid: pod.metadata.uid } });
    expect((await fail(registry.get('pods', 'default', 'web'))).code).toBe(404);
  });
});
