// Two minipod daemons (two clusters, each its own MINIPOD_HOME) on one Docker Engine
// never touch each other's containers: a node name is claimed by one live daemon
// (the second is refused, then takes a stale claim over), and with different node
// names, killing and restarting either one leaves every pod of both running, as
// Docker's own event stream shows.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Pod } from '../../src/api/types.js';
import { BIN, TestCluster, docker, waitFor } from '../e2e/harness.js';

const clusters: TestCluster[] = [];
const streams: { destroy(): void }[] = [];
afterAll(async () => {
  for (const s of streams) s.destroy();
  await Promise.all(clusters.map((c) => c.stopDaemon()));
  // 80 containers: removed side by side, not one by one as cleanup() does.
  const left = (await Promise.all(clusters.map((c) => c.containers().catch(() => [])))).flat();
  await Promise.all(left.map((c) => docker.getContainer(c.Id).remove({ force: true }).catch(() => {})));
  for (const c of clusters) await c.cleanup();
}, 60_000);

function cluster(nodeName?: string): TestCluster {
  const c = new TestCluster({ nodeName });
  clusters.push(c);
  return c;
}

/** Runs `minipod daemon` in the foreground, expecting it to end by itself (killed after 20 s if not). */
function daemonRun(c: TestCluster): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, 'daemon'], { env: c.env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

/** The kill/die/stop/destroy events of one cluster's pod containers, from now on. */
async function recordKills(clusterUid: string): Promise<string[]> {
  const seen: string[] = [];
  const stream = (await docker.getEvents({
    filters: { type: ['container'], label: [`minipod.io/cluster=${clusterUid}`], event: ['kill', 'die', 'stop', 'destroy'] },
  })) as NodeJS.ReadableStream & { destroy(): void };
  streams.push(stream);
  let buf = '';
  stream.on('data', (chunk: Buffer) => {
    buf += chunk.toString('utf8');
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (!line.trim()) continue;
      const e = JSON.parse(line) as { Action: string; Actor: { Attributes: Record<string, string> } };
      seen.push(`${e.Action} ${e.Actor.Attributes['io.kubernetes.pod.name']}/${e.Actor.Attributes['io.kubernetes.container.name']}`);
    }
  });
  return seen;
}

const kubeletStarts = (c: TestCluster) => readFileSync(join(c.home, 'daemon.log'), 'utf8').split('\n').filter((l) => l.includes('"kubelet started"')).length;

/** Waits until the kubelet has started `n` times in this home: it has adopted and looked for orphans by then. */
const kubeletStarted = (c: TestCluster, n: number) => waitFor(() => kubeletStarts(c) >= n, 20_000, `kubelet start #${n} in ${c.home}`);

function pods(prefix: string, n: number): string {
  return Array.from(
    { length: n },
    (_, i) => `apiVersion: v1
kind: Pod
metadata:
  name: ${prefix}-${i}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: busybox:1.36
    command: ["sleep", "3600"]
`,
  ).join('---\n');
}

const running = (p: Pod) => p.status?.phase === 'Running' && (p.status.containerStatuses ?? []).every((s) => s.ready && s.restartCount === 0);

async function allRunning(c: TestCluster, n: number): Promise<Pod[]> {
  return waitFor(
    async () => {
      const items = (await c.client.listPods('default')).items;
      return items.length === n && items.every(running) ? items : undefined;
    },
    60_000,
    `${n} pods Running on ${c.node}`,
  );
}

/** Container id by pod and container name: adoption keeps them; a restart or a removal changes them. */
async function containerIds(clusterUid: string, node: string): Promise<Map<string, string>> {
  const list = await docker.listContainers({ all: true, filters: { label: [`minipod.io/cluster=${clusterUid}`, `minipod.io/node=${node}`] } });
  return new Map(list.map((c) => [`${c.Labels['io.kubernetes.pod.name']}/${c.Labels['io.kubernetes.container.name']}`, `${c.Id} ${c.State}`]));
}

