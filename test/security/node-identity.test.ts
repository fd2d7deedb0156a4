// Nodes prove who they are (issue 12): node agents join a real daemon through the
// real CLI, pinning the cluster CA by its hash and exchanging the join token for
// credentials of their own. A node's token is then good for what a kubelet needs
// and nothing more (the Node authorizer and NodeRestriction, with the apiserver's
// messages), a re-join revokes the old token, the join token does nothing but the
// exchange, a server that is not the pinned cluster is refused before anything is
// sent, and a kubelet's TCP endpoint talks only to the API server, which talks only
// to the kubelet whose certificate its Node pins.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { type ChildProcess, spawn } from 'node:child_process';
import { createPrivateKey, webcrypto } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { caCertHash, certificateSha256 } from '../../src/api/cert-pins.js';
import { KUBELET_ENDPOINT_ANNOTATION, KUBELET_SERVING_CERT_ANNOTATION } from '../../src/api/kubelet-endpoint.js';
import { issueServingCertificate, makeCa, selfSignedServingCertificate } from '../../src/api/pki.js';
import type { Node, Pod } from '../../src/api/types.js';
import { ApiStatusError, Client } from '../../src/client/client.js';
import { BIN, ROOT, TestCluster, runCli, waitFor, watchPod } from '../e2e/harness.js';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

const port = await freePort();
const rotatePort = await freePort();
const server = `https://127.0.0.1:${port}`;
const cluster = new TestCluster({ daemonArgs: ['--listen', `127.0.0.1:${port}`], env: { MINIPOD_NODE_STATUS_UPDATE_FREQUENCY: '1' } });
const id = cluster.node.slice(4);
const nodeA = `ni-${id}-a`;
const nodeB = `ni-${id}-b`;
const nodeC = `ni-${id}-c`;
const homes: string[] = [];
const agents = new Map<string, { child: ChildProcess; stderr: string }>();

const home = () => {
  const h = mkdtempSync(join(os.tmpdir(), 'minipod-ni-agent-'));
  homes.push(h);
  return h;
};
const ca = () => readFileSync(join(cluster.home, 'ca.crt'), 'utf8');
const joinTokenFile = () => join(cluster.home, 'join-token');
const adminToken = () => readFileSync(join(cluster.home, 'token'), 'utf8').trim();
const agentEnv = (h: string): NodeJS.ProcessEnv => ({ ...cluster.env, MINIPOD_HOME: h, MINIPOD_NODE_STATUS_UPDATE_FREQUENCY: '1' });
const joinArgs = (name: string, extra: string[] = []) => ['node', 'join', '--server', server, '--ca-cert-hash', caCertHash(ca()), '--name', name, '--node-labels', `ni=${name}`, ...extra];

