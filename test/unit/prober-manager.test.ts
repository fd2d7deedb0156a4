// The probe manager on fake timers: initial results, startup gating, kill and
// status callbacks, events, termination, container restarts, and 100 pods
// probing side by side without starving each other.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Container, Pod, Probe } from '../../src/api/types.js';
import { validatePod } from '../../src/api/validate.js';
import { realClock } from '../../src/kubelet/clock.js';
import { ProbeManager } from '../../src/kubelet/prober/manager.js';
import type { ProbeOutcome, ProbeTarget } from '../../src/kubelet/prober/types.js';
import type { RuntimeContainer } from '../../src/runtime/docker.js';

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(5_000_000);
});
afterEach(() => vi.useRealTimers());

function pod(uid: string, containers: Partial<Container>[], extra: Partial<Pod['metadata']> = {}): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `pod-${uid}`, namespace: 'default', uid, ...extra },
    spec: { containers: containers.map((c, i) => ({ name: `c${i}`, image: 'busybox:1.36', ...c })) },
  };
}

const exec = (name: string, more: Partial<Probe> = {}): Probe => ({ exec: { command: [name] }, periodSeconds: 1, ...more });

/** A manager whose probes answer from `answers` (keyed by the exec command), recording everything. */
function setup() {
  const answers = new Map<string, ProbeOutcome['result']>();
  const runs: { cmd: string; container: string; at: number }[] = [];
  const events: { reason: string; message: string; path?: string; type: string }[] = [];
  const statusChanges: string[] = [];
  const unhealthy: { uid: string; name: string; id: string; kind: string; at: number }[] = [];
  const t0 = Date.now();
  const mgr = new ProbeManager({
    clock: realClock,
    run: async (probe: Probe, target: ProbeTarget) => {
      const cmd = probe.exec!.command[0];
      runs.push({ cmd, container: target.containerId, at: Date.now() - t0 });
      return { result: answers.get(cmd) ?? 'success', output: `${cmd} says ${answers.get(cmd) ?? 'success'}\n` };
    },
    recorder: { event: (_p, type, reason, message, path) => events.push({ type, reason, message, path }) },
    onStatusChange: (uid) => statusChanges.push(uid),
    onUnhealthy: (uid, name, id, kind) => unhealthy.push({ uid, name, id, kind, at: Date.now() - t0 }),
  });
  return { mgr, answers, runs, events, statusChanges, unhealthy };
}

