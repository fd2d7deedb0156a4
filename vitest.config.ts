import { defineConfig } from 'vitest/config';

// Files that load Docker itself heavily (100 real pods; restarting, crashing and
// freezing a private dockerd; two daemons with 40 pods killed and restarted, about a
// minute) run last and one at a time, so that their load does not distort the timing
// checks of the other files, nor each other.
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
          exclude: HEAVY,
          // e2e files each run their own daemon on their own node name, so they may run side by side:
          // two at a time, since most of their time is spent waiting on Docker and on the kubelet's timers.
          fileParallelism: true,
          maxWorkers: 2,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: { name: 'heavy', include: HEAVY, fileParallelism: false, sequence: { groupOrder: 1 } },
      },
    ],
  },
});