/** Starts `minipod node join` as a node agent; resolves once it runs and its node is Ready. */
async function startAgent(key: string, agentHome: string, name: string, extra: string[]): Promise<void> {
  const child = spawn(process.execPath, [BIN, ...joinArgs(name, extra)], { env: agentEnv(agentHome), cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  const p = { child, stderr: '' };
  child.stderr!.on('data', (d) => (p.stderr += d));
  agents.set(key, p);
  await waitFor(async () => {
    if (child.exitCode !== null) throw new Error(`daemon exited: node agent ${name}: ${p.stderr}`);
    if (!p.stderr.includes('minipod node agent running')) return false;
    const node = await cluster.client.getNode(name);
    return node.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
  }, 30_000, `node ${name} to join`);
}

async function stopAgent(key: string, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  const p = agents.get(key);
  if (!p || p.child.exitCode !== null || p.child.signalCode !== null) return;
  const exited = new Promise((r) => p.child.once('exit', r));
  p.child.kill(signal);
  await exited;
}

/** The credentials `node join` kept in the agent's home. */
const credentials = (agentHome: string, name: string) => JSON.parse(readFileSync(join(agentHome, `node-${name}`, 'credentials.json'), 'utf8')) as { token: string; kubeletClientTokenSHA256: string };
const as = (token: string) => new Client({ server, token, ca: ca() });

/** The API server's answer (a Status error, or the object) to `token`'s request. */
async function call(token: string, method: string, path: string, body?: unknown, contentType?: string): Promise<{ code: number; message?: string; body?: unknown }> {
  const client = as(token);
  try {
    return { code: 200, body: await client.request(method, path, body, contentType) };
  } catch (err) {
    if (err instanceof ApiStatusError) return { code: err.code, message: err.message };
    throw err;
  } finally {
    client.close();
  }
}

const pod = (name: string, node: string) => `apiVersion: v1
kind: Pod
metadata: {name: ${name}}
spec:
  nodeSelector: {ni: ${node}}
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: busybox:1.36
    command: ["sh", "-c", "echo hello from ${name}; exec sleep 3600"]
`;

const homeA = home();
const homeB = home();

beforeAll(async () => {
  await cluster.start();
  await startAgent('a', homeA, nodeA, ['--token-file', joinTokenFile(), '--kubelet-listen', '127.0.0.1:0']);
  await startAgent('b', homeB, nodeB, ['--token-file', joinTokenFile(), '--kubelet-listen', '127.0.0.1:0']);
  for (const [name, node] of [['on-a', nodeA], ['on-b', nodeB]]) {
    expect((await cluster.mp(['apply', '-f', '-'], pod(name, node))).code).toBe(0);
    await watchPod(cluster.client, 'default', name, (p) => p.status?.phase === 'Running', 30_000, 'Running');
  }
}, 120_000);

afterAll(async () => {
  for (const key of agents.keys()) await stopAgent(key);
  for (const name of [nodeA, nodeB, nodeC]) {
    const leftovers = await cluster.docker.listContainers({ all: true, filters: { label: [`minipod.io/node=${name}`] } }).catch(() => []);
    for (const c of leftovers) await cluster.docker.getContainer(c.Id).remove({ force: true }).catch(() => {});
  }
  await cluster.cleanup();
  for (const h of homes) rmSync(h, { recursive: true, force: true });
}, 60_000);

describe('a node agent', () => {
  it('keeps a token of its own, 0600, and uses it; the join token and the admin token are not in its home', () => {
    const dir = join(homeA, `node-${nodeA}`);
    for (const f of ['ca.crt', 'credentials.json', 'kubelet.crt', 'kubelet.key']) expect([f, statSync(join(dir, f)).mode & 0o777]).toEqual([f, 0o600]);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    const kept = readFileSync(join(dir, 'credentials.json'), 'utf8');
    expect(kept).not.toContain(readFileSync(joinTokenFile(), 'utf8').trim());
    expect(kept).not.toContain(adminToken());
    expect(credentials(homeA, nodeA).token).not.toBe(credentials(homeB, nodeB).token);
  });

  it("may patch its own Node, but not another node's: 403 with NodeRestriction's message", async () => {
    const tokenA = credentials(homeA, nodeA).token;
    const mine = await call(tokenA, 'PATCH', `/api/v1/nodes/${nodeA}`, { metadata: { labels: { 'ni-own': 'yes' } } }, 'application/merge-patch+json');
    expect(mine.code).toBe(200);
    // Node B's endpoint and certificate pin are what A would need to rewrite to receive B's exec streams.
    const other = await call(tokenA, 'PATCH', `/api/v1/nodes/${nodeB}`, { metadata: { annotations: { [KUBELET_ENDPOINT_ANNOTATION]: 'https://127.0.0.1:1' } } }, 'application/merge-patch+json');
    expect(other).toMatchObject({ code: 403, message: `nodes "${nodeB}" is forbidden: node "${nodeA}" is not allowed to modify node "${nodeB}"` });
    const status = await call(tokenA, 'PUT', `/api/v1/nodes/${nodeB}/status`, await cluster.client.getNode(nodeB));
    expect(status).toMatchObject({ code: 403, message: `nodes "${nodeB}" is forbidden: node "${nodeA}" is not allowed to modify node "${nodeB}"` });
    const created = await call(tokenA, 'POST', '/api/v1/nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name: `${nodeA}-twin` } });
    expect(created).toMatchObject({ code: 403, message: `nodes "${nodeA}-twin" is forbidden: node "${nodeA}" is not allowed to modify node "${nodeA}-twin"` });
    const deleted = await call(tokenA, 'DELETE', `/api/v1/nodes/${nodeA}`);
    expect(deleted).toMatchObject({ code: 403, message: `nodes "${nodeA}" is forbidden: User "system:node:${nodeA}" cannot delete resource "nodes" in API group "" at the cluster scope` });
    const b = await cluster.client.getNode(nodeB);
    expect(b.metadata.annotations?.[KUBELET_ENDPOINT_ANNOTATION]).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(((await cluster.client.getNode(`${nodeA}-twin`).catch((e: ApiStatusError) => e)) as ApiStatusError).code).toBe(404);
  });

  it('may write the status of the pods bound to it only', async () => {
    const tokenA = credentials(homeA, nodeA).token;
    expect((await call(tokenA, 'PATCH', '/api/v1/namespaces/default/pods/on-a/status', {}, 'application/merge-patch+json')).code).toBe(200);
    const before = await cluster.client.getPod('default', 'on-b');
    const other = await call(tokenA, 'PATCH', '/api/v1/namespaces/default/pods/on-b/status', { status: { phase: 'Failed' } }, 'application/merge-patch+json');
    expect(other).toMatchObject({ code: 403, message: `pods "on-b" is forbidden: node "${nodeA}" can only update pod status for pods with spec.nodeName set to itself` });
    const put = await call(tokenA, 'PUT', '/api/v1/namespaces/default/pods/on-b/status', { ...before, status: { phase: 'Failed' } });
    expect(put.code).toBe(403);
    const del = await call(tokenA, 'DELETE', '/api/v1/namespaces/default/pods/on-b');
    expect(del).toMatchObject({ code: 403, message: `pods "on-b" is forbidden: node "${nodeA}" can only delete pods with spec.nodeName set to itself` });
    const spec = await call(tokenA, 'PATCH', '/api/v1/namespaces/default/pods/on-a', { metadata: { labels: { x: 'y' } } }, 'application/merge-patch+json');
    expect(spec).toMatchObject({ code: 403, message: `pods "on-a" is forbidden: User "system:node:${nodeA}" cannot patch resource "pods" in API group "" in the namespace "default"` });
    const after = await cluster.client.getPod('default', 'on-b');
    expect(after.status?.phase).toBe('Running');
    expect(after.metadata.deletionTimestamp).toBeUndefined();
  });

  it('may not create a pod, bind one, or touch namespaces', async () => {
    const tokenA = credentials(homeA, nodeA).token;
    const created = await call(tokenA, 'POST', '/api/v1/namespaces/default/pods', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'intruder' },
      spec: { nodeName: nodeA, containers: [{ name: 'c', image: 'busybox:1.36' }] },
    });
    expect(created).toMatchObject({ code: 403, message: `pods "intruder" is forbidden: pod does not have "kubernetes.io/config.mirror" annotation, node "${nodeA}" can only create mirror pods` });
    const bound = await call(tokenA, 'POST', '/api/v1/namespaces/default/pods/on-b/binding', { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'on-b' }, target: { kind: 'Node', name: nodeA } });
    expect(bound).toMatchObject({ code: 403, message: `pods "on-b" is forbidden: User "system:node:${nodeA}" cannot create resource "pods/binding" in API group "" in the namespace "default"` });
    const ns = await call(tokenA, 'DELETE', '/api/v1/namespaces/default');
    expect(ns).toMatchObject({ code: 403, message: `namespaces "default" is forbidden: User "system:node:${nodeA}" cannot delete resource "namespaces" in API group "" in the namespace "default"` });
    expect((await cluster.client.listPods('default')).items.map((p) => p.metadata.name).sort()).toEqual(['on-a', 'on-b']);
    // What a kubelet needs stays allowed: reading pods (watch included), nodes, namespaces; writing events.
    expect((await call(tokenA, 'GET', '/api/v1/pods')).code).toBe(200);
    expect((await call(tokenA, 'GET', '/api/v1/namespaces')).code).toBe(200);
    expect((await call(tokenA, 'GET', `/api/v1/nodes/${nodeB}`)).code).toBe(200);
  });

  it('may read no logs and open no exec stream, not even of its own pods', async () => {
    const tokenA = credentials(homeA, nodeA).token;
    const logs = await call(tokenA, 'GET', '/api/v1/namespaces/default/pods/on-a/log');
    expect(logs).toMatchObject({ code: 403, message: `pods "on-a" is forbidden: User "system:node:${nodeA}" cannot get resource "pods/log" in API group "" in the namespace "default"` });
    const answer = await upgrade(tokenA, '/api/v1/namespaces/default/pods/on-b/exec?command=id&stdout=true');
    expect(answer).toMatch(/^HTTP\/1\.1 403 Forbidden\r\n/);
    expect(answer).toContain(`pods \\"on-b\\" is forbidden: User \\"system:node:${nodeA}\\" cannot create resource \\"pods/exec\\" in API group \\"\\" in the namespace \\"default\\"`);
    const pf = await upgrade(tokenA, '/api/v1/namespaces/default/pods/on-b/portforward?ports=80');
    expect(pf).toMatch(/^HTTP\/1\.1 403 Forbidden\r\n/);
    // The admin still can, through the node's kubelet on TCP.
    expect((await cluster.mp(['logs', 'on-b'])).stdout).toBe('hello from on-b\n');
    expect(await cluster.mp(['exec', 'on-a', '--', 'echo', 'hi'])).toMatchObject({ code: 0, stdout: 'hi\n' });
  });
});

