// Faults of dockerd itself, on a private Docker Engine (the main one is shared with
// every other test file): a graceful restart and a crash of dockerd bring every
// restartPolicy Always pod back to Running within 30 s; a stopped or frozen dockerd
// leaves the API serving and the node NotReady, and all recovers when it returns.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Node, Pod } from '../../src/api/types.js';
import { TestCluster, waitFor } from '../e2e/harness.js';
import { docker0Address, PrivateDocker } from './private-docker.js';

const run = promisify(execFile);
const RECOVERY_MS = 30_000;
const HEARTBEAT_S = 3;
const engine = new PrivateDocker();
let cluster: TestCluster;
let docker0Before = '';
const figures: string[] = [];

beforeAll(async () => {
  docker0Before = await docker0Address();
  await engine.start();
  await engine.loadImages(['minipod/testbox:1', 'busybox:1.36', 'minipod/pause:1']);
  // Heartbeats every 3 s instead of 10 s: the same code path, a shorter test.
  cluster = new TestCluster({ dockerHost: engine.host, env: { MINIPOD_NODE_STATUS_UPDATE_FREQUENCY: String(HEARTBEAT_S) } });
  await cluster.start();
}, 60_000);

afterAll(async () => {
  // The daemon first, then the engine (fast, parallel removal), then the cluster's files.
  engine.signal('SIGCONT');
  await cluster?.stopDaemon();
  await engine.destroy();
  await cluster?.cleanup();
  console.info(`dockerd faults (heartbeat ${HEARTBEAT_S} s): ${figures.join('; ')}`);
}, 60_000);

const pod = (name: string, restartPolicy: 'Always' | 'Never' = 'Always'): Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, labels: { scenario: name.split('-')[0] } },
  spec: {
    restartPolicy,
    terminationGracePeriodSeconds: 1,
    // PID 1 ignores SIGTERM without a handler, and dockerd's own shutdown waits 10 s for it.
    containers: ['a', 'b'].map((name) => ({ name, image: 'busybox:1.36', command: ['sh', '-c', 'trap "exit 0" TERM; while :; do sleep 1; done'] })),
  },
});

const running = (p: Pod) =>
  p.status?.phase === 'Running' && p.status.containerStatuses?.length === p.spec.containers.length && p.status.containerStatuses.every((s) => s.state.running && s.ready);

/** Creates `n` Always pods (and one Never pod) for a scenario and waits until all run. */
async function startPods(scenario: string, n: number): Promise<Pod[]> {
  const names = Array.from({ length: n }, (_, i) => `${scenario}-${i}`);
  for (const name of names) await cluster.client.createPod('default', pod(name));
  await cluster.client.createPod('default', pod(`${scenario}-never`, 'Never'));
  return waitFor(async () => {
    const pods = (await cluster.client.listPods('default', { labelSelector: `scenario=${scenario}` })).items;
    return pods.length === n + 1 && pods.every(running) ? pods : undefined;
  }, 30_000, `${scenario} pods to run`);
}

/**
 * Waits until every Always pod of the scenario runs again in new containers, as the
 * API says and as Docker shows (the API may lag behind Docker for a moment).
 */
async function awaitRecovery(scenario: string, before: Pod[], since: number): Promise<Pod[]> {
  const ids = new Set(before.flatMap((p) => p.status!.containerStatuses!.map((s) => s.containerID)));
  const expected = before.filter((p) => p.spec.restartPolicy === 'Always').length;
  const after = await waitFor(async () => {
    const pods = (await cluster.client.listPods('default', { labelSelector: `scenario=${scenario}` })).items.filter((p) => p.spec.restartPolicy === 'Always');
    if (pods.length !== expected || !pods.every((p) => running(p) && p.status!.containerStatuses!.every((s) => !ids.has(s.containerID)))) return undefined;
    for (const p of pods) if (!(await dockerAgrees(p))) return undefined;
    return pods;
  }, RECOVERY_MS, `every Always pod of ${scenario} to run again`).catch(async (err: Error) => {
    throw new Error(`${err.message}\n${await diagnose(scenario)}`);
  });
  figures.push(`${scenario}: all Always pods Running ${Date.now() - since} ms after dockerd answered`);
  return after;
}

