// One client may hold only so many watches and streams (exec, attach,
// port-forward) at once; the next is answered 429 "Too many requests, please try
// again later." with Retry-After, and a slot frees when one of them closes.
import https from 'node:https';
import net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { certificateSha256 } from '../../src/api/cert-pins.js';
import { KUBELET_ENDPOINT_ANNOTATION, KUBELET_SERVING_CERT_ANNOTATION } from '../../src/api/kubelet-endpoint.js';
import { selfSignedServingCertificate } from '../../src/api/pki.js';
import { MAX_PER_CLIENT } from '../../src/apiserver/inflight.js';
import { closeStreamTunnels } from '../../src/apiserver/proxy.js';
import { Registry } from '../../src/apiserver/registry.js';
import { createApiServer } from '../../src/apiserver/server.js';
import { Client } from '../../src/client/client.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { waitFor } from '../e2e/harness.js';

const dir = mkdtempSync(join(os.tmpdir(), 'minipod-inflight-'));
const socketPath = join(dir, 'api.sock');
const store = new SqliteStore(join(dir, 'store.db'));
const api = createApiServer({ registry: new Registry(store), logger: pino({ level: 'silent' }) });
const client = new Client({ socketPath });
// A kubelet that accepts every exec upgrade and keeps it open (over HTTPS, with the certificate its Node pins).
const serving = await selfSignedServingCertificate(['127.0.0.1'], 'system:node:n');
const kubelet = https.createServer(serving);
kubelet.on('upgrade', (_req, socket: net.Socket) => {
  socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: x\r\n\r\n');
  socket.on('error', () => {});
  socket.on('end', () => socket.end()); // as a real kubelet does when its client goes away
});
const open: net.Socket[] = [];

beforeAll(async () => {
  MAX_PER_CLIENT.watch = 3;
  MAX_PER_CLIENT.stream = 2;
  await new Promise<void>((r) => api.listen(socketPath, r));
  await new Promise<void>((r) => kubelet.listen(0, '127.0.0.1', r));
  const port = (kubelet.address() as net.AddressInfo).port;
  await client.request('POST', '/api/v1/nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n', annotations: { [KUBELET_ENDPOINT_ANNOTATION]: `https://127.0.0.1:${port}`, [KUBELET_SERVING_CERT_ANNOTATION]: certificateSha256(serving.cert) } } });
  await client.request('POST', '/api/v1/namespaces/default/pods', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { nodeName: 'n', containers: [{ name: 'c', image: 'busybox:1.36' }] } });
});
afterAll(async () => {
  for (const s of open) s.destroy();
  closeStreamTunnels();
  client.close();
  api.closeAllConnections();
  kubelet.closeAllConnections();
  await new Promise((r) => api.close(r));
  await new Promise((r) => kubelet.close(r));
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Sends a raw request and resolves with the head of the answer, leaving the connection open. */
function request(text: string): Promise<{ head: string; socket: net.Socket }> {
  return new Promise((resolve) => {
    const socket = net.connect(socketPath);
    socket.on('error', () => {});
    open.push(socket);
    let got = '';
    const onData = (d: Buffer) => {
      got += d;
      if (got.includes('\r\n\r\n')) {
        socket.off('data', onData);
        resolve({ head: got, socket });
      }
    };
    socket.on('data', onData);
    socket.write(text);
  });
}
/** Polls with `text` until it is admitted (the server sees a close on a later turn). */
const admittedAgain = (text: string, status: string) =>
  waitFor(async () => (await request(text)).head.startsWith(`HTTP/1.1 ${status} `), 2_000, 'a slot to free');

describe('long-running requests of one client', () => {
  it('admits 3 watches, answers the 4th 429 with Retry-After, and admits again after one closes', async () => {
    const watch = 'GET /api/v1/namespaces/default/pods?watch=true HTTP/1.1\r\nHost: x\r\n\r\n';
    const held = [await request(watch), await request(watch), await request(watch)];
    for (const h of held) expect(h.head).toMatch(/^HTTP\/1\.1 200 /);
    const refused = await request(watch);
    expect(refused.head).toMatch(/^HTTP\/1\.1 429 /);
    expect(refused.head).toMatch(/\r\nRetry-After: 1\r\n/i);
    expect(refused.head).toContain('Too many requests, please try again later.');
    held[0].socket.destroy();
    await admittedAgain(watch, '200');
  });

  it('admits 2 exec streams, refuses the 3rd, and admits again after one closes', async () => {
    const exec =
      'GET /api/v1/namespaces/default/pods/p/exec?command=sh&stdin=true&stdout=true HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n' +
      'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: v5.channel.k8s.io\r\n\r\n';
    const held = [await request(exec), await request(exec)];
    for (const h of held) expect(h.head).toMatch(/^HTTP\/1\.1 101 /);
    const refused = await request(exec);
    expect(refused.head).toMatch(/^HTTP\/1\.1 429 /);
    held[0].socket.destroy();
    await admittedAgain(exec, '101');
  });
});
