// Issue 9, item 4: `minipod port-forward` listens here and tunnels each connection
// through the API server's pods/portforward subresource to the pod's kubelet,
// which connects to the pod. Checked with busybox httpd and a busybox nc that
// answers each upload with its sha256, and with the JavaScript client.
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { Readable, Writable } from 'node:stream';
import { KubeConfig, PortForward } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { Pod } from '../../src/api/types.js';
import { BIN, ROOT, TestCluster, dockerExec, waitFor, watchPod } from './harness.js';

const cluster = new TestCluster();
const running: ChildProcess[] = [];

// web serves /index.html (the pod's hostname) and /big (8 MB of random bytes) on its
// named port "http"; sum answers whatever it is sent, once the sender is done, with
// its sha256 — so an upload only gets an answer if the client's FIN reached the pod.
const MANIFEST = `
apiVersion: v1
kind: Pod
metadata: {name: pf-web}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: web
    image: busybox:1.36
    command: [sh, -c, 'mkdir -p /www && hostname > /www/index.html && head -c 8000000 /dev/urandom > /www/big && exec httpd -f -p 8080 -h /www']
    ports: [{name: http, containerPort: 8080}]
    readinessProbe: {tcpSocket: {port: http}, periodSeconds: 1}
  - name: sum
    image: busybox:1.36
    command: [nc, -ll, -p, '9000', -e, sha256sum]
    readinessProbe: {tcpSocket: {port: 9000}, periodSeconds: 1}
`;

let pod: Pod;

const ready = (p: Pod) => !!p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');

beforeAll(async () => {
  await cluster.start();
  expect((await cluster.mp(['apply', '-f', '-'], MANIFEST)).code).toBe(0);
  pod = await watchPod(cluster.client, 'default', 'pf-web', ready, 30_000, 'Ready');
}, 60_000);
afterAll(async () => {
  for (const c of running) if (c.exitCode === null) c.kill('SIGKILL');
  await cluster.cleanup();
}, 60_000);

/** Starts `minipod port-forward …` and keeps it running. */
function startForward(args: string[]) {
  const child = spawn(process.execPath, [BIN, 'port-forward', ...args], { env: cluster.env, cwd: ROOT });
  running.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
  /** The local port forwarded to `remote`, once the CLI says it listens. */
  const local = (remote: number, host = '127.0.0.1') =>
    waitFor(() => {
      const m = new RegExp(`^Forwarding from ${host.replace(/[.[\]]/g, '\\$&')}:(\\d+) -> ${remote}$`, 'm').exec(stdout);
      if (child.exitCode !== null) throw new Error(`port-forward exited ${child.exitCode}: ${stderr}`);
      return m ? Number(m[1]) : undefined;
    }, 10_000, `port-forward to listen for ${remote}`);
  return { child, stdout: () => stdout, stderr: () => stderr, exited, local };
}

function get(port: number, path: string, host = '127.0.0.1'): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host, port, path, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

/** Sends `data`, half-closes, and returns everything the other side sent until it closed. */
function exchange(port: number, data: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    let got = '';
    s.on('data', (d) => (got += d));
    s.on('end', () => {
      s.end();
      resolve(got);
    });
    s.on('error', reject);
    s.end(data);
  });
}

/** Connects and resolves with what arrived before the connection closed. */
function connectAndRead(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port });
    let got = '';
    s.on('data', (d) => (got += d));
    s.on('close', () => resolve(got));
    s.on('error', reject);
  });
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const containerId = (name: string) => pod.status!.containerStatuses!.find((s) => s.name === name)!.containerID!.replace('docker://', '');