/** What the API and Docker show of a scenario's pods, for a failure message. */
async function diagnose(scenario: string): Promise<string> {
  const lines: string[] = [];
  for (const p of (await cluster.client.listPods('default', { labelSelector: `scenario=${scenario}` })).items) {
    const statuses = (p.status?.containerStatuses ?? []).map((s) => `${s.name}:${Object.keys(s.state)[0]}/${s.restartCount}/${s.containerID?.slice(9, 21)}`);
    lines.push(`pod ${p.metadata.name} ${p.status?.phase} ${statuses.join(' ')}`);
    for (const c of await cluster.containers(p.metadata.uid)) lines.push(`  docker ${c.Id.slice(0, 12)} ${c.Labels['io.kubernetes.container.name']}#${c.Labels['minipod.io/attempt']} ${c.State} ${c.Status}`);
    const events = (await cluster.client.listEvents('default', { fieldSelector: `involvedObject.name=${p.metadata.name}` })).items;
    for (const e of events) lines.push(`  event ${e.lastTimestamp} x${e.count} ${e.reason}: ${e.message}`);
  }
  // The daemon's last warnings and errors.
  const log = readFileSync(join(cluster.home, 'daemon.log'), 'utf8').split('\n').filter((l) => /"level":(40|50|60)/.test(l));
  for (const l of log.slice(-15)) {
    const e = JSON.parse(l) as { time: number; msg: string; pod?: string; err?: { message?: string } };
    lines.push(`  log ${new Date(e.time).toISOString()} ${e.pod ?? ''} ${e.msg}: ${e.err?.message ?? ''}`);
  }
  return lines.join('\n');
}

/** Docker's view matches the pod's status: one running sandbox, the status's containers run in it. */
async function dockerAgrees(p: Pod): Promise<boolean> {
  const mine = (await cluster.containers(p.metadata.uid)).filter((c) => c.State === 'running');
  const sandboxes = mine.filter((c) => c.Labels['minipod.io/kind'] === 'sandbox');
  const apps = mine.filter((c) => c.Labels['minipod.io/kind'] === 'app');
  const reported = p.status!.containerStatuses!.map((s) => s.containerID!.replace('docker://', '')).sort();
  return sandboxes.length === 1 && apps.every((c) => c.Labels['minipod.io/sandbox'] === sandboxes[0].Id) && JSON.stringify(apps.map((c) => c.Id).sort()) === JSON.stringify(reported);
}

/** Docker's view: each pod has one running sandbox and its containers run in it. */
async function expectDockerConsistent(pods: Pod[]): Promise<void> {
  for (const p of pods) {
    const mine = (await cluster.containers(p.metadata.uid)).filter((c) => c.State === 'running');
    const sandboxes = mine.filter((c) => c.Labels['minipod.io/kind'] === 'sandbox');
    expect(sandboxes.length, `running sandboxes of ${p.metadata.name}`).toBe(1);
    const apps = mine.filter((c) => c.Labels['minipod.io/kind'] === 'app');
    expect(apps.map((c) => c.Labels['io.kubernetes.container.name']).sort(), `running containers of ${p.metadata.name}`).toEqual(['a', 'b']);
    expect(apps.every((c) => c.Labels['minipod.io/sandbox'] === sandboxes[0].Id)).toBe(true);
  }
}

async function expectNeverPodNotRestarted(scenario: string): Promise<void> {
  // Its containers exit 0 on SIGTERM (Succeeded) or die by SIGKILL (Failed): either way, terminal.
  const never = await waitFor(async () => {
    const p = await cluster.client.getPod('default', `${scenario}-never`);
    return p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed' ? p : undefined;
  }, 15_000, `${scenario}-never to end`);
  expect(never.status!.containerStatuses!.every((s) => s.restartCount === 0 && s.state.terminated)).toBe(true);
}

function readyCondition(n: Node): string | undefined {
  return n.status?.conditions?.find((c) => c.type === 'Ready')?.status;
}

/** While Docker is away the API answers at once: health, lists, a create and a delete. */
async function expectApiServing(scenario: string): Promise<void> {
  const began = Date.now();
  expect(await cluster.client.request('GET', '/healthz')).toBe('ok');
  expect((await cluster.client.listPods('default')).items.length).toBeGreaterThan(0);
  const created = await cluster.client.createPod('default', { ...pod(`${scenario}-outage`), metadata: { name: `${scenario}-outage`, labels: { scenario: `${scenario}-outage` } } });
  expect(created.metadata.uid).toBeTruthy();
  await cluster.client.createPod('default', { ...pod(`${scenario}-gone`), metadata: { name: `${scenario}-gone` } });
  await cluster.client.deletePod('default', `${scenario}-gone`, { gracePeriodSeconds: 0 });
  expect(Date.now() - began, 'API calls while Docker is away (ms)').toBeLessThan(2_000);
}

