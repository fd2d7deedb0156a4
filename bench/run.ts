// `npm run bench [-- --quick] [-- --only start,burst,cli]`: minipod side by side
// with raw Docker and podman. Prints a table and writes bench/results.json; every
// figure is a ratio against a baseline measured in the same run, over repeats.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { BenchCluster, ROOT, docker, nodeFloor } from './cluster.js';
import { podYaml, podsYaml } from './manifests.js';
import { podmanAvailable, podmanPlay, podmanRemovePods } from './podman.js';
import { type RawPod, pool, rawCleanup, rawPodRemove, rawPodStart } from './raw.js';
import { type Summary, median, pairedRatios, summarize } from './stats.js';
import { sleep, waitQuiet } from './proc.js';

interface Row {
  figure: string;
  subject: string;
  baseline: string;
  subjectMs: Summary;
  baselineMs: Summary;
  ratio: Summary;
  target?: number;
  met?: boolean;
  note?: string;
}

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const only = new Set((args.find((a) => a.startsWith('--only='))?.slice(7) ?? 'start,burst,cli').split(','));
const plan = quick
  ? { startReps: 7, cliReps: 12, burstRounds: 1, sweepRounds: 1, pods: 50, quietMs: 1000 }
  : { startReps: 21, cliReps: 30, burstRounds: 5, sweepRounds: 2, pods: 50, quietMs: 2000 };
const IDLE_SECONDS = quick ? 5 : 60;
const CONCURRENCY = [1, 2, 4, 8];
const run = `mpbench${Date.now().toString(36)}`;
const rows: Row[] = [];
const samples: Record<string, unknown> = {};
const t = () => performance.now();
const t00 = t();
const gate = { waits: 0, quiet: 0 };

/** Before each measured step: let other people's bursts pass (up to plan.quietMs). */
async function quiet(): Promise<void> {
  gate.waits++;
  if (await waitQuiet(plan.quietMs)) gate.quiet++;
}

function row(figure: string, subject: string, baseline: string, s: number[], b: number[], target?: number, note?: string): Row {
  const ratio = summarize(pairedRatios(s, b));
  const r: Row = { figure, subject, baseline, subjectMs: summarize(s), baselineMs: summarize(b), ratio, target, note };
  if (target !== undefined) r.met = ratio.median <= target;
  rows.push(r);
  return r;
}

function progress(msg: string): void {
  process.stderr.write(`[bench ${((t() - t00) / 1000).toFixed(0).padStart(3)} s] ${msg}\n`);
}

// --- 1. pod start: apply --wait vs raw Docker (+ node -e 0) vs podman kube play

async function podStart(c: BenchCluster, podman: boolean): Promise<void> {
  const mp: number[] = [];
  const raw: number[] = [];
  const node: number[] = [];
  const pm: number[] = [];
  for (let i = -1; i < plan.startReps; i++) {
    const name = `start-${i + 1}`;
    const file = c.file(`${name}.yaml`, podYaml(name));
    const steps: Record<string, () => Promise<number>> = {
      minipod: async () => {
        const r = await c.mustMp(['apply', '-f', file, '--wait']);
        await c.mustMp(['delete', 'pod', name, '--grace-period=0', '--force']);
        await c.waitNoContainers();
        return r.ms;
      },
      raw: async () => {
        const t0 = t();
        const p = await rawPodStart(run, name);
        const ms = t() - t0;
        await rawPodRemove(p);
        return ms;
      },
      node: async () => (await nodeFloor()).ms,
      podman: async () => {
        if (!podman) return NaN;
        const ms = (await podmanPlay(file)).ms;
        await podmanRemovePods([name]);
        return ms;
      },
    };
    // Rotate the order: none of them always runs first (or right after a cleanup).
    const order = Object.keys(steps);
    const k = ((i % order.length) + order.length) % order.length;
    const got: Record<string, number> = {};
    for (const key of [...order.slice(k), ...order.slice(0, k)]) {
      await quiet();
      got[key] = await steps[key]();
    }
    if (i < 0) continue; // warm-up: images, page cache, dockerd
    mp.push(got.minipod);
    raw.push(got.raw);
    node.push(got.node);
    pm.push(got.podman);
  }
  const floor = raw.map((r, i) => r + node[i]);
  samples.podStart = { minipod: mp, rawDocker: raw, nodeE0: node, podman: pm };
  row('pod start', 'minipod apply --wait', 'raw Docker + node -e 0', mp, floor, 1.2);
  const r = summarize(raw);
  const n = summarize(node);
  notes.push(`pod start floor = raw Docker pause+app ${f0(r.median)} ms (${f0(r.p25)}–${f0(r.p75)}) + node -e 0 ${f0(n.median)} ms (${f0(n.p25)}–${f0(n.p75)}), paired run by run`);
  if (podman) row('pod start vs podman', 'minipod apply --wait', 'podman kube play', mp, pm, undefined, 'reported');
}

