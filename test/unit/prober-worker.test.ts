// The prober worker on fake timers: the grid anchored to the container's start,
// initial delay, thresholds of consecutive results, on-hold, no drift.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { realClock } from '../../src/kubelet/clock.js';
import type { ProbeKind, ProbeOutcome } from '../../src/kubelet/prober/types.js';
import { probeTiming } from '../../src/kubelet/prober/types.js';
import { ProbeWorker } from '../../src/kubelet/prober/worker.js';

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(1_000_000);
});
afterEach(() => vi.useRealTimers());

interface Harness {
  worker: ProbeWorker;
  runs: number[]; // clock times (relative to start) at which probes ran
  commits: { at: number; result: string }[];
}

/** A worker whose probe answers from `script` (one outcome per run, the last repeats), taking `durationMs`. */
function harness(kind: ProbeKind, probe: Parameters<typeof probeTiming>[0], script: ProbeOutcome['result'][], durationMs: (i: number) => number = () => 0, startedAt = Date.now()): Harness {
  const t0 = Date.now();
  const runs: number[] = [];
  const commits: { at: number; result: string }[] = [];
  const worker = new ProbeWorker(kind, probeTiming(probe), startedAt, realClock, {
    shouldProbe: () => true,
    run: async () => {
      const i = runs.length;
      runs.push(Date.now() - t0);
      const d = durationMs(i);
      if (d > 0) await new Promise((r) => setTimeout(r, d));
      return { result: script[Math.min(i, script.length - 1)], output: '' };
    },
    observed: () => {},
    commit: (result) => commits.push({ at: Date.now() - t0, result }),
  });
  worker.start();
  return { worker, runs, commits };
}

describe('ProbeWorker schedule', () => {
  it('probes at the container start, then every periodSeconds', async () => {
    const h = harness('readiness', { periodSeconds: 2 }, ['success']);
    await vi.advanceTimersByTimeAsync(10_500);
    expect(h.runs).toEqual([0, 2000, 4000, 6000, 8000, 10_000]);
    h.worker.stop();
  });

  it('waits initialDelaySeconds after the container started', async () => {
    const h = harness('liveness', { periodSeconds: 1, initialDelaySeconds: 5 }, ['success']);
    await vi.advanceTimersByTimeAsync(4_999);
    expect(h.runs).toEqual([]);
    await vi.advanceTimersByTimeAsync(2_100);
    expect(h.runs).toEqual([5000, 6000, 7000]);
    h.worker.stop();
  });

  it('counts the initial delay from the container start, not from when the worker was made', async () => {
    // Started 3 s ago (e.g. postStart took that long); delay 5 s → first probe 2 s from now.
    const h = harness('liveness', { periodSeconds: 10, initialDelaySeconds: 5 }, ['success'], undefined, Date.now() - 3000);
    await vi.advanceTimersByTimeAsync(2_500);
    expect(h.runs).toEqual([2000]);
    h.worker.stop();
  });

  it('probes an adopted container at once, then stays on its own grid', async () => {
    // Started 25.3 s ago with a 10 s period: probe now, then at the grid's next tick (30 s after start).
    const h = harness('readiness', { periodSeconds: 10 }, ['success'], undefined, Date.now() - 25_300);
    await vi.advanceTimersByTimeAsync(15_000);
    expect(h.runs).toEqual([0, 4700, 14_700]);
    h.worker.stop();
  });

  it('does not drift: a probe that takes 70% of the period keeps the grid', async () => {
    const h = harness('readiness', { periodSeconds: 1 }, ['success'], () => 700);
    await vi.advanceTimersByTimeAsync(10_050);
    // A "period after the probe ends" schedule would give 0, 1700, 3400, ...
    expect(h.runs).toEqual([0, 1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000, 10_000]);
    h.worker.stop();
  });

  it('a probe slower than the period is followed at once by one probe, then the grid resumes', async () => {
    const h = harness('readiness', { periodSeconds: 1, timeoutSeconds: 5 }, ['success'], (i) => (i === 1 ? 2500 : 10));
    await vi.advanceTimersByTimeAsync(6_050);
    // run 1 starts at 1000 and ends at 3500: the missed tick (3000) runs at once, then 4000, 5000, 6000.
    expect(h.runs).toHaveLength(6);
    expect(h.runs[2]).toBeGreaterThanOrEqual(3500);
    expect(h.runs[2]).toBeLessThanOrEqual(3501); // a zero timeout: at once
    expect([h.runs[0], h.runs[1], ...h.runs.slice(3)]).toEqual([0, 1000, 4000, 5000, 6000]);
    h.worker.stop();
  });

  it('stops probing when stopped, even in the middle of a probe', async () => {
    const h = harness('readiness', { periodSeconds: 1 }, ['failure'], () => 500);
    await vi.advanceTimersByTimeAsync(1_200);
    h.worker.stop();
    await vi.advanceTimersByTimeAsync(5_000);
    expect(h.runs).toEqual([0, 1000]);
    expect(h.commits).toEqual([]);
  });
});

