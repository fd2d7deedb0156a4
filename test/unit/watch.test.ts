// The watch API, in process: a real API server over a real SQLite store on a
// unix socket, driven through the HTTP client. No Docker.
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { Pod, WatchEvent } from '../../src/api/types.js';
import { Registry } from '../../src/apiserver/registry.js';
import { createApiServer } from '../../src/apiserver/server.js';
import { Client } from '../../src/client/client.js';
import { SqliteStore, type SqliteStoreOptions } from '../../src/store/sqlite.js';

interface Env {
  client: Client;
  store: SqliteStore;
  socket: string;
  close(): Promise<void>;
}

const envs: Env[] = [];
afterEach(async () => {
  for (const e of envs.splice(0)) await e.close();
});

async function start(storeOpts: SqliteStoreOptions = {}, bookmarkIntervalMs?: number): Promise<Env> {
  const dir = mkdtempSync(join(os.tmpdir(), 'minipod-watch-'));
  const store = new SqliteStore(join(dir, 'store.db'), storeOpts);
  const server = createApiServer({ registry: new Registry(store), logger: pino({ level: 'silent' }), watch: { bookmarkIntervalMs } });
  const socket = join(dir, 'api.sock');
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  const client = new Client({ socketPath: socket });
  const env: Env = {
    client,
    store,
    socket,
    async close() {
      client.close();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  envs.push(env);
  return env;
}

const pod = (name: string, labels: Record<string, string> = {}): Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, labels },
  spec: { containers: [{ name: 'c', image: 'busybox:1.36' }] },
});

/** Collects a watch's events until `until` says stop (or the stream ends). */
function collect<T = Pod>(client: Client, q: Record<string, string>, until: (events: WatchEvent<T>[]) => boolean, timeoutMs = 10_000) {
  const events: WatchEvent<T>[] = [];
  let stop!: () => void;
  const done = new Promise<WatchEvent<T>[]>((resolve, reject) => {
    const timer = setTimeout(() => {
      h.stop();
      reject(new Error(`timed out; got ${JSON.stringify(events.map((e) => [e.type, (e.object as { metadata?: { resourceVersion?: string } }).metadata?.resourceVersion]))}`));
    }, timeoutMs);
    stop = () => {
      clearTimeout(timer);
      h.stop();
      resolve(events);
    };
    const h = client.watch<T>('pods', 'default', q as never, (e) => {
      events.push(e);
      if (until(events)) stop();
    });
    h.done.then(() => stop(), reject);
  });
  return { events, done, stop: () => stop() };
}

/** A raw GET, for answers that are not a watch stream. */
function rawGet(socket: string, path: string, headers: http.OutgoingHttpHeaders = {}): Promise<{ status: number; body: string; type?: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ socketPath: socket, path, headers }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, type: res.headers['content-type'] }));
      })
      .on('error', reject);
  });
}