// --- 2–4. burst of 50 pods, delete of them, and the CLI with 100 pods

/** Resolves at the `count`-th container destroy of this node, as Docker reports it. */
async function destroyed(node: string, count: number): Promise<() => Promise<number>> {
  const stream = (await docker.getEvents({ filters: { type: ['container'], event: ['destroy'], label: [`minipod.io/node=${node}`] } })) as NodeJS.ReadableStream & { destroy(): void };
  let seen = 0;
  let buf = '';
  const done = new Promise<number>((resolve) => {
    stream.on('data', (chunk: Buffer) => {
      buf += chunk.toString('utf8');
      const lines = buf.split('\n');
      buf = lines.pop() ?? '';
      seen += lines.filter((l) => l.trim()).length;
      if (seen >= count) resolve(t());
    });
  });
  return async () => {
    const at = await done;
    stream.destroy();
    return at;
  };
}

async function rawBurst(names: string[], concurrency: number): Promise<{ startMs: number; pods: RawPod[] }> {
  const t0 = t();
  const pods = await pool(names, concurrency, (n) => rawPodStart(run, n));
  return { startMs: t() - t0, pods };
}

async function rawDelete(pods: RawPod[], concurrency: number): Promise<number> {
  const ids = [...pods.map((p) => p.app), ...pods.map((p) => p.pause)];
  const t0 = t();
  await pool(ids, concurrency, (id) => docker.getContainer(id).remove({ force: true }));
  return t() - t0;
}

async function burstDeleteCli(c: BenchCluster): Promise<void> {
  const mpStart: number[] = [];
  const mpDelete: number[] = [];
  const rawStart = new Map<number, (number | undefined)[]>(CONCURRENCY.map((k) => [k, []]));
  const rawDel = new Map<number, (number | undefined)[]>(CONCURRENCY.map((k) => [k, []]));
  // The best concurrency is chosen on the sweep rounds alone, so that the later
  // rounds, which run only it, pair with every round of minipod.
  const best = (m: Map<number, (number | undefined)[]>) => {
    const swept = (k: number) => median(defined(m.get(k)!.slice(0, plan.sweepRounds)));
    return CONCURRENCY.reduce((a, b) => (swept(b) < swept(a) ? b : a));
  };
  for (let round = 0; round < plan.burstRounds; round++) {
    const names = Array.from({ length: plan.pods }, (_, i) => `burst-${round}-${String(i).padStart(3, '0')}`);
    const file = c.file(`burst-${round}.yaml`, podsYaml(names, { group: 'burst' }));
    progress(`burst round ${round + 1}/${plan.burstRounds}: minipod`);
    await quiet();
    const r = await c.mustMp(['apply', '-f', file, '--wait', '--timeout', '5m']);
    mpStart.push(r.ms);
    if (round === 0 && only.has('cli')) await cli(c);
    const gone = await destroyed(c.node, plan.pods * 2);
    await quiet();
    const t0 = t();
    await c.mustMp(['delete', 'pods', '--all', '--grace-period=0', '--force']);
    mpDelete.push((await gone()) - t0);
    await c.waitNoContainers();

    // Sweep the concurrencies first; afterwards only the best so far (for creates
    // and, separately, for deletes).
    const sweep = round < plan.sweepRounds;
    const bestStart = best(rawStart);
    const bestDel = best(rawDel);
    const startRound = new Map<number, number>();
    const delRound = new Map<number, number>();
    for (const k of sweep ? CONCURRENCY : [bestStart]) {
      progress(`burst round ${round + 1}/${plan.burstRounds}: raw Docker at concurrency ${k}`);
      await quiet();
      const created = await rawBurst(names, k);
      startRound.set(k, created.startMs);
      const dk = sweep ? k : bestDel;
      await quiet();
      delRound.set(dk, await rawDelete(created.pods, dk));
    }
    for (const k of CONCURRENCY) {
      rawStart.get(k)!.push(startRound.get(k));
      rawDel.get(k)!.push(delRound.get(k));
    }
  }
  const bs = best(rawStart);
  const bd = best(rawDel);
  samples.burst = { minipod: mpStart, raw: Object.fromEntries(rawStart), bestConcurrency: bs };
  samples.delete = { minipod: mpDelete, raw: Object.fromEntries(rawDel), bestConcurrency: bd };
  const paired = (s: number[], b: (number | undefined)[]) => {
    const idx = s.map((_, i) => i).filter((i) => b[i] !== undefined);
    return [idx.map((i) => s[i]), idx.map((i) => b[i]!)] as const;
  };
  row(`burst ${plan.pods} pods`, 'minipod apply --wait', `raw Docker, best concurrency (${bs})`, ...paired(mpStart, rawStart.get(bs)!), 1.3);
  row(`delete ${plan.pods} pods`, 'delete --grace-period=0 --force', `raw rm -f, best concurrency (${bd})`, ...paired(mpDelete, rawDel.get(bd)!), 1.3);
}

