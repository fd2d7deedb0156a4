// The probe handlers against real local servers: httpGet (named port, headers,
// status codes, redirects, body limit, timeout, TLS without verification),
// tcpSocket, and exec through a stand-in runtime.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Container, Probe } from '../../src/api/types.js';
import { realClock } from '../../src/kubelet/clock.js';
import { execProbe } from '../../src/kubelet/prober/exec.js';
import { MAX_BODY_BYTES, httpProbe, probeHeaders } from '../../src/kubelet/prober/http.js';
import { ProbeManager } from '../../src/kubelet/prober/manager.js';
import { handlerRunner } from '../../src/kubelet/prober/prober.js';
import { tcpProbe } from '../../src/kubelet/prober/tcp.js';
import type { ExecResult } from '../../src/runtime/docker.js';

let server: http.Server;
let port = 0;
let other = 0; // a second server, to redirect to
let closedPort = 0;
const seen: http.IncomingHttpHeaders[] = [];

function listen(s: net.Server): Promise<number> {
  return new Promise((resolve) => s.listen(0, '127.0.0.1', () => resolve((s.address() as net.AddressInfo).port)));
}

beforeAll(async () => {
  server = http.createServer((req, res) => {
    seen.push(req.headers);
    const url = new URL(req.url!, 'http://x');
    const p = url.pathname;
    if (p.startsWith('/status/')) return res.writeHead(Number(p.slice(8))).end(`status ${p.slice(8)}`);
    if (p === '/redirect-same') return res.writeHead(302, { location: '/status/200' }).end();
    if (p === '/redirect-loop') return res.writeHead(302, { location: '/redirect-loop' }).end();
    if (p === '/redirect-fail') return res.writeHead(301, { location: `http://127.0.0.1:${port}/status/503` }).end();
    if (p === '/redirect-other-host') return res.writeHead(302, { location: `http://localhost:${other}/` }).end('moved away');
    if (p === '/big') {
      res.writeHead(200);
      const chunk = 'x'.repeat(64 * 1024);
      let n = 0;
      const more = () => { while (n++ < 1000 && res.write(chunk)); if (n < 1000) res.once('drain', more); else res.end(); };
      return more();
    }
    if (p === '/hang') return; // never answers
    if (p === '/echo') return res.writeHead(200).end(url.search);
    res.writeHead(200).end('ok');
  });
  port = await listen(server);
  const second = http.createServer((_req, res) => res.writeHead(500).end());
  other = await listen(second);
  const tmp = net.createServer();
  closedPort = await listen(tmp);
  await new Promise((r) => tmp.close(r));
});
afterAll(() => {
  server.closeAllConnections();
  server.close();
});

const container: Container = { name: 'web', image: 'x', ports: [{ name: 'http', containerPort: 0 }] };
const target = () => ({ containerId: 'c1', spec: { ...container, ports: [{ name: 'http', containerPort: port }] }, podIP: '127.0.0.1' });
const runner = handlerRunner({ execIn: async () => ({ exitCode: 0, output: '', timedOut: false }) });
const httpGet = (path: string, more: Partial<NonNullable<Probe['httpGet']>> = {}, timeoutSeconds = 1): Probe => ({ httpGet: { path, port, ...more }, timeoutSeconds });