/** A serving leaf signed by `issuer`, without the authority key identifier that names its signer's key. */
async function leafWithoutAuthorityKeyId(issuer: { cert: string; key: string }): Promise<{ cert: string; key: string }> {
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as CryptoKeyPair;
  const signingKey = await webcrypto.subtle.importKey('pkcs8', createPrivateKey(issuer.key).export({ type: 'pkcs8', format: 'der' }), alg, false, ['sign']);
  const cert = await x509.X509CertificateGenerator.create({
    subject: 'CN=minipod-apiserver',
    issuer: new x509.X509Certificate(issuer.cert).subject,
    publicKey: keys.publicKey,
    signingKey,
    signingAlgorithm: alg,
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'ip', value: '127.0.0.1' }])],
  });
  const key = x509.PemConverter.encode(Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)), 'PRIVATE KEY');
  return { cert: cert.toString('pem') + '\n', key };
}

/** An exec/portforward upgrade over TLS with `token`; the server's whole answer. */
function upgrade(token: string, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, ca: ca() }, () => {
      s.write(
        `GET ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
          'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: v5.channel.k8s.io\r\n\r\n',
      );
    });
    let text = '';
    s.on('data', (d) => (text += d));
    s.on('close', () => resolve(text));
    s.on('error', reject);
  });
}

describe('the join token', () => {
  it('can do nothing but the credential exchange', async () => {
    const joinToken = readFileSync(joinTokenFile(), 'utf8').trim();
    const tokenId = joinToken.split('.')[0];
    expect(joinToken).toMatch(/^[a-z0-9]{6}\.[a-z0-9]{16}$/);
    const list = await call(joinToken, 'GET', '/api/v1/pods');
    expect(list).toMatchObject({ code: 403, message: `pods is forbidden: User "system:bootstrap:${tokenId}" cannot list resource "pods" in API group "" at the cluster scope` });
    const node = await call(joinToken, 'PATCH', `/api/v1/nodes/${nodeA}`, { metadata: { labels: { x: 'y' } } }, 'application/merge-patch+json');
    expect(node).toMatchObject({ code: 403, message: `nodes "${nodeA}" is forbidden: User "system:bootstrap:${tokenId}" cannot patch resource "nodes" in API group "" at the cluster scope` });
    expect((await call(joinToken, 'GET', '/api')).code).toBe(403);
    expect((await call(joinToken, 'POST', '/api/v1/namespaces/default/pods', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'x' }, spec: { containers: [] } })).code).toBe(403);
  });
});

describe('joining the same node name again', () => {
  it("revokes the old node's token at once; the old agent is refused with a message", async () => {
    const first = home();
    await startAgent('c1', first, nodeC, ['--token-file', joinTokenFile()]);
    const old = credentials(first, nodeC).token;
    expect((await call(old, 'GET', '/api/v1/nodes')).code).toBe(200);
    await stopAgent('c1');

    const second = home();
    await startAgent('c2', second, nodeC, ['--token-file', joinTokenFile()]);
    const fresh = credentials(second, nodeC).token;
    expect(fresh).not.toBe(old);
    expect(await call(old, 'GET', '/api/v1/nodes')).toMatchObject({ code: 401 });
    expect(await call(old, 'PUT', `/api/v1/nodes/${nodeC}/status`, await cluster.client.getNode(nodeC))).toMatchObject({ code: 401 });
    expect((await call(fresh, 'GET', '/api/v1/nodes')).code).toBe(200);

    // The first agent, started again without a join token, is told why it cannot go on.
    const again = await runCli(joinArgs(nodeC), agentEnv(first));
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`refused the credentials node ${nodeC} got when it joined (401: revoked by a later join of the same name)`);
    await stopAgent('c2');
  }, 90_000);
});

describe('node join verifies the API server', () => {
  it('refuses http://', async () => {
    const res = await runCli(['node', 'join', '--server', `http://127.0.0.1:${port}`, '--token-file', joinTokenFile(), '--ca-cert-hash', caCertHash(ca()), '--name', 'x'], agentEnv(home()));
    expect(res.code).toBe(1);
    expect(res.stderr).toBe(`error: --server http://127.0.0.1:${port}: a node agent speaks HTTPS only, to an API server whose certificate it verifies; use https://127.0.0.1:${port}\n`);
  });

  it('wants the CA pinned', async () => {
    const res = await runCli(['node', 'join', '--server', server, '--token-file', joinTokenFile(), '--name', 'x'], agentEnv(home()));
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('node join verifies the API server: give --ca-cert-hash sha256:<hex>');
  });

  it('refuses a server whose CA is not the pinned one, or whose certificate the pinned CA did not sign, and sends it nothing', async () => {
    // Impostors: one with a CA of its own; two that show the real (public) ca.crt above a leaf their own CA
    // signed (that CA has the real one's name, CN=minipod-ca: only the key tells them apart), with and
    // without an authority key identifier, by which the node finds the CA in the chain.
    const otherCa = await makeCa();
    const leaf = await issueServingCertificate(otherCa, ['127.0.0.1', 'localhost']);
    const bare = await leafWithoutAuthorityKeyId(otherCa);
    const requests: string[] = [];
    for (const [what, cert, key] of [
      ['own CA', leaf.cert + otherCa.cert, leaf.key],
      ['copied ca.crt', leaf.cert + ca(), leaf.key],
      ['copied ca.crt, no key id', bare.cert + ca(), bare.key],
    ] as const) {
      const impostor = https.createServer({ cert, key }, (req, res) => {
        requests.push(`${req.method} ${req.url} ${req.headers.authorization ?? ''}`);
        res.end('{}');
      });
      await new Promise<void>((r) => impostor.listen(0, '127.0.0.1', r));
      const url = `https://127.0.0.1:${(impostor.address() as net.AddressInfo).port}`;
      try {
        const agentHome = home();
        const res = await runCli(['node', 'join', '--server', url, '--token-file', joinTokenFile(), '--ca-cert-hash', caCertHash(ca()), '--name', 'victim'], agentEnv(agentHome));
        expect(res.code, what).toBe(1);
        if (what === 'own CA') {
          expect(res.stderr).toBe(
            `error: refusing to join the API server at ${url}: the cluster CA it presents has the public key hash ${caCertHash(otherCa.cert)}, but --ca-cert-hash expects ${caCertHash(ca())}. ` +
              'This is not the API server you were told to trust (or its CA was re-made: ask for the new hash, `minipod daemon ca-hash` on its machine)\n',
          );
        } else if (what === 'copied ca.crt') {
          expect(res.stderr).toContain(`error: refusing to join the API server at ${url}: its certificate (issued by "CN=minipod-ca") comes without the CA that --ca-cert-hash ${caCertHash(ca())} pins.`);
        } else {
          expect(res.stderr).toContain(`error: the API server at ${url} presents a certificate that the cluster CA (${caCertHash(ca())}) does not vouch for`);
        }
        expect(existsSync(join(agentHome, 'node-victim', 'credentials.json'))).toBe(false);
        // Given the CA itself instead of its hash: refused too.
        const withFile = await runCli(['node', 'join', '--server', url, '--token-file', joinTokenFile(), '--certificate-authority', join(cluster.home, 'ca.crt'), '--name', 'victim'], agentEnv(agentHome));
        expect(withFile.code, what).toBe(1);
        expect(withFile.stderr).toContain('does not vouch for');
      } finally {
        impostor.closeAllConnections();
        await new Promise((r) => impostor.close(r));
      }
    }
    expect(requests).toEqual([]); // not a request, so not the join token either
  }, 60_000);
});

