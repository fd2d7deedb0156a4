// One prober worker per (container, probe kind), as pkg/kubelet/prober/worker.go:
// probes on a fixed grid anchored to the container's start (startedAt +
// initialDelaySeconds + k × periodSeconds), counts consecutive results and commits
// one only when it reaches successThreshold / failureThreshold. A committed
// liveness failure, or any committed startup result, puts the worker on hold:
// the container is about to be replaced, and a new container gets a new worker.
import type { Clock } from '../clock.js';
import type { ProbeKind, ProbeOutcome, ProbeTiming } from './types.js';

export interface WorkerHooks {
  /** Whether this tick probes at all (only the startup probe runs until it succeeds). */
  shouldProbe(): boolean;
  run(): Promise<ProbeOutcome>;
  /** Every outcome, committed or not (events). */
  observed(outcome: ProbeOutcome): void;
  /** A result that reached its threshold. */
  commit(result: 'success' | 'failure'): void;
}

export class ProbeWorker {
  private timer?: NodeJS.Timeout;
  private due = 0; // the grid tick the pending timer stands for
  private stopped = false;
  private held = false;
  private lastResult?: 'success' | 'failure';
  private resultRun = 0;
  private readonly base: number;
  private readonly periodMs: number;

  constructor(
    readonly kind: ProbeKind,
    private timing: ProbeTiming,
    startedAt: number,
    private clock: Clock,
    private hooks: WorkerHooks,
  ) {
    this.base = startedAt + timing.initialDelaySeconds * 1000;
    this.periodMs = timing.periodSeconds * 1000;
  }

  get onHold(): boolean {
    return this.held;
  }

  start(): void {
    const now = this.clock.now();
    // A container adopted after a daemon restart is past its first tick: probe
    // at once (on the latest tick), then stay on its grid.
    this.schedule(now >= this.base ? this.latestTickAtOrBefore(now) : this.base);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private latestTickAtOrBefore(t: number): number {
    return this.base + Math.floor((t - this.base) / this.periodMs) * this.periodMs;
  }

  private schedule(due: number): void {
    this.due = due;
    this.timer = this.clock.setTimeout(() => void this.tick(), Math.max(0, due - this.clock.now()));
  }

  private async tick(): Promise<void> {
    this.timer = undefined;
    if (this.stopped || this.held) return;
    const consumed = this.due;
    if (this.hooks.shouldProbe()) {
      let outcome: ProbeOutcome;
      try {
        outcome = await this.hooks.run();
      } catch (err) {
        outcome = { result: 'unknown', output: (err as Error).message };
      }
      if (this.stopped) return;
      this.hooks.observed(outcome);
      this.record(outcome.result === 'warning' ? 'success' : outcome.result);
      if (this.held || this.stopped) return;
    }
    // The next tick of the grid. A probe slower than a period has missed ticks:
    // like Go's ticker (which keeps one), probe again at once, on the latest
    // missed tick, so the schedule never slips by more than the overrun.
    let next = consumed + this.periodMs;
    const now = this.clock.now();
    if (next <= now) next = this.latestTickAtOrBefore(now);
    this.schedule(next);
  }

  private record(result: 'success' | 'failure' | 'unknown'): void {
    if (result === 'unknown') return; // a prober error: thrown away
    if (result === this.lastResult) this.resultRun++;
    else {
      this.lastResult = result;
      this.resultRun = 1;
    }
    const t = this.timing;
    if ((result === 'failure' && this.resultRun < t.failureThreshold) || (result === 'success' && this.resultRun < t.successThreshold)) return;
    this.hooks.commit(result);
    if ((this.kind === 'liveness' && result === 'failure') || this.kind === 'startup') {
      this.held = true;
      this.resultRun = 0;
    }
  }
}
