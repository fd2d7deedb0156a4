// Issue 5 end to end: the node, the scheduler, selectors, label/annotate and
// `get -w`, with the real CLI against a real daemon on real Docker.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import type { Pod } from '../../src/api/types.js';
import { BIN, type CliResult, ROOT, TestCluster, waitFor, watchPod } from './harness.js';

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise((r) => srv.close(r));
  return port;
}
const port = await freePort();
const cluster = new TestCluster({ daemonArgs: ['--node-labels', 'zone=a,minipod.io/suite=controlplane', '--listen', `127.0.0.1:${port}`] });
beforeAll(() => cluster.start(), 30_000);
afterAll(() => cluster.cleanup(), 60_000);

const running = (p: Pod) => p.status?.phase === 'Running' && (p.status.containerStatuses ?? []).every((s) => s.state.running);
const unschedulable = (p: Pod) => p.status?.conditions?.some((c) => c.type === 'PodScheduled' && c.status === 'False') ?? false;

/** A pod that no node can take (so no container starts): fast objects for selector tests. */
const parked = (name: string, labels: Record<string, string> = {}) => `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  labels: ${JSON.stringify(labels)}
spec:
  nodeSelector: {minipod.io/parked: "true"}
  containers:
  - {name: main, image: busybox:1.36}
`;

/** A CLI process left running (get -w), with its output so far. */
function background(args: string[]): { proc: ChildProcess; out: () => string; err: () => string } {
  const proc = spawn(process.execPath, [BIN, ...args], { env: cluster.env, cwd: ROOT });
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (err += d));
  return { proc, out: () => out, err: () => err };
}

describe('the node', () => {
  it('is registered with its labels, --node-labels, capacity and a Ready condition', async () => {
    // The first heartbeat may follow the registration by a moment.
    const node = await waitFor(async () => {
      const n = await cluster.client.getNode(cluster.node);
      return n.status?.conditions?.some((c) => c.type === 'Ready') && n;
    }, 15_000, 'the Ready condition');
    expect(node.metadata.labels).toMatchObject({
      'kubernetes.io/hostname': cluster.node,
      'kubernetes.io/os': 'linux',
      'kubernetes.io/arch': process.arch === 'x64' ? 'amd64' : process.arch,
      zone: 'a',
      'minipod.io/suite': 'controlplane',
    });
    expect(node.status?.capacity?.cpu).toBe(String(os.cpus().length));
    expect(node.status?.allocatable?.memory).toMatch(/^\d+Ki$/);
    const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
    expect(ready).toMatchObject({ status: 'True', reason: 'KubeletReady' });
    expect(Date.now() - Date.parse(ready!.lastHeartbeatTime!)).toBeLessThan(60_000);

    const wide = await cluster.mp(['get', 'nodes', cluster.node, '-o', 'wide', '--show-labels']);
    expect(wide.code).toBe(0);
    const [header, row] = wide.stdout.trimEnd().split('\n');
    expect(header.split(/\s{2,}/)).toEqual(['NAME', 'STATUS', 'ROLES', 'AGE', 'VERSION', 'INTERNAL-IP', 'EXTERNAL-IP', 'OS-IMAGE', 'KERNEL-VERSION', 'CONTAINER-RUNTIME', 'LABELS']);
    const cells = row.split(/\s+/);
    expect(cells.slice(0, 3)).toEqual([cluster.node, 'Ready', '<none>']);
    expect(cells.at(-1)).toContain(`kubernetes.io/hostname=${cluster.node}`);
    expect(cells.at(-1)).toContain('zone=a');
  });
});

