// Summarises a V8 .cpuprofile (node --cpu-prof): self time by script and the top
// functions, to see where a command's start-up goes.
// usage: node bench/tools/profile-summary.mjs FILE.cpuprofile [top]
import { readFileSync } from 'node:fs';

const [file, topArg] = process.argv.slice(2);
const prof = JSON.parse(readFileSync(file, 'utf8'));
const top = Number(topArg ?? 15);
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const self = new Map();
const dt = prof.timeDeltas;
for (let i = 0; i < prof.samples.length; i++) self.set(prof.samples[i], (self.get(prof.samples[i]) ?? 0) + (dt[i] ?? 0) / 1000);
const total = [...self.values()].reduce((a, b) => a + b, 0);
const byScript = new Map();
const byFn = new Map();
for (const [id, ms] of self) {
  const cf = byId.get(id).callFrame;
  const url = (cf.url || `(${cf.functionName || 'native'})`).replace(/^file:\/\/.*?node_modules\//, 'nm/').replace(/^file:\/\/.*?\/dist\//, 'dist/');
  const pkg = url.startsWith('nm/') ? url.split('/').slice(0, url.split('/')[1].startsWith('@') ? 3 : 2).join('/') : url;
  byScript.set(pkg, (byScript.get(pkg) ?? 0) + ms);
  const fn = `${cf.functionName || '(anonymous)'} ${url}:${cf.lineNumber + 1}`;
  byFn.set(fn, (byFn.get(fn) ?? 0) + ms);
}
const show = (m) => [...m].sort((a, b) => b[1] - a[1]).slice(0, top).map(([k, v]) => `${v.toFixed(1).padStart(7)} ms  ${k}`).join('\n');
console.log(`total sampled ${total.toFixed(1)} ms (wall ${((prof.endTime - prof.startTime) / 1000).toFixed(1)} ms)\n\nby script/package:\n${show(byScript)}\n\nby function:\n${show(byFn)}`);
