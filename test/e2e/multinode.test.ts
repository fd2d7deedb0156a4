// Issue 6's acceptance, end to end: two daemons on one real etcd (both serve the API;
// one leads, the other stands by), a node agent on a second real Docker Engine, the
// node lifecycle controller, and the failover of the scheduler. The agent joins as
// kubeadm's nodes do (issue 12): over HTTPS to a server whose CA it pins, with the
// join token exchanged for credentials of its own; its kubelet serves TLS on TCP.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { caCertHash } from '../../src/api/cert-pins.js';
import type { Event, Node, Pod } from '../../src/api/types.js';
import { Client } from '../../src/client/client.js';
import { type TestEtcd, startTestEtcd, testEtcdClient } from '../test-etcd.js';
import { BIN, ROOT, docker, runCli, waitFor, watchPod } from './harness.js';

// Short clocks so that the whole file takes well under a minute.
const GRACE_S = 4; // --node-monitor-grace-period
const LEASE_S = 4; // --leader-elect-lease-duration
const TIMING_ENV = {
  MINIPOD_NODE_MONITOR_GRACE_PERIOD: `${GRACE_S}s`,
  MINIPOD_LEADER_ELECT_LEASE_DURATION: `${LEASE_S}s`,
  MINIPOD_NODE_STATUS_UPDATE_FREQUENCY: '1',
};

const id = Math.random().toString(36).slice(2, 8);
const prefix = `/minipod-e2e-${id}`;
const nodeOne = `mn-${id}-one`;
const nodeTwo = `mn-${id}-two`;
const homes = { a: tmp('a'), b: tmp('b'), agent: tmp('agent') };
let etcd: TestEtcd | undefined;
let docker2Host = '';
let docker2: Docker;
let ports = { a: 0, b: 0 };
const procs = new Map<string, { child: ChildProcess; stderr: string }>();
let clientA: Client;
let clientB: Client;

function tmp(name: string) {
  return mkdtempSync(join(os.tmpdir(), `minipod-mn-${name}-`));
}

const env = (home: string): NodeJS.ProcessEnv => ({ ...process.env, ...TIMING_ENV, MINIPOD_HOME: home, NO_COLOR: '1' });
// etcd wants a client certificate: daemon A is given the files as flags, daemon B as MINIPOD_ETCD_* variables.
const store = () => `etcds://${etcd!.host}${prefix}`;
const etcdFlags = () => ['--etcd-cafile', etcd!.caFile, '--etcd-certfile', etcd!.certFile, '--etcd-keyfile', etcd!.keyFile];

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

function launch(name: string, args: string[], home: string, extraEnv: NodeJS.ProcessEnv = {}) {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...env(home), ...extraEnv }, cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  const p = { child, stderr: '' };
  child.stderr!.on('data', (d) => (p.stderr += d));
  procs.set(name, p);
  return p;
}

async function kill(name: string, signal: NodeJS.Signals) {
  const p = procs.get(name);
  if (!p || p.child.exitCode !== null || p.child.signalCode !== null) return;
  const exited = new Promise((r) => p.child.once('exit', r));
  p.child.kill(signal);
  await exited;
}

const caHash = () => caCertHash(readFileSync(join(homes.a, 'ca.crt'), 'utf8'));
const startAgent = () =>
  launch('agent', ['node', 'join', '--server', `https://127.0.0.1:${ports.b}`, '--token-file', join(homes.a, 'join-token'), '--ca-cert-hash', caHash(), '--name', nodeTwo,
    '--node-labels', 'minipod.io/node=two', '--docker-host', docker2Host, '--kubelet-listen', '127.0.0.1:0'], homes.agent);