describe('port-forward', () => {
  it('forwards HTTP to busybox httpd in the pod: a random local port, many connections at once, a large body intact', async () => {
    const pf = startForward(['pod/pf-web', ':8080']);
    try {
      const port = await pf.local(8080);
      expect(port).toBeGreaterThan(0);
      expect(pf.stdout().split('\n')[0]).toBe(`Forwarding from 127.0.0.1:${port} -> 8080`);

      const index = await get(port, '/index.html');
      expect(index).toMatchObject({ status: 200 });
      expect(index.body.toString()).toBe('pf-web\n'); // the pod's own hostname: it came from the pod

      const many = await Promise.all(Array.from({ length: 12 }, () => get(port, '/index.html')));
      expect(many.map((r) => `${r.status} ${r.body}`)).toEqual(Array(12).fill('200 pf-web\n'));

      const big = await get(port, '/big');
      expect(big.status).toBe(200);
      expect(big.body.length).toBe(8_000_000);
      const inPod = (await dockerExec(containerId('web'), ['sha256sum', '/www/big'])).split(' ')[0];
      expect(sha256(big.body)).toBe(inPod);

      // kubectl's line per accepted connection.
      expect(pf.stdout().match(new RegExp(`^Handling connection for ${port}$`, 'gm'))).toHaveLength(14);
      // localhost means ::1 too, where the machine has IPv6.
      if (pf.stdout().includes(`Forwarding from [::1]:${port} -> 8080`)) {
        expect((await get(port, '/index.html', '::1')).body.toString()).toBe('pf-web\n');
      }
      expect(pf.stderr()).toBe('');
    } finally {
      pf.child.kill('SIGINT');
    }
    expect(await pf.exited).toBe(0);
  });

  it('forwards several ports at once, by container port name too, and passes a half-close (FIN) both ways', async () => {
    const pf = startForward(['pf-web', ':http', ':9000', '--address', '127.0.0.1']);
    try {
      const web = await pf.local(8080);
      const sum = await pf.local(9000);
      expect(pf.stdout()).not.toContain('[::1]');
      expect((await get(web, '/index.html')).body.toString()).toBe('pf-web\n');
      // 3 MB up; nc's sha256sum answers only after it has read to the end.
      const upload = Buffer.alloc(3_000_000);
      for (let i = 0; i < upload.length; i++) upload[i] = (i * 7919) % 251;
      expect((await exchange(sum, upload)).trim()).toBe(`${sha256(upload)}  -`);
      // Two uploads at once each get their own answer.
      const [a, b] = await Promise.all([exchange(sum, Buffer.from('a')), exchange(sum, Buffer.from('b'))]);
      expect([a.trim(), b.trim()]).toEqual([`${sha256(Buffer.from('a'))}  -`, `${sha256(Buffer.from('b'))}  -`]);
    } finally {
      pf.child.kill('SIGINT');
    }
    expect(await pf.exited).toBe(0);
  });

  it('Ctrl-C ends it at once, open connections included, and frees the local port', async () => {
    const pf = startForward(['pod/pf-web', ':9000']);
    const port = await pf.local(9000);
    const open = net.connect({ host: '127.0.0.1', port });
    const closed = new Promise((resolve) => open.on('close', resolve));
    open.on('error', () => {});
    await new Promise((resolve) => open.on('connect', resolve));
    await waitFor(() => pf.stdout().includes(`Handling connection for ${port}`), 5_000, 'the connection to be handled');
    const t0 = Date.now();
    pf.child.kill('SIGINT');
    expect(await pf.exited).toBe(0);
    await closed;
    expect(Date.now() - t0).toBeLessThan(2_000);
    await expect(get(port, '/')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('a port nothing listens on: the connection is closed, the error printed, and forwarding goes on', async () => {
    const pf = startForward(['pod/pf-web', ':9999', ':8080']);
    try {
      const dead = await pf.local(9999);
      const web = await pf.local(8080);
      expect(await connectAndRead(dead)).toBe('');
      const ip = pod.status!.podIP!;
      await waitFor(() => pf.stderr().includes('\n'), 5_000, 'the error');
      expect(pf.stderr()).toBe(
        `an error occurred forwarding ${dead} -> 9999: error forwarding port 9999 to pod pf-web_default, uid ${pod.metadata.uid}: dial tcp ${ip}:9999: connect: connection refused\n`,
      );
      expect((await get(web, '/index.html')).body.toString()).toBe('pf-web\n');
      expect(pf.child.exitCode).toBeNull();
    } finally {
      pf.child.kill('SIGINT');
    }
  });

  it('ends with "lost connection to pod" when the pod goes away', async () => {
    expect((await cluster.mp(['run', 'pf-short', '--image', 'busybox:1.36', '--wait', '--', 'sleep', '3600'])).code).toBe(0);
    const pf = startForward(['pod/pf-short', '7000']);
    await pf.local(7000);
    expect((await cluster.mp(['delete', 'pod', 'pf-short', '--grace-period=0', '--force'])).code).toBe(0);
    expect(await pf.exited).toBe(1);
    expect(pf.stderr()).toBe('error: lost connection to pod\n');
  });
});

describe('port-forward errors, as kubectl words them', () => {
  it('a pod that is not running', async () => {
    const pending = `apiVersion: v1\nkind: Pod\nmetadata: {name: pf-pending}\nspec:\n  nodeSelector: {nowhere: "true"}\n  containers: [{name: c, image: busybox:1.36}]\n`;
    expect((await cluster.mp(['apply', '-f', '-'], pending)).code).toBe(0);
    expect(await cluster.mp(['port-forward', 'pod/pf-pending', '8080'])).toEqual({
      code: 1,
      stdout: '',
      stderr: 'error: unable to forward port because pod is not running. Current status=Pending\n',
    });
  });

  it('a pod that does not exist, and a named port it does not have', async () => {
    expect(await cluster.mp(['port-forward', 'pod/nope', '8080'])).toEqual({ code: 1, stdout: '', stderr: 'Error from server (NotFound): pods "nope" not found\n' });
    expect(await cluster.mp(['port-forward', 'pf-web', '8080:https'])).toEqual({ code: 1, stdout: '', stderr: "error: Pod 'pf-web' does not have a named port 'https'\n" });
  });

  it('a local port already taken', async () => {
    const taken = net.createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    const port = (taken.address() as net.AddressInfo).port;
    try {
      const res = await cluster.mp(['port-forward', 'pf-web', `${port}:8080`, '--address', '127.0.0.1']);
      expect(res).toEqual({
        code: 1,
        stdout: '',
        stderr:
          `Unable to listen on port ${port}: Listeners failed to create with the following errors: [unable to create listener: Error listen tcp4 127.0.0.1:${port}: bind: address already in use]\n` +
          `error: unable to listen on any of the requested ports: [{${port} 8080}]\n`,
      });
    } finally {
      taken.close();
    }
  });

  it('bad arguments, before asking the daemon anything', async () => {
    const cases: [string[], string][] = [
      [['pod/pf-web'], "error: TYPE/NAME and list of ports are required for port-forward\nSee 'minipod port-forward -h' for help and examples\n"],
      [['pod/pf-web', '1:2:3'], "error: invalid port format '1:2:3'\n"],
      [['pod/pf-web', 'x:80'], 'error: error parsing local port \'x\': strconv.ParseUint: parsing "x": invalid syntax\n'],
      [['pod/pf-web', '70000'], 'error: error parsing remote port \'70000\': strconv.ParseUint: parsing "70000": value out of range\n'],
      [['pod/pf-web', '8080:0'], 'error: remote port must be > 0\n'],
      [['pod/pf-web', '80', '--address', 'example.com'], 'error: example.com is not a valid IP\n'],
    ];
    const results = await Promise.all(cases.map(([args]) => cluster.mp(['port-forward', ...args])));
    expect(results).toEqual(cases.map(([, stderr]) => ({ code: 1, stdout: '', stderr })));
  });

  it('the API server and the kubelet check the request too', async () => {
    const plain = await cluster.client.request('GET', '/api/v1/namespaces/default/pods/pf-web/portforward?ports=8080').catch((e: Error) => e.message);
    expect(plain).toBe('Upgrade request required');
    // An upgrade without a port: the kubelet's answer, relayed by the API server.
    const refused = await new Promise<string>((resolve, reject) => {
      const ws = new WebSocket(`ws+unix://${cluster.home}/minipod.sock:/api/v1/namespaces/default/pods/pf-web/portforward`, ['v4.channel.k8s.io']);
      ws.on('open', () => reject(new Error('upgraded')));
      ws.on('error', () => {});
      ws.on('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d));
        res.on('end', () => resolve(`${res.statusCode} ${body}`));
      });
    });
    expect(refused).toBe('400 query parameter "port" is required');
    // kubectl's SPDY upgrade hears why it cannot work.
    const spdy = await new Promise<string>((resolve, reject) => {
      const req = http.request({
        socketPath: `${cluster.home}/minipod.sock`,
        path: '/api/v1/namespaces/default/pods/pf-web/portforward',
        method: 'POST',
        headers: { Connection: 'Upgrade', Upgrade: 'SPDY/3.1', 'X-Stream-Protocol-Version': 'portforward.k8s.io' },
      });
      req.on('response', (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d));
        res.on('end', () => resolve(`${res.statusCode} ${body}`));
      });
      req.on('upgrade', () => reject(new Error('upgraded')));
      req.on('error', reject);
      req.end();
    });
    expect(spdy).toBe('400 port forwarding is served over WebSockets (v5.channel.k8s.io, v4.channel.k8s.io), not SPDY/3.1');
  });
});