describe('dockerd faults (private engine)', () => {
  it('graceful restart of dockerd: every Always pod runs again within 30 s', async () => {
    const before = await startPods('restart', 3);
    await engine.stop('SIGTERM'); // like `systemctl restart docker`: every container is stopped
    await engine.start();
    const after = await awaitRecovery('restart', before, Date.now());
    await expectDockerConsistent(after);
    await expectNeverPodNotRestarted('restart');
  }, 90_000);

  it('crash of dockerd (kill -9): every Always pod runs again within 30 s', async () => {
    const before = await startPods('crash', 3);
    await engine.stop('SIGKILL'); // the restarted engine kills what still ran (no live-restore)
    await engine.start();
    const after = await awaitRecovery('crash', before, Date.now());
    await expectDockerConsistent(after);
    await expectNeverPodNotRestarted('crash');
  }, 90_000);

  it('dockerd stopped: the API keeps serving, the node goes NotReady, and all recovers', async () => {
    const before = await startPods('outage', 3);
    const stoppedAt = Date.now();
    await engine.stop('SIGTERM');
    await expectApiServing('outage');
    const notReady = await waitFor(async () => {
      const n = await cluster.client.getNode(cluster.node);
      return readyCondition(n) === 'False' ? n : undefined;
    }, 15_000, 'the node to be NotReady');
    expect(notReady.status!.conditions![0].message).toMatch(/container runtime is down/);
    figures.push(`outage: node NotReady ${Date.now() - stoppedAt} ms after dockerd stopped`);
    await expectApiServing('outage2');

    await engine.start();
    const back = Date.now();
    await waitFor(async () => readyCondition(await cluster.client.getNode(cluster.node)) === 'True', 15_000, 'the node to be Ready');
    figures.push(`outage: node Ready ${Date.now() - back} ms after dockerd answered`);
    const after = await awaitRecovery('outage', before, back);
    await expectDockerConsistent(after);
    // The pod created while Docker was away is scheduled and started once it is back.
    const late = await waitFor(async () => {
      const p = await cluster.client.getPod('default', 'outage-outage');
      return running(p) ? p : undefined;
    }, RECOVERY_MS, 'the pod created during the outage to run');
    await expectDockerConsistent([late]);
  }, 120_000);

  it('dockerd frozen (SIGSTOP): the API keeps serving, the node goes NotReady, pods are untouched', async () => {
    const before = await startPods('freeze', 2);
    const frozenAt = Date.now();
    engine.signal('SIGSTOP');
    try {
      await expectApiServing('freeze');
      await waitFor(async () => readyCondition(await cluster.client.getNode(cluster.node)) === 'False', 15_000, 'the node to be NotReady');
      figures.push(`freeze: node NotReady ${Date.now() - frozenAt} ms after dockerd froze`);
    } finally {
      engine.signal('SIGCONT');
    }
    const thawed = Date.now();
    await waitFor(async () => readyCondition(await cluster.client.getNode(cluster.node)) === 'True', 15_000, 'the node to be Ready');
    figures.push(`freeze: node Ready ${Date.now() - thawed} ms after dockerd thawed`);
    // Nothing died: the same containers run, nothing was restarted.
    const pods = (await cluster.client.listPods('default', { labelSelector: 'scenario=freeze' })).items;
    for (const p of pods) {
      const was = before.find((b) => b.metadata.uid === p.metadata.uid)!;
      expect(p.status!.containerStatuses!.map((s) => [s.containerID, s.restartCount])).toEqual(was.status!.containerStatuses!.map((s) => [s.containerID, 0]));
    }
    await expectDockerConsistent(pods.filter((p) => p.spec.restartPolicy === 'Always'));
  }, 90_000);

  it("leaves the main engine's docker0 working", async () => {
    await cluster.stopDaemon();
    await engine.destroy(); // removes the containers in parallel, faster than cluster.cleanup()
    expect(docker0Before).toMatch(/^172\.|^\d+\.\d+\.\d+\.\d+\//);
    expect(await docker0Address()).toBe(docker0Before);
    // A container on the main engine still gets an address on docker0's network.
    const prefix = docker0Before.split('.').slice(0, 2).join('.') + '.';
    const { stdout: out } = await run('docker', ['run', '--rm', 'busybox:1.36', 'ip', '-4', '-o', 'addr', 'show', 'eth0'], { env: { ...process.env, DOCKER_HOST: '' } });
    expect(out).toContain(`inet ${prefix}`);
  }, 60_000);
});