describe('watch from a resourceVersion', () => {
  it('sees 200 changes by 4 concurrent writers exactly once, in order, across a reconnect from the last resourceVersion', async () => {
    const { client } = await start();
    const list = await client.listPods('default');
    const written: { rv: number; type: string }[] = [];
    const writer = async (w: number) => {
      const name = `w${w}`;
      const created = await client.createPod('default', pod(name, { n: '0' }));
      written.push({ rv: Number(created.metadata.resourceVersion), type: 'ADDED' });
      for (let i = 1; i <= 48; i++) {
        const p = await client.patchPod('default', name, { metadata: { labels: { n: String(i) } } });
        written.push({ rv: Number(p.metadata.resourceVersion), type: 'MODIFIED' });
      }
      const gone = await client.deletePod('default', name);
      written.push({ rv: Number(gone.metadata.resourceVersion), type: 'DELETED' });
    };

    const seen: WatchEvent<Pod>[] = [];
    // First watcher: stops after 100 events, while the writers are still busy.
    const first = collect(client, { resourceVersion: list.metadata.resourceVersion }, (e) => e.length === 100);
    const writing = Promise.all([0, 1, 2, 3].map(writer));
    seen.push(...(await first.done));
    const resumeFrom = seen.at(-1)!.object.metadata.resourceVersion!;
    const second = collect(client, { resourceVersion: resumeFrom }, (e) => seen.length + e.length === 200);
    seen.push(...(await second.done));
    await writing;

    expect(written).toHaveLength(200);
    const rvs = seen.map((e) => Number(e.object.metadata.resourceVersion));
    expect(rvs).toEqual([...rvs].sort((a, b) => a - b)); // in resourceVersion order
    expect(new Set(rvs).size).toBe(200); // no duplicate
    const expected = [...written].sort((a, b) => a.rv - b.rv);
    expect(seen.map((e) => ({ rv: Number(e.object.metadata.resourceVersion), type: e.type }))).toEqual(expected); // no gap
  }, 30_000);

  it('list then watch from the list misses nothing written meanwhile', async () => {
    const { client } = await start();
    for (let i = 0; i < 10; i++) await client.createPod('default', pod(`p${i}`, { v: '0' }));
    // Writers run while we list and then start watching from the list's version.
    const writing = Promise.all(
      [0, 1, 2, 3].map(async (w) => {
        for (let i = 1; i <= 15; i++) await client.patchPod('default', `p${(w * 3 + i) % 10}`, { metadata: { labels: { v: `${w}-${i}` } } });
      }),
    );
    await new Promise((r) => setImmediate(r));
    const list = await client.listPods('default');
    const state = new Map(list.items.map((p) => [p.metadata.name!, p]));
    const w = collect(client, { resourceVersion: list.metadata.resourceVersion }, () => false);
    await writing;
    const finalList = await client.listPods('default');
    // Wait (on the stream, not a clock) until the watch has reached the final version.
    const target = Number(finalList.metadata.resourceVersion);
    const deadline = Date.now() + 5_000;
    while (
      Math.max(Number(list.metadata.resourceVersion), ...w.events.map((e) => Number(e.object.metadata.resourceVersion))) < target &&
      Date.now() < deadline
    ) {
      await new Promise((r) => setTimeout(r, 10));
    }
    w.stop();
    for (const e of w.events) state.set(e.object.metadata.name!, e.object);
    expect([...state.values()].map((p) => [p.metadata.name, p.metadata.resourceVersion, p.metadata.labels])).toEqual(
      finalList.items.map((p) => [p.metadata.name, p.metadata.resourceVersion, p.metadata.labels]),
    );
  });

  it('answers 410 Gone (an ERROR event with an Expired Status) once the history is compacted', async () => {
    const { client, socket } = await start({ history: 10, compactEvery: 5 });
    await client.createPod('default', pod('x'));
    for (let i = 0; i < 30; i++) await client.patchPod('default', 'x', { metadata: { labels: { i: String(i) } } });
    const w = collect<unknown>(client, { resourceVersion: '1' }, () => false);
    const events = await w.done; // the server ends the stream after the error
    expect(events).toHaveLength(1);
    expect(events[0].type).toBe('ERROR');
    expect(events[0].object).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'Expired', code: 410 });
    expect((events[0].object as { message: string }).message).toMatch(/^too old resource version: 1 \(\d+\)$/);
    // A recent version still works.
    const now = (await client.listPods('default')).metadata.resourceVersion;
    const ok = await rawGet(socket, `/api/v1/namespaces/default/pods?watch=true&resourceVersion=${now}&timeoutSeconds=1`);
    expect(ok).toMatchObject({ status: 200, body: '' });
  });

  it('turns a label change into DELETED and back into ADDED for a selector watch', async () => {
    const { client } = await start();
    await client.createPod('default', pod('a', { app: 'web' }));
    const rv = (await client.listPods('default')).metadata.resourceVersion;
    const w = collect(client, { resourceVersion: rv, labelSelector: 'app=web' }, (e) => e.length === 3);
    await client.patchPod('default', 'a', { metadata: { labels: { app: 'db' } } }); // leaves the selection
    await client.createPod('default', pod('b', { app: 'db' })); // never in it: not sent
    await client.patchPod('default', 'b', { metadata: { labels: { tier: 'x' } } });
    await client.patchPod('default', 'a', { metadata: { labels: { app: 'web' } } }); // comes back
    await client.patchPod('default', 'a', { metadata: { labels: { tier: 'y' } } });
    const events = await w.done;
    expect(events.map((e) => [e.type, e.object.metadata.name, e.object.metadata.labels?.app])).toEqual([
      ['DELETED', 'a', 'db'],
      ['ADDED', 'a', 'web'],
      ['MODIFIED', 'a', 'web'],
    ]);
  });

  it('knows what an object was before a change made before the watch started (from the store history)', async () => {
    const { client } = await start();
    const a = await client.createPod('default', pod('a', { app: 'web' }));
    await client.createPod('default', pod('b', { app: 'db' }));
    await client.patchPod('default', 'a', { metadata: { labels: { app: 'db' } } }); // a leaves app=web
    await client.patchPod('default', 'b', { metadata: { labels: { app: 'web' } } }); // b enters it
    const events = await collect(client, { resourceVersion: a.metadata.resourceVersion!, labelSelector: 'app=web' }, (e) => e.length === 2).done;
    expect(events.map((e) => [e.type, e.object.metadata.name])).toEqual([
      ['DELETED', 'a'],
      ['ADDED', 'b'],
    ]);
  });
});