describe('two clusters on one Docker Engine', () => {
  it('one node name, one live daemon: the second is refused, and takes the claim over once the first is gone', async () => {
    const node = `e2e-shared-${Math.random().toString(36).slice(2, 8)}`;
    const a = cluster(node);
    const b = cluster(node);
    await a.start();
    const uidA = await a.client.clusterUid();
    const killsA = await recordKills(uidA);
    expect((await a.mp(['apply', '-f', '-'], pods('a', 1))).code).toBe(0);
    await allRunning(a, 1);
    const before = await containerIds(uidA, node);
    expect(before.size).toBe(2); // the pause container and c

    const refused = await daemonRun(b);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`node name "${node}" is already served on this Docker Engine by another minipod cluster`);
    expect(refused.stderr).toContain(`MINIPOD_HOME=${a.home}, socket ${join(a.home, 'minipod.sock')}`);
    expect(refused.stderr).toContain('--node-name');
    expect(refused.stderr).not.toMatch(/\n\s+at /); // no stack trace
    const claim = await docker.getVolume(`minipod-claim-${node}`).inspect();
    expect(claim.Labels['minipod.io/home']).toBe(a.home);
    expect(claim.Labels['minipod.io/cluster']).toBe(uidA);

    // The first stops (its pods keep running): the second takes the node name, and leaves the first's pods alone.
    await a.stopDaemon();
    await b.start();
    await kubeletStarted(b, 1);
    const uidB = await b.client.clusterUid();
    expect(uidB).not.toBe(uidA);
    expect((await docker.getVolume(`minipod-claim-${node}`).inspect()).Labels['minipod.io/home']).toBe(b.home);
    expect(await containerIds(uidA, node)).toEqual(before);

    // Now the first is refused, until the second is killed -9: its claim is stale, and taken over.
    const refusedA = await daemonRun(a);
    expect(refusedA.code).toBe(1);
    expect(refusedA.stderr).toContain(`MINIPOD_HOME=${b.home}`);
    await b.stopDaemon('SIGKILL');
    await a.start();
    await kubeletStarted(a, 2);
    expect((await docker.getVolume(`minipod-claim-${node}`).inspect()).Labels['minipod.io/home']).toBe(a.home);
    await allRunning(a, 1); // adopted, not restarted
    expect(await containerIds(uidA, node)).toEqual(before);
    expect(killsA).toEqual([]);
  }, 60_000);

  it('different node names, 20 pods each: kill -9 and restart each in turn, and no container of the other is touched', async () => {
    const a = cluster();
    const b = cluster();
    await Promise.all([a.start(), b.start()]);
    const [uidA, uidB] = await Promise.all([a.client.clusterUid(), b.client.clusterUid()]);
    const kills = { a: await recordKills(uidA), b: await recordKills(uidB) };
    const [appliedA, appliedB] = await Promise.all([a.mp(['apply', '-f', '-'], pods('a', 20)), b.mp(['apply', '-f', '-'], pods('b', 20))]);
    expect(appliedA.code, appliedA.stderr).toBe(0);
    expect(appliedB.code, appliedB.stderr).toBe(0);
    await Promise.all([allRunning(a, 20), allRunning(b, 20)]);
    const ids = { a: await containerIds(uidA, a.node), b: await containerIds(uidB, b.node) };
    expect(ids.a.size).toBe(40);
    expect(ids.b.size).toBe(40);

    for (const [c, n] of [[a, 2], [b, 2]] as const) {
      await c.stopDaemon('SIGKILL');
      await c.start();
      await kubeletStarted(c, n);
    }
    await Promise.all([allRunning(a, 20), allRunning(b, 20)]);
    expect(await containerIds(uidA, a.node)).toEqual(ids.a);
    expect(await containerIds(uidB, b.node)).toEqual(ids.b);
    expect(kills.a).toEqual([]);
    expect(kills.b).toEqual([]);

    // daemon status says what runs; daemon stop removes the containers of pods deleted just before it, and says what it leaves.
    const status = await b.mp(['daemon', 'status']);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/^minipod daemon is running \(pid \d+\)/);
    expect(status.stdout).toMatch(/uptime: +\d+[smhd]/);
    expect(status.stdout).toContain(`store:   sqlite ${join(b.home, 'store.db')}`);
    expect(status.stdout).toContain(`node:    ${b.node}`);
    expect(status.stdout).toContain(`pods:    20 (20 on node ${b.node})`);
    expect(status.stdout).toMatch(/docker: +\d+\.\d+/);
    expect(status.stdout).toContain(`log:     ${join(b.home, 'daemon.log')}`);

    expect((await a.mp(['delete', 'pod', '--all', '--force', '--grace-period=0'])).code).toBe(0);
    const stoppedA = await a.mp(['daemon', 'stop']);
    expect(stoppedA.stdout).toMatch(/^minipod daemon stopped \(pid \d+\)\n$/);
    expect((await containerIds(uidA, a.node)).size).toBe(0);
    const stoppedB = await b.mp(['daemon', 'stop']);
    expect(stoppedB.stdout).toContain('20 pods keep running; the next start adopts them');
    expect([...(await containerIds(uidB, b.node)).values()].filter((s) => s.endsWith(' running')).length).toBe(40);
    await expect(docker.getVolume(`minipod-claim-${b.node}`).inspect()).rejects.toMatchObject({ statusCode: 404 }); // released
    expect(kills.b).toEqual([]);
  }, 90_000);
});
