// Target 5 (footprint): daemon RSS and CPU over 60 s idle with 100 running pods, then
// with 100 pods each running an exec readiness probe every 10 s (dockerd's CPU over the
// same window reported separately). `node dist/bench/footprint.js [--seconds=60]`
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { BenchCluster } from './cluster.js';
import { sleep } from './proc.js';

// Loaded from the compiled dist at run time: bench's rootDir keeps src/ out of this
// program, so only the members used here are typed.
interface PodLike {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  spec: { containers: Record<string, unknown>[]; terminationGracePeriodSeconds?: number };
  status?: { phase?: string; conditions?: { type: string; status: string }[] };
}
interface BenchClient {
  createPod(namespace: string, pod: PodLike): Promise<unknown>;
  listPods(namespace?: string): Promise<{ items: PodLike[] }>;
  deletePod(namespace: string, name: string, opts: { gracePeriodSeconds?: number }): Promise<unknown>;
  close(): void;
}
const { Client } = (await import(new URL('../client/client.js', import.meta.url).href)) as {
  Client: new (opts: { socketPath: string }) => BenchClient;
};

const PODS = 100;
const SECONDS = Number(process.argv.find((a) => a.startsWith('--seconds='))?.slice(10) ?? 60);
const TICK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** utime + stime of a process, in seconds. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the comm's closing paren start at field 3, so utime (14) is index 11.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(rest[11]) + Number(rest[12])) / TICK;
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** The system dockerd (a test's private dockerd runs with its own --host/--data-root). */
function findPid(name: string, skip: RegExp): number | undefined {
  const out = execFileSync('pgrep', ['-x', name], { encoding: 'utf8' }).trim().split('\n').filter(Boolean);
  for (const p of out) {
    const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8').replace(/\0/g, ' ');
    if (!skip.test(cmd)) return Number(p);
  }
  return undefined;
}

function pod(i: number, probe: boolean): PodLike {
  const app: Record<string, unknown> = { name: 'app', image: 'busybox:1.36', command: ['sleep', '3600'] };
  if (probe) app.readinessProbe = { exec: { command: ['true'] }, periodSeconds: 10 };
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `fp-${probe ? 'probe' : 'idle'}-${i}`, labels: { 'minipod.io/bench': 'footprint' } },
    spec: { containers: [app], terminationGracePeriodSeconds: 0 },
  };
}

async function pool(n: number, width: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < n) await fn(next++);
  }));
}

async function waitAll(client: BenchClient, ok: (p: PodLike) => boolean, what: string): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    const items = (await client.listPods('default')).items;
    const n = items.filter(ok).length;
    if (n === PODS) return (performance.now() - t0) / 1000;
    if (performance.now() - t0 > 300_000) throw new Error(`only ${n}/${PODS} pods ${what} after 300 s`);
    await sleep(1000);
  }
}

interface Phase {
  name: string;
  rssMb: number;
  daemonCpuPct: number;
  dockerdCpuPct: number;
  containerdCpuPct: number;
}

/** CPU of the daemon, dockerd and containerd over the same window, as % of one core. */
async function measure(name: string, daemon: number, dockerd: number, containerd: number | undefined): Promise<Phase> {
  const pids = [daemon, dockerd, containerd ?? daemon];
  const before = pids.map(cpuSeconds);
  const t0 = performance.now();
  await sleep(SECONDS * 1000);
  const wall = (performance.now() - t0) / 1000;
  const pct = pids.map((p, i) => ((cpuSeconds(p) - before[i]) / wall) * 100);
  return { name, rssMb: rssMb(daemon), daemonCpuPct: pct[0], dockerdCpuPct: pct[1], containerdCpuPct: containerd ? pct[2] : NaN };
}

const c = new BenchCluster();
const phases: Phase[] = [];
try {
  await c.start();
  const daemon = c.pid!;
  const dockerd = findPid('dockerd', /--host|-H |--data-root/);
  if (!dockerd) throw new Error('no system dockerd found');
  const containerd = findPid('containerd', /mp-dockerd/);
  const client = new Client({ socketPath: c.socket });
  phases.push(await measure('0 pods (baseline)', daemon, dockerd, containerd));
  for (const probe of [false, true]) {
    await pool(PODS, 10, (i) => client.createPod('default', pod(i, probe)));
    const ready = probe
      ? (p: PodLike) => p.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True') ?? false
      : (p: PodLike) => p.status?.phase === 'Running';
    const s = await waitAll(client, ready, probe ? 'Ready' : 'Running');
    process.stderr.write(`[footprint] ${PODS} pods ${probe ? 'Ready' : 'Running'} in ${s.toFixed(1)} s; measuring ${SECONDS} s\n`);
    await sleep(5000); // let start-up work drain before the idle window
    const ph = await measure(probe ? `${PODS} pods + exec readiness 10 s` : `${PODS} running pods, idle`, daemon, dockerd, containerd);
    phases.push(ph);
    process.stderr.write(`[footprint] ${JSON.stringify(ph)}\n`);
    await pool(PODS, 10, (i) => client.deletePod('default', pod(i, probe).metadata.name, { gracePeriodSeconds: 0 }));
    await c.waitNoContainers(180_000);
  }
  client.close();
} finally {
  await c.cleanup();
  // Belt and braces: every container this run made carries its node's label.
  const left = execFileSync('docker', ['ps', '-aq', '--filter', `label=minipod.io/node=${c.node}`], { encoding: 'utf8' }).trim();
  if (left) execFileSync('docker', ['rm', '-f', ...left.split('\n')]);
}

const f = (x: number, d = 1) => (Number.isNaN(x) ? '-' : x.toFixed(d));
console.log(`phase (${SECONDS} s window)                  daemon RSS(MB)  daemon CPU%  dockerd CPU%  containerd CPU%`);
for (const p of phases)
  console.log(`${p.name.padEnd(38)} ${f(p.rssMb).padStart(14)}  ${f(p.daemonCpuPct, 2).padStart(11)}  ${f(p.dockerdCpuPct, 2).padStart(12)}  ${f(p.containerdCpuPct, 2).padStart(15)}`);
const [, idle, probe] = phases;
console.log(`\ntarget 5: RSS ≤ 120 MB with ${PODS} pods: ${idle.rssMb <= 120 ? 'met' : 'NOT met'} (${f(idle.rssMb)} MB)`);
console.log(`target 5: idle daemon CPU ≤ 1%: ${idle.daemonCpuPct <= 1 ? 'met' : 'NOT met'} (${f(idle.daemonCpuPct, 2)}%)`);
console.log(`target 5: daemon CPU ≤ 5% with exec probes: ${probe.daemonCpuPct <= 5 ? 'met' : 'NOT met'} (${f(probe.daemonCpuPct, 2)}%; dockerd ${f(probe.dockerdCpuPct, 2)}%)`);