describe('Kubernetes clients', () => {
  it("the JavaScript client's PortForward speaks the same protocol", async () => {
    const forwarder = net.createServer((c) => {
      const u = net.connect(`${cluster.home}/minipod.sock`);
      c.pipe(u).pipe(c);
      c.on('error', () => u.destroy());
      u.on('error', () => c.destroy());
    });
    await new Promise<void>((r) => forwarder.listen(0, '127.0.0.1', r));
    try {
      const kc = new KubeConfig();
      kc.loadFromOptions({
        clusters: [{ name: 'minipod', server: `http://127.0.0.1:${(forwarder.address() as net.AddressInfo).port}`, skipTLSVerify: true }],
        users: [{ name: 'me' }],
        contexts: [{ name: 'minipod', cluster: 'minipod', user: 'me' }],
        currentContext: 'minipod',
      });
      let out = '';
      let errors = '';
      const done = new Promise<void>((resolve) => {
        const sink = new Writable({ write: (c, _e, cb) => ((out += c), cb()) });
        const errSink = new Writable({ write: (c, _e, cb) => ((errors += c), cb()) });
        const input = Readable.from([Buffer.from('GET /index.html HTTP/1.0\r\n\r\n')]);
        void new PortForward(kc).portForward('default', 'pf-web', [8080], sink, errSink, input).then((ws) => {
          const socket = ws as unknown as { on(e: 'close', f: () => void): void };
          socket.on('close', () => resolve());
        });
      });
      await done;
      expect(errors).toBe('');
      expect(out).toMatch(/^HTTP\/1\.[01] 200 OK\r\n/);
      expect(out.endsWith('\r\n\r\npf-web\n')).toBe(true);
    } finally {
      forwarder.close();
    }
  });
});