describe('watch parameters', () => {
  it('sendInitialEvents: the current objects, then a BOOKMARK marking their end, then changes (client-go WatchList)', async () => {
    const { client } = await start();
    await client.createPod('default', pod('one'));
    await client.createPod('default', pod('two'));
    const listRV = (await client.listPods('default')).metadata.resourceVersion;
    const q = { sendInitialEvents: 'true', resourceVersionMatch: 'NotOlderThan', allowWatchBookmarks: 'true', resourceVersion: '' };
    const w = collect(client, q, (e) => e.length === 4);
    await new Promise((r) => setTimeout(r, 50));
    await client.createPod('default', pod('three'));
    const events = await w.done;
    expect(events.map((e) => [e.type, e.object.metadata.name])).toEqual([
      ['ADDED', 'one'],
      ['ADDED', 'two'],
      ['BOOKMARK', undefined],
      ['ADDED', 'three'],
    ]);
    expect(events[2].object).toEqual({
      kind: 'Pod',
      apiVersion: 'v1',
      metadata: { resourceVersion: listRV, annotations: { 'k8s.io/initial-events-end': 'true' } },
    });
  });

  it('refuses the combinations the API server refuses, with 422 Invalid ListOptions', async () => {
    const { socket } = await start();
    const get = (q: string) => rawGet(socket, `/api/v1/namespaces/default/pods?watch=true&${q}`);
    const a = await get('sendInitialEvents=true');
    expect(a.status).toBe(422);
    expect(JSON.parse(a.body)).toMatchObject({
      kind: 'Status',
      reason: 'Invalid',
      message: 'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan',
    });
    const b = await get('resourceVersionMatch=Exact');
    expect(JSON.parse(b.body).message).toBe(
      'ListOptions.meta.k8s.io "" is invalid: [resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided, resourceVersionMatch: Unsupported value: "Exact": supported values: "NotOlderThan"]',
    );
    const c = await get('resourceVersion=abc');
    expect(c.status).toBe(400);
  });

  it('sends periodic BOOKMARKs with allowWatchBookmarks, from which a watch resumes', async () => {
    const { client } = await start({}, 50);
    await client.createPod('default', pod('a'));
    const rv = (await client.listPods('default')).metadata.resourceVersion;
    const created = await client.createPod('default', pod('b'));
    const w = collect(client, { resourceVersion: rv, allowWatchBookmarks: 'true' }, (e) => e.filter((x) => x.type === 'BOOKMARK').length === 2);
    const events = await w.done;
    expect(events[0]).toMatchObject({ type: 'ADDED', object: { metadata: { name: 'b' } } });
    const bookmark = events.find((e) => e.type === 'BOOKMARK')!;
    expect(bookmark.object).toEqual({ kind: 'Pod', apiVersion: 'v1', metadata: { resourceVersion: created.metadata.resourceVersion } });
    // Resuming from the bookmark replays nothing already seen.
    const next = collect(client, { resourceVersion: bookmark.object.metadata.resourceVersion! }, (e) => e.length === 1);
    await client.createPod('default', pod('c'));
    expect((await next.done).map((e) => e.object.metadata.name)).toEqual(['c']);
  });

  it('ends the stream after timeoutSeconds, with a last BOOKMARK when bookmarks are allowed', async () => {
    const { client } = await start();
    const rv = (await client.listPods('default')).metadata.resourceVersion;
    const started = Date.now();
    const events = await collect(client, { resourceVersion: rv, timeoutSeconds: '1', allowWatchBookmarks: 'true' }, () => false).done;
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(900);
    expect(took).toBeLessThan(3000);
    expect(events.map((e) => e.type)).toEqual(['BOOKMARK']);
  });

  it('with resourceVersion "" or "0" starts with the current objects as ADDED', async () => {
    const { client } = await start();
    await client.createPod('default', pod('a'));
    for (const resourceVersion of ['', '0']) {
      const events = await collect(client, { resourceVersion }, (e) => e.length === 1).done;
      expect(events.map((e) => [e.type, e.object.metadata.name])).toEqual([['ADDED', 'a']]);
    }
  });
});