/** Resolves once `pred` holds for the node, following the API's watch. */
async function watchNode(client: Client, name: string, pred: (n: Node) => boolean, timeoutMs: number, what: string): Promise<Node> {
  const list = await client.listNodes({ fieldSelector: `metadata.name=${name}` });
  if (list.items[0] && pred(list.items[0])) return list.items[0];
  return new Promise<Node>((resolve, reject) => {
    let last = list.items[0];
    const timer = setTimeout(() => {
      w.stop();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for node ${name} to be ${what}; last: ${JSON.stringify(last?.status?.conditions)}`));
    }, timeoutMs);
    const w = client.watch<Node>('nodes', undefined, { fieldSelector: `metadata.name=${name}`, resourceVersion: list.metadata.resourceVersion }, (e) => {
      if (e.type !== 'ADDED' && e.type !== 'MODIFIED') return;
      last = e.object;
      if (pred(e.object)) {
        clearTimeout(timer);
        w.stop();
        resolve(e.object);
      }
    });
    w.done.catch(reject);
  });
}

const ready = (n: Node) => n.status?.conditions?.find((c) => c.type === 'Ready')?.status;
const podReady = (p: Pod) => p.status?.conditions?.find((c) => c.type === 'Ready');
const running = (p: Pod) => p.status?.phase === 'Running' && (p.status.containerStatuses ?? []).every((s) => s.state.running);

const pod = (name: string, selector?: Record<string, string>) => `apiVersion: v1
kind: Pod
metadata: {name: ${name}}
spec:
  terminationGracePeriodSeconds: 1
  ${selector ? `nodeSelector: ${JSON.stringify(selector)}` : ''}
  containers:
  - name: main
    image: busybox:1.36
    command: ["sleep", "3600"]
`;

async function containersOf(engine: Docker, uid: string) {
  return engine.listContainers({ all: true, filters: { label: [`io.kubernetes.pod.uid=${uid}`] } });
}

/** NODE column of `get pods -o wide`, found by its header (columns are apart by 2+ spaces). */
function nodeColumn(table: string): Map<string, string> {
  const [header, ...rows] = table.trim().split('\n').map((l) => l.trim().split(/\s{2,}/));
  const at = header.indexOf('NODE');
  return new Map(rows.map((r) => [r[0], r[at]]));
}

beforeAll(async () => {
  etcd = startTestEtcd();
  docker2Host = execFileSync('bash', [join(ROOT, 'scripts/start-second-docker.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
  docker2 = new Docker({ socketPath: docker2Host.replace(/^unix:\/\//, '') });
  ports = { a: await freePort(), b: await freePort() };
  clientA = new Client({ socketPath: join(homes.a, 'minipod.sock') });
  clientB = new Client({ socketPath: join(homes.b, 'minipod.sock') });

  // Daemon A: API server, controllers and a kubelet on the main engine. It starts first, so it leads.
  const a = launch('a', ['daemon', '--store', store(), ...etcdFlags(), '--listen', `127.0.0.1:${ports.a}`, '--node-name', nodeOne], homes.a);
  await waitFor(async () => {
    if (a.child.exitCode !== null) throw new Error(`daemon exited: ${a.stderr}`);
    return ready(await clientA.getNode(nodeOne)) === 'True';
  }, 20_000, 'daemon A and its node');
  // Daemon B: a second API server on the same etcd, no kubelet, the same tokens and cluster CA.
  for (const f of ['ca.crt', 'ca.key', 'join-token']) copyFileSync(join(homes.a, f), join(homes.b, f));
  const b = launch('b', ['daemon', '--store', store(), '--no-kubelet', '--listen', `127.0.0.1:${ports.b}`, '--token-file', join(homes.a, 'token')], homes.b, etcd.env);
  await waitFor(async () => {
    if (b.child.exitCode !== null) throw new Error(`daemon exited: ${b.stderr}`);
    return (await clientB.listNodes()).items.length > 0;
  }, 20_000, 'daemon B');
  // The node agent, on the second engine, through daemon B's TCP address.
  const agent = startAgent();
  await waitFor(async () => {
    if (agent.child.exitCode !== null) throw new Error(`daemon exited: node agent: ${agent.stderr}`);
    return ready(await clientA.getNode(nodeTwo)) === 'True';
  }, 20_000, 'the node agent to join');
}, 90_000);

afterAll(async () => {
  for (const name of procs.keys()) await kill(name, 'SIGTERM');
  clientA?.close();
  clientB?.close();
  for (const [engine, node] of [[docker, nodeOne], [docker2, nodeTwo]] as const) {
    if (!engine) continue;
    const leftovers = await engine.listContainers({ all: true, filters: { label: [`minipod.io/node=${node}`] } }).catch(() => []);
    for (const c of leftovers) await engine.getContainer(c.Id).remove({ force: true }).catch(() => {});
    await engine.getVolume(`minipod-claim-${node}`).remove().catch(() => {}); // the node claim a killed daemon left
  }
  if (docker2Host) execFileSync('bash', [join(ROOT, 'scripts/start-second-docker.sh'), 'stop'], { stdio: 'inherit' });
  if (etcd) {
    const client = testEtcdClient(etcd);
    await client.delete().prefix(prefix + '/').catch(() => {});
    client.close();
  }
  for (const h of Object.values(homes)) rmSync(h, { recursive: true, force: true });
}, 60_000);

describe('two API servers on one etcd', () => {
  it('serve the same pods and watch events; only the first daemon leads', async () => {
    const list = await clientB.listPods('default');
    const seen: string[] = [];
    const w = clientB.watch<Pod>('pods', 'default', { resourceVersion: list.metadata.resourceVersion }, (e) => {
      if (e.object.metadata?.name === 'shared') seen.push(e.type);
    });
    const created = await runCli(['apply', '-f', '-'], env(homes.a), pod('shared', { 'minipod.io/node': 'two' }));
    expect(created).toMatchObject({ code: 0, stdout: 'pod/shared created\n' });
    await waitFor(() => seen.includes('ADDED'), 10_000, 'daemon B to stream the pod created through daemon A');
    w.stop();
    const viaB = await clientB.getPod('default', 'shared');
    const viaA = await clientA.getPod('default', 'shared');
    expect(viaB.metadata.uid).toBe(viaA.metadata.uid);
    expect((await runCli(['get', 'pods', 'shared'], env(homes.b))).stdout).toMatch(/^shared\s/m);

    const logA = readFileSync(join(homes.a, 'daemon.log'), 'utf8');
    const logB = readFileSync(join(homes.b, 'daemon.log'), 'utf8');
    expect(logA).toContain('became leader');
    expect(logB).toContain('standing for leader');
    expect(logB).not.toContain('became leader');
  }, 30_000);
});

describe('a node agent on a second Docker Engine', () => {
  it('runs a pod selected for it on its own engine, and get pods -o wide says where each pod runs', async () => {
    const shared = await watchPod(clientA, 'default', 'shared', running, 30_000, 'Running');
    expect(shared.spec.nodeName).toBe(nodeTwo);
    const onTwo = await containersOf(docker2, shared.metadata.uid!);
    expect(onTwo.map((c) => `${c.Labels['minipod.io/kind']} ${c.State}`).sort()).toEqual(['app running', 'sandbox running']);
    expect(onTwo.every((c) => c.Labels['minipod.io/node'] === nodeTwo)).toBe(true);
    expect(await containersOf(docker, shared.metadata.uid!)).toEqual([]);
    // The same containers, through the docker CLI on the second engine's socket.
    const ps = execFileSync('docker', ['-H', docker2Host, 'ps', '--filter', `label=io.kubernetes.pod.uid=${shared.metadata.uid}`, '--format', '{{.Image}}'], { encoding: 'utf8' });
    expect(ps.trim().split('\n').sort()).toEqual(['busybox:1.36', 'minipod/pause:1']);
    // exec through daemon A's API reaches the node agent's kubelet, and the container on engine two.
    const exec = await runCli(['exec', 'shared', '--', 'sh', '-c', 'hostname; cat /proc/1/cmdline | tr "\\0" " "'], env(homes.a));
    expect(exec).toMatchObject({ code: 0, stdout: 'shared\nsleep 3600 ' });

    expect((await runCli(['apply', '-f', '-'], env(homes.a), pod('anywhere'))).code).toBe(0);
    const anywhere = await watchPod(clientA, 'default', 'anywhere', running, 30_000, 'Running');
    expect([nodeOne, nodeTwo]).toContain(anywhere.spec.nodeName);
    const [mine, other] = anywhere.spec.nodeName === nodeTwo ? [docker2, docker] : [docker, docker2];
    expect((await containersOf(mine, anywhere.metadata.uid!)).length).toBe(2);
    expect(await containersOf(other, anywhere.metadata.uid!)).toEqual([]);

    const wide = await runCli(['get', 'pods', '-o', 'wide'], env(homes.a));
    expect(wide.code).toBe(0);
    const nodes = nodeColumn(wide.stdout);
    expect(nodes.get('shared'), wide.stdout).toBe(nodeTwo);
    expect(nodes.get('anywhere')).toBe(anywhere.spec.nodeName);
  }, 60_000);

  it('killed, its node turns Unknown after the grace period and its pods unready; restarted, it adopts its containers', async () => {
    const before = await watchPod(clientA, 'default', 'shared', (p) => podReady(p)?.status === 'True', 20_000, 'Ready');
    const containersBefore = (await containersOf(docker2, before.metadata.uid!)).map((c) => c.Id).sort();
    const killedAt = Date.now();
    await kill('agent', 'SIGKILL');

    const lost = await watchNode(clientA, nodeTwo, (n) => ready(n) === 'Unknown', (GRACE_S + 10) * 1000, 'Unknown');
    const detectedS = (Date.now() - killedAt) / 1000;
    console.log(`node agent killed: node ${nodeTwo} Ready=Unknown after ${detectedS.toFixed(1)} s (grace ${GRACE_S} s)`);
    expect(detectedS).toBeGreaterThanOrEqual(GRACE_S - 1.5); // it waited out the grace period (less the last heartbeat's age)
    expect(lost.status!.conditions!.find((c) => c.type === 'Ready')).toMatchObject({ reason: 'NodeStatusUnknown', message: 'Kubelet stopped posting node status.' });
    expect((await runCli(['get', 'nodes', nodeTwo], env(homes.a))).stdout).toMatch(new RegExp(`^${nodeTwo}\\s+NotReady\\s`, 'm'));

    const unready = await watchPod(clientA, 'default', 'shared', (p) => podReady(p)?.status === 'False', 10_000, 'unready');
    expect(podReady(unready)).toMatchObject({ reason: 'NodeNotReady' });
    const events = await waitFor(async () => {
      const all = (await clientA.listEvents(undefined)).items as Event[];
      const node = all.find((e) => e.involvedObject.kind === 'Node' && e.involvedObject.name === nodeTwo && e.reason === 'NodeNotReady');
      const forPod = all.find((e) => e.involvedObject.name === 'shared' && e.reason === 'NodeNotReady');
      return node && forPod && { node, forPod };
    }, 10_000, 'NodeNotReady events');
    expect(events.node.message).toBe(`Node ${nodeTwo} status is now: NodeNotReady`);
    expect(events.forPod).toMatchObject({ type: 'Warning', message: 'Node is not ready' });
    // The containers never stopped: only their kubelet did.
    expect((await containersOf(docker2, before.metadata.uid!)).every((c) => c.State === 'running')).toBe(true);

    startAgent();
    await watchNode(clientA, nodeTwo, (n) => ready(n) === 'True', 20_000, 'Ready again');
    const back = await watchPod(clientA, 'default', 'shared', (p) => podReady(p)?.status === 'True', 20_000, 'Ready again');
    expect((await containersOf(docker2, before.metadata.uid!)).map((c) => c.Id).sort()).toEqual(containersBefore);
    expect(back.status!.containerStatuses![0]).toMatchObject({ restartCount: 0, containerID: before.status!.containerStatuses![0].containerID });
  }, 60_000);
});

describe('failover', () => {
  it("killing the leading daemon: the standby's scheduler binds new pods within the lease time", async () => {
    const killedAt = Date.now();
    await kill('a', 'SIGKILL');
    const created = await runCli(['apply', '-f', '-'], env(homes.b), pod('after-failover', { 'minipod.io/node': 'two' }));
    expect(created.code).toBe(0);
    const bound = await watchPod(clientB, 'default', 'after-failover', (p) => !!p.spec.nodeName, (LEASE_S + 10) * 1000, 'bound');
    const failoverS = (Date.now() - killedAt) / 1000;
    console.log(`leading daemon killed: standby bound a new pod after ${failoverS.toFixed(1)} s (lease ${LEASE_S} s)`);
    expect(bound.spec.nodeName).toBe(nodeTwo);
    expect(failoverS).toBeLessThan(LEASE_S + 5); // the lease, a retry period, and room for a loaded CI machine
    expect(failoverS).toBeGreaterThan(LEASE_S / 2); // the standby waited for the lease to run out
    expect(readFileSync(join(homes.b, 'daemon.log'), 'utf8')).toContain('became leader');
    const up = await watchPod(clientB, 'default', 'after-failover', running, 30_000, 'Running');
    expect((await containersOf(docker2, up.metadata.uid!)).length).toBe(2);
    // The new leader's node lifecycle controller notices that daemon A's kubelet died with it.
    await watchNode(clientB, nodeOne, (n) => ready(n) === 'Unknown', (GRACE_S + LEASE_S + 10) * 1000, 'Unknown');
  }, 60_000);
});
