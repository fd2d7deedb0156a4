// Hostile input: thousands of malformed manifests derived from manifests/*.yaml by a
// seeded mutator. The CLI's validation (the same code `apply -f` runs, in-process)
// refuses each with problems at file:line:col and no stack trace; a sample goes
// through the real CLI binary (exit 1); the API server answers every malformed body
// with a 4xx Status, never stalls, never crashes, and nothing stored changes.
import http from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseManifests } from '../../src/api/validate.js';
import { validateManifestFile } from '../../src/cli/manifests.js';
import { MAX_BODY_BYTES } from '../../src/apiserver/server.js';
import { ROOT, TestCluster } from '../e2e/harness.js';
import { baseManifests, mutant, type Mutant, prng, tenMegabyteMutants } from './hostile-mutator.js';

const SEED = 20261128;
// 3000 in the suite (each mutant kind hundreds of times); MINIPOD_FUZZ_MUTANTS=20000 for a longer hunt.
const COUNT = Number(process.env.MINIPOD_FUZZ_MUTANTS ?? 3000);
const bases = baseManifests(join(ROOT, 'manifests'));
// Well-formed mutants must be stored: Pod Security would refuse some (host-port.yaml's
// hostPort, a mutated hostNetwork), and that is not what this file measures.
const cluster = new TestCluster({ daemonArgs: ['--pod-security', 'privileged'] });
const tmp = mkdtempSync(join(os.tmpdir(), 'minipod-fuzz-'));
const figures: string[] = [];
/** Outcome of the in-process validation of each mutant, shared with the API tests. */
const rejected = new Map<number, boolean>();
/** Stops the API test's health probe, also when the test fails half-way. */
let afterProbe = () => {};

beforeAll(() => cluster.start(), 30_000);
afterAll(async () => {
  afterProbe();
  await cluster.cleanup();
  rmSync(tmp, { recursive: true, force: true });
  console.info(`hostile input: ${figures.join('; ')}`);
}, 60_000);

/** `text` with its first `marker` replaced by raw bytes. */
function spliced(text: string, marker: string, bytes: number[]): Buffer {
  const at = text.indexOf(marker);
  return Buffer.concat([Buffer.from(text.slice(0, at)), Buffer.from(bytes), Buffer.from(text.slice(at + marker.length))]);
}