describe('the scheduler', () => {
  it('keeps a pod with nodeSelector disktype=ssd Pending with FailedScheduling, and runs it once the node is labelled', async () => {
    const manifest = `apiVersion: v1
kind: Pod
metadata: {name: ssd}
spec:
  nodeSelector: {disktype: ssd}
  containers:
  - {name: main, image: busybox:1.36, command: [sleep, "3600"]}
`;
    expect(await cluster.mp(['apply', '-f', '-'], manifest)).toMatchObject({ code: 0, stdout: 'pod/ssd created\n' });
    const pending = await watchPod(cluster.client, 'default', 'ssd', unschedulable, 10_000, 'unschedulable');
    const message = "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector.";
    expect(pending.status?.conditions?.find((c) => c.type === 'PodScheduled')).toMatchObject({ reason: 'Unschedulable', message });
    expect((await cluster.mp(['get', 'pods', 'ssd'])).stdout).toMatch(/^ssd\s+0\/1\s+Pending\s+0\s+\d+s$/m);
    const events = await cluster.mp(['get', 'events', '--field-selector', 'involvedObject.name=ssd']);
    expect(events.stdout).toMatch(new RegExp(`Warning\\s+FailedScheduling\\s+pod/ssd\\s+${message.replace(/[.()/']/g, '\\$&')}`));

    const label = await cluster.mp(['label', 'node', cluster.node, 'disktype=ssd']);
    expect(label).toMatchObject({ code: 0, stdout: `node/${cluster.node} labeled\n` });
    const pod = await watchPod(cluster.client, 'default', 'ssd', running, 30_000, 'Running');
    expect(pod.spec.nodeName).toBe(cluster.node);
    const scheduled = await cluster.client.listEvents('default', { fieldSelector: 'involvedObject.name=ssd,reason=Scheduled' });
    expect(scheduled.items.map((e) => e.message)).toEqual([`Successfully assigned default/ssd to ${cluster.node}`]);
    expect((await cluster.containers(pod.metadata.uid)).length).toBe(2); // pause + main
  }, 60_000);

  it('keeps a pod whose CPU request exceeds the node\'s allocatable Pending with the Kubernetes reason', async () => {
    const cpus = os.cpus().length;
    const manifest = `apiVersion: v1
kind: Pod
metadata: {name: hungry}
spec:
  containers:
  - name: main
    image: busybox:1.36
    resources: {requests: {cpu: "${cpus + 1}"}}
`;
    expect((await cluster.mp(['apply', '-f', '-'], manifest)).code).toBe(0);
    const pod = await watchPod(cluster.client, 'default', 'hungry', unschedulable, 10_000, 'unschedulable');
    expect(pod.status?.conditions?.find((c) => c.type === 'PodScheduled')?.message).toBe('0/1 nodes are available: 1 Insufficient cpu.');
    const ev = await cluster.client.listEvents('default', { fieldSelector: 'involvedObject.name=hungry,reason=FailedScheduling' });
    expect(ev.items[0]).toMatchObject({ type: 'Warning', message: '0/1 nodes are available: 1 Insufficient cpu.' });
    const now = await cluster.client.getPod('default', 'hungry');
    expect(now.spec.nodeName).toBeUndefined();
    expect(now.status?.phase).toBe('Pending');
    expect(await cluster.containers(now.metadata.uid)).toEqual([]);
  });
});

describe('label and annotate', () => {
  it('say what kubectl says, refuse to overwrite without --overwrite, and remove with KEY-', async () => {
    expect((await cluster.mp(['apply', '-f', '-'], parked('tagged'))).code).toBe(0);
    expect(await cluster.mp(['label', 'pod', 'tagged', 'app=web'])).toMatchObject({ code: 0, stdout: 'pod/tagged labeled\n', stderr: '' });
    expect(await cluster.mp(['label', 'pod', 'tagged', 'app=db'])).toMatchObject({
      code: 1,
      stdout: '',
      stderr: "error: 'app' already has a value (web), and --overwrite is false\n",
    });
    expect(await cluster.mp(['label', 'pod/tagged', 'app=db', '--overwrite'])).toMatchObject({ code: 0, stdout: 'pod/tagged labeled\n' });
    expect((await cluster.client.getPod('default', 'tagged')).metadata.labels).toEqual({ app: 'db' });
    expect(await cluster.mp(['label', 'pod', 'tagged', 'app-', 'gone-'])).toMatchObject({ code: 0, stdout: 'label "gone" not found.\npod/tagged unlabeled\n' });
    expect((await cluster.client.getPod('default', 'tagged')).metadata.labels ?? {}).toEqual({});
    const bad = await cluster.mp(['label', 'pod', 'tagged', 'bad key=x']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^Error from server \(Invalid\): Pod "tagged" is invalid: metadata\.labels: Invalid value: "bad key": name part must consist of/);
    expect(await cluster.mp(['label', 'pod', 'tagged', 'x=a=b'])).toMatchObject({ code: 1, stderr: 'error: invalid label spec: x=a=b\n' });
    expect(await cluster.mp(['label', 'pod', 'tagged'])).toMatchObject({ code: 1, stderr: 'error: at least one label update is required\n' });
    expect(await cluster.mp(['label', 'pod', 'nosuch', 'a=b'])).toMatchObject({ code: 1, stderr: 'Error from server (NotFound): pods "nosuch" not found\n' });

    const value = 'hello world=1, with "quotes"';
    expect(await cluster.mp(['annotate', 'pod', 'tagged', `description=${value}`])).toMatchObject({ code: 0, stdout: 'pod/tagged annotated\n' });
    expect((await cluster.client.getPod('default', 'tagged')).metadata.annotations).toEqual({ description: value });
    expect(await cluster.mp(['annotate', 'pod', 'tagged', 'description=other'])).toMatchObject({
      code: 1,
      stderr: `error: --overwrite is false but found the following declared annotation(s): 'description' already has a value (${value})\n`,
    });
    expect((await cluster.mp(['annotate', 'pod', 'tagged', 'description=other', '--overwrite'])).code).toBe(0);
    expect(await cluster.mp(['annotate', 'pod', 'tagged', 'description-'])).toMatchObject({ code: 0, stdout: 'pod/tagged annotated\n' });
    expect((await cluster.client.getPod('default', 'tagged')).metadata.annotations ?? {}).toEqual({});
    expect(await cluster.mp(['label', 'node', cluster.node, '--list'])).toMatchObject({ code: 0, stdout: expect.stringContaining('zone=a\n') });
  });
});