describe('ProbeManager', () => {
  it('starts from the kubelet initial results: not ready, not started, alive', async () => {
    const s = setup();
    s.answers.set('startup', 'failure');
    const p = pod('u1', [{ readinessProbe: exec('ready'), livenessProbe: exec('live'), startupProbe: exec('startup', { failureThreshold: 100 }) }, {}]);
    s.mgr.containerStarted(p, p.spec.containers[0], 'id-1', '10.0.0.2', Date.now());
    // c1 has no probes: absent from both maps (ready once running).
    expect(s.mgr.readiness('u1')).toEqual(new Map([['c0', false]]));
    expect(s.mgr.started('u1')).toEqual(new Map([['c0', false]]));
    await vi.advanceTimersByTimeAsync(3_500);
    expect(s.unhealthy).toEqual([]);
    s.mgr.podRemoved('u1');
  });

  it('runs only the startup probe until it succeeds, then liveness and readiness', async () => {
    const s = setup();
    s.answers.set('startup', 'failure');
    const p = pod('u2', [{
      readinessProbe: exec('ready', { periodSeconds: 5 }),
      livenessProbe: exec('live', { periodSeconds: 5 }),
      startupProbe: exec('startup', { failureThreshold: 10 }),
    }]);
    s.mgr.containerStarted(p, p.spec.containers[0], 'id-1', '10.0.0.2', Date.now());
    await vi.advanceTimersByTimeAsync(3_500);
    expect(s.runs.map((r) => r.cmd)).toEqual(['startup', 'startup', 'startup', 'startup']);
    s.answers.set('startup', 'success');
    await vi.advanceTimersByTimeAsync(1_000); // startup succeeds at 4 s
    expect(s.mgr.started('u2').get('c0')).toBe(true);
    expect(s.mgr.readiness('u2').get('c0')).toBe(false); // not probed yet
    expect(s.statusChanges).toEqual(['u2']);
    await vi.advanceTimersByTimeAsync(1_000); // 5 s (their own grid): liveness and readiness run, startup no more
    expect(s.runs.slice(4).map((r) => `${r.cmd}@${r.at}`).sort()).toEqual(['live@5000', 'ready@5000', 'startup@4000']);
    expect(s.mgr.readiness('u2').get('c0')).toBe(true);
    expect(s.statusChanges).toEqual(['u2', 'u2']);
    s.mgr.podRemoved('u2');
  });

  it('a startup probe that never succeeds asks for a kill after failureThreshold × period', async () => {
    const s = setup();
    s.answers.set('startup', 'failure');
    s.answers.set('live', 'failure'); // would fail at once, but must never run
    const p = pod('u3', [{ livenessProbe: exec('live', { failureThreshold: 1 }), startupProbe: exec('startup', { failureThreshold: 10 }) }]);
    s.mgr.containerStarted(p, p.spec.containers[0], 'id-1', undefined, Date.now());
    await vi.advanceTimersByTimeAsync(30_000);
    expect(s.unhealthy).toEqual([{ uid: 'u3', name: 'c0', id: 'id-1', kind: 'startup', at: 9000 }]);
    expect(s.runs.every((r) => r.cmd === 'startup')).toBe(true);
    expect(s.runs).toHaveLength(10); // on hold after the committed failure
    expect(s.events.filter((e) => e.reason === 'Unhealthy')).toHaveLength(10);
    expect(s.events[0]).toEqual({ type: 'Warning', reason: 'Unhealthy', message: 'Startup probe failed: startup says failure', path: 'spec.containers{c0}' });
    s.mgr.podRemoved('u3');
  });

  it('liveness: Unhealthy on each failure, one kill request, on hold until a new container ID', async () => {
    const s = setup();
    const p = pod('u4', [{ livenessProbe: exec('live', { periodSeconds: 2, failureThreshold: 2 }) }]);
    s.mgr.containerStarted(p, p.spec.containers[0], 'id-1', undefined, Date.now());
    await vi.advanceTimersByTimeAsync(9_000);
    s.answers.set('live', 'failure'); // fails from 10 s
    await vi.advanceTimersByTimeAsync(20_000);
    expect(s.unhealthy).toEqual([{ uid: 'u4', name: 'c0', id: 'id-1', kind: 'liveness', at: 12_000 }]);
    expect(s.events.map((e) => e.message)).toEqual(['Liveness probe failed: live says failure', 'Liveness probe failed: live says failure']);
    expect(s.runs.filter((r) => r.container === 'id-1').map((r) => r.at)).toEqual([0, 2000, 4000, 6000, 8000, 10_000, 12_000]);
    // The same container reported again: still on hold. A new one: probed again, from its own start.
    s.mgr.containerStarted(p, p.spec.containers[0], 'id-1', undefined, Date.now() - 30_000);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(s.runs).toHaveLength(7);
    s.answers.set('live', 'success');
    s.mgr.containerStarted(p, p.spec.containers[0], 'id-2', undefined, Date.now());
    await vi.advanceTimersByTimeAsync(4_500);
    expect(s.runs.filter((r) => r.container === 'id-2').map((r) => r.at)).toEqual([34_000, 36_000, 38_000]);
    s.mgr.podRemoved('u4');
  });

  it('readiness flips report status changes both ways, and never ask for a kill', async () => {
    const s = setup();
    const p = pod('u5', [{ readinessProbe: exec('ready', { failureThreshold: 1 }) }]);
    s.mgr.containerStarted(p, p.spec.containers[0], 'id-1', undefined, Date.now());
    await vi.advanceTimersByTimeAsync(500);
    expect(s.mgr.readiness('u5').get('c0')).toBe(true);
    s.answers.set('ready', 'failure');
    await vi.advanceTimersByTimeAsync(3_000);
    expect(s.mgr.readiness('u5').get('c0')).toBe(false);
    s.answers.set('ready', 'success');
    await vi.advanceTimersByTimeAsync(1_000);
    expect(s.mgr.readiness('u5').get('c0')).toBe(true);
    expect(s.statusChanges).toEqual(['u5', 'u5', 'u5']);
    expect(s.unhealthy).toEqual([]);
    s.mgr.podRemoved('u5');
  });

  it('a pod being deleted: liveness and startup stop as successes, readiness keeps probing', async () => {
    const s = setup();
    s.answers.set('startup', 'failure');
    const p = pod('u6', [
      { readinessProbe: exec('ready'), livenessProbe: exec('live') },
      { startupProbe: exec('startup', { failureThreshold: 100 }) },
    ]);
    s.mgr.containerStarted(p, p.spec.containers[0], 'id-0', undefined, Date.now());
    s.mgr.containerStarted(p, p.spec.containers[1], 'id-1', undefined, Date.now());
    await vi.advanceTimersByTimeAsync(1_500);
    s.mgr.stopLivenessAndStartup('u6');
    expect(s.mgr.started('u6').get('c1')).toBe(true);
    const before = s.runs.length;
    await vi.advanceTimersByTimeAsync(3_000);
    expect(s.runs.slice(before).map((r) => r.cmd)).toEqual(['ready', 'ready', 'ready']);
    s.mgr.podRemoved('u6');
    await vi.advanceTimersByTimeAsync(3_000);
    expect(s.runs.length).toBe(before + 3);
    expect(s.mgr.workerCount()).toBe(0);
  });

  it('syncPod follows the runtime: new container IDs get workers, stopped containers lose them', async () => {
    const s = setup();
    const p = pod('u7', [{ readinessProbe: exec('ready') }, { livenessProbe: exec('live') }, {}]);
    const rc = (name: string, id: string, attempt: number, state: RuntimeContainer['state']): RuntimeContainer => ({
      id, name, kind: 'app', pod: { uid: 'u7', name: 'pod-u7', namespace: 'default' }, attempt, hash: '', sandboxId: 's',
      image: '', imageID: '', state, exitCode: 0, oomKilled: false, createdAt: '', startedAt: new Date().toISOString(),
    });
    s.mgr.syncPod(p, [rc('c0', 'a0', 0, 'running'), rc('c1', 'b0', 0, 'running'), rc('c2', 'x', 0, 'running')], '10.1.1.1');
    expect(s.mgr.workerCount()).toBe(2);
    s.mgr.syncPod(p, [rc('c0', 'a0', 0, 'running'), rc('c1', 'b0', 0, 'exited')], '10.1.1.1');
    expect(s.mgr.workerCount()).toBe(1);
    s.mgr.syncPod(p, [rc('c0', 'a0', 0, 'running'), rc('c1', 'b0', 0, 'exited'), rc('c1', 'b1', 1, 'running')], '10.1.1.1');
    expect(s.mgr.workerCount()).toBe(2);
    await vi.advanceTimersByTimeAsync(100);
    expect(s.runs.map((r) => r.container).sort()).toEqual(['a0', 'b1']);
    // A deletionTimestamp seen through syncPod stops liveness.
    s.mgr.syncPod({ ...p, metadata: { ...p.metadata, deletionTimestamp: new Date().toISOString() } }, [rc('c0', 'a0', 0, 'running'), rc('c1', 'b1', 1, 'running')], '10.1.1.1');
    expect(s.mgr.workerCount()).toBe(1);
    s.mgr.podRemoved('u7');
  });

  it('probes sidecars (restartable init containers) and names them in events, but not plain init containers', async () => {
    const s = setup();
    s.answers.set('side-ready', 'failure');
    const p = pod('u8', [{ name: 'main' }]);
    p.spec.initContainers = [
      { name: 'setup', image: 'busybox:1.36', readinessProbe: exec('never') },
      { name: 'side', image: 'busybox:1.36', restartPolicy: 'Always', readinessProbe: exec('side-ready', { failureThreshold: 1 }) },
    ];
    const rc = (name: string, kind: 'init' | 'app', id: string): RuntimeContainer => ({
      id, name, kind, pod: { uid: 'u8', name: 'pod-u8', namespace: 'default' }, attempt: 0, hash: '', sandboxId: 's',
      image: '', imageID: '', state: 'running', exitCode: 0, oomKilled: false, createdAt: '', startedAt: new Date().toISOString(),
    });
    s.mgr.syncPod(p, [rc('setup', 'init', 'i0'), rc('side', 'init', 'i1'), rc('main', 'app', 'a0')], '10.1.1.1');
    await vi.advanceTimersByTimeAsync(100);
    expect(s.runs.map((r) => r.cmd)).toEqual(['side-ready']);
    expect(s.mgr.readiness('u8')).toEqual(new Map([['side', false]]));
    expect(s.events).toEqual([{ type: 'Warning', reason: 'Unhealthy', message: 'Readiness probe failed: side-ready says failure', path: 'spec.initContainers{side}' }]);
    s.mgr.stop();
    expect(s.mgr.workerCount()).toBe(0);
  });

  it('100 pods with slow probes do not starve each other: every probe runs on its own grid', async () => {
    const s = setup();
    const t0 = Date.now();
    const starts: number[][] = [];
    const mgr = new ProbeManager({
      clock: realClock,
      // Each probe takes 300–800 ms of a 1 s period; a serial queue would need 55 s per round.
      run: async (_probe, target) => {
        const i = Number(target.containerId);
        starts[i].push(Date.now() - t0);
        await new Promise((r) => setTimeout(r, 300 + ((i * 37) % 500)));
        return { result: 'success', output: '' };
      },
      recorder: { event: () => {} },
      onStatusChange: () => {},
      onUnhealthy: () => {},
    });
    for (let i = 0; i < 100; i++) {
      starts.push([]);
      const p = pod(`p${i}`, [{ livenessProbe: exec('live') }]);
      // Containers started at different moments: each has its own phase.
      mgr.containerStarted(p, p.spec.containers[0], String(i), undefined, t0 + i * 7);
    }
    await vi.advanceTimersByTimeAsync(60_000);
    for (let i = 0; i < 100; i++) {
      expect(starts[i].length).toBeGreaterThanOrEqual(60);
      // Every run on the container's grid: t = start + k × 1 s, exactly.
      for (const t of starts[i]) expect((t - i * 7) % 1000).toBe(0);
    }
    for (let i = 0; i < 100; i++) mgr.podRemoved(`p${i}`);
    void s;
  });

  it('validation keeps successThreshold at 1 for liveness and startup, not for readiness', () => {
    const p = pod('v', [{
      livenessProbe: exec('live', { successThreshold: 2 }),
      startupProbe: exec('start', { successThreshold: 2 }),
      readinessProbe: exec('ready', { successThreshold: 2 }),
    }]);
    const errors = validatePod(p).map((e) => `${e.path}: ${e.message}`);
    expect(errors).toEqual([
      'spec.containers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1',
      'spec.containers[0].startupProbe.successThreshold: Invalid value: 2: must be 1',
    ]);
  });
});
