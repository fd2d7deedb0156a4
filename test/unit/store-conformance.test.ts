// One conformance suite for every store backend (DESIGN.md's store contract): the
// embedded SQLite store and etcd v3 (a real etcd on 127.0.0.1, started by
// scripts/start-etcd.sh, over TLS with its client certificate; each run keeps to a
// key prefix of its own).
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdStore, parseEtcdUrl } from '../../src/store/etcd.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { type Store, type StoreEvent, type StoredObject, StoreError, keyOf } from '../../src/store/store.js';
import { type TestEtcd, startTestEtcd, testEtcdCredentials } from '../test-etcd.js';

interface Backend {
  name: string;
  open(): Promise<Store>;
  /** Another client of the same data (another API server, for etcd). */
  peer(): Promise<Store>;
  /** Makes the backend forget all history up to now, by its own compaction. */
  compact(store: Store): Promise<void>;
  cleanup(): Promise<void>;
}

function sqliteBackend(): Backend {
  const dir = mkdtempSync(join(os.tmpdir(), 'minipod-store-'));
  const path = join(dir, 'store.db');
  let store: SqliteStore | undefined;
  return {
    name: 'sqlite',
    async open() {
      store = new SqliteStore(path);
      return store;
    },
    async peer() {
      return store!; // one process owns the file; its writers share one store
    },
    async compact() {
      // The store's own compaction, reached with a history of one change: any write compacts.
      const small = new SqliteStore(path, { history: 1, compactEvery: 1 });
      await small.create(keyOf('events', 'default', `compact-${Date.now()}`), { metadata: { name: 'x' } });
      await small.close();
    },
    async cleanup() {
      await store?.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function etcdBackend(): Backend {
  const stores: EtcdStore[] = [];
  let etcd: TestEtcd;
  const prefix = `/minipod-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const make = () => {
    const s = new EtcdStore({ ...parseEtcdUrl(`etcds://${etcd.host}${prefix}`), credentials: testEtcdCredentials(etcd), compactionIntervalMs: 0 });
    stores.push(s);
    return s;
  };
  return {
    name: 'etcd',
    async open() {
      etcd = startTestEtcd();
      const s = make();
      await s.ping();
      return s;
    },
    async peer() {
      return make();
    },
    async compact(store) {
      await (store as EtcdStore).compact();
    },
    async cleanup() {
      await Promise.all(stores.map((s) => s.close()));
    },
  };
}

const pod = (name: string, extra: Record<string, unknown> = {}): StoredObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'default', labels: { app: 'conformance' } },
  spec: { containers: [{ name: 'c', image: 'busybox:1.36' }] },
  ...extra,
});

/** Watches and resolves once `n` events arrived, or with Gone; fails after a deadline. */
function collect(store: Store, resource: 'pods' | 'nodes', fromRV: number, n: number, timeoutMs = 5_000) {
  const events: StoreEvent[] = [];
  return new Promise<StoreEvent[] | StoreError>((resolve, reject) => {
    let w: { stop(): void } | undefined;
    const finish = (v: StoreEvent[] | StoreError) => {
      clearTimeout(timer);
      w?.stop();
      resolve(v);
    };
    const timer = setTimeout(() => {
      w?.stop();
      reject(new Error(`got ${events.length} of ${n} events: ${JSON.stringify(events.map((e) => [e.type, e.object.metadata.name, e.resourceVersion]))}`));
    }, timeoutMs);
    try {
      w = store.watch(resource, fromRV, (e) => {
        events.push(e);
        if (events.length === n) finish(events);
      }, (err) => finish(err));
      if (n === 0) finish(events);
    } catch (err) {
      if (err instanceof StoreError) finish(err);
      else reject(err);
    }
  });
}

async function reason(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'no error';
  } catch (err) {
    return err instanceof StoreError ? err.reason : `unexpected: ${(err as Error).message}`;
  }
}

const timings: Record<string, number> = {};

