// The kubelet's pod phase and conditions (getPhase, generateAPIPodStatus) and
// kubectl's STATUS column, from runtime states.
import { describe, expect, it } from 'vitest';
import { podStatusReason, podReady, humanDuration } from '../../src/api/printers.js';
import type { Pod } from '../../src/api/types.js';
import { generatePodStatus } from '../../src/kubelet/status.js';
import type { RuntimeContainer } from '../../src/runtime/docker.js';

const NOW = new Date('2026-01-01T00:00:00Z');

function pod(restartPolicy: 'Always' | 'OnFailure' | 'Never', init: string[] = [], apps = ['app']): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', namespace: 'default', uid: 'u1' },
    spec: {
      restartPolicy,
      initContainers: init.map((name) => ({ name, image: 'i' })),
      containers: apps.map((name) => ({ name, image: 'i' })),
    },
  };
}

let seq = 0;
function ctr(name: string, kind: 'init' | 'app', state: 'running' | 'exited', exitCode = 0, attempt = 0): RuntimeContainer {
  return {
    id: `id${++seq}`, name, kind, attempt, hash: '', sandboxId: 's', image: 'i', imageID: 'sha256:x',
    pod: { uid: 'u1', name: 'p', namespace: 'default' }, state, exitCode, oomKilled: false,
    createdAt: '2026-01-01T00:00:00Z', startedAt: '2026-01-01T00:00:00Z',
    finishedAt: state === 'exited' ? '2026-01-01T00:00:01Z' : undefined,
  };
}

function status(p: Pod, containers: RuntimeContainer[], waiting: Record<string, string> = {}) {
  const s = generatePodStatus({ pod: p, containers, waiting: new Map(Object.entries(waiting).map(([k, reason]) => [k, { reason }])), now: NOW }, undefined);
  return { ...p, status: s } as Pod;
}

describe('pod phase', () => {
  it('is Pending while containers are being created', () => {
    const p = status(pod('Always'), []);
    expect(p.status!.phase).toBe('Pending');
    expect(podStatusReason(p)).toBe('ContainerCreating');
  });

  it('is Running with a running container, Ready when all are ready', () => {
    const p = status(pod('Always'), [ctr('app', 'app', 'running')]);
    expect(p.status!.phase).toBe('Running');
    expect(p.status!.conditions!.map((c) => [c.type, c.status])).toEqual([
      ['Initialized', 'True'], ['Ready', 'True'], ['ContainersReady', 'True'], ['PodScheduled', 'True'],
    ]);
    expect(podReady(p)).toBe('1/1');
  });

  it('stays Running under Always when every container exited', () => {
    expect(status(pod('Always'), [ctr('app', 'app', 'exited', 0)]).status!.phase).toBe('Running');
  });

  it('is Succeeded when all exited 0 and nothing restarts', () => {
    const p = status(pod('OnFailure'), [ctr('app', 'app', 'exited', 0)]);
    expect(p.status!.phase).toBe('Succeeded');
    expect(p.status!.conditions!.find((c) => c.type === 'Ready')).toMatchObject({ status: 'False', reason: 'PodCompleted' });
    expect(podStatusReason(p)).toBe('Completed');
  });

  it('is Failed under Never when one container failed', () => {
    const p = status(pod('Never', [], ['a', 'b']), [ctr('a', 'app', 'exited', 0), ctr('b', 'app', 'exited', 1)]);
    expect(p.status!.phase).toBe('Failed');
    // kubectl walks containers in reverse, so the first container's reason wins.
    expect(podStatusReason(p)).toBe('Completed');
  });

  it('stays Running under OnFailure while a failed container will restart', () => {
    expect(status(pod('OnFailure'), [ctr('app', 'app', 'exited', 1)]).status!.phase).toBe('Running');
  });

  it('shows CrashLoopBackOff with the last termination and the restart count', () => {
    const p = status(pod('Always'), [ctr('app', 'app', 'exited', 1, 0), ctr('app', 'app', 'exited', 1, 1)], { app: 'CrashLoopBackOff' });
    const cs = p.status!.containerStatuses![0];
    expect(cs).toMatchObject({ restartCount: 1, state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: { terminated: { exitCode: 1, reason: 'Error' } } });
    expect(p.status!.phase).toBe('Running');
    expect(podStatusReason(p)).toBe('CrashLoopBackOff');
  });
});

describe('init containers', () => {
  it('show Init:N/M while they run and PodInitializing for the app', () => {
    const p = status(pod('Always', ['a', 'b']), [ctr('a', 'init', 'exited', 0), ctr('b', 'init', 'running')]);
    expect(p.status!.phase).toBe('Pending');
    expect(podStatusReason(p)).toBe('Init:1/2');
    expect(p.status!.containerStatuses![0].state.waiting!.reason).toBe('PodInitializing');
    expect(p.status!.conditions!.find((c) => c.type === 'Initialized')).toMatchObject({ status: 'False', reason: 'ContainersNotInitialized', message: 'containers with incomplete status: [b]' });
  });

  it('fail the pod under Never', () => {
    const p = status(pod('Never', ['a']), [ctr('a', 'init', 'exited', 2)]);
    expect(p.status!.phase).toBe('Failed');
    expect(podStatusReason(p)).toBe('Init:Error');
  });

  it('show Init:CrashLoopBackOff while backing off', () => {
    const p = status(pod('Always', ['a']), [ctr('a', 'init', 'exited', 2)], { a: 'CrashLoopBackOff' });
    expect(p.status!.phase).toBe('Pending');
    expect(podStatusReason(p)).toBe('Init:CrashLoopBackOff');
  });
});

describe('STATUS column', () => {
  it('says Terminating while a pod with a deletionTimestamp is not terminal', () => {
    const p = status(pod('Always'), [ctr('app', 'app', 'running')]);
    p.metadata.deletionTimestamp = NOW.toISOString();
    expect(podStatusReason(p)).toBe('Terminating');
  });

  it('shows the first container\'s reason (containers are walked in reverse)', () => {
    const p = status(pod('Always', [], ['a', 'b']), [], { a: 'ErrImagePull', b: 'CrashLoopBackOff' });
    expect(podStatusReason(p)).toBe('ErrImagePull');
  });
});

describe('HumanDuration', () => {
  it.each([
    [45, '45s'], [119, '119s'], [200, '3m20s'], [600, '10m'], [25 * 60, '25m'], [5 * 3600 + 180, '5h3m'],
    [30 * 3600, '30h'], [3 * 86400 + 4 * 3600, '3d4h'], [400 * 86400, '400d'], [(2 * 365 + 10) * 86400, '2y10d'],
  ])('%ss → %s', (s, want) => expect(humanDuration(s * 1000)).toBe(want));
});
