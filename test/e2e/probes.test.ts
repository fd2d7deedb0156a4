// Issue 4's acceptance, end to end: exec, tcpSocket and httpGet liveness,
// readiness and startup probes on real Docker, with the kubelet's timing.
// Every pod has its own name, so the tests run side by side on one daemon.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ContainerStatus, Event, Pod } from '../../src/api/types.js';
import { TestCluster, dockerExec, waitFor, watchPod } from './harness.js';

const cluster = new TestCluster();
beforeAll(() => cluster.start(), 30_000);
afterAll(() => cluster.cleanup(), 60_000);

const manifest = (name: string) => readFileSync(`manifests/${name}.yaml`, 'utf8');
const status = (p: Pod, name: string): ContainerStatus | undefined => p.status?.containerStatuses?.find((s) => s.name === name);
const dockerId = (s: ContainerStatus | undefined) => s!.containerID!.replace('docker://', '');
const seconds = (from?: string, to?: string) => (Date.parse(to!) - Date.parse(from!)) / 1000;
const running = (p: Pod) => p.status?.phase === 'Running' && (p.status.containerStatuses ?? []).every((s) => s.state.running);
const condition = (p: Pod, type: string) => p.status?.conditions?.find((c) => c.type === type)?.status;

async function apply(name: string): Promise<Pod> {
  const res = await cluster.mp(['apply', '-f', '-'], manifest(name));
  expect(res.code, res.stderr).toBe(0);
  return cluster.client.getPod('default', res.stdout.trim().replace(/^pod\/| created$/g, ''));
}

async function events(pod: string, reason?: string): Promise<Event[]> {
  const list = await cluster.client.listEvents('default', { fieldSelector: `involvedObject.name=${pod}` });
  return list.items.filter((e) => !reason || e.reason === reason);
}

/** The pod's row of `minipod get pods`: READY STATUS RESTARTS. */
async function row(pod: string): Promise<string[]> {
  const out = await cluster.mp(['get', 'pods', pod, '--no-headers']);
  return out.stdout.trim().split(/\s{2,}/).slice(1, 4);
}