describe('httpGet probe', () => {
  it('succeeds for 200–399 and fails for 400 and above with the kubelet message', async () => {
    for (const code of [200, 204, 399]) expect((await runner(httpGet(`/status/${code}`), target())).result, String(code)).toMatch(/success|warning/);
    expect(await runner(httpGet('/status/200'), target())).toEqual({ result: 'success', output: 'status 200' });
    expect(await runner(httpGet('/status/399'), target())).toEqual({ result: 'warning', output: 'Probe terminated redirects, Response body: status 399' });
    expect(await runner(httpGet('/status/400'), target())).toEqual({ result: 'failure', output: 'HTTP probe failed with statuscode: 400' });
    expect(await runner(httpGet('/status/500'), target())).toEqual({ result: 'failure', output: 'HTTP probe failed with statuscode: 500' });
  });

  it('defaults the host to the pod IP and resolves a port by the container port name', async () => {
    const out = await runner({ httpGet: { path: '/status/200', port: 'http' }, timeoutSeconds: 1 }, target());
    expect(out.result).toBe('success');
    const missing = await runner({ httpGet: { path: '/', port: 'nope' }, timeoutSeconds: 1 }, target());
    expect(missing).toEqual({ result: 'unknown', output: `couldn't find port "nope" in container "web"` });
  });

  it('sends User-Agent kube-probe/minipod and Accept */* unless set, plus the given headers', async () => {
    seen.length = 0;
    await runner(httpGet('/', { httpHeaders: [{ name: 'X-Custom', value: 'a' }, { name: 'x-custom', value: 'b' }] }), target());
    expect(seen[0]).toMatchObject({ 'user-agent': 'kube-probe/minipod', accept: '*/*', 'x-custom': 'a, b', connection: 'close' });
    await runner(httpGet('/', { httpHeaders: [{ name: 'user-agent', value: 'mine' }, { name: 'Accept', value: 'text/plain' }, { name: 'Host', value: 'example.test' }] }), target());
    expect(seen[1]).toMatchObject({ 'user-agent': 'mine', accept: 'text/plain', host: 'example.test' });
    await runner(httpGet('/', { httpHeaders: [{ name: 'Accept', value: '' }] }), target());
    expect(seen[2].accept).toBeUndefined();
    expect(probeHeaders([])).toEqual({ 'User-Agent': 'kube-probe/minipod', Accept: '*/*' });
  });

  it('keeps the query string of the path', async () => {
    expect(await runner(httpGet('/echo?a=1&b=2'), target())).toEqual({ result: 'success', output: '?a=1&b=2' });
  });

  it('follows redirects to the same host, and not elsewhere (a success with a warning)', async () => {
    expect(await runner(httpGet('/redirect-same'), target())).toEqual({ result: 'success', output: 'status 200' });
    expect(await runner(httpGet('/redirect-fail'), target())).toEqual({ result: 'failure', output: 'HTTP probe failed with statuscode: 503' });
    // The other server answers 500: had the redirect been followed, this would fail.
    expect(await runner(httpGet('/redirect-other-host'), target())).toEqual({ result: 'warning', output: 'Probe terminated redirects, Response body: moved away' });
    const loop = await runner(httpGet('/redirect-loop'), target());
    expect(loop).toEqual({ result: 'failure', output: `Get "http://127.0.0.1:${port}/redirect-loop": stopped after 10 redirects` });
  });

  it('reads at most 10 KiB of the body', async () => {
    const started = Date.now();
    const out = await runner(httpGet('/big', {}, 5), target());
    expect(out.result).toBe('success');
    expect(out.output.length).toBe(MAX_BODY_BYTES);
    expect(Date.now() - started).toBeLessThan(1000); // did not read 64 MB
  });

  it('fails at the timeout with Go client wording', async () => {
    const started = Date.now();
    const out = await runner(httpGet('/hang', {}, 1), target());
    const took = Date.now() - started;
    expect(out).toEqual({ result: 'failure', output: `Get "http://127.0.0.1:${port}/hang": context deadline exceeded (Client.Timeout exceeded while awaiting headers)` });
    expect(took).toBeGreaterThanOrEqual(990);
    expect(took).toBeLessThan(1500);
  });

  it('reports a refused connection as the kubelet does', async () => {
    const out = await httpProbe({ scheme: 'HTTP', host: '127.0.0.1', port: closedPort, path: '/' }, 1000);
    expect(out).toEqual({ result: 'failure', output: `Get "http://127.0.0.1:${closedPort}/": dial tcp 127.0.0.1:${closedPort}: connect: connection refused` });
  });

  it('HTTPS without verifying the certificate', async () => {
    const dir = mkdtempSync(join(os.tmpdir(), 'probe-tls-'));
    try {
      execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'), '-days', '1', '-subj', '/CN=nobody'], { stdio: 'ignore' });
      const tls = https.createServer({ key: readFileSync(join(dir, 'k.pem')), cert: readFileSync(join(dir, 'c.pem')) }, (_req, res) => res.writeHead(200).end('secure'));
      const p = await listen(tls);
      expect(await httpProbe({ scheme: 'HTTPS', host: '127.0.0.1', port: p, path: '/' }, 2000)).toEqual({ result: 'success', output: 'secure' });
      tls.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('tcpSocket probe', () => {
  it('succeeds when the port accepts a connection, on the pod IP or `host`', async () => {
    expect(await runner({ tcpSocket: { port }, timeoutSeconds: 1 }, target())).toEqual({ result: 'success', output: '' });
    expect(await runner({ tcpSocket: { port: 'http', host: '127.0.0.1' }, timeoutSeconds: 1 }, { ...target(), podIP: '10.255.255.254' })).toEqual({ result: 'success', output: '' });
  });

  it('fails on a closed port with the dial error', async () => {
    expect(await tcpProbe('127.0.0.1', closedPort, 1000)).toEqual({ result: 'failure', output: `dial tcp 127.0.0.1:${closedPort}: connect: connection refused` });
  });
});

describe('exec probe', () => {
  const runtime = (r: ExecResult | Error) => ({
    calls: [] as { id: string; cmd: string[]; timeoutMs: number }[],
    async execIn(id: string, cmd: string[], timeoutMs: number) {
      this.calls.push({ id, cmd, timeoutMs });
      if (r instanceof Error) throw r;
      return r;
    },
  });

  it('exit 0 is success, other exits a failure with the output, a timeout a failure', async () => {
    const ok = runtime({ exitCode: 0, output: 'fine\n', timedOut: false });
    expect(await handlerRunner(ok)({ exec: { command: ['cat', '/tmp/healthy'] }, timeoutSeconds: 3 }, target())).toEqual({ result: 'success', output: 'fine\n' });
    expect(ok.calls).toEqual([{ id: 'c1', cmd: ['cat', '/tmp/healthy'], timeoutMs: 3000 }]);
    const bad = runtime({ exitCode: 1, output: "cat: can't open '/tmp/healthy': No such file or directory\n", timedOut: false });
    expect(await execProbe(bad, 'c1', ['cat', '/tmp/healthy'], 1000)).toEqual({ result: 'failure', output: "cat: can't open '/tmp/healthy': No such file or directory\n" });
    const hung = runtime({ exitCode: -1, output: '', timedOut: true });
    expect(await execProbe(hung, 'c1', ['sleep', '100'], 1000)).toEqual({ result: 'failure', output: 'command "sleep 100" timed out' });
  });

  it('a runtime error is a prober error (unknown), not a failure', async () => {
    const gone = runtime(new Error('container c1 is not running'));
    expect(await execProbe(gone, 'c1', ['true'], 1000)).toEqual({ result: 'unknown', output: 'container c1 is not running' });
  });
});

describe('100 pods on the real clock', () => {
  it('tcp probes of 100 pods each keep their 500 ms period (lateness measured)', async () => {
    const t0 = Date.now();
    const lateness: number[] = [];
    const runs: number[] = new Array(100).fill(0);
    const base = handlerRunner({ execIn: async () => ({ exitCode: 0, output: '', timedOut: false }) });
    const mgr = new ProbeManager({
      clock: realClock,
      run: async (probe, t) => {
        const i = Number(t.containerId);
        const since = Date.now() - (t0 + i * 5);
        lateness.push(((since + 250) % 500) - 250); // signed: timers may fire a millisecond early
        runs[i]++;
        return base(probe, t);
      },
      recorder: { event: () => {} },
      onStatusChange: () => {},
      onUnhealthy: () => {},
    });
    for (let i = 0; i < 100; i++) {
      const spec: Container = { name: 'c', image: 'x', livenessProbe: { tcpSocket: { port }, periodSeconds: 0.5 } as Probe, readinessProbe: { tcpSocket: { port }, periodSeconds: 0.5 } as Probe };
      mgr.containerStarted({ apiVersion: 'v1', kind: 'Pod', metadata: { uid: `u${i}`, name: `p${i}` }, spec: { containers: [spec] } }, spec, String(i), '127.0.0.1', t0 + i * 5);
    }
    await new Promise((r) => setTimeout(r, 5_100));
    for (let i = 0; i < 100; i++) mgr.podRemoved(`u${i}`);
    lateness.sort((a, b) => a - b);
    expect(lateness[0]).toBeGreaterThanOrEqual(-2);
    const q = (f: number) => lateness[Math.floor(f * (lateness.length - 1))];
    console.log(`100 pods × 2 tcp probes, 500 ms period, 5 s: ${lateness.length} probes; lateness median ${q(0.5)} ms, p99 ${q(0.99)} ms, max ${q(1)} ms`);
    // 10 or 11 ticks per probe in 5.1 s, 2 probes per pod: none starved.
    for (const n of runs) expect(n).toBeGreaterThanOrEqual(20);
    expect(q(0.5)).toBeLessThan(20);
    // Loose: a loaded CI machine delays timers; a starved pod would be late by whole periods.
    expect(q(0.99)).toBeLessThan(300);
  }, 15_000);
});