describe('ProbeWorker thresholds', () => {
  it('commits a failure only after failureThreshold consecutive failures', async () => {
    const h = harness('readiness', { periodSeconds: 1, failureThreshold: 3 }, ['failure', 'failure', 'success', 'failure', 'failure', 'failure', 'failure']);
    await vi.advanceTimersByTimeAsync(6_500);
    // The success at 2 s resets the run (and, with successThreshold 1, commits);
    // failures at 3, 4, 5 s commit at 5 s; the 4th in a row commits again.
    expect(h.commits).toEqual([
      { at: 2000, result: 'success' },
      { at: 5000, result: 'failure' },
      { at: 6000, result: 'failure' },
    ]);
    h.worker.stop();
  });

  it('commits a success only after successThreshold consecutive successes (readiness)', async () => {
    const h = harness('readiness', { periodSeconds: 1, successThreshold: 2, failureThreshold: 1 }, ['success', 'failure', 'success', 'success']);
    await vi.advanceTimersByTimeAsync(3_500);
    expect(h.commits).toEqual([
      { at: 1000, result: 'failure' },
      { at: 3000, result: 'success' },
    ]);
    h.worker.stop();
  });

  it('an unknown result (prober error) changes nothing and breaks no run', async () => {
    const h = harness('readiness', { periodSeconds: 1, failureThreshold: 2 }, ['failure', 'unknown', 'failure']);
    await vi.advanceTimersByTimeAsync(2_500);
    expect(h.commits).toEqual([{ at: 2000, result: 'failure' }]);
    h.worker.stop();
  });

  it('a warning (redirect elsewhere) counts as a success', async () => {
    const h = harness('readiness', { periodSeconds: 1 }, ['warning']);
    await vi.advanceTimersByTimeAsync(500);
    expect(h.commits).toEqual([{ at: 0, result: 'success' }]);
    h.worker.stop();
  });

  it('liveness: after a committed failure the worker is on hold (no more probes)', async () => {
    const h = harness('liveness', { periodSeconds: 2, failureThreshold: 2 }, ['success', 'failure']);
    await vi.advanceTimersByTimeAsync(20_000);
    expect(h.runs).toEqual([0, 2000, 4000]);
    expect(h.commits).toEqual([
      { at: 0, result: 'success' },
      { at: 4000, result: 'failure' },
    ]);
    expect(h.worker.onHold).toBe(true);
  });

  it('liveness successes do not put it on hold', async () => {
    const h = harness('liveness', { periodSeconds: 1 }, ['success']);
    await vi.advanceTimersByTimeAsync(3_500);
    expect(h.runs.length).toBe(4);
    expect(h.worker.onHold).toBe(false);
    h.worker.stop();
  });

  it('startup: any committed result puts it on hold', async () => {
    const ok = harness('startup', { periodSeconds: 1, failureThreshold: 3 }, ['failure', 'success']);
    const bad = harness('startup', { periodSeconds: 1, failureThreshold: 3 }, ['failure']);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(ok.runs).toEqual([0, 1000]);
    expect(ok.commits).toEqual([{ at: 1000, result: 'success' }]);
    expect(bad.runs).toEqual([0, 1000, 2000]);
    expect(bad.commits).toEqual([{ at: 2000, result: 'failure' }]);
  });
});