const defined = (xs: (number | undefined)[]) => xs.filter((x): x is number => x !== undefined);

/** With the burst's 50 running pods plus 50 pending ones: `get pods` and `apply --dry-run=client`. */
async function cli(c: BenchCluster): Promise<void> {
  const pending = Array.from({ length: 100 - plan.pods }, (_, i) => `pending-${String(i).padStart(3, '0')}`);
  await c.mustMp(['apply', '-f', c.file('pending.yaml', podsYaml(pending, { group: 'pending', nodeSelector: { 'minipod.io/bench': 'nowhere' } }))]);
  const ten = c.file('ten.yaml', podsYaml(Array.from({ length: 10 }, (_, i) => `dry-${i}`)));
  const get: number[] = [];
  const dry: number[] = [];
  const node: number[] = [];
  progress(`CLI: get pods with 100 pods, apply --dry-run=client of 10 pods (${plan.cliReps} runs each)`);
  for (let i = -2; i < plan.cliReps; i++) {
    await quiet();
    const g = await c.mustMp(['get', 'pods']);
    const lines = g.stdout.trim().split('\n').length;
    if (lines !== 101) throw new Error(`get pods printed ${lines} lines, not 101`);
    await quiet();
    const n = await nodeFloor();
    await quiet();
    const d = await c.mustMp(['apply', '--dry-run=client', '-f', ten]);
    if (i < 0) continue;
    get.push(g.ms);
    node.push(n.ms);
    dry.push(d.ms);
  }
  samples.cli = { getPods: get, dryRun: dry, nodeE0: node };
  row('get pods (100 pods)', 'minipod get pods', 'node -e 0', get, node, 1.6);
  row('apply --dry-run=client', '10-pod file', 'node -e 0', dry, node, 2);
  await footprint(c);
  await c.mustMp(['delete', 'pods', '-l', 'minipod.io/bench=pending', '--grace-period=0', '--force']);
}

// --- footprint: absolute figures (no baseline), with the 100 pods of the CLI step

interface Absolute {
  figure: string;
  value: number;
  unit: string;
  target: number;
  note: string;
}
const absolutes: Absolute[] = [];
const notes: string[] = [];

function procStat(pid: number): { cpuTicks: number; rssMB: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKB = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  return { cpuTicks: Number(f[11]) + Number(f[12]), rssMB: rssKB / 1024 };
}

async function footprint(c: BenchCluster): Promise<void> {
  const pid = c.pid;
  if (!pid) return;
  progress(`footprint: the daemon idle for ${IDLE_SECONDS} s with ${plan.pods} running and ${100 - plan.pods} pending pods`);
  await sleep(2000); // let the last writes and watches settle
  const before = procStat(pid);
  const t0 = t();
  await sleep(IDLE_SECONDS * 1000);
  const after = procStat(pid);
  const ticksPerSecond = 100; // USER_HZ on Linux
  const cpu = (100 * (after.cpuTicks - before.cpuTicks)) / ticksPerSecond / ((t() - t0) / 1000);
  const pods = `${plan.pods} running + ${100 - plan.pods} pending pods`;
  absolutes.push({ figure: 'daemon RSS', value: after.rssMB, unit: 'MB', target: 120, note: pods });
  absolutes.push({ figure: `daemon CPU idle ${IDLE_SECONDS} s`, value: cpu, unit: '% of a core', target: 1, note: pods });
  samples.footprint = { rssMB: after.rssMB, idleCpuPercent: cpu, idleSeconds: IDLE_SECONDS };
}

