// The daemon's controllers (the scheduler and the node lifecycle controller), run
// only while this daemon holds the control-plane lease when the store is shared by
// several API servers, as kube-scheduler and kube-controller-manager do with
// --leader-elect. With the embedded store there is one daemon, and it just runs them.
import type { Logger } from 'pino';
import type { Client } from '../client/client.js';
import { Scheduler } from '../scheduler/scheduler.js';
import type { Store } from '../store/store.js';
import { DEFAULT_LEASE_DURATION_MS, LeaderElector } from './leader-election.js';
import { DEFAULT_NODE_MONITOR_GRACE_PERIOD_MS, NodeLifecycleController } from './node-lifecycle.js';

export const CONTROL_PLANE_LEASE = 'minipod-control-plane';

export interface ControllerManagerOptions {
  client: Client;
  store: Store;
  logger: Logger;
  /** Elect a leader through a Lease in the store before running anything. */
  leaderElect: boolean;
  leaseDurationMs?: number;
  nodeMonitorGracePeriodMs?: number;
}

export class ControllerManager {
  private scheduler?: Scheduler;
  private nodeLifecycle?: NodeLifecycleController;
  private elector?: LeaderElector;

  constructor(private opts: ControllerManagerOptions) {}

  async start(): Promise<void> {
    if (!this.opts.leaderElect) return this.run();
    this.elector = new LeaderElector({
      store: this.opts.store,
      logger: this.opts.logger,
      name: CONTROL_PLANE_LEASE,
      leaseDurationMs: this.opts.leaseDurationMs ?? DEFAULT_LEASE_DURATION_MS,
      onStartedLeading: () => this.run(),
      onStoppedLeading: () => this.halt(),
    });
    await this.elector.start();
  }

  async stop(): Promise<void> {
    if (this.elector) await this.elector.stop();
    else this.halt();
  }

  private async run(): Promise<void> {
    this.scheduler = new Scheduler(this.opts.client, this.opts.logger);
    this.nodeLifecycle = new NodeLifecycleController({
      client: this.opts.client,
      logger: this.opts.logger,
      gracePeriodMs: this.opts.nodeMonitorGracePeriodMs ?? DEFAULT_NODE_MONITOR_GRACE_PERIOD_MS,
    });
    await this.scheduler.start();
    await this.nodeLifecycle.start();
  }

  private halt(): void {
    this.scheduler?.stop();
    this.nodeLifecycle?.stop();
    this.scheduler = undefined;
    this.nodeLifecycle = undefined;
  }
}
