// Leader election over a Lease in the store, as client-go's leaderelection does: the
// holder renews the lease every retry period; a candidate takes it over only when
// it has seen the same record, unrenewed, for a whole lease duration (by its own
// clock, so machines' clocks need not agree); a leader that cannot renew within
// the renew deadline steps down. Writes compare resourceVersions, so two
// candidates can never both win the same round.
import os from 'node:os';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { type Store, type StoredObject, StoreError, keyOf } from '../store/store.js';

export interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

export interface LeaderElectionOptions {
  store: Store;
  logger: Logger;
  namespace?: string;
  name: string;
  identity?: string;
  /** How long a lease holds without renewal (Kubernetes: 15 s). */
  leaseDurationMs: number;
  /** A leader that has not renewed for this long steps down (default 2/3 of the lease). */
  renewDeadlineMs?: number;
  /** How often to try to acquire or renew (default lease / 7.5: 2 s for 15 s). */
  retryPeriodMs?: number;
  onStartedLeading(): void | Promise<void>;
  onStoppedLeading(): void | Promise<void>;
  /** Injected for tests. */
  now?: () => number;
}

export const DEFAULT_LEASE_DURATION_MS = 15_000;

export class LeaderElector {
  readonly identity: string;
  private leading = false;
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private observed?: { record: string; at: number };
  private lastRenew = 0;
  private transition: Promise<void> = Promise.resolve();
  private log: Logger;
  private now: () => number;

  constructor(private opts: LeaderElectionOptions) {
    this.identity = opts.identity ?? `${os.hostname()}_${randomUUID()}`;
    this.log = opts.logger.child({ component: 'leader-election', lease: `${this.namespace}/${opts.name}`, identity: this.identity });
    this.now = opts.now ?? Date.now;
  }

  get isLeader(): boolean {
    return this.leading;
  }

  private get namespace(): string {
    return this.opts.namespace ?? 'kube-system';
  }
  private get renewDeadline(): number {
    return this.opts.renewDeadlineMs ?? Math.round((this.opts.leaseDurationMs * 2) / 3);
  }
  private get retryPeriod(): number {
    return this.opts.retryPeriodMs ?? Math.max(100, Math.round(this.opts.leaseDurationMs / 7.5));
  }

  /** Tries at once, then every retry period, until stop(). */
  async start(): Promise<void> {
    this.log.info('standing for leader');
    await this.tick();
    this.timer = setInterval(() => void this.tick(), this.retryPeriod);
    this.timer.unref();
  }

  /** Stops campaigning; a leader releases the lease so that a standby need not wait it out. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.leading) {
      await this.setLeading(false);
      await this.release().catch((err) => this.log.warn({ err }, 'could not release the lease'));
    }
    await this.transition;
  }

  private running = false;
  private async tick(): Promise<void> {
    if (this.running || this.stopped) return;
    this.running = true;
    try {
      const ok = await this.tryAcquireOrRenew().catch((err) => {
        this.log.warn({ err: (err as Error).message }, 'lease update failed');
        return false;
      });
      if (this.stopped) return;
      if (ok) {
        this.lastRenew = this.now();
        if (!this.leading) await this.setLeading(true);
      } else if (this.leading && this.now() - this.lastRenew > this.renewDeadline) {
        this.log.warn('could not renew the lease within the renew deadline: stepping down');
        await this.setLeading(false);
      }
    } finally {
      this.running = false;
    }
  }

  private async setLeading(leading: boolean): Promise<void> {
    if (this.leading === leading) return;
    this.leading = leading;
    this.log.info(leading ? 'became leader' : 'stopped leading');
    this.transition = this.transition.then(() => (leading ? this.opts.onStartedLeading() : this.opts.onStoppedLeading())).catch((err) => {
      this.log.error({ err }, 'leader callback failed');
    });
    await this.transition;
  }

  /** One round: true when this candidate holds the lease afterwards. */
  private async tryAcquireOrRenew(): Promise<boolean> {
    const key = keyOf('leases', this.namespace, this.opts.name);
    const now = this.now();
    const stamp = new Date(now).toISOString();
    const current = await this.opts.store.get(key);
    if (!current) {
      try {
        await this.opts.store.create(key, this.lease({ holderIdentity: this.identity, acquireTime: stamp, renewTime: stamp, leaseTransitions: 0 }));
      } catch (err) {
        if (err instanceof StoreError && err.reason === 'AlreadyExists') return false; // another was quicker
        throw err;
      }
      this.log.info('acquired the lease');
      return true;
    }
    const spec = (current.spec ?? {}) as LeaseSpec;
    const record = JSON.stringify(spec);
    if (this.observed?.record !== record) this.observed = { record, at: now };
    const holder = spec.holderIdentity ?? '';
    const duration = (spec.leaseDurationSeconds ?? this.opts.leaseDurationMs / 1000) * 1000;
    if (holder && holder !== this.identity && this.observed.at + duration > now) return false; // held by another, still fresh
    const next: LeaseSpec =
      holder === this.identity
        ? { ...spec, renewTime: stamp, leaseDurationSeconds: this.opts.leaseDurationMs / 1000 }
        : {
            holderIdentity: this.identity,
            leaseDurationSeconds: this.opts.leaseDurationMs / 1000,
            acquireTime: stamp,
            renewTime: stamp,
            leaseTransitions: (spec.leaseTransitions ?? 0) + (holder ? 1 : 0),
          };
    try {
      await this.opts.store.update(key, { ...current, spec: next }, current.metadata.resourceVersion);
      if (holder !== this.identity) this.log.info({ previous: holder || undefined }, 'acquired the lease');
      return true;
    } catch (err) {
      if (err instanceof StoreError && (err.reason === 'Conflict' || err.reason === 'NotFound')) return false; // another won this round
      throw err;
    }
  }

  /** Gives the lease up: an empty holder that anyone may take at once. */
  private async release(): Promise<void> {
    const key = keyOf('leases', this.namespace, this.opts.name);
    const current = await this.opts.store.get(key);
    const spec = (current?.spec ?? {}) as LeaseSpec;
    if (!current || spec.holderIdentity !== this.identity) return;
    await this.opts.store.update(key, { ...current, spec: { ...spec, holderIdentity: '', leaseDurationSeconds: 1 } }, current.metadata.resourceVersion);
    this.log.info('released the lease');
  }

  private lease(spec: LeaseSpec): StoredObject {
    return {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: this.opts.name, namespace: this.namespace, creationTimestamp: new Date(this.now()).toISOString() },
      spec: { leaseDurationSeconds: this.opts.leaseDurationMs / 1000, ...spec },
    };
  }
}
