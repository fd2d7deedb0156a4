// Authentication is decided by the listener that accepted a connection, never by
// a guess from the peer's address: the reset trick (send a request, then reset
// the connection with SO_LINGER 0 so that the peer's address is gone before the
// request is read) once let a request without a token through on TCP. Every route
// family is tried with it, over HTTP and TLS, and with a half-closed client; slow
// and idle clients are cut off at the headers deadline while /healthz answers. The
// kubelet's TCP endpoint speaks TLS only, and is tried the same way inside TLS.
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '../../src/client/client.js';
import type { DockerRuntime } from '../../src/runtime/docker.js';
import { KubeletServer } from '../../src/kubelet/server.js';
import { sha256Hex } from '../../src/api/cert-pins.js';
import { selfSignedServingCertificate } from '../../src/api/pki.js';
import { TestCluster, waitFor, watchPod } from '../e2e/harness.js';

const HEADERS_TIMEOUT_MS = 1500;
const PORT = 20000 + Math.floor(Math.random() * 20000);
const cluster = new TestCluster({ daemonArgs: ['--listen', String(PORT)], env: { MINIPOD_HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS) } });
const token = () => readFileSync(join(cluster.home, 'token'), 'utf8').trim();

beforeAll(async () => {
  await cluster.start();
  const res = await cluster.mp(['run', 'victim', '--image', 'busybox:1.36', '--', 'sh', '-c', 'echo secret-log-line; exec sleep 3600']);
  expect(res.stderr).toBe('');
  await watchPod(cluster.client, 'default', 'victim', (p) => p.status?.phase === 'Running', 30_000, 'Running');
}, 60_000);
afterAll(() => cluster.cleanup(), 60_000);

const podBody = JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'intruder' }, spec: { containers: [{ name: 'c', image: 'busybox:1.36' }] } });
const upgrade = 'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: v5.channel.k8s.io\r\n';
const pods = '/api/v1/namespaces/default/pods';

/** Each route family, as a raw HTTP/1.1 request without a token. */
const ATTACKS: Record<string, string> = {
  create: `POST ${pods} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${podBody.length}\r\n\r\n${podBody}`,
  delete: `DELETE ${pods}/victim?gracePeriodSeconds=0 HTTP/1.1\r\nHost: x\r\n\r\n`,
  patch: (() => {
    const body = '{"metadata":{"labels":{"pwned":"true"}}}';
    return `PATCH ${pods}/victim HTTP/1.1\r\nHost: x\r\nContent-Type: application/merge-patch+json\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
  })(),
  exec: `GET ${pods}/victim/exec?command=touch&command=/tmp/pwned&stdout=true HTTP/1.1\r\nHost: x\r\n${upgrade}\r\n`,
  logs: `GET ${pods}/victim/log HTTP/1.1\r\nHost: x\r\n\r\n`,
  'port-forward': `GET ${pods}/victim/portforward?ports=80 HTTP/1.1\r\nHost: x\r\n${upgrade}\r\n`,
  watch: `GET ${pods}?watch=true HTTP/1.1\r\nHost: x\r\n\r\n`,
};

/** Sends `request` and resets the connection at once (SO_LINGER 0), over plain TCP or TLS. */
async function resetTrick(request: string, secure: boolean): Promise<void> {
  const raw = net.connect(PORT, '127.0.0.1');
  await new Promise((r) => raw.once('connect', r));
  raw.on('error', () => {});
  if (secure) {
    const s = tls.connect({ socket: raw, rejectUnauthorized: false });
    s.on('error', () => {});
    await new Promise((r) => s.once('secureConnect', r));
    s.write(request, () => raw.resetAndDestroy());
  } else {
    raw.write(request, () => raw.resetAndDestroy());
  }
  await new Promise((r) => raw.once('close', r));
}

/** Sends `request`, half-closes, and returns everything the server answers. */
async function halfOpen(request: string): Promise<string> {
  const s = net.connect(PORT, '127.0.0.1');
  let answer = '';
  s.on('data', (d) => (answer += d));
  s.on('error', () => {});
  s.end(request);
  await new Promise((r) => s.once('close', r));
  return answer;
}

/** The victim is untouched and nothing was created, as the owner sees it over the unix socket. */
async function expectNothingDone(): Promise<void> {
  const victim = await cluster.client.getPod('default', 'victim');
  expect(victim.metadata.deletionTimestamp).toBeUndefined();
  expect(victim.metadata.labels?.pwned).toBeUndefined();
  expect((await cluster.client.listPods('default')).items.map((p) => p.metadata.name)).toEqual(['victim']);
  const ls = await cluster.mp(['exec', 'victim', '--', 'ls', '/tmp']);
  expect(ls.code).toBe(0);
  expect(ls.stdout).not.toContain('pwned');
}

describe('the API server on TCP', () => {
  it.each(Object.keys(ATTACKS))('does nothing for a %s request whose connection is reset before it is read', async (family) => {
    for (let i = 0; i < 10; i++) await resetTrick(ATTACKS[family], i % 2 === 1);
    // An authorized request on a fresh connection is served after the attacks were read.
    const ok = await fetch(`http://127.0.0.1:${PORT}/api/v1/pods`, { headers: { Authorization: `Bearer ${token()}` } });
    expect(ok.status).toBe(200);
    await expectNothingDone();
  });

  it.each(Object.keys(ATTACKS))('answers 401 to a half-closed %s request, and nothing else', async (family) => {
    const answer = await halfOpen(ATTACKS[family]);
    expect(answer).toMatch(/^HTTP\/1\.1 401 /);
    expect(answer).not.toContain('secret-log-line');
    await expectNothingDone();
  });

  it('cuts off a slowloris client at the headers deadline and keeps answering meanwhile', async () => {
    const s = net.connect(PORT, '127.0.0.1');
    s.on('error', () => {});
    const closed = new Promise<number>((r) => s.once('close', () => r(Date.now())));
    const start = Date.now();
    s.write(`GET ${pods} HTTP/1.1\r\nHost: x\r\n`);
    const drip = setInterval(() => s.writable && s.write('X-Slow: 1\r\n'), 200);
    try {
      expect(await healthzMs()).toBeLessThan(100);
      const at = await closed;
      expect(at - start).toBeLessThan(HEADERS_TIMEOUT_MS * 4);
    } finally {
      clearInterval(drip);
      s.destroy();
    }
  });

  it('keeps /healthz within 100 ms beside 1,000 idle connections, and closes them at the deadline', async () => {
    const idle: net.Socket[] = [];
    const closed: Promise<void>[] = [];
    for (let i = 0; i < 1000; i++) {
      const s = net.connect(PORT, '127.0.0.1');
      s.on('error', () => {});
      closed.push(new Promise((r) => s.once('close', () => r())));
      idle.push(s);
    }
    try {
      await Promise.all(idle.map((s) => new Promise((r) => (s.readyState === 'open' ? r(null) : s.once('connect', r)))));
      const ms = await healthzMs();
      console.log(`listener: /healthz median ${ms.toFixed(1)} ms beside 1,000 idle connections`);
      expect(ms).toBeLessThan(100);
      await waitFor(async () => (await Promise.race([Promise.all(closed).then(() => true), new Promise((r) => setTimeout(() => r(false), 200))])), HEADERS_TIMEOUT_MS * 6, 'the idle connections to be closed');
    } finally {
      for (const s of idle) s.destroy();
    }
  });
});