describe('selectors', () => {
  it('select with every operator in get -l, delete -l, --field-selector and ?labelSelector=', async () => {
    const pods: [string, Record<string, string>][] = [
      ['sel-a', { suite: 'sel', env: 'prod', tier: 'web' }],
      ['sel-b', { suite: 'sel', env: 'qa', tier: 'db' }],
      ['sel-c', { suite: 'sel', env: 'prod' }],
    ];
    for (const [name, labels] of pods) expect((await cluster.mp(['apply', '-f', '-'], parked(name, labels))).code).toBe(0);
    const names = async (...args: string[]) => {
      const r = await cluster.mp(['get', 'pods', '-o', 'name', ...args]);
      expect(r.stderr).toBe('');
      return r.stdout.trim().split('\n').filter(Boolean);
    };
    expect(await names('-l', 'suite=sel,env=prod')).toEqual(['pod/sel-a', 'pod/sel-c']);
    expect(await names('-l', 'suite==sel,env!=prod')).toEqual(['pod/sel-b']);
    expect(await names('-l', 'suite=sel,tier in (web,db)')).toEqual(['pod/sel-a', 'pod/sel-b']);
    expect(await names('-l', 'suite=sel,tier notin (web)')).toEqual(['pod/sel-b', 'pod/sel-c']);
    expect(await names('-l', 'suite=sel,tier')).toEqual(['pod/sel-a', 'pod/sel-b']);
    expect(await names('-l', 'suite=sel,!tier')).toEqual(['pod/sel-c']);
    expect(await names('-l', 'suite=sel', '--field-selector', 'metadata.name!=sel-a')).toEqual(['pod/sel-b', 'pod/sel-c']);
    expect((await cluster.client.listPods('default', { labelSelector: 'suite=sel,env in (qa)' })).items.map((p) => p.metadata.name)).toEqual(['sel-b']);

    const table = await cluster.mp(['get', 'pods', '-l', 'suite=sel', '--show-labels']);
    expect(table.stdout).toMatch(/^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+LABELS$/m);
    expect(table.stdout).toMatch(/^sel-a\s+0\/1\s+Pending\s+0\s+\d+s\s+env=prod,suite=sel,tier=web$/m);

    const bad = await cluster.mp(['get', 'pods', '-l', 'env in prod']);
    expect(bad).toMatchObject({
      code: 1,
      stdout: '',
      stderr: `Error from server (BadRequest): Unable to find "/v1, Resource=pods" that match label selector "env in prod", field selector "": unable to parse requirement: found 'prod' expected: '('\n`,
    });
    const badField = await cluster.mp(['get', 'pods', '--field-selector', 'spec.image=x']);
    expect(badField.stderr).toBe(
      'Error from server (BadRequest): Unable to find "/v1, Resource=pods" that match label selector "", field selector "spec.image=x": field label not supported: spec.image\n',
    );

    const del = await cluster.mp(['delete', 'pods', '-l', 'suite=sel,env=prod']);
    expect(del).toMatchObject({ code: 0, stdout: 'pod "sel-a" deleted\npod "sel-c" deleted\n' });
    expect(await names('-l', 'suite=sel')).toEqual(['pod/sel-b']);
    expect(await cluster.mp(['get', 'pods', '-l', 'suite=none'])).toMatchObject({ code: 0, stdout: '', stderr: 'No resources found in default namespace.\n' });
  });
});

