// A node publishes its own kubelet endpoint; a hostile one could name any local
// unix socket (Docker's) and have the API server dial it with a pod's log or exec.
// Only a kubelet socket of that very node, private to the daemon's user, is dialled.
import http from 'node:http';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KUBELET_ENDPOINT_ANNOTATION } from '../../src/api/kubelet-endpoint.js';
import { Registry } from '../../src/apiserver/registry.js';
import { createApiServer } from '../../src/apiserver/server.js';
import { type ApiStatusError, Client } from '../../src/client/client.js';
import { SqliteStore } from '../../src/store/sqlite.js';

const dir = mkdtempSync(join(os.tmpdir(), 'minipod-kubelet-socket-'));
const store = new SqliteStore(join(dir, 'store.db'));
const api = createApiServer({ registry: new Registry(store), logger: pino({ level: 'silent' }) });
const client = new Client({ socketPath: join(dir, 'api.sock') });
const dialled: string[] = [];
// Stand-ins for local sockets a node might point at: each records that it was reached.
const sockets = ['docker.sock', 'kubelet-n1.sock', 'kubelet-n2.sock'].map((name) => {
  const server = http.createServer((req, res) => {
    dialled.push(`${name} ${req.url}`);
    res.end('logs');
  });
  return { name, path: join(dir, name), server };
});

beforeAll(async () => {
  await new Promise<void>((r) => api.listen(join(dir, 'api.sock'), r));
  for (const s of sockets) await new Promise<void>((r) => s.server.listen(s.path, r));
  for (const s of sockets) chmodSync(s.path, 0o600);
  chmodSync(join(dir, 'kubelet-n2.sock'), 0o666); // the right name, but anyone could have made it
  for (const [node, sock] of [['n0', 'docker.sock'], ['n1', 'kubelet-n1.sock'], ['n2', 'kubelet-n2.sock'], ['n3', 'kubelet-n1.sock']]) {
    await client.request('POST', '/api/v1/nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name: node, annotations: { [KUBELET_ENDPOINT_ANNOTATION]: `unix://${join(dir, sock)}` } } });
    await client.request('POST', '/api/v1/namespaces/default/pods', { apiVersion: 'v1', kind: 'Pod', metadata: { name: `p-${node}` }, spec: { nodeName: node, containers: [{ name: 'c', image: 'busybox:1.36' }] } });
    const pod = await client.getPod('default', `p-${node}`);
    await client.request('PUT', `/api/v1/namespaces/default/pods/p-${node}/status`, { ...pod, status: { phase: 'Running', containerStatuses: [{ name: 'c', ready: true, restartCount: 0, image: 'busybox:1.36', imageID: '', state: { running: { startedAt: new Date().toISOString() } } }] } });
  }
});
afterAll(async () => {
  client.close();
  api.closeAllConnections();
  await new Promise((r) => api.close(r));
  for (const s of sockets) await new Promise((r) => s.server.close(r));
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const logs = (node: string) => client.request<string>('GET', `/api/v1/namespaces/default/pods/p-${node}/log`).then(
  () => 'ok',
  (e: ApiStatusError) => `${e.code} ${e.message}`,
);

describe("a node's unix-socket kubelet endpoint", () => {
  it("is dialled when it is that node's own private kubelet socket", async () => {
    expect(await logs('n1')).toBe('ok');
    expect(dialled).toEqual(['kubelet-n1.sock /containerLogs/default/p-n1/c?']);
  });

  it.each([
    ['n0', 'docker.sock', "another service's socket"],
    ['n2', 'kubelet-n2.sock', 'a socket others may write'],
    ['n3', 'kubelet-n1.sock', "another node's kubelet"],
  ])('is refused, and never dialled, for node %s pointing at %s (%s)', async (node, sock) => {
    dialled.length = 0;
    expect(await logs(node)).toBe(`502 error dialing backend: node "${node}" publishes unix://${join(dir, sock)}, which is not a kubelet socket of that node: nothing was sent to it`);
    expect(dialled).toEqual([]);
  });
});
