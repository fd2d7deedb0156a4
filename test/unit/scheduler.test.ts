// The scheduler as a controller over watches, against a real in-process API
// server and store (no Docker, no kubelet): nodes are plain API objects here.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Event, Node, Pod } from '../../src/api/types.js';
import { Registry } from '../../src/apiserver/registry.js';
import { createApiServer } from '../../src/apiserver/server.js';
import { Client } from '../../src/client/client.js';
import { Scheduler, summarize } from '../../src/scheduler/scheduler.js';
import { SqliteStore } from '../../src/store/sqlite.js';

let client: Client;
let stop: () => Promise<void>;

beforeEach(async () => {
  const dir = mkdtempSync(join(os.tmpdir(), 'minipod-sched-'));
  const store = new SqliteStore(join(dir, 'store.db'));
  // Pod Security at privileged: these pods ask for host ports, which the scheduler must keep apart.
  const server = createApiServer({ registry: new Registry(store, { podSecurity: 'privileged', allowHostPaths: [] }), logger: pino({ level: 'silent' }) });
  const socket = join(dir, 'api.sock');
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  client = new Client({ socketPath: socket });
  const scheduler = new Scheduler(new Client({ socketPath: socket }), pino({ level: 'silent' }));
  await scheduler.start();
  stop = async () => {
    scheduler.stop();
    client.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  };
});
afterEach(() => stop());

function node(name: string, opts: { labels?: Record<string, string>; cpu?: string; memory?: string; ready?: 'True' | 'False' | 'Unknown' } = {}): Node {
  const alloc = { cpu: opts.cpu ?? '4', memory: opts.memory ?? '8Gi', pods: '110' };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...opts.labels } },
    spec: {},
    status: { capacity: alloc, allocatable: alloc, conditions: [{ type: 'Ready', status: opts.ready ?? 'True' }] },
  };
}

function pod(name: string, spec: Partial<Pod['spec']> = {}, requests?: Record<string, string>, hostPort?: number): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name },
    spec: {
      containers: [
        {
          name: 'c',
          image: 'busybox:1.36',
          ...(requests ? { resources: { requests } } : {}),
          ...(hostPort ? { ports: [{ containerPort: 80, hostPort }] } : {}),
        },
      ],
      ...spec,
    },
  };
}

/** Polls with a deadline (the scheduler acts asynchronously through watches). */
async function eventually<T>(fn: () => Promise<T | undefined | false>, what: string, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function eventFor(podName: string, reason: string): Promise<Event> {
  return eventually(async () => {
    const evs = await client.listEvents('default', { fieldSelector: `involvedObject.name=${podName},reason=${reason}` });
    return evs.items.at(-1);
  }, `${reason} for ${podName}`);
}

const boundTo = (name: string) => eventually(async () => (await client.getPod('default', name)).spec.nodeName, `${name} to be bound`);

describe('the scheduler', () => {
  it('leaves a pod whose nodeSelector matches no node Pending, and binds it once the node is labelled', async () => {
    await client.createNode(node('n1'));
    await client.createPod('default', pod('ssd', { nodeSelector: { disktype: 'ssd' } }));
    const failed = await eventFor('ssd', 'FailedScheduling');
    expect(failed).toMatchObject({ type: 'Warning', message: "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector.", source: { component: 'default-scheduler' } });
    const pending = await client.getPod('default', 'ssd');
    expect(pending.spec.nodeName).toBeUndefined();
    expect(pending.status?.phase).toBe('Pending');
    expect(pending.status?.conditions?.find((c) => c.type === 'PodScheduled')).toMatchObject({ status: 'False', reason: 'Unschedulable', message: failed.message });

    await client.request('PATCH', '/api/v1/nodes/n1', { metadata: { labels: { disktype: 'ssd' } } }, 'application/merge-patch+json');
    expect(await boundTo('ssd')).toBe('n1');
    expect((await eventFor('ssd', 'Scheduled')).message).toBe('Successfully assigned default/ssd to n1');
    const bound = await client.getPod('default', 'ssd');
    expect(bound.status?.conditions?.find((c) => c.type === 'PodScheduled')?.status).toBe('True');
  });

  it('refuses a pod whose requests exceed what the node has left, naming each short resource', async () => {
    await client.createNode(node('n1', { cpu: '2', memory: '1Gi' }));
    await client.createPod('default', pod('big-cpu', {}, { cpu: '3' }));
    expect((await eventFor('big-cpu', 'FailedScheduling')).message).toBe('0/1 nodes are available: 1 Insufficient cpu.');
    await client.createPod('default', pod('big-both', {}, { cpu: '2500m', memory: '2Gi' }));
    expect((await eventFor('big-both', 'FailedScheduling')).message).toBe('0/1 nodes are available: 1 Insufficient cpu, 1 Insufficient memory.');
    // What fits is bound, and then counts against the node.
    await client.createPod('default', pod('half', {}, { cpu: '1500m' }));
    expect(await boundTo('half')).toBe('n1');
    await client.createPod('default', pod('another-half', {}, { cpu: '1' }));
    expect((await eventFor('another-half', 'FailedScheduling')).message).toBe('0/1 nodes are available: 1 Insufficient cpu.');
  });

  it('sums the reasons over nodes, sorted as Kubernetes sorts them', async () => {
    await client.createNode(node('a', { ready: 'False' }));
    await client.createNode(node('b'));
    await client.createNode(node('c', { ready: 'Unknown' }));
    await client.createPod('default', pod('picky', { nodeSelector: { zone: 'x' } }));
    expect((await eventFor('picky', 'FailedScheduling')).message).toBe(
      "0/3 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }, 1 node(s) had untolerated taint {node.kubernetes.io/unreachable: }.",
    );
    expect(summarize(['Insufficient cpu', 'Insufficient cpu', "node(s) didn't match Pod's node affinity/selector"])).toBe(
      "1 node(s) didn't match Pod's node affinity/selector, 2 Insufficient cpu",
    );
  });

  it('says when there is no node at all, and binds when one registers', async () => {
    await client.createPod('default', pod('early'));
    expect((await eventFor('early', 'FailedScheduling')).message).toBe('no nodes available to schedule pods');
    await client.createNode(node('late'));
    expect(await boundTo('early')).toBe('late');
  });

  it('prefers the least requested node, and keeps host ports apart', async () => {
    await client.createNode(node('n1'));
    await client.createNode(node('n2'));
    await client.createPod('default', pod('first', {}, { cpu: '2' }));
    const first = await boundTo('first');
    await client.createPod('default', pod('second', {}, { cpu: '1' }));
    expect(await boundTo('second')).not.toBe(first);

    await client.createPod('default', pod('web1', {}, undefined, 8080));
    await client.createPod('default', pod('web2', {}, undefined, 8080));
    const [w1, w2] = [await boundTo('web1'), await boundTo('web2')];
    expect(w1).not.toBe(w2);
    await client.createPod('default', pod('web3', {}, undefined, 8080));
    expect((await eventFor('web3', 'FailedScheduling')).message).toBe("0/2 nodes are available: 2 node(s) didn't have free ports for the requested pod ports.");
  });

  it('leaves alone a pod its author bound with spec.nodeName', async () => {
    await client.createNode(node('n1'));
    await client.createPod('default', pod('pinned', { nodeName: 'elsewhere' }));
    await client.createPod('default', pod('marker'));
    await boundTo('marker'); // the scheduler has looked at everything created before
    expect((await client.getPod('default', 'pinned')).spec.nodeName).toBe('elsewhere');
    expect((await client.listEvents('default', { fieldSelector: 'involvedObject.name=pinned' })).items).toEqual([]);
  });
});
