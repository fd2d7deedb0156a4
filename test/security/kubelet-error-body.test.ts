// A kubelet's error answer is relayed to the client: a hostile or broken node may
// make it endless. The API server reads at most 16 KiB of it, for pods/log and
// for a refused exec upgrade alike. (The kubelet serves HTTPS with the certificate
// its Node pins, as the API server reaches a kubelet on TCP no other way.)
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
import { MAX_ERROR_BODY_BYTES } from '../../src/apiserver/proxy.js';
import { Registry } from '../../src/apiserver/registry.js';
import { createApiServer } from '../../src/apiserver/server.js';
import { type ApiStatusError, Client } from '../../src/client/client.js';
import { SqliteStore } from '../../src/store/sqlite.js';

const dir = mkdtempSync(join(os.tmpdir(), 'minipod-kubelet-error-'));
const store = new SqliteStore(join(dir, 'store.db'));
const api = createApiServer({ registry: new Registry(store), logger: pino({ level: 'silent' }) });
const client = new Client({ socketPath: join(dir, 'api.sock') });
let sent = 0;
// A kubelet that answers every request with an error body that never ends.
const serving = await selfSignedServingCertificate(['127.0.0.1'], 'system:node:flood');
const kubelet = https.createServer(serving, (_req, res) => {
  res.writeHead(500, { 'Content-Type': 'text/plain' });
  const chunk = Buffer.alloc(64 * 1024, 'x');
  const pump = () => {
    while (sent < 1 << 30 && res.write(chunk)) sent += chunk.length;
  };
  res.on('drain', pump);
  pump();
});

beforeAll(async () => {
  await new Promise<void>((r) => api.listen(join(dir, 'api.sock'), r));
  await new Promise<void>((r) => kubelet.listen(0, '127.0.0.1', r));
  const port = (kubelet.address() as net.AddressInfo).port;
  await client.request('POST', '/api/v1/nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name: 'flood', annotations: { [KUBELET_ENDPOINT_ANNOTATION]: `https://127.0.0.1:${port}`, [KUBELET_SERVING_CERT_ANNOTATION]: certificateSha256(serving.cert) } } });
  await client.request('POST', '/api/v1/namespaces/default/pods', {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p' },
    spec: { nodeName: 'flood', containers: [{ name: 'c', image: 'busybox:1.36' }] },
  });
  await client.request('PUT', '/api/v1/namespaces/default/pods/p/status', {
    ...(await client.getPod('default', 'p')),
    status: { phase: 'Running', containerStatuses: [{ name: 'c', ready: true, restartCount: 0, image: 'busybox:1.36', imageID: '', state: { running: { startedAt: new Date().toISOString() } } }] },
  });
});
afterAll(async () => {
  client.close();
  api.closeAllConnections();
  kubelet.closeAllConnections();
  await new Promise((r) => api.close(r));
  await new Promise((r) => kubelet.close(r));
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('an endless error from a kubelet', () => {
  it('is cut at 16 KiB in pods/log', async () => {
    sent = 0;
    const err = (await client.request('GET', '/api/v1/namespaces/default/pods/p/log').catch((e) => e)) as ApiStatusError;
    expect(err.code).toBe(500);
    expect(err.message.length).toBeLessThan(MAX_ERROR_BODY_BYTES + 200);
    expect(err.message).toContain('... (truncated)');
    expect(sent).toBeLessThan(64 * 1024 * 1024); // the API server stopped reading long before the end
  });

  it('is cut at 16 KiB when the kubelet refuses an exec upgrade', async () => {
    sent = 0;
    const answer = await new Promise<string>((resolve) => {
      const s = net.connect(join(dir, 'api.sock'));
      let text = '';
      s.on('data', (d) => (text += d));
      s.on('close', () => resolve(text));
      s.write(
        'GET /api/v1/namespaces/default/pods/p/exec?command=id&stdout=true HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n' +
          'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: v5.channel.k8s.io\r\n\r\n',
      );
    });
    expect(answer).toMatch(/^HTTP\/1\.1 500 /);
    expect(answer.length).toBeLessThan(MAX_ERROR_BODY_BYTES + 1024);
    expect(sent).toBeLessThan(64 * 1024 * 1024);
  });
});