describe('get -w', () => {
  it('prints a new row for every change, and an EVENT column with --output-watch-events', async () => {
    expect((await cluster.mp(['apply', '-f', '-'], parked('w1', { suite: 'watch' }))).code).toBe(0);
    const plain = background(['get', 'pods', '-w', '-l', 'suite=watch']);
    const events = background(['get', 'pods', '--watch', '--output-watch-events', '-l', 'suite=watch']);
    try {
      // The initial list is printed first, with the header.
      await waitFor(() => plain.out().includes('w1') && events.out().includes('w1'), 10_000, 'the initial rows');
      expect((await cluster.mp(['apply', '-f', '-'], parked('w2', { suite: 'watch' }))).code).toBe(0);
      await watchPod(cluster.client, 'default', 'w2', unschedulable, 10_000, 'marked unschedulable'); // a status change too
      expect((await cluster.mp(['label', 'pod', 'w1', 'step=two'])).code).toBe(0);
      expect((await cluster.mp(['delete', 'pod', 'w2'])).code).toBe(0);
      expect((await cluster.mp(['label', 'pod', 'w1', 'suite-'])).code).toBe(0); // leaves the selection
      await waitFor(() => events.out().split('\n').filter(Boolean).length >= 7 && plain.out().split('\n').filter(Boolean).length >= 7, 10_000, 'a row per change');
      const rows = events.out().trimEnd().split('\n');
      expect(rows[0].split(/\s{2,}/)).toEqual(['EVENT', 'NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE']);
      expect(rows.slice(1).map((r) => r.split(/\s+/).slice(0, 3))).toEqual([
        ['ADDED', 'w1', '0/1'],
        ['ADDED', 'w2', '0/1'],
        ['MODIFIED', 'w2', '0/1'],
        ['MODIFIED', 'w1', '0/1'],
        ['DELETED', 'w2', '0/1'],
        ['DELETED', 'w1', '0/1'],
      ]);
      const plainRows = plain.out().trimEnd().split('\n');
      expect(plainRows[0].split(/\s{2,}/)).toEqual(['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE']);
      expect(plainRows.slice(1).map((r) => r.split(/\s+/)[0])).toEqual(['w1', 'w2', 'w2', 'w1', 'w2', 'w1']);
      // Rows stay aligned under the header (kubectl's remembered tab widths).
      const at = plainRows[0].indexOf('READY');
      for (const r of plainRows.slice(1)) expect(r.slice(at, at + 3)).toBe('0/1');
      expect(plain.err()).toBe('');
    } finally {
      plain.proc.kill();
      events.proc.kill();
    }
  });
});

// ---- a real kubectl against the TCP listener (TLS, bearer token, default flags)

