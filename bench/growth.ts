// Target 6 (growth): list latency, watch-from-0 delivery time and daemon RSS with
// 0, 1,000 and 10,000 stored pods that no node can take (so no container starts).
// `npm run --silent build && tsc -p bench && node dist/bench/growth.js`
import { readFileSync } from 'node:fs';
import { BenchCluster } from './cluster.js';
import { median } from './stats.js';
import { sleep } from './proc.js';

// The client is loaded from the compiled dist at run time: bench's rootDir keeps src/
// out of this program, so only the few members used here are typed.
interface PodLike {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  spec: { nodeSelector?: Record<string, string>; containers: { name: string; image: string; command?: string[] }[] };
}
interface BenchClient {
  createPod(namespace: string, pod: PodLike): Promise<unknown>;
  request<T>(method: string, path: string): Promise<T>;
  watch<T>(resource: 'pods', ns: string | undefined, opts: { resourceVersion?: string }, onEvent: (e: { type: string; object: T }) => void): { stop(): void; done: Promise<void> };
  close(): void;
}
const { Client } = (await import(new URL('../client/client.js', import.meta.url).href)) as {
  Client: new (opts: { socketPath: string }) => BenchClient;
};

const STEPS = [0, 1_000, 10_000];
const CONCURRENCY = 20;
const LIST_REPS = 10;

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

function pod(i: number): PodLike {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `growth-${i}`, labels: { 'minipod.io/bench': 'growth' } },
    // No node carries this label, so the pod stays Pending and costs only storage.
    spec: { nodeSelector: { 'minipod.io/bench-nowhere': 'true' }, containers: [{ name: 'app', image: 'busybox:1.36', command: ['sleep', '3600'] }] },
  };
}

async function createRange(client: BenchClient, from: number, to: number): Promise<void> {
  let next = from;
  const worker = async () => {
    while (next < to) await client.createPod('default', pod(next++));
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}

/** Time until a watch from resourceVersion=0 has delivered an ADDED for every stored pod. */
async function watchInitial(client: BenchClient, expected: number): Promise<number> {
  const t0 = performance.now();
  if (expected === 0) {
    // Nothing to deliver: measure only the round trip of opening the stream.
    const h = client.watch('pods', undefined, { resourceVersion: '0' }, () => {});
    await sleep(0);
    h.stop();
    return performance.now() - t0;
  }
  return new Promise((resolve, reject) => {
    let added = 0;
    const h = client.watch('pods', undefined, { resourceVersion: '0' }, (e) => {
      if (e.type === 'ADDED' && ++added === expected) {
        const ms = performance.now() - t0;
        h.stop();
        resolve(ms);
      }
    });
    h.done.then(() => reject(new Error(`watch ended after ${added}/${expected} ADDED events`)), reject);
    setTimeout(() => reject(new Error(`watch delivered ${added}/${expected} in 120 s`)), 120_000).unref();
  });
}

interface Point {
  pods: number;
  listMs: number;
  watchMs: number;
  rssMb: number;
  createS: number;
}

const c = new BenchCluster();
const points: Point[] = [];
try {
  await c.start();
  const pid = c.pid!;
  const client = new Client({ socketPath: c.socket });
  let stored = 0;
  for (const n of STEPS) {
    const t0 = performance.now();
    await createRange(client, stored, n);
    const createS = (performance.now() - t0) / 1000;
    stored = n;
    await sleep(2000); // let the scheduler's first pass over the new pods settle
    const lists: number[] = [];
    for (let i = 0; i < LIST_REPS; i++) {
      const t1 = performance.now();
      const l = await client.request<{ items: unknown[] }>('GET', '/api/v1/pods');
      lists.push(performance.now() - t1);
      if (l.items.length !== n) throw new Error(`list returned ${l.items.length} pods, expected ${n}`);
    }
    const watchMs = await watchInitial(client, n);
    await sleep(500);
    points.push({ pods: n, listMs: median(lists), watchMs, rssMb: rssMb(pid), createS });
    process.stderr.write(`[growth] ${n} pods: list ${median(lists).toFixed(1)} ms, watch ${watchMs.toFixed(1)} ms, RSS ${rssMb(pid).toFixed(1)} MB\n`);
  }
  client.close();
} finally {
  await c.cleanup(); // stops the daemon and deletes its MINIPOD_HOME
}

const f = (x: number, d = 1) => x.toFixed(d);
console.log('pods    create(s)  list median(ms)  watch rv=0 all ADDED(ms)  daemon RSS(MB)');
for (const p of points) console.log(`${String(p.pods).padEnd(7)} ${f(p.createS).padStart(9)}  ${f(p.listMs).padStart(15)}  ${f(p.watchMs).padStart(24)}  ${f(p.rssMb).padStart(14)}`);
const [p0, p1, p2] = points;
const per = (a: Point, b: Point, k: 'listMs' | 'watchMs' | 'rssMb') => (b[k] - a[k]) / (b.pods - a.pods);
console.log('\nper-pod growth        0→1k          1k→10k        at most linear (1k→10k slope ≤ 1.5 × 0→1k slope)');
for (const [k, unit, scale] of [['listMs', 'µs/pod', 1000], ['watchMs', 'µs/pod', 1000], ['rssMb', 'KB/pod', 1024]] as const) {
  const a = per(p0, p1, k) * scale;
  const b = per(p1, p2, k) * scale;
  // Per-pod slope that does not rise with size is linear (or better); 1.5× allows for noise.
  console.log(`${k.padEnd(10)} ${f(a, 2).padStart(10)} ${unit}  ${f(b, 2).padStart(10)} ${unit}  ${b <= a * 1.5 ? 'yes' : 'NO'}`);
}