for (const make of [sqliteBackend, etcdBackend]) {
  const backend = make();
  describe(`store conformance: ${backend.name}`, () => {
    let store: Store;
    let started = 0;
    beforeAll(async () => {
      started = Date.now();
      store = await backend.open();
    }, 30_000);
    afterAll(async () => {
      timings[backend.name] = Date.now() - started;
      await backend.cleanup();
    });

    it('creates, gets, lists, updates and deletes, each write at a higher resourceVersion', async () => {
      const v0 = await store.currentResourceVersion();
      const a = await store.create(keyOf('pods', 'default', 'a'), pod('a'));
      const b = await store.create(keyOf('pods', 'default', 'b'), pod('b'));
      const c = await store.create(keyOf('pods', 'other', 'c'), pod('c', { metadata: { name: 'c', namespace: 'other' } }));
      const n = await store.create(keyOf('nodes', '', 'n1'), { kind: 'Node', metadata: { name: 'n1' } });
      const rvs = [a, b, c, n].map((o) => Number(o.metadata.resourceVersion));
      expect(rvs[0]).toBeGreaterThan(v0);
      for (let i = 1; i < rvs.length; i++) expect(rvs[i]).toBeGreaterThan(rvs[i - 1]);
      expect(await store.currentResourceVersion()).toBeGreaterThanOrEqual(rvs[3]);

      expect(await store.get(keyOf('pods', 'default', 'a'))).toEqual(a);
      expect(await store.get(keyOf('pods', 'default', 'zzz'))).toBeUndefined();

      const inDefault = await store.list('pods', 'default');
      expect(inDefault.items.map((o) => o.metadata.name)).toEqual(['a', 'b']);
      expect(Number(inDefault.resourceVersion)).toBeGreaterThanOrEqual(rvs[3]);
      const all = await store.list('pods');
      expect(all.items.map((o) => `${o.metadata.namespace}/${o.metadata.name}`).sort()).toEqual(['default/a', 'default/b', 'other/c']);
      expect((await store.list('nodes')).items.map((o) => o.metadata.name)).toEqual(['n1']);

      const a2 = await store.update(keyOf('pods', 'default', 'a'), { ...a, status: { phase: 'Running' } });
      expect(Number(a2.metadata.resourceVersion)).toBeGreaterThan(rvs[3]);
      expect(await store.get(keyOf('pods', 'default', 'a'))).toMatchObject({ status: { phase: 'Running' }, metadata: { resourceVersion: a2.metadata.resourceVersion } });

      const gone = await store.delete(keyOf('pods', 'default', 'b'));
      expect(gone.metadata.name).toBe('b');
      expect(Number(gone.metadata.resourceVersion)).toBeGreaterThan(Number(a2.metadata.resourceVersion));
      expect(await store.get(keyOf('pods', 'default', 'b'))).toBeUndefined();
      expect((await store.list('pods', 'default')).items.map((o) => o.metadata.name)).toEqual(['a']);

      expect(await reason(store.update(keyOf('pods', 'default', 'b'), pod('b')))).toBe('NotFound');
      expect(await reason(store.delete(keyOf('pods', 'default', 'b')))).toBe('NotFound');
    });

    it('refuses to create an object that exists (AlreadyExists)', async () => {
      const first = await store.create(keyOf('pods', 'default', 'dup'), pod('dup'));
      expect(await reason(store.create(keyOf('pods', 'default', 'dup'), pod('dup', { spec: { other: true } })))).toBe('AlreadyExists');
      expect(await store.get(keyOf('pods', 'default', 'dup'))).toEqual(first); // untouched
    });

    it('refuses an update or delete at a stale resourceVersion (Conflict)', async () => {
      const v1 = await store.create(keyOf('pods', 'default', 'cas'), pod('cas'));
      const v2 = await store.update(keyOf('pods', 'default', 'cas'), { ...v1, status: { phase: 'Running' } }, v1.metadata.resourceVersion);
      expect(await reason(store.update(keyOf('pods', 'default', 'cas'), { ...v1, status: { phase: 'Failed' } }, v1.metadata.resourceVersion))).toBe('Conflict');
      expect(await reason(store.delete(keyOf('pods', 'default', 'cas'), v1.metadata.resourceVersion))).toBe('Conflict');
      expect(await store.get(keyOf('pods', 'default', 'cas'))).toMatchObject({ status: { phase: 'Running' } });
      const v3 = await store.update(keyOf('pods', 'default', 'cas'), { ...v2, status: { phase: 'Succeeded' } }, v2.metadata.resourceVersion);
      const deleted = await store.delete(keyOf('pods', 'default', 'cas'), v3.metadata.resourceVersion);
      expect(deleted).toMatchObject({ status: { phase: 'Succeeded' } });
    });

    it('watches every later change of one resource in order, and resumes from any version', async () => {
      const from = await store.currentResourceVersion();
      const live = collect(store, 'pods', from, 7);
      const w1 = await store.create(keyOf('pods', 'default', 'w1'), pod('w1'));
      await store.create(keyOf('nodes', '', 'w-node'), { kind: 'Node', metadata: { name: 'w-node' } }); // another resource: not seen
      const w2 = await store.create(keyOf('pods', 'other', 'w2'), pod('w2', { metadata: { name: 'w2', namespace: 'other' } }));
      let cur = w1;
      for (let i = 0; i < 3; i++) cur = await store.update(keyOf('pods', 'default', 'w1'), { ...cur, status: { step: i } }, cur.metadata.resourceVersion);
      await store.delete(keyOf('pods', 'other', 'w2'), w2.metadata.resourceVersion);
      const last = await store.create(keyOf('pods', 'default', 'w3'), pod('w3'));

      const events = (await live) as StoreEvent[];
      expect(events.map((e) => `${e.type} ${e.object.metadata.name}`)).toEqual([
        'ADDED w1', 'ADDED w2', 'MODIFIED w1', 'MODIFIED w1', 'MODIFIED w1', 'DELETED w2', 'ADDED w3',
      ]);
      for (let i = 1; i < events.length; i++) expect(events[i].resourceVersion).toBeGreaterThan(events[i - 1].resourceVersion);
      for (const e of events) expect(e.object.metadata.resourceVersion).toBe(String(e.resourceVersion));
      expect(events.map((e) => (e.object.status as { step?: number } | undefined)?.step)).toEqual([undefined, undefined, 0, 1, 2, undefined, undefined]);
      expect(events[6].resourceVersion).toBe(Number(last.metadata.resourceVersion));

      // Resume after the third event: exactly the four that followed it, once each.
      const resumed = (await collect(store, 'pods', events[2].resourceVersion, 4)) as StoreEvent[];
      expect(resumed.map((e) => e.resourceVersion)).toEqual(events.slice(3).map((e) => e.resourceVersion));
      // From the last one: nothing until the next write, which arrives.
      const next = collect(store, 'pods', events[6].resourceVersion, 1);
      await store.create(keyOf('pods', 'default', 'w4'), pod('w4'));
      expect(((await next) as StoreEvent[]).map((e) => e.object.metadata.name)).toEqual(['w4']);
    });

    it('answers Gone for a watch from a compacted version, and still watches from a recent one', async () => {
      const old = await store.currentResourceVersion();
      let obj = await store.create(keyOf('pods', 'default', 'compacted'), pod('compacted'));
      for (let i = 0; i < 5; i++) obj = await store.update(keyOf('pods', 'default', 'compacted'), { ...obj, status: { i } });
      await backend.compact(store);
      const res = await collect(store, 'pods', old, 1);
      expect(res).toBeInstanceOf(StoreError);
      expect((res as StoreError).reason).toBe('Gone');

      const now = await store.currentResourceVersion();
      const after = collect(store, 'pods', now, 1);
      await store.update(keyOf('pods', 'default', 'compacted'), { ...obj, status: { i: 'after' } });
      const events = (await after) as StoreEvent[];
      expect(events[0]).toMatchObject({ type: 'MODIFIED', object: { status: { i: 'after' } } });
    });

    it('loses no update with 4 concurrent read-modify-write writers', async () => {
      const key = keyOf('pods', 'default', 'counter');
      const created = await store.create(key, pod('counter', { status: { count: 0 } }));
      const seen = collect(store, 'pods', Number(created.metadata.resourceVersion), 100, 20_000);
      const writers = await Promise.all([0, 1, 2, 3].map(() => backend.peer()));
      let conflicts = 0;
      await Promise.all(
        writers.map(async (w) => {
          for (let done = 0; done < 25; ) {
            const cur = (await w.get(key))!;
            const count = (cur.status as { count: number }).count;
            try {
              await w.update(key, { ...cur, status: { count: count + 1 } }, cur.metadata.resourceVersion);
              done++;
            } catch (err) {
              if (!(err instanceof StoreError && err.reason === 'Conflict')) throw err;
              conflicts++;
            }
          }
        }),
      );
      expect(((await store.get(key))!.status as { count: number }).count).toBe(100);
      // Every increment is one change, seen once, in order.
      const events = (await seen) as StoreEvent[];
      expect(events.map((e) => (e.object.status as { count: number }).count)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
      expect(conflicts).toBeGreaterThan(0); // the writers really did race
      console.log(`[${backend.name}] 4 writers × 25 increments: ${conflicts} conflicts retried, none lost`);
    }, 30_000);
  });
}

afterAll(() => {
  console.log(`store conformance timings (ms): ${JSON.stringify(timings)}`);
});
