// Leader election over a Lease in the store: one leader at a time, a standby that
// takes over when the lease runs out, and at once when the leader lets go.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { LeaderElector, type LeaseSpec } from '../../src/controllers/leader-election.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { keyOf } from '../../src/store/store.js';

const LEASE_MS = 1000;
const dir = mkdtempSync(join(os.tmpdir(), 'minipod-lease-'));
const store = new SqliteStore(join(dir, 'store.db'));
const logger = pino({ level: 'silent' });
afterAll(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

function candidate(identity: string, log: string[]) {
  return new LeaderElector({
    store,
    logger,
    name: 'test-lease',
    identity,
    leaseDurationMs: LEASE_MS,
    onStartedLeading: () => void log.push(`${identity} started`),
    onStoppedLeading: () => void log.push(`${identity} stopped`),
  });
}

async function until(cond: () => boolean, timeoutMs: number, what: string): Promise<number> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return Date.now() - start;
}

const lease = async () => (await store.get(keyOf('leases', 'kube-system', 'test-lease')))!.spec as LeaseSpec;

describe('leader election', () => {
  it('lets one candidate lead, hands over when its lease runs out, and at once when it lets go', async () => {
    const log: string[] = [];
    const a = candidate('a', log);
    const b = candidate('b', log);
    await a.start();
    await b.start();
    expect([a.isLeader, b.isLeader]).toEqual([true, false]);

    // Across more than two lease durations the leader keeps renewing; the standby waits.
    await new Promise((r) => setTimeout(r, LEASE_MS * 2.5));
    expect([a.isLeader, b.isLeader]).toEqual([true, false]);
    expect(await lease()).toMatchObject({ holderIdentity: 'a', leaseTransitions: 0, leaseDurationSeconds: LEASE_MS / 1000 });

    // a crashes: it stops renewing without letting go.
    clearInterval((a as unknown as { timer: NodeJS.Timeout }).timer);
    const took = await until(() => b.isLeader, LEASE_MS * 3, 'b to take over');
    expect(took).toBeGreaterThanOrEqual(LEASE_MS * 0.75); // it waited for the lease to run out
    expect(await lease()).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });

    // b stops gracefully: it releases the lease, and c need not wait.
    const c = candidate('c', log);
    await c.start();
    expect(c.isLeader).toBe(false);
    await b.stop();
    const quick = await until(() => c.isLeader, LEASE_MS * 3, 'c to take over');
    expect(quick).toBeLessThan(LEASE_MS * 0.75);
    expect(log).toEqual(['a started', 'b started', 'b stopped', 'c started']);
    await c.stop();
    expect(log.at(-1)).toBe('c stopped');
  }, 10_000);

  it('never lets two candidates that start together both lead', async () => {
    const log: string[] = [];
    const many = ['p', 'q', 'r', 's'].map((id) => new LeaderElector({
      store,
      logger,
      name: 'race-lease',
      identity: id,
      leaseDurationMs: LEASE_MS,
      onStartedLeading: () => void log.push(id),
      onStoppedLeading: () => {},
    }));
    await Promise.all(many.map((e) => e.start()));
    await new Promise((r) => setTimeout(r, LEASE_MS));
    expect(many.filter((e) => e.isLeader)).toHaveLength(1);
    expect(log).toHaveLength(1);
    await Promise.all(many.map((e) => e.stop()));
  }, 10_000);
});
