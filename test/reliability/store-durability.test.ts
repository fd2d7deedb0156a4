// Store durability under kill -9. Two levels:
// - the store alone: a child process writes to a SqliteStore as fast as it can and
//   reports each write once it is committed; it is SIGKILLed at random moments (fixed
//   seeds), and the reopened file must pass PRAGMA integrity_check and hold every
//   reported write (only the one write in flight may or may not be there);
// - the daemon: many concurrent API clients create, label and delete pods; the daemon
//   is SIGKILLed mid-stream; after a restart every write the API acknowledged is there.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import type { Pod } from '../../src/api/types.js';
import { ApiStatusError } from '../../src/client/client.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { keyOf } from '../../src/store/store.js';
import { ROOT, TestCluster } from '../e2e/harness.js';
import { prng } from './prng.js';


function integrity(path: string): string {
  const db = new Database(path);
  try {
    return (db.pragma('integrity_check') as { integrity_check: string }[]).map((r) => r.integrity_check).join('; ');
  } finally {
    db.close();
  }
}

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

// The writer: one write at a time on 64 keys (create, update with a counter, delete),
// each with a payload of up to 64 KiB so that writes span many pages. "P" before a
// write, "A" after its commit, written synchronously so a kill cannot lose a line.
const WRITER = `
import { writeSync } from 'node:fs';
const { SqliteStore } = await import(process.argv[1]);
const store = new SqliteStore(process.argv[2], { history: 500, compactEvery: 100 });
let seed = Number(process.argv[3]);
const rand = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; };
const state = new Map();
for (const o of (await store.list('pods', 'default')).items) state.set(o.metadata.name, Number(o.metadata.labels.v));
for (;;) {
  const name = 'k' + Math.floor(rand() * 64);
  const key = { resource: 'pods', namespace: 'default', name };
  const v = state.get(name);
  const pad = 'x'.repeat(Math.floor(rand() * 65536));
  let op;
  if (v === undefined) op = ['create', 0];
  else if (rand() < 0.2) op = ['delete', -1];
  else op = ['update', v + 1];
  writeSync(1, 'P ' + name + ' ' + op[1] + '\\n');
  const obj = { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', labels: { v: String(op[1]) } }, pad };
  if (op[0] === 'create') await store.create(key, obj);
  else if (op[0] === 'update') await store.update(key, obj);
  else await store.delete(key);
  state.set(name, op[1] < 0 ? undefined : op[1]);
  writeSync(1, 'A ' + name + ' ' + op[1] + '\\n');
}
`;

