// Start-up cost of what a command line loads, module by module, in load order
// (each figure includes what that module loads first). Run a few times and read
// the minimum: the machine is noisy.
// usage: node bench/tools/import-cost.mjs MODULE...   (paths relative to dist/, or package names)
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const dist = new URL('../../dist/', import.meta.url);
const require = createRequire(dist);
for (const m of process.argv.slice(2)) {
  const t0 = performance.now();
  if (m.endsWith('.cjs') || m === 'yaml') require(m.endsWith('.cjs') ? fileURLToPath(new URL(m, dist)) : m);
  else await import(m.includes('/') ? new URL(m, dist).href : m);
  console.log(`${(performance.now() - t0).toFixed(1).padStart(6)} ms  ${m}`);
}