describe.concurrent('probes', () => {
  it('exec liveness: the container is killed and restarted after its file goes, with Unhealthy then Killing', async () => {
    await apply('probe-exec-liveness');
    const first = await watchPod(cluster.client, 'default', 'liveness-exec', running, 30_000, 'Running');
    const started = status(first, 'liveness')!.state.running!.startedAt;
    const restarted = await watchPod(
      cluster.client, 'default', 'liveness-exec',
      (p) => status(p, 'liveness')?.restartCount === 1 && !!status(p, 'liveness')?.state.running,
      30_000, 'restarted once',
    );
    const s = status(restarted, 'liveness')!;
    const killed = seconds(started, s.lastState.terminated!.finishedAt);
    const latency = seconds(started, s.state.running!.startedAt);
    console.log(`exec liveness: killed ${killed.toFixed(2)} s and running again ${latency.toFixed(2)} s after the start (file removed at 10 s; bound 10 + 2×2 + 1 s grace)`);
    // Not before the file is gone (two failures 2 s apart after 10 s), and within
    // 10 s + 2 × 2 s + the probe's 1 s grace period + a little.
    expect(killed).toBeGreaterThan(12);
    expect(killed).toBeLessThan(16);
    expect(latency).toBeLessThan(18);
    // Killed by SIGKILL once the 1 s grace ended (the shell ignores SIGTERM as PID 1).
    expect(s.lastState.terminated).toMatchObject({ exitCode: 137, reason: 'Error' });

    const missing = "Liveness probe failed: cat: can't open '/tmp/healthy': No such file or directory";
    const failures = await waitFor(async () => {
      const evs = await events('liveness-exec', 'Unhealthy');
      return evs.some((e) => e.message === missing) ? evs : undefined;
    }, 5_000, 'an Unhealthy event for the missing file');
    const unhealthy = failures.find((e) => e.message === missing)!;
    const killing = await waitFor(async () => (await events('liveness-exec', 'Killing'))[0], 5_000, 'a Killing event');
    expect(unhealthy).toMatchObject({ type: 'Warning', involvedObject: { fieldPath: 'spec.containers{liveness}' } });
    // On a loaded machine a docker exec can outlast the 1 s timeoutSeconds: that is a failure too, with its own words.
    for (const e of failures) expect(e.message).toMatch(/^Liveness probe failed: (cat: can't open '\/tmp\/healthy': No such file or directory|command "cat \/tmp\/healthy" timed out)$/);
    expect(failures.reduce((n, e) => n + (e.count ?? 1), 0), 'failures before the kill').toBeGreaterThanOrEqual(2);
    expect(killing).toMatchObject({ type: 'Normal', message: 'Container liveness failed liveness probe, will be restarted', involvedObject: { fieldPath: 'spec.containers{liveness}' } });
    expect(Date.parse(unhealthy.firstTimestamp!)).toBeLessThanOrEqual(Date.parse(killing.firstTimestamp!));
    expect(await row('liveness-exec')).toEqual(['1/1', 'Running', expect.stringMatching(/^1 \(\d+s ago\)$/)]);
  }, 60_000);

  it('httpGet readiness: 0/1 until the file is served, 1/1 while it is, 0/1 after — never restarted', async () => {
    await apply('probe-http-readiness');
    const pod = await watchPod(cluster.client, 'default', 'probe-http-readiness', running, 30_000, 'Running');
    // Probed and failing (404), so not ready.
    // The first probe may run before the server listens (connection refused): wait for the 404 one.
    const miss = await waitFor(async () => (await events('probe-http-readiness', 'Unhealthy')).find((e) => /statuscode/.test(e.message ?? '')), 10_000, 'a failed readiness probe');
    expect(miss.message).toBe('Readiness probe failed: HTTP probe failed with statuscode: 404');
    const notReady = await cluster.client.getPod('default', 'probe-http-readiness');
    expect(status(notReady, 'web')).toMatchObject({ ready: false, started: true });
    expect(condition(notReady, 'Ready')).toBe('False');
    expect(await row('probe-http-readiness')).toEqual(['0/1', 'Running', '0']);

    const id = dockerId(status(pod, 'web'));
    let t = Date.now();
    await dockerExec(id, ['sh', '-c', 'echo ok > /www/ready.html']);
    const ready = await watchPod(cluster.client, 'default', 'probe-http-readiness', (p) => condition(p, 'Ready') === 'True', 10_000, 'Ready');
    const up = (Date.now() - t) / 1000;
    expect(status(ready, 'web')!.ready).toBe(true);
    expect(condition(ready, 'ContainersReady')).toBe('True');
    expect(await row('probe-http-readiness')).toEqual(['1/1', 'Running', '0']);

    t = Date.now();
    await dockerExec(id, ['rm', '/www/ready.html']);
    const gone = await watchPod(cluster.client, 'default', 'probe-http-readiness', (p) => condition(p, 'Ready') === 'False', 10_000, 'not Ready');
    const down = (Date.now() - t) / 1000;
    console.log(`http readiness: Ready ${up.toFixed(2)} s after the file appeared, not Ready ${down.toFixed(2)} s after it went (period 1 s)`);
    expect(up).toBeLessThan(3);
    expect(down).toBeLessThan(3);
    expect(status(gone, 'web')).toMatchObject({ ready: false, restartCount: 0, containerID: `docker://${id}` });
    expect(await row('probe-http-readiness')).toEqual(['0/1', 'Running', '0']);
  }, 60_000);

  it('tcpSocket liveness: a port that closes restarts its container; an open port is left alone for 30 s', async () => {
    await apply('probe-tcp-liveness');
    const first = await watchPod(cluster.client, 'default', 'probe-tcp-liveness', running, 30_000, 'Running');
    const steadyId = status(first, 'steady')!.containerID;
    const started = status(first, 'closing')!.state.running!.startedAt;
    const restarted = await watchPod(cluster.client, 'default', 'probe-tcp-liveness', (p) => (status(p, 'closing')?.restartCount ?? 0) >= 1, 20_000, 'closing restarted');
    // Closes at 8 s; two failures 1 s apart; a 1 s grace.
    const latency = seconds(started, status(restarted, 'closing')!.lastState.terminated!.finishedAt);
    console.log(`tcp liveness: the closing container was killed ${latency.toFixed(2)} s after its start (port closed at 8 s)`);
    expect(latency).toBeGreaterThan(9);
    expect(latency).toBeLessThan(13);
    const killing = await waitFor(async () => (await events('probe-tcp-liveness', 'Killing'))[0], 5_000, 'a Killing event');
    expect(killing.message).toBe('Container closing failed liveness probe, will be restarted');
    const unhealthy = (await events('probe-tcp-liveness', 'Unhealthy'))[0];
    expect(unhealthy.message).toMatch(/^Liveness probe failed: dial tcp [\d.]+:8081: connect: connection refused$/);
    // The open port: no restart over 30 s (an observation window, polled each second).
    const until = Date.parse(status(first, 'steady')!.state.running!.startedAt!) + 30_000;
    while (Date.now() < until) {
      const p = await cluster.client.getPod('default', 'probe-tcp-liveness');
      expect(status(p, 'steady')).toMatchObject({ restartCount: 0, containerID: steadyId, ready: true });
      await new Promise((r) => setTimeout(r, 1000));
    }
    expect((await events('probe-tcp-liveness', 'Killing')).every((e) => !e.message!.includes('steady'))).toBe(true);
  }, 70_000);

  it('startup probe: liveness waits until it succeeds; one that never succeeds restarts the container after ~10 s', async () => {
    await apply('probe-startup');
    const first = await watchPod(cluster.client, 'default', 'probe-startup', running, 30_000, 'Running');
    const slow0 = status(first, 'slow')!;
    expect(slow0).toMatchObject({ started: false, ready: false });
    const slowStart = slow0.state.running!.startedAt;
    const stuckStart = status(first, 'stuck')!.state.running!.startedAt;
    let startedAfter = 0;
    const started = await watchPod(cluster.client, 'default', 'probe-startup', (p) => {
      startedAfter = (Date.now() - Date.parse(slowStart!)) / 1000;
      return !!status(p, 'slow')?.started;
    }, 20_000, 'slow started');
    // The file appears at 5 s; probes run each second.
    expect(startedAfter).toBeGreaterThan(4.5);
    expect(startedAfter).toBeLessThan(8);
    expect(status(started, 'slow')).toMatchObject({ ready: true, restartCount: 0 });

    const restarted = await watchPod(cluster.client, 'default', 'probe-startup', (p) => status(p, 'stuck')?.restartCount === 1, 30_000, 'stuck restarted');
    const stuck = status(restarted, 'stuck')!;
    const killedAfter = seconds(stuckStart, stuck.lastState.terminated!.finishedAt);
    console.log(`startup: slow started ${startedAfter.toFixed(2)} s after its start (file at 5 s); stuck killed ${killedAfter.toFixed(2)} s after its start (10 × 1 s + 1 s grace)`);
    expect(killedAfter).toBeGreaterThan(9);
    expect(killedAfter).toBeLessThan(13);
    expect(stuck.started).toBe(false);
    const killing = await waitFor(async () => (await events('probe-startup', 'Killing'))[0], 5_000, 'a Killing event');
    expect(killing).toMatchObject({ message: 'Container stuck failed startup probe, will be restarted', involvedObject: { fieldPath: 'spec.containers{stuck}' } });
    // The slow container's liveness probe never ran before its start: never restarted.
    const now = await cluster.client.getPod('default', 'probe-startup');
    expect(status(now, 'slow')).toMatchObject({ restartCount: 0, containerID: slow0.containerID });
    expect((await events('probe-startup', 'Unhealthy')).some((e) => e.message!.startsWith('Liveness'))).toBe(false);
  }, 60_000);

  describe('exec probes that hang, and the period', () => {
    let pod: Pod;
    beforeAll(async () => {
      await apply('probe-exec-timeout');
      pod = await watchPod(cluster.client, 'default', 'probe-exec-timeout', running, 30_000, 'Running');
    }, 40_000);

    it('a hung exec probe fails after timeoutSeconds and its processes do not accumulate', async () => {
      const e = await waitFor(async () => (await events('probe-exec-timeout', 'Unhealthy')).find((x) => (x.count ?? 0) >= 5), 20_000, 'five timed-out probes');
      expect(e).toMatchObject({ message: 'Readiness probe failed: command "sh -c sleep 30" timed out', involvedObject: { fieldPath: 'spec.containers{hang}' } });
      // Each probe would leave `sh -c sleep 30` and its `sleep 30` for 30 s: at most one probe is in flight.
      const ps = await dockerExec(dockerId(status(pod, 'hang')), ['ps', '-o', 'pid,args']);
      const hung = ps.split('\n').filter((l) => l.includes('sleep 30'));
      expect(hung.length, ps).toBeLessThanOrEqual(2);
      const now = await cluster.client.getPod('default', 'probe-exec-timeout');
      expect(status(now, 'hang')).toMatchObject({ ready: false, restartCount: 0 });
      expect(await row('probe-exec-timeout')).toEqual(['1/2', 'Running', '0']);
    }, 40_000);

    it('periodSeconds: 1 for 60 s: the median gap between probe runs is within 100 ms of 1 s', async () => {
      const id = dockerId(status(pod, 'clock'));
      const since = Date.parse(status(pod, 'clock')!.state.running!.startedAt!);
      await waitFor(async () => Date.now() - since > 61_000 || false, 70_000, '60 s of probes');
      const times = (await dockerExec(id, ['cat', '/tmp/probes'])).trim().split('\n').map(Number);
      const gaps = times.slice(1).map((t, i) => t - times[i]).sort((a, b) => a - b);
      const q = (f: number) => gaps[Math.floor(f * (gaps.length - 1))];
      // The mean period, as the least-squares slope of run time over run index:
      // one slow exec cannot move it, a schedule that slips by each probe's duration would.
      const n = times.length;
      const mi = (n - 1) / 2;
      const mt = times.reduce((a, b) => a + b, 0) / n;
      const slope = times.reduce((a, t, i) => a + (i - mi) * (t - mt), 0) / times.reduce((a, _t, i) => a + (i - mi) ** 2, 0);
      console.log(`period 1 s over ${n} runs: gap median ${q(0.5).toFixed(2)} s, p10 ${q(0.1).toFixed(2)}, p90 ${q(0.9).toFixed(2)}, min ${gaps[0].toFixed(2)}, max ${gaps.at(-1)!.toFixed(2)}; mean period ${slope.toFixed(4)} s`);
      expect(n).toBeGreaterThanOrEqual(60);
      expect(Math.abs(q(0.5) - 1)).toBeLessThanOrEqual(0.1);
      // A schedule that slipped by each exec's duration (50 ms or more through Docker)
      // would show a slope of 1.05+; 0.02 leaves room for a loaded machine.
      expect(Math.abs(slope - 1)).toBeLessThan(0.02);
    }, 90_000);
  });
});