describe("a kubelet's TCP endpoint", () => {
  const kubeletUrl = async (name: string) => new URL((await cluster.client.getNode(name)).metadata.annotations![KUBELET_ENDPOINT_ANNOTATION]);
  const kubeletGet = (url: URL, path: string, token?: string) =>
    new Promise<{ code: number; body: string; sha256: string }>((resolve, reject) => {
      const req = https.get({ host: url.hostname, port: url.port, path, rejectUnauthorized: false, agent: false, headers: token ? { authorization: `Bearer ${token}` } : {} }, (res) => {
        const sha256 = certificateSha256((res.socket as tls.TLSSocket).getPeerX509Certificate()!);
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ code: res.statusCode ?? 0, body, sha256 }));
      });
      req.on('error', reject);
    });

  it('serves TLS with the certificate its Node pins, and refuses a stolen node token, the admin token and none', async () => {
    const node = (await cluster.client.getNode(nodeA)) as Node;
    const url = await kubeletUrl(nodeA);
    expect(url.protocol).toBe('https:');
    const path = '/containerLogs/default/on-a/main';
    for (const token of [credentials(homeA, nodeA).token, credentials(homeB, nodeB).token, adminToken(), readFileSync(joinTokenFile(), 'utf8').trim(), undefined]) {
      const res = await kubeletGet(url, path, token);
      expect(res.code).toBe(401);
      expect(res.body).not.toContain('hello from on-a');
      expect(res.sha256).toBe(node.metadata.annotations![KUBELET_SERVING_CERT_ANNOTATION]);
    }
    // The node keeps only the hash of the API server's kubelet-client token, which is none of those.
    expect(credentials(homeA, nodeA).kubeletClientTokenSHA256).toMatch(/^[0-9a-f]{64}$/);
    expect((await cluster.mp(['logs', 'on-a'])).stdout).toBe('hello from on-a\n');
  });

  it("is not reached when it shows another certificate than its Node's: the API server sends nothing", async () => {
    const url = await kubeletUrl(nodeA);
    await stopAgent('a', 'SIGKILL'); // its pods run on; its address is free for an impostor
    const fake = await selfSignedServingCertificate(['127.0.0.1'], `system:node:${nodeA}`);
    let dialled = 0;
    const seen: string[] = [];
    const impostor = https.createServer({ cert: fake.cert, key: fake.key }, (req, res) => {
      seen.push(`${req.method} ${req.url} ${req.headers.authorization ?? ''}`);
      res.end('pwned');
    });
    impostor.on('connection', () => dialled++);
    impostor.on('upgrade', (req, socket) => {
      seen.push(`upgrade ${req.url} ${req.headers.authorization ?? ''}`);
      socket.destroy();
    });
    await new Promise<void>((r) => impostor.listen(Number(url.port), '127.0.0.1', r));
    try {
      const pinned = (await cluster.client.getNode(nodeA)).metadata.annotations![KUBELET_SERVING_CERT_ANNOTATION];
      const logs = await cluster.mp(['logs', 'on-a']);
      expect(logs.code).toBe(1);
      expect(logs.stderr).toBe(
        `Error from server (BadGateway): error dialing backend: the kubelet at ${url.origin} presented a serving certificate with SHA-256 ${certificateSha256(fake.cert)}, but node "${nodeA}" publishes ${pinned} (annotation ${KUBELET_SERVING_CERT_ANNOTATION}): nothing was sent to it\n`,
      );
      const exec = await cluster.mp(['exec', 'on-a', '--', 'id']);
      expect(exec.code).toBe(1);
      expect(exec.stderr).toContain('presented a serving certificate with SHA-256');
      expect(dialled).toBeGreaterThanOrEqual(2); // it was dialled...
      expect(seen).toEqual([]); // ...and told nothing: no request, no token
    } finally {
      impostor.closeAllConnections();
      await new Promise((r) => impostor.close(r));
    }
    // The real agent comes back with the credentials it kept, and is reached again.
    await startAgent('a', homeA, nodeA, ['--kubelet-listen', '127.0.0.1:0']);
    const back = await watchPod(cluster.client, 'default', 'on-a', (p: Pod) => p.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True', 20_000, 'Ready');
    expect(back.spec.nodeName).toBe(nodeA);
    expect((await cluster.mp(['logs', 'on-a'])).stdout).toBe('hello from on-a\n');
  }, 60_000);
});