function findKubectl(): string | undefined {
  try {
    const out = execFileSync('kubectl', ['version', '--client', '-o', 'json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return JSON.parse(out).clientVersion?.gitVersion as string;
  } catch {
    return undefined;
  }
}
const kubectlVersion = findKubectl();
if (!kubectlVersion) console.warn('kubectl is not on PATH: the kubectl tests are skipped (Debian\'s kubernetes-client conflicts with the kubectl installed on CI machines)');

describe.skipIf(!kubectlVersion)(`kubectl ${kubectlVersion ?? ''}`, () => {
  let env: NodeJS.ProcessEnv;
  const kubectl = (args: string[], input?: string) =>
    new Promise<CliResult>((resolve) => {
      const child = spawn('kubectl', args, { env });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
      child.stdin.end(input ?? '');
    });
  const cells = (text: string) =>
    text
      .trimEnd()
      .split('\n')
      .map((line) => line.split(/\s{3,}|\s+(?=\S)/).filter(Boolean));
  /** The table without the AGE column, whose value moves with the clock. */
  const withoutAge = (text: string) => {
    const rows = text.trimEnd().split('\n').map((l) => l.trim().split(/\s+/));
    const at = rows[0].indexOf('AGE');
    return rows.map((r) => r.filter((_, i) => i !== at));
  };

  beforeAll(() => {
    const home = join(cluster.home, 'kubectl-home');
    mkdirSync(home, { recursive: true });
    const token = readFileSync(join(cluster.home, 'token'), 'utf8').trim();
    const config = join(home, 'config');
    writeFileSync(
      config,
      `apiVersion: v1
kind: Config
clusters:
- name: minipod
  cluster: {server: "https://127.0.0.1:${port}", certificate-authority: "${join(cluster.home, 'ca.crt')}"}
users:
- name: me
  user: {token: "${token}"}
contexts:
- name: minipod
  context: {cluster: minipod, user: me, namespace: default}
current-context: minipod
`,
    );
    env = { ...cluster.env, HOME: home, KUBECONFIG: config };
  });

  const web = (labels: string) => `apiVersion: v1
kind: Pod
metadata:
  name: kc-web
  labels: {${labels}}
spec:
  containers:
  - name: main
    image: busybox:1.36
    command: ["sh", "-c", "echo hello from kc-web; trap 'exit 0' TERM; while true; do sleep 0.2; done"]
`;

  it('creates, applies, gets, lists by label, shows logs and nodes as minipod prints them', async () => {
    expect(await kubectl(['create', '-f', '-'], web('app: kc-web'))).toMatchObject({ code: 0, stdout: 'pod/kc-web created\n' });
    expect((await kubectl(['create', '-f', '-'], web('app: kc-web'))).stderr).toContain('Error from server (AlreadyExists): error when creating "STDIN": pods "kc-web" already exists');
    expect((await kubectl(['apply', '-f', '-'], web('app: kc-web, tier: front'))).stdout).toBe('pod/kc-web configured\n');
    expect((await kubectl(['apply', '-f', '-'], web('app: kc-web, tier: front'))).stdout).toBe('pod/kc-web unchanged\n');
    await watchPod(cluster.client, 'default', 'kc-web', running, 30_000, 'Running');

    for (const args of [['get', 'pods'], ['get', 'pods', '-l', 'tier=front'], ['get', 'pod', 'kc-web'], ['get', 'nodes']]) {
      const [k, m] = [await kubectl(args), await cluster.mp(args)];
      expect(k.code, k.stderr).toBe(0);
      expect(withoutAge(k.stdout)).toEqual(withoutAge(m.stdout));
      expect(k.stdout.split('\n')[0]).toBe(m.stdout.split('\n')[0]); // the same header, laid out alike
    }
    expect(cells((await kubectl(['get', 'pods', '-l', 'tier=front'])).stdout).map((r) => r[0])).toEqual(['NAME', 'kc-web']);

    const ky = parseYaml((await kubectl(['get', 'pod', 'kc-web', '-o', 'yaml'])).stdout);
    const my = parseYaml((await cluster.mp(['get', 'pod', 'kc-web', '-o', 'yaml'])).stdout);
    expect(ky.metadata.uid).toBe(my.metadata.uid);
    expect(ky.spec).toEqual(my.spec);
    expect(ky.metadata.labels).toEqual({ app: 'kc-web', tier: 'front' });
    expect(ky.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration']).toContain('"tier":"front"');

    const logs = await kubectl(['logs', 'kc-web']);
    expect(logs).toMatchObject({ code: 0, stdout: 'hello from kc-web\n' });
    expect(logs.stdout).toBe((await cluster.mp(['logs', 'kc-web'])).stdout);
    expect(await kubectl(['label', 'pod', 'kc-web', 'by=kubectl'])).toMatchObject({ code: 0, stdout: 'pod/kc-web labeled\n' });
    expect(await kubectl(['exec', 'kc-web', '--', 'sh', '-c', 'echo in $(hostname); exit 3'])).toMatchObject({
      code: 3,
      stdout: 'in kc-web\n',
      stderr: 'command terminated with exit code 3\n',
    });
  }, 90_000);

  it('watches with get -w and deletes with a grace period, waiting until the pod is gone', async () => {
    const pod = await watchPod(cluster.client, 'default', 'kc-web', running, 30_000, 'Running');
    const w = spawn('kubectl', ['get', 'pods', '-w', '-l', 'app=kc-web'], { env });
    let out = '';
    w.stdout.on('data', (d) => (out += d));
    try {
      await waitFor(() => out.includes('kc-web'), 10_000, 'the first row');
      const started = Date.now();
      const del = await kubectl(['delete', 'pod', 'kc-web', '--grace-period=2']);
      const took = Date.now() - started;
      expect(del).toMatchObject({ code: 0, stdout: 'pod "kc-web" deleted\n' });
      expect(took).toBeLessThan(6_000); // kubectl waited for the DELETED event, not its own timeout
      expect(await cluster.containers(pod.metadata.uid)).toEqual([]);
      await waitFor(() => out.split('\n').filter((l) => l.startsWith('kc-web')).length >= 3, 10_000, 'rows for the deletion');
      const rows = out.trimEnd().split('\n');
      expect(rows[0].split(/\s+/)).toEqual(['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE']);
      expect(rows[1]).toMatch(/^kc-web\s+1\/1\s+Running\s+0\s+\S+$/);
      expect(rows.slice(2).some((r) => /^kc-web\s+\S+\s+Terminating\s/.test(r))).toBe(true);
    } finally {
      w.kill();
    }
  }, 60_000);

  it('creates, lists and deletes a namespace with the pods in it', async () => {
    expect(await kubectl(['create', 'namespace', 'kc-ns'])).toMatchObject({ code: 0, stdout: 'namespace/kc-ns created\n' });
    const [k, m] = [await kubectl(['get', 'namespaces']), await cluster.mp(['get', 'ns'])];
    expect(withoutAge(k.stdout)).toEqual(withoutAge(m.stdout));
    expect(withoutAge(m.stdout)).toEqual([['NAME', 'STATUS'], ['default', 'Active'], ['kc-ns', 'Active'], ['kube-node-lease', 'Active'], ['kube-public', 'Active'], ['kube-system', 'Active']]);
    expect((await kubectl(['create', '-n', 'kc-ns', '-f', '-'], parked('inside'))).stdout).toBe('pod/inside created\n');
    expect((await cluster.mp(['get', 'pods', '-n', 'kc-ns', '-o', 'name'])).stdout).toBe('pod/inside\n');
    const [ka, ma] = [await kubectl(['get', 'pods', '-A']), await cluster.mp(['get', 'pods', '-A'])];
    expect(withoutAge(ka.stdout)).toEqual(withoutAge(ma.stdout));
    expect(withoutAge(ma.stdout)[0]).toEqual(['NAMESPACE', 'NAME', 'READY', 'STATUS', 'RESTARTS']);
    expect(withoutAge(ma.stdout)).toContainEqual(['kc-ns', 'inside', '0/1', 'Pending', '0']);
    // kubectl waits until the namespace is gone, which happens once its pods are.
    expect(await kubectl(['delete', 'namespace', 'kc-ns'])).toMatchObject({ code: 0, stdout: 'namespace "kc-ns" deleted\n' });
    await expect(cluster.client.request('GET', '/api/v1/namespaces/kc-ns')).rejects.toMatchObject({ code: 404 });
    expect((await cluster.client.listPods('kc-ns')).items).toEqual([]);
    expect(await kubectl(['delete', 'namespace', 'default'])).toMatchObject({
      code: 1,
      stderr: 'Error from server (Forbidden): namespaces "default" is forbidden: this namespace may not be deleted\n',
    });
  });

  it('leaves validation to the server (OpenAPI v3 says it takes fieldValidation), which refuses unknown fields', async () => {
    const bad = `apiVersion: v1
kind: Pod
metadata: {name: kc-bad}
spec:
  containers:
  - {name: main, image: busybox:1.36, imagePullPolicyy: Never}
`;
    const r = await kubectl(['create', '-f', '-'], bad);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('imagePullPolicyy');
    expect(r.stderr).not.toContain('openapi');
    await expect(cluster.client.getPod('default', 'kc-bad')).rejects.toMatchObject({ code: 404 });
  });
});
