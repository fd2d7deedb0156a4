// Before/after: the same figures for two builds of minipod (two work trees, each
// built), interleaved run by run, as ratios after/before (median and spread).
// usage: node bench/tools/ab.mjs BEFORE_TREE AFTER_TREE [reps] [start,get,dry]
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';

const [before, after, repsArg, which = 'start,get,dry'] = process.argv.slice(2);
const reps = Number(repsArg ?? 15);
const docker = new Docker();

function time(cmd, args, env) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const c = spawn(cmd, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    c.stderr.on('data', (d) => (err += d));
    c.on('close', (code) => (code === 0 ? resolve(performance.now() - t0) : reject(new Error(`${args.join(' ')}: ${err}`))));
  });
}

class Daemon {
  constructor(tree, tag) {
    this.tree = tree;
    this.home = mkdtempSync(join(os.tmpdir(), `minipod-ab-${tag}-`));
    this.node = `ab-${tag}-${Math.random().toString(36).slice(2, 6)}`;
    this.env = { ...process.env, MINIPOD_HOME: this.home, MINIPOD_NODE_NAME: this.node, NO_COLOR: '1', MINIPOD_LOG_LEVEL: 'warn' };
  }
  bin() {
    return join(this.tree, 'bin/minipod');
  }
  async start() {
    this.proc = spawn(process.execPath, [this.bin(), 'daemon'], { env: this.env, stdio: 'ignore' });
    for (let i = 0; i < 300; i++) {
      const ok = await new Promise((r) => http.get({ socketPath: join(this.home, 'minipod.sock'), path: `/api/v1/nodes/${this.node}` }, (res) => (res.resume(), r(res.statusCode === 200))).on('error', () => r(false)));
      if (ok) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('daemon did not start');
  }
  mp(args, bin = this.bin()) {
    return time(process.execPath, [bin, ...args], this.env);
  }
  async gone() {
    for (;;) {
      const l = await docker.listContainers({ all: true, filters: { label: [`minipod.io/node=${this.node}`] } });
      if (!l.length) return;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  async stop() {
    this.proc.kill('SIGTERM');
    await new Promise((r) => this.proc.once('exit', r));
    for (const c of await docker.listContainers({ all: true, filters: { label: [`minipod.io/node=${this.node}`] } })) await docker.getContainer(c.Id).remove({ force: true });
    rmSync(this.home, { recursive: true, force: true });
  }
}

const pod = (name, extra = '') => `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${name}\nspec:\n${extra}  containers:\n  - name: app\n    image: minipod/testbox:1\n    command: ["sleep", "3600"]\n`;
const summary = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p) => s[Math.round((s.length - 1) * p)];
  return { median: q(0.5), p25: q(0.25), p75: q(0.75), min: s[0], max: s.at(-1) };
};
const report = (what, a, b) => {
  const r = summary(b.map((x, i) => x / a[i]));
  const f = (x) => x.toFixed(0);
  console.log(`${what.padEnd(34)} before ${f(summary(a).median)} ms  after ${f(summary(b).median)} ms  after/before ${r.median.toFixed(2)} [${r.p25.toFixed(2)}–${r.p75.toFixed(2)}, min ${r.min.toFixed(2)} max ${r.max.toFixed(2)}] n=${a.length}`);
};

const A = new Daemon(before, 'a');
const B = new Daemon(after, 'b');
await Promise.all([A.start(), B.start()]);
try {
  if (which.includes('start')) {
    const a = [];
    const b = [];
    for (let i = -1; i < reps; i++) {
      for (const [d, out] of i % 2 ? [[A, a], [B, b]] : [[B, b], [A, a]]) {
        const name = `ab-${i + 1}`;
        const file = join(d.home, `${name}.yaml`);
        writeFileSync(file, pod(name));
        const ms = await d.mp(['apply', '-f', file, '--wait']);
        await d.mp(['delete', 'pod', name, '--grace-period=0', '--force']);
        await d.gone();
        if (i >= 0) out.push(ms);
      }
    }
    report('pod start (apply --wait)', a, b);
  }
  if (which.includes('burst')) {
    const a = [];
    const b = [];
    const da = [];
    const db = [];
    for (let i = 0; i < Math.max(2, Math.round(reps / 5)); i++) {
      for (const [d, out, del] of i % 2 ? [[A, a, da], [B, b, db]] : [[B, b, db], [A, a, da]]) {
        const file = join(d.home, `burst-${i}.yaml`);
        writeFileSync(file, Array.from({ length: 50 }, (_, j) => pod(`burst-${i}-${j}`)).join('---\n'));
        out.push(await d.mp(['apply', '-f', file, '--wait', '--timeout', '5m']));
        const t0 = performance.now();
        await d.mp(['delete', 'pods', '--all', '--grace-period=0', '--force']);
        await d.gone();
        del.push(performance.now() - t0);
      }
    }
    report('burst 50 pods (apply --wait)', a, b);
    report('delete 50 pods (until no container)', da, db);
  }
  if (which.includes('get') || which.includes('dry')) {
    const many = Array.from({ length: 100 }, (_, i) => pod(`idle-${i}`, '  nodeSelector:\n    minipod.io/ab: nowhere\n')).join('---\n');
    writeFileSync(join(B.home, 'many.yaml'), many);
    await B.mp(['apply', '-f', join(B.home, 'many.yaml')]);
    writeFileSync(join(B.home, 'ten.yaml'), Array.from({ length: 10 }, (_, i) => pod(`dry-${i}`)).join('---\n'));
    const g = { a: [], b: [] };
    const d = { a: [], b: [] };
    for (let i = -2; i < reps * 2; i++) {
      for (const k of i % 2 ? ['a', 'b'] : ['b', 'a']) {
        const bin = k === 'a' ? A.bin() : B.bin();
        const gm = which.includes('get') ? await B.mp(['get', 'pods'], bin) : 0;
        const dm = which.includes('dry') ? await B.mp(['apply', '--dry-run=client', '-f', join(B.home, 'ten.yaml')], bin) : 0;
        if (i >= 0) {
          g[k].push(gm);
          d[k].push(dm);
        }
      }
    }
    if (which.includes('get')) report('get pods (100 pods)', g.a, g.b);
    if (which.includes('dry')) report('apply --dry-run=client (10 pods)', d.a, d.b);
  }
} finally {
  await Promise.all([A.stop(), B.stop()]);
}