describe('store durability', () => {
  it('kill -9 of a process writing to the SQLite store: never corrupt, every committed write kept', async () => {
    const KILLS = 20;
    const dir = mkdtempSync(join(os.tmpdir(), 'minipod-durability-'));
    dirs.push(dir);
    const dbPath = join(dir, 'store.db');
    const storeModule = join(ROOT, 'dist/store/sqlite.js');
    const acked = new Map<string, number>(); // name -> label v (-1: deleted), as committed
    let writes = 0;
    let lastRV = 0;
    for (let k = 0; k < KILLS; k++) {
      const rand = prng(7000 + k);
      const child = spawn(process.execPath, ['--input-type=module', '-e', WRITER, storeModule, dbPath, String(1 + k)], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (err += d));
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      // Let it write for a while (its first write after the open, then a random time).
      await new Promise<void>((resolve) => {
        const onData = () => {
          if (!out.includes('A ')) return;
          child.stdout.off('data', onData);
          setTimeout(resolve, 20 + rand() * 250);
        };
        child.stdout.on('data', onData);
        void exited.then(resolve);
      });
      child.kill('SIGKILL');
      await exited;
      expect(err, 'the writer failed').toBe('');

      // The writer keeps its own view: replay what it reported.
      let pending: { name: string; v: number } | undefined;
      for (const line of out.split('\n')) {
        const [tag, name, v] = line.split(' ');
        if (tag === 'P') pending = { name, v: Number(v) };
        if (tag === 'A') {
          acked.set(name, Number(v));
          pending = undefined;
          writes++;
        }
      }
      expect(integrity(dbPath)).toBe('ok');
      const store = new SqliteStore(dbPath);
      try {
        const rv = await store.currentResourceVersion();
        expect(rv, 'resourceVersion never goes backwards').toBeGreaterThanOrEqual(lastRV);
        lastRV = rv;
        for (const [name, v] of acked) {
          const obj = await store.get(keyOf('pods', 'default', name));
          const stored = obj ? Number((obj.metadata.labels as Record<string, string>).v) : -1;
          if (pending?.name === name && stored === pending.v) {
            acked.set(name, stored); // the write in flight committed before the kill
            continue;
          }
          expect(stored, `${name} after kill ${k}`).toBe(v);
        }
        if (pending && !acked.has(pending.name)) {
          const obj = await store.get(keyOf('pods', 'default', pending.name));
          if (obj) acked.set(pending.name, pending.v);
        }
      } finally {
        await store.close();
      }
    }
    expect(writes).toBeGreaterThan(KILLS * 5);
    console.info(`store durability: ${KILLS} kill -9s of a store writer, ${writes} committed writes checked, integrity ok each time`);
  }, 90_000);

  it('kill -9 of the daemon under concurrent API writes: every acknowledged write survives', async () => {
    const ROUNDS = 5;
    const CLIENTS = 24;
    const cluster = new TestCluster();
    dirs.push(cluster.home);
    type State = { labels: string; present: boolean };
    const acked = new Map<string, State>();
    const pending = new Map<string, State>(); // one write in flight per client at most
    let acks = 0;
    try {
      for (let round = 0; round < ROUNDS; round++) {
        const rand = prng(9100 + round);
        await cluster.start();
        let killed = false;
        const client = cluster.client;
        const clientLoop = async (c: number) => {
          for (let i = 0; !killed; i++) {
            const name = `r${round}-c${c}-${i}`;
            const steps: [State, () => Promise<unknown>][] = [
              [{ present: true, labels: 'v=0' }, () => client.createPod('default', unschedulable(name, rand))],
              [{ present: true, labels: 'v=1' }, () => client.patchPod('default', name, { metadata: { labels: { v: '1' } } })],
            ];
            if (i % 3 === 0) steps.push([{ present: false, labels: '' }, () => client.deletePod('default', name, { gracePeriodSeconds: 0 })]);
            for (const [state, op] of steps) {
              pending.set(name, state);
              try {
                await op();
              } catch (err) {
                if (err instanceof ApiStatusError) throw err; // the API refused: a bug here
                return; // cut off by the kill: not acknowledged
              }
              pending.delete(name);
              acked.set(name, state);
              acks++;
            }
          }
        };
        const loops = Array.from({ length: CLIENTS }, (_, c) => clientLoop(c));
        await new Promise((r) => setTimeout(r, 300 + rand() * 1200));
        killed = true;
        await cluster.stopDaemon('SIGKILL');
        await Promise.all(loops);
        expect(integrity(join(cluster.home, 'store.db'))).toBe('ok');
      }
      await cluster.start();
      expect(integrity(join(cluster.home, 'store.db'))).toBe('ok');
      const stored = new Map((await cluster.client.listPods('default')).items.map((p) => [p.metadata.name!, p]));
      for (const [name, want] of acked) {
        const p = stored.get(name);
        const got: State = { present: !!p, labels: p ? `v=${p.metadata.labels?.v}` : '' };
        const inFlight = pending.get(name);
        if (inFlight && got.present === inFlight.present && got.labels === inFlight.labels) continue;
        expect(got, `pod ${name}`).toEqual(want);
      }
      // Nothing appears that no client ever wrote.
      for (const name of stored.keys()) expect(acked.has(name) || pending.has(name), `unexpected pod ${name}`).toBe(true);
      console.info(`store durability: ${ROUNDS} kill -9s of the daemon, ${acks} acknowledged API writes, ${acked.size} pods checked`);
    } finally {
      await cluster.cleanup();
    }
  }, 120_000);
});

/** A pod that no node fits (so nothing starts), with an annotation to make writes larger. */
function unschedulable(name: string, rand: () => number): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: { v: '0' }, annotations: { pad: 'x'.repeat(Math.floor(rand() * 32_768)) } },
    spec: { nodeSelector: { 'minipod.io/nowhere': 'true' }, containers: [{ name: 'c', image: 'busybox:1.36' }] },
  };
}
