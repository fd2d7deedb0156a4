// Crash-loop back-off measured on real Docker: a container that exits 1 at once
// under restartPolicy Always starts again at once, then after 10 s, then 20 s (the kubelet's
// 10 s doubling back-off; test/unit/backoff.test.ts follows it to the 300 s cap),
// measured from Docker's own event times (exit to next create).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { TestCluster, docker, waitFor, watchPod } from './harness.js';

const cluster = new TestCluster();
beforeAll(() => cluster.start(), 30_000);
afterAll(() => cluster.cleanup(), 60_000);

it('restarts a crashing container with gaps of 0, 10, 20 s and shows CrashLoopBackOff', async () => {
  const since = Math.floor(Date.now() / 1000) - 1;
  // The back-off runs from a container's exit to the kubelet's next create: Docker's own
  // event times for both, so that Docker's create latency on a loaded machine is left out.
  const events: { action: string; at: number }[] = [];
  const stream = (await docker.getEvents({
    since,
    filters: { type: ['container'], event: ['create', 'die'], label: [`minipod.io/node=${cluster.node}`, 'io.kubernetes.pod.name=crashloop', 'minipod.io/kind=app'] },
  })) as NodeJS.ReadableStream & { destroy(): void };
  let buf = '';
  stream.on('data', (chunk: Buffer) => {
    buf += chunk.toString();
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      const e = JSON.parse(buf.slice(0, nl)) as { Action: string; timeNano: number };
      events.push({ action: e.Action, at: Number(e.timeNano) / 1e9 });
      buf = buf.slice(nl + 1);
    }
  });
  const creates = () => events.filter((e) => e.action === 'create').map((e) => e.at);
  const dies = () => events.filter((e) => e.action === 'die').map((e) => e.at);
  try {
    expect((await cluster.mp(['apply', '-f', 'manifests/crashloop.yaml'])).code).toBe(0);
    const waiting = await watchPod(cluster.client, 'default', 'crashloop', (p) => p.status?.containerStatuses?.[0]?.state.waiting?.reason === 'CrashLoopBackOff', 30_000, 'CrashLoopBackOff');
    const cs = waiting.status!.containerStatuses![0];
    expect(cs.state.waiting!.message).toMatch(/^back-off 10s restarting failed container=main pod=crashloop_default\(/);
    expect(cs.lastState.terminated).toMatchObject({ exitCode: 1, reason: 'Error' });
    expect((await cluster.mp(['get', 'pod', 'crashloop'])).stdout).toMatch(/^crashloop\s+0\/1\s+CrashLoopBackOff\s+1 \(\d+s ago\)\s/m);

    await watchPod(cluster.client, 'default', 'crashloop', (p) => (p.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 3, 60_000, 'restarted 3 times');
    await waitFor(() => creates().length >= 4 && dies().length >= 3, 5_000, 'Docker events of 4 creates and 3 exits');
    // The i-th restart: from the i-th exit to the (i+1)-th create.
    const gaps = dies().slice(0, 3).map((died, i) => creates()[i + 1] - died);
    console.info(`back-off: from each exit to the next create ${gaps.map((g) => g.toFixed(2)).join(' s, ')} s`);
    expect(gaps[0]).toBeLessThan(2);
    expect(Math.abs(gaps[1] - 10)).toBeLessThanOrEqual(2);
    expect(Math.abs(gaps[2] - 20)).toBeLessThanOrEqual(2);
    const backoffEvents = (await cluster.client.listEvents('default', { fieldSelector: 'involvedObject.name=crashloop,reason=BackOff' })).items;
    expect(backoffEvents[0]).toMatchObject({ type: 'Warning', message: expect.stringContaining('Back-off restarting failed container main in pod crashloop_default(') });
    expect(backoffEvents[0].count).toBeGreaterThanOrEqual(2);
  } finally {
    stream.destroy();
  }
}, 90_000);