// --- table

const f0 = (x: number) => (Number.isFinite(x) ? x.toFixed(0) : 'n/a');
const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : 'n/a');

function printTable(): void {
  const head = ['figure', 'minipod ms (p25–p75)', 'baseline', 'baseline ms', 'ratio median (p25–p75) [min–max]', 'target', ''];
  const body = rows.map((r) => [
    r.figure,
    `${f0(r.subjectMs.median)} (${f0(r.subjectMs.p25)}–${f0(r.subjectMs.p75)})`,
    r.baseline,
    f0(r.baselineMs.median),
    `${f2(r.ratio.median)} (${f2(r.ratio.p25)}–${f2(r.ratio.p75)}) [${f2(r.ratio.min)}–${f2(r.ratio.max)}] n=${r.ratio.n}`,
    r.target !== undefined ? `≤ ${r.target}` : (r.note ?? ''),
    r.met === undefined ? '' : r.met ? 'met' : 'NOT met',
  ]);
  const all = [head, ...body];
  const w = head.map((_, i) => Math.max(...all.map((r) => r[i].length)));
  for (const r of all) console.log(r.map((cell, i) => cell.padEnd(w[i])).join('  ').trimEnd());
  if (absolutes.length || notes.length) console.log('');
  for (const n of notes) console.log(n);
  for (const a of absolutes) {
    console.log(`${a.figure}: ${a.value.toFixed(a.unit === 'MB' ? 0 : 2)} ${a.unit} (${a.note}; target ≤ ${a.target} ${a.unit}) ${a.value <= a.target ? 'met' : 'NOT met'}`);
  }
}

function machine(): Record<string, string> {
  const sh = (cmd: string, a: string[]) => {
    try {
      return execFileSync(cmd, a, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return 'n/a';
    }
  };
  return {
    node: process.version,
    cpus: String(os.cpus().length),
    docker: sh('docker', ['version', '--format', '{{.Server.Version}}']),
    podman: podmanAvailable() ?? 'not installed (run scripts/bench-bootstrap.sh)',
    commit: sh('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD']),
    dirty: sh('git', ['-C', ROOT, 'status', '--porcelain', '--untracked-files=no']) ? 'yes' : 'no',
  };
}

async function main(): Promise<void> {
  const started = t();
  const info = machine();
  const podman = !info.podman.startsWith('not');
  if (!podman) progress('podman is missing: the podman baseline is skipped (run scripts/bench-bootstrap.sh)');
  const c = new BenchCluster();
  const cleanup = async () => {
    await c.cleanup().catch(() => undefined);
    await rawCleanup(run).catch(() => undefined);
  };
  process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));
  try {
    progress(`${quick ? 'quick' : 'full'} run ${run}: daemon on node ${c.node}, MINIPOD_HOME ${c.home}`);
    await c.start();
    if (only.has('start')) {
      progress(`pod start: ${plan.startReps} runs of minipod, raw Docker, node -e 0${podman ? ', podman kube play' : ''}`);
      await podStart(c, podman);
    }
    if (only.has('burst')) await burstDeleteCli(c);
    else if (only.has('cli')) await cli(c);
  } finally {
    await cleanup();
    if (podman) await podmanRemovePods(Array.from({ length: plan.startReps + 1 }, (_, i) => `start-${i}`)).catch(() => undefined);
  }
  const seconds = (t() - started) / 1000;
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  console.log(`\nminipod benchmarks (${quick ? 'quick' : 'full'}, ${seconds.toFixed(0)} s; ${gate.quiet} of ${gate.waits} steps started on a quiet machine, load ${load}) — node ${info.node}, ${info.cpus} CPUs, Docker ${info.docker}, ${info.podman}, commit ${info.commit}${info.dirty === 'yes' ? '+dirty' : ''}`);
  printTable();
  const out = join(ROOT, 'bench/results.json');
  writeFileSync(out, JSON.stringify({ mode: quick ? 'quick' : 'full', date: new Date().toISOString(), seconds, load, quietSteps: gate, machine: info, plan, rows, absolutes, notes, samples }, null, 2) + '\n');
  console.log(`\nwritten: ${out}`);
  await sleep(0);
}

main().catch((err) => {
  console.error(`bench failed: ${(err as Error).stack ?? err}`);
  process.exitCode = 1;
});
