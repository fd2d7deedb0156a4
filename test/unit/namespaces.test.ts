// Namespaces through the API, in process (no Docker): built-in ones, creation
// checks, and deletion that empties a namespace before removing it.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Pod } from '../../src/api/types.js';
import { Registry } from '../../src/apiserver/registry.js';
import { createApiServer } from '../../src/apiserver/server.js';
import { ApiStatusError, Client } from '../../src/client/client.js';
import { SqliteStore } from '../../src/store/sqlite.js';

let client: Client;
let stop: () => Promise<void>;
beforeEach(async () => {
  const dir = mkdtempSync(join(os.tmpdir(), 'minipod-ns-'));
  const store = new SqliteStore(join(dir, 'store.db'));
  const server = createApiServer({ registry: new Registry(store), logger: pino({ level: 'silent' }) });
  const socket = join(dir, 'api.sock');
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  client = new Client({ socketPath: socket });
  stop = async () => {
    client.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  };
});
afterEach(() => stop());

interface Namespace {
  metadata: { name: string; labels?: Record<string, string>; deletionTimestamp?: string };
  spec?: { finalizers?: string[] };
  status?: { phase?: string };
}
const list = async () => (await client.request<{ kind: string; items: Namespace[] }>('GET', '/api/v1/namespaces'));
const pod = (name: string): Pod => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { containers: [{ name: 'c', image: 'busybox:1.36' }] } });
const refusal = (p: Promise<unknown>) => p.then(() => undefined, (e: ApiStatusError) => e.status);

describe('namespaces', () => {
  it('has the built-in namespaces, Active and labelled with their name', async () => {
    const l = await list();
    expect(l.kind).toBe('NamespaceList');
    expect(l.items.map((n) => n.metadata.name)).toEqual(['default', 'kube-node-lease', 'kube-public', 'kube-system']);
    expect(l.items[0]).toMatchObject({ metadata: { labels: { 'kubernetes.io/metadata.name': 'default' } }, spec: { finalizers: ['kubernetes'] }, status: { phase: 'Active' } });
    const table = await client.request<{ columnDefinitions: { name: string }[]; rows: { cells: unknown[] }[] }>('GET', '/api/v1/namespaces/default', undefined, undefined, {
      Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io',
    });
    expect(table.columnDefinitions.map((c) => c.name)).toEqual(['Name', 'Status', 'Age']);
    expect(table.rows[0].cells.slice(0, 2)).toEqual(['default', 'Active']);
  });

  it('checks names, and refuses to delete the built-in ones', async () => {
    expect(await refusal(client.request('POST', '/api/v1/namespaces', { metadata: { name: 'Dev_1' } }))).toMatchObject({
      code: 422,
      reason: 'Invalid',
      message: expect.stringContaining('Namespace "Dev_1" is invalid: metadata.name: Invalid value: "Dev_1": a lowercase RFC 1123 label must consist of'),
    });
    expect(await refusal(client.request('DELETE', '/api/v1/namespaces/default'))).toMatchObject({
      code: 403,
      reason: 'Forbidden',
      message: 'namespaces "default" is forbidden: this namespace may not be deleted',
    });
    expect(await refusal(client.request('POST', '/api/v1/namespaces', { metadata: { name: 'default' } }))).toMatchObject({ code: 409, reason: 'AlreadyExists' });
  });

  it('deletes a namespace: Terminating, no new pods, its pods and events gone, then the namespace', async () => {
    const created = await client.request<Namespace>('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'dev' } });
    expect(created.status?.phase).toBe('Active');
    await client.createPod('dev', pod('unbound'));
    // A pod on a node is deleted gracefully: it stays until its kubelet (here: the test) lets go.
    await client.createPod('dev', { ...pod('bound'), spec: { ...pod('bound').spec, nodeName: 'n1' } });
    await client.createPod('default', pod('stays'));
    const deleting = await client.request<Namespace>('DELETE', '/api/v1/namespaces/dev');
    expect(deleting.status?.phase).toBe('Terminating');
    expect(deleting.metadata.deletionTimestamp).toBeDefined();
    expect(await refusal(client.createPod('dev', pod('late')))).toMatchObject({
      code: 403,
      reason: 'Forbidden',
      message: 'pods "late" is forbidden: unable to create new content in namespace dev because it is being terminated',
    });
    const waitUntil = async (cond: () => Promise<boolean>, what: string) => {
      const deadline = Date.now() + 5_000;
      while (!(await cond())) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    };
    await waitUntil(async () => (await client.getPod('dev', 'bound')).metadata.deletionTimestamp !== undefined, 'the bound pod to be terminating');
    expect((await client.listPods('dev')).items.map((p) => p.metadata.name)).toEqual(['bound']); // the unbound one went at once
    expect((await list()).items.find((n) => n.metadata.name === 'dev')?.status?.phase).toBe('Terminating');
    await client.deletePod('dev', 'bound', { gracePeriodSeconds: 0 }); // what the kubelet does when the containers are gone
    await waitUntil(async () => !(await list()).items.some((n) => n.metadata.name === 'dev'), 'the namespace to go');
    expect((await client.listPods('default')).items.map((p) => p.metadata.name)).toEqual(['stays']);
  });
});

describe('dryRun=All', () => {
  it('checks and answers a PATCH, PUT or DELETE as if done, and keeps nothing', async () => {
    const p = await client.createPod('default', pod('dry'));
    const patched = await client.request<Pod>('PATCH', '/api/v1/namespaces/default/pods/dry?dryRun=All', { metadata: { labels: { a: 'b' } } }, 'application/merge-patch+json');
    expect(patched.metadata.labels).toEqual({ a: 'b' });
    expect(await refusal(client.request('PATCH', '/api/v1/namespaces/default/pods/dry?dryRun=All', { metadata: { labels: { 'bad key': 'x' } } }, 'application/merge-patch+json'))).toMatchObject({ code: 422 });
    const del = await client.request<Pod>('DELETE', '/api/v1/namespaces/default/pods/dry', { kind: 'DeleteOptions', apiVersion: 'v1', dryRun: ['All'] });
    expect(del.metadata.name).toBe('dry');
    const ns = await client.request<Namespace>('DELETE', '/api/v1/namespaces/kube-node-lease?dryRun=All');
    expect(ns.status?.phase).toBe('Terminating');
    const now = await client.getPod('default', 'dry');
    expect(now.metadata.resourceVersion).toBe(p.metadata.resourceVersion); // untouched
    expect(now.metadata.labels).toBeUndefined();
    expect((await list()).items.find((n) => n.metadata.name === 'kube-node-lease')?.status?.phase).toBe('Active');
  });
});