/** The median of five /healthz round trips on fresh connections, in ms. */
async function healthzMs(): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const start = performance.now();
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port: PORT, path: '/healthz', agent: false, headers: { Authorization: `Bearer ${token()}` } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
    });
    expect(status).toBe(200);
    times.push(performance.now() - start);
  }
  return times.sort((a, b) => a - b)[2];
}

describe("the kubelet's TCP endpoint", () => {
  // Authentication comes first: a runtime or client touched at all is a request done.
  const touched: string[] = [];
  const spy = <T extends object>(what: string) => new Proxy({} as T, { get: (_t, key) => (touched.push(`${what}.${String(key)}`), () => Promise.reject(new Error('touched'))) });
  let kubelet: KubeletServer;
  let port = 0;
  beforeAll(async () => {
    kubelet = new KubeletServer({
      nodeName: 'n1',
      client: spy<Client>('client'),
      runtime: spy<DockerRuntime>('runtime'),
      logger: pino({ level: 'silent' }),
      listen: '127.0.0.1:0',
      tls: await selfSignedServingCertificate(['127.0.0.1'], 'system:node:n1'),
      clientTokenSha256: sha256Hex('the-token'),
    });
    port = (await kubelet.start()).port;
  });
  afterAll(() => kubelet.stop());

  const requests = [
    `GET /containerLogs/default/victim/c HTTP/1.1\r\nHost: x\r\n\r\n`,
    `GET /exec/default/victim/c?command=id&stdout=true HTTP/1.1\r\nHost: x\r\n${upgrade}\r\n`,
    `GET /portForward/default/victim?port=80 HTTP/1.1\r\nHost: x\r\n${upgrade}\r\n`,
  ];

  it('touches nothing for reset or half-closed requests without the token', async () => {
    for (const request of requests) {
      const raw = net.connect(port, '127.0.0.1');
      raw.on('error', () => {});
      await new Promise((r) => raw.once('connect', r));
      const secure = tls.connect({ socket: raw, rejectUnauthorized: false });
      secure.on('error', () => {});
      await new Promise((r) => secure.once('secureConnect', r));
      secure.write(request, () => raw.resetAndDestroy());
      await new Promise((r) => raw.once('close', r));
      const s = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false });
      let answer = '';
      s.on('data', (d) => (answer += d));
      s.on('error', () => {});
      await new Promise((r) => s.once('secureConnect', r));
      s.end(request);
      await new Promise((r) => s.once('close', r));
      expect(answer).toMatch(/^HTTP\/1\.1 401 /);
    }
    expect(touched).toEqual([]);
  });

  it('speaks no plain HTTP', async () => {
    const s = net.connect(port, '127.0.0.1');
    let answer = '';
    s.on('data', (d) => (answer += d));
    s.on('error', () => {});
    s.end(requests[0]);
    await new Promise((r) => s.once('close', r));
    expect(answer).not.toMatch(/^HTTP\//);
    expect(touched).toEqual([]);
  });

  it("lets the API server's kubelet-client token through, and no other", async () => {
    const get = (token: string) =>
      new Promise<number>((resolve, reject) => {
        const req = https.get({ host: '127.0.0.1', port, path: '/containerLogs/default/victim/c', rejectUnauthorized: false, agent: false, headers: { authorization: `Bearer ${token}` } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
      });
    expect(await get('the-token-')).toBe(401);
    expect(await get(sha256Hex('the-token'))).toBe(401); // the hash the node keeps is no credential
    expect(touched).toEqual([]);
    await get('the-token');
    expect(touched.length).toBeGreaterThan(0);
  });
});