/** Why a message is not one a user should see, or undefined when it is fine. */
function unclear(msg: string, maxLength = 2_000): string | undefined {
  if (!msg.trim()) return 'empty message';
  if (/\n\s+at |\bat \S+ \(|node:internal|\.[jt]s:\d+:\d+|FATAL/.test(msg)) return 'stack trace';
  if (/\[object Object\]/.test(msg)) return '[object Object]';
  if (msg.length > maxLength) return `message of ${msg.length} characters`;
  return undefined;
}

/** One failure of each kind (what follows the mutant's number), at most 30. */
function distinct(failures: string[]): string[] {
  const seen = new Map<string, string>();
  for (const f of failures) {
    const key = f.replace(/^#\d+ \S+ /, '').replace(/\d+/g, 'N').slice(0, 80);
    if (!seen.has(key)) seen.set(key, f);
  }
  return [...seen.values()].slice(0, 30).map((f) => f.slice(0, 300));
}

const tally = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);
const family = (kind: string) => kind.replace(/\+.*/, '');

describe('hostile input', () => {
  it(`the CLI's validation refuses malformed manifests (${COUNT} seeded mutants + 10 MB documents)`, async () => {
    const failures: string[] = [];
    const byKind = new Map<string, number>();
    let slowest = { ms: 0, kind: '' };
    const check = async (m: Mutant) => {
      const began = Date.now();
      let result: Awaited<ReturnType<typeof validateManifestFile>>;
      try {
        result = await validateManifestFile(m.bytes, 'fuzz.yaml');
      } catch (err) {
        failures.push(`#${m.id} ${m.kind}: threw ${(err as Error).message.slice(0, 200)}`);
        return;
      }
      const ms = Date.now() - began;
      if (ms > slowest.ms) slowest = { ms, kind: `#${m.id} ${m.kind} (${m.bytes.length} bytes)` };
      rejected.set(m.id, result.problems.length > 0);
      if (result.problems.length === 0) {
        if (m.mustFail) failures.push(`#${m.id} ${m.kind}: accepted`);
        return;
      }
      tally(byKind, family(m.kind));
      for (const p of result.problems.slice(0, 50)) {
        const why = unclear(p) ?? (/^fuzz\.yaml:\d+:\d+: /.test(p) ? undefined : 'no file:line:col');
        if (why) failures.push(`#${m.id} ${m.kind}: ${why}: ${p.slice(0, 200)}`);
      }
    };
    for (let id = 0; id < COUNT; id++) await check(mutant(bases, SEED, id));
    const big = tenMegabyteMutants(bases.find((b) => b.file === 'sleeper.yaml')!.text, COUNT);
    for (const m of big) {
      const began = Date.now();
      await check(m);
      figures.push(`${m.kind} validated in ${Date.now() - began} ms`);
    }
    const refused = [...rejected.values()].filter(Boolean).length;
    figures.push(`CLI validation: ${refused} of ${rejected.size} mutants refused (${[...byKind].map(([k, n]) => `${k} ${n}`).join(', ')}); slowest ${slowest.ms} ms: ${slowest.kind}`);
    expect(distinct(failures)).toEqual([]);
    expect(refused / COUNT, 'most mutants are malformed').toBeGreaterThanOrEqual(0.85); // 5607 of 6007 with this seed
    expect(slowest.ms, 'no mutant takes long').toBeLessThan(20_000);
  }, 180_000);

  it('the real CLI binary exits 1 with a clear message on a sample of them', async () => {
    // The first refused mutant of each family, then more until there are 36.
    const chosen: Mutant[] = [];
    const families = new Set<string>();
    for (let id = 0; id < COUNT && chosen.length < 36; id++) {
      if (!rejected.get(id)) continue;
      const m = mutant(bases, SEED, id);
      if (families.has(family(m.kind)) && id % 97 !== 0) continue;
      families.add(family(m.kind));
      chosen.push(m);
    }
    chosen.push(tenMegabyteMutants(bases.find((b) => b.file === 'sleeper.yaml')!.text, COUNT)[0]);
    expect(chosen.length).toBeGreaterThanOrEqual(30);
    const results: string[] = [];
    for (let i = 0; i < chosen.length; i += 4) {
      await Promise.all(
        chosen.slice(i, i + 4).map(async (m) => {
          const file = join(tmp, `mutant-${m.id}.yaml`);
          writeFileSync(file, m.bytes);
          const res = await cluster.mp(['apply', '-f', file]);
          const lines = res.stderr.trimEnd().split('\n');
          const why =
            res.code !== 1 ? `exit ${res.code}` : res.stdout ? 'printed to stdout' : lines.map((l) => unclear(l)).find(Boolean) ?? (lines.every((l) => /^(error: |.+:\d+:\d+: )/.test(l)) ? undefined : 'not an error line');
          if (why) results.push(`#${m.id} ${m.kind}: ${why}: ${res.stderr.slice(0, 300)}`);
        }),
      );
    }
    figures.push(`real CLI: ${chosen.length} mutants, all exit 1`);
    expect(results).toEqual([]);
    expect((await cluster.client.listPods(undefined)).items).toEqual([]);
  }, 120_000);

  it('the API server answers every malformed body with a 4xx, stays responsive, and stores nothing', async () => {
    const socketPath = join(cluster.home, 'minipod.sock');
    const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
    const send = (method: string, path: string, body: Buffer | string, contentType = 'application/json') =>
      new Promise<{ code: number; text: string; ms: number }>((resolve, reject) => {
        const began = Date.now();
        const req = http.request({ socketPath, method, path, agent, headers: { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body) } }, (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (d) => (text += d));
          res.on('end', () => resolve({ code: res.statusCode ?? 0, text, ms: Date.now() - began }));
        });
        req.on('error', (err: NodeJS.ErrnoException) =>
          // The server may answer 413 and close before it has read all of a huge body.
          err.code === 'EPIPE' || err.code === 'ECONNRESET' ? resolve({ code: 413, text: '{"kind":"Status","message":"closed while sending"}', ms: Date.now() - began }) : reject(err),
        );
        req.end(body);
      });

    // Something stored that must not change: a pod bound nowhere, and what the store holds.
    const victim = await cluster.client.createPod('default', {
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'victim', labels: { keep: 'me' } },
      // Bound to a node that does not exist: no scheduler or kubelet will write to it.
      spec: { nodeName: 'no-such-node', containers: [{ name: 'c', image: 'busybox:1.36' }] },
    });
    const snapshot = async () => JSON.stringify((await cluster.client.listPods(undefined)).items.map((p) => [p.metadata.namespace, p.metadata.name, p.metadata.uid, p.metadata.resourceVersion, p.metadata.labels]));
    const before = await snapshot();

    const failures: string[] = [];
    // A health probe all along: the event loop must never be blocked for long.
    let maxHealthMs = 0;
    let probing = true;
    const probe = (async () => {
      while (probing) {
        const began = Date.now();
        await cluster.client.request('GET', '/healthz');
        maxHealthMs = Math.max(maxHealthMs, Date.now() - began);
        await new Promise((r) => setTimeout(r, 50));
      }
    })().catch((err: Error) => failures.push(`/healthz failed: ${err.message}`));
    afterProbe = () => (probing = false);

    const codes = new Map<string, number>();
    let slowest = { ms: 0, what: '' };
    const expectClient = (what: string, r: { code: number; text: string; ms: number }, want: (code: number) => boolean) => {
      tally(codes, String(r.code));
      if (r.ms > slowest.ms) slowest = { ms: r.ms, what };
      if (!want(r.code)) failures.push(`${what}: HTTP ${r.code}: ${r.text.slice(0, 200)}`);
      if (r.code >= 400) {
        let status: { kind?: string; message?: string };
        try {
          status = JSON.parse(r.text);
        } catch {
          failures.push(`${what}: not a Status: ${r.text.slice(0, 200)}`);
          return;
        }
        // A Status lists up to 10 causes, each with a value of up to 256 characters.
        const why = status.kind !== 'Status' ? 'not a Status' : unclear(status.message ?? '', 6_000);
        if (why) failures.push(`${what}: ${why}: ${r.text.slice(0, 200)}`);
      }
    };
    const is4xx = (c: number) => c >= 400 && c < 500;
    const pods = '/api/v1/namespaces/default/pods';
    let sent = 0;

    // 1. Every mutant that is an object: refused ones must get a 4xx (and are also
    //    sent as a merge patch of the victim); accepted ones must pass a dry run.
    const ids = Array.from({ length: COUNT }, (_, i) => i);
    const worker = async () => {
      for (let id = ids.shift(); id !== undefined; id = ids.shift()) {
        const m = mutant(bases, SEED, id);
        const refused = rejected.get(id) ?? (await validateManifestFile(m.bytes, 'fuzz.yaml')).problems.length > 0;
        if (m.json !== undefined) {
          sent++;
          const o = JSON.parse(m.json) as unknown;
          if (!(o && typeof o === 'object' && 'apiVersion' in o && 'kind' in o)) {
            // Like Kubernetes, the API server takes both from the URL: kubectl insists, it need not.
            expectClient(`#${id} ${m.kind} dry run (no apiVersion or kind)`, await send('POST', `${pods}?dryRun=All`, m.json), (c) => c < 500);
          } else if (refused) {
            expectClient(`#${id} ${m.kind} POST`, await send('POST', pods, m.json), is4xx);
            if (id % 4 === 0) {
              sent++;
              expectClient(`#${id} ${m.kind} PATCH`, await send('PATCH', `${pods}/victim`, m.json, 'application/merge-patch+json'), is4xx);
            }
          } else {
            expectClient(`#${id} ${m.kind} dry run (the CLI accepted it)`, await send('POST', `${pods}?dryRun=All`, m.json), (c) => c === 201);
          }
        } else {
          // Text mutants: whatever objects they still parse to, as a dry run.
          for (const o of parseManifests(m.bytes.toString('utf8'), 'fuzz.yaml').objects.slice(0, 3)) {
            sent++;
            expectClient(`#${id} ${m.kind} dry run`, await send('POST', `${pods}?dryRun=All`, JSON.stringify(o.object)), (c) => c < 500);
          }
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));

    // 2. Raw bodies no client library would send.
    const podJson = JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'raw' }, spec: { containers: [{ name: 'c', image: 'busybox:1.36' }] } });
    const rand = prng(SEED);
    const raw: [string, Buffer | string, string?][] = [
      ['empty', ''],
      ['null', 'null'],
      ['array', '[]'],
      ['string', '"pod"'],
      ['number 1e999', '1e999'],
      ['NUL bytes', `${podJson.slice(0, 20)}\u0000${podJson.slice(20)}`],
      ['invalid UTF-8 in a name', spliced(podJson, '"raw"', [0x22, 0x72, 0xff, 0xfe, 0x22])],
      ['invalid UTF-8 in an annotation', spliced(podJson.replace('"name":"raw"', '"name":"raw","annotations":{"a":"@"}'), '@', [0xc0, 0xaf])],
      ['a UTF-16 surrogate in UTF-8', spliced(podJson.replace('"name":"raw"', '"name":"raw","annotations":{"a":"@"}'), '@', [0xed, 0xa0, 0x80])],
      ['a BOM and garbage', `\ufeff${podJson}}}`],
      ['YAML', 'apiVersion: v1\nkind: Pod\nmetadata: {name: raw}\nspec: {containers: [{name: c, image: busybox}]}\n', 'application/yaml'],
      ['a YAML bomb', 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n', 'application/yaml'],
      ['deep arrays', `{"metadata":{"name":"deep"},"spec":${'['.repeat(100_000)}${']'.repeat(100_000)}}`],
      ['deep objects', `${'{"a":'.repeat(50_000)}1${'}'.repeat(50_000)}`],
      ['__proto__ in labels', podJson.replace('"name":"raw"', '"name":"raw","labels":{"__proto__":{"polluted":"yes"}}')],
      ['__proto__ at the top', podJson.replace('{"apiVersion"', '{"__proto__":{"polluted":"yes"},"apiVersion"')],
      ['constructor.prototype', podJson.replace('"name":"raw"', '"name":"raw","labels":{"constructor":{"prototype":{"polluted":"yes"}}}')],
      ['60k unknown fields', `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"keys"},"spec":{"containers":[{"name":"c","image":"i"}]},${Array.from({ length: 60_000 }, (_, i) => `"u${i}":1`).join(',')}}`],
      ['20k containers', JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'many' }, spec: { containers: Array.from({ length: 20_000 }, () => ({ name: 'c', image: 'i' })) } })],
      ['a body one byte over the limit', JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'big', annotations: { a: 'x'.repeat(MAX_BODY_BYTES) } } }).slice(0, MAX_BODY_BYTES + 1)],
      ['10 MB', Buffer.alloc(10 * 1024 * 1024, 'x')],
      ...Array.from({ length: 200 }, (_, i): [string, string] => [`truncated JSON #${i}`, podJson.slice(0, Math.floor(rand() * podJson.length))]),
    ];
    for (const [what, body, type] of raw) {
      sent++;
      const r = await send('POST', pods, body, type);
      expectClient(`raw body: ${what}`, r, is4xx);
      if (what.includes('limit') || what === '10 MB') expect(r.text, what).toContain('RequestEntityTooLarge');
    }
    // The same hostile bodies on the other write paths.
    for (const [method, path] of [['PUT', `${pods}/victim`], ['PATCH', `${pods}/victim`], ['PUT', `${pods}/victim/status`], ['POST', `${pods}/victim/binding`]]) {
      for (const [what, body] of raw.filter(([w]) => /deep|UTF-8|__proto__|1e999|null|array|string|empty/.test(w))) {
        sent++;
        const type = method === 'PATCH' ? 'application/merge-patch+json' : 'application/json';
        expectClient(`${method} ${path}: ${what}`, await send(method, path, body, type), is4xx);
      }
    }
    probing = false;
    await probe;

    // Still quick, still the same.
    let began = Date.now();
    expect(await cluster.client.request('GET', '/healthz')).toBe('ok');
    const healthMs = Date.now() - began;
    began = Date.now();
    await cluster.client.listPods(undefined);
    const listMs = Date.now() - began;
    agent.destroy();
    figures.push(`API: ${sent} hostile requests (${[...codes].sort().map(([c, n]) => `${c}×${n}`).join(', ')}); slowest ${slowest.ms} ms (${slowest.what}); /healthz at most ${maxHealthMs} ms during the barrage, ${healthMs} ms after; list ${listMs} ms`);
    expect(distinct(failures)).toEqual([]);
    expect(codes.has('500')).toBe(false);
    expect(await snapshot()).toBe(before);
    expect((await cluster.client.getPod('default', 'victim')).metadata.resourceVersion).toBe(victim.metadata.resourceVersion);
    expect(healthMs).toBeLessThan(1_000);
    expect(listMs).toBeLessThan(1_000);
    expect(maxHealthMs, 'the API server never stalled').toBeLessThan(3_000);
    expect(cluster.daemonPid, 'the daemon is still running').toBeDefined();
  }, 180_000);
});
