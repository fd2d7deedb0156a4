import { defineConfig } from 'vitest/config';

// Files whose checks are timings (probe periods, back-off gaps, grace periods, latency
// beside idle connections, CPU used while idle): one at a time, after the others, so
// that a neighbour's load does not move what they measure.
const TIMING = [
  'test/e2e/readme.test.ts', // its liveness-exec example shows the probe's events, which a slow docker exec changes
  'test/e2e/probes.test.ts',
  'test/e2e/lifecycle.test.ts',
  'test/e2e/backoff.test.ts',
  'test/e2e/foundation.test.ts',
  'test/reliability/daemon-stop.test.ts',
  'test/reliability/huge-values.test.ts',
  'test/security/emptydir-limits.test.ts',
  'test/security/listener-auth.test.ts',
];
// Files that load Docker itself heavily (real pods against a raw-Docker baseline;
// restarting, crashing and freezing a private dockerd; two daemons with 40 pods
// killed and restarted) run last and one at a time, so that their load does not
// distort the other files, nor each other.
const HEAVY = ['test/reliability/load.test.ts', 'test/reliability/dockerd-faults.test.ts', 'test/reliability/two-daemons.test.ts'];

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'main',
          include: ['test/**/*.test.ts'],
          exclude: [...TIMING, ...HEAVY],
          // Each e2e file runs its own daemon on its own node name, and most of their time is
          // spent waiting on Docker and the kubelet: two at a time on a 2-core machine.
          fileParallelism: true,
          maxWorkers: 2,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: { name: 'timing', include: TIMING, fileParallelism: false, sequence: { groupOrder: 1 } },
      },
      {
        extends: true,
        test: { name: 'heavy', include: HEAVY, fileParallelism: false, sequence: { groupOrder: 2 } },
      },
    ],
  },
});