describe('Table output', () => {
  const TABLE = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json';

  it('answers a list with kubectl\'s pod columns and the row metadata', async () => {
    const { client, socket } = await start();
    await client.createPod('default', pod('web', { app: 'web' }));
    const res = await rawGet(socket, '/api/v1/namespaces/default/pods?limit=500', { Accept: TABLE });
    expect(res.status).toBe(200);
    const t = JSON.parse(res.body);
    expect(t.kind).toBe('Table');
    expect(t.apiVersion).toBe('meta.k8s.io/v1');
    expect(t.columnDefinitions.map((c: { name: string; priority: number }) => `${c.name}:${c.priority}`)).toEqual([
      'Name:0', 'Ready:0', 'Status:0', 'Restarts:0', 'Age:0', 'IP:1', 'Node:1', 'Nominated Node:1', 'Readiness Gates:1',
    ]);
    expect(t.rows).toHaveLength(1);
    expect(t.rows[0].cells.slice(0, 4)).toEqual(['web', '0/1', 'Pending', '0']);
    expect(t.rows[0].cells[4]).toMatch(/^\d+s$/);
    expect(t.rows[0].cells.slice(5)).toEqual(['<none>', '<none>', '<none>', '<none>']);
    expect(t.rows[0].object).toMatchObject({ kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: { name: 'web', labels: { app: 'web' } } });
    // v1beta1 only, and plain JSON, are honoured too.
    const beta = JSON.parse((await rawGet(socket, '/api/v1/namespaces/default/pods', { Accept: 'application/json;as=Table;v=v1beta1;g=meta.k8s.io' })).body);
    expect(beta.apiVersion).toBe('meta.k8s.io/v1beta1');
    const plain = JSON.parse((await rawGet(socket, '/api/v1/namespaces/default/pods', { Accept: 'application/json, */*;q=0.8' })).body);
    expect(plain.kind).toBe('PodList');
    const bad = await rawGet(socket, '/api/v1/namespaces/default/pods', { Accept: 'application/json;as=Table;v=v9;g=meta.k8s.io' });
    expect(bad.status).toBe(406);
  });

  it('streams one-row Tables in a watch, with the column definitions only in the first event', async () => {
    const { client, socket } = await start();
    const rv = (await client.listPods('default')).metadata.resourceVersion;
    const lines: string[] = [];
    const req = http.get({ socketPath: socket, path: `/api/v1/namespaces/default/pods?watch=true&resourceVersion=${rv}`, headers: { Accept: TABLE } });
    const got = new Promise<void>((resolve) => {
      req.on('response', (res) => {
        let buf = '';
        res.on('data', (d) => {
          buf += d;
          const parts = buf.split('\n');
          buf = parts.pop()!;
          lines.push(...parts);
          if (lines.length >= 2) resolve();
        });
      });
    });
    await client.createPod('default', pod('a'));
    await client.patchPod('default', 'a', { metadata: { labels: { x: 'y' } } });
    await got;
    req.destroy();
    const [first, second] = lines.map((l) => JSON.parse(l));
    expect(first.type).toBe('ADDED');
    expect(first.object.kind).toBe('Table');
    expect(first.object.columnDefinitions).toHaveLength(9);
    expect(first.object.rows[0].cells[0]).toBe('a');
    expect(second.type).toBe('MODIFIED');
    expect(second.object.columnDefinitions).toEqual([]);
    expect(second.object.rows[0].object.metadata.labels).toEqual({ x: 'y' });
  });
});

describe('discovery and OpenAPI', () => {
  it('serves what kubectl reads before it validates and sends a manifest', async () => {
    const { socket } = await start();
    const v3 = JSON.parse((await rawGet(socket, '/openapi/v3')).body);
    const url = v3.paths['api/v1'].serverRelativeURL as string;
    expect(url).toMatch(/^\/openapi\/v3\/api\/v1\?hash=[0-9A-F]+$/);
    const doc = JSON.parse((await rawGet(socket, url)).body);
    const patch = doc.paths['/api/v1/namespaces/{namespace}/pods/{name}'].patch;
    expect(patch['x-kubernetes-group-version-kind']).toEqual({ group: '', version: 'v1', kind: 'Pod' });
    expect(patch.parameters.map((p: { name: string }) => p.name)).toContain('fieldValidation');
    const api = JSON.parse((await rawGet(socket, '/api/v1')).body);
    expect(api.resources.find((r: { name: string }) => r.name === 'pods')).toMatchObject({ namespaced: true, kind: 'Pod', shortNames: ['po'] });
    expect((await rawGet(socket, '/version')).type).toBe('application/json');
  });
});