describe('minipod daemon rotate-certs', () => {
  const rotating = new TestCluster();
  const served = () =>
    new Promise<{ sha256: string; verified: boolean }>((resolve, reject) => {
      const s = tls.connect({ host: '127.0.0.1', port: rotatePort, ca: readFileSync(join(rotating.home, 'ca.crt'), 'utf8'), rejectUnauthorized: false }, () => {
        resolve({ sha256: certificateSha256(s.getPeerX509Certificate()!), verified: s.authorized });
        s.destroy();
      });
      s.on('error', reject);
    });

  it('issues a new leaf that the running daemon serves at once; --ca a new CA, which a node pinning the old hash refuses', async () => {
    // In the background, as `daemon start` prints the join command.
    const started = rotating.mp(['daemon', 'start', '--listen', `127.0.0.1:${rotatePort}`, '--no-kubelet']);
    const out = await started;
    try {
      expect(out.code, out.stderr).toBe(0);
      const oldHash = (await rotating.mp(['daemon', 'ca-hash'])).stdout.trim();
      expect(oldHash).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(out.stdout).toContain(`minipod node join --server https://127.0.0.1:${rotatePort} --token-file ./join-token --ca-cert-hash ${oldHash} --name NODE`);
      const before = await served();
      expect(before.verified).toBe(true);

      const leaf = await rotating.mp(['daemon', 'rotate-certs']);
      expect(leaf.code, leaf.stderr).toBe(0);
      expect(leaf.stdout).toContain('(the running daemon serves it from its next connection)');
      const after = await served();
      expect(after.sha256).not.toBe(before.sha256);
      expect(after.verified).toBe(true);
      expect((await rotating.mp(['daemon', 'ca-hash'])).stdout.trim()).toBe(oldHash);

      const ca = await rotating.mp(['daemon', 'rotate-certs', '--ca']);
      expect(ca.code, ca.stderr).toBe(0);
      const newHash = (await rotating.mp(['daemon', 'ca-hash'])).stdout.trim();
      expect(newHash).not.toBe(oldHash);
      expect(ca.stdout).toContain(`public key ${newHash}`);
      expect(ca.stdout).toContain('Every node that joined before trusts the old CA and will refuse this API server');
      expect((await served()).verified).toBe(true); // against the new ca.crt
      const refused = await runCli(
        ['node', 'join', '--server', `https://127.0.0.1:${rotatePort}`, '--token-file', join(rotating.home, 'join-token'), '--ca-cert-hash', oldHash, '--name', 'late'],
        agentEnv(home()),
      );
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain(`the cluster CA it presents has the public key hash ${newHash}, but --ca-cert-hash expects ${oldHash}`);
    } finally {
      await rotating.mp(['daemon', 'stop']);
      await rotating.cleanup();
    }
  }, 60_000);
});
