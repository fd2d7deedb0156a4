// The etcd v3 store, for more than one machine: the same layout and rules as the
// Kubernetes API server's storage (staging/src/k8s.io/apiserver/pkg/storage/etcd3).
// Each object is one key, <prefix>/<resource>/<namespace>/<name>, holding its JSON
// without resourceVersion; the resourceVersion is the key's mod revision, so it is
// global and monotonic across every API server on the same etcd. Writes are
// transactions that compare revisions; watches start from a revision and answer
// Gone once etcd has compacted it.
import { Etcd3, type IKeyValue, type Watcher } from 'etcd3';
import { type EtcdCredentials, explainEtcdFailure, quietIpServerNameWarning } from './etcd-tls.js';
import {
  type ObjectKey,
  type Resource,
  type Store,
  type StoreEvent,
  type StoredObject,
  type Watch,
  StoreError,
} from './store.js';

export interface EtcdStoreOptions {
  /** Client URLs, e.g. ["http://127.0.0.1:2379"] (or https:// for TLS). */
  endpoints: string[];
  /** CA, client certificate and key for TLS (see etcd-tls.ts). */
  credentials?: EtcdCredentials;
  /** Key prefix that holds every object; several clusters (or tests) can share one etcd. */
  prefix?: string;
  /** Compact history older than this, as kube-apiserver does (default 5 min; 0 = never). */
  compactionIntervalMs?: number;
  /** Deadline of each request (not of watches). */
  requestTimeoutMs?: number;
}

export const DEFAULT_PREFIX = '/minipod';
const DEFAULT_PORT = 2379;

/**
 * Parses `etcd://HOST[:PORT][,HOST2[:PORT]…][/PREFIX]` as given to `--store`, or
 * `etcds://…` for TLS (kube-apiserver's https:// in --etcd-servers).
 * Throws with a message a user can act on.
 */
export function parseEtcdUrl(url: string): { endpoints: string[]; prefix: string; tls: boolean } {
  const m = /^etcd(s?):\/\/([^/]+)(\/.*)?$/.exec(url);
  if (!m) throw new Error(`--store wants etcd://HOST:PORT[,HOST:PORT…][/PREFIX] (or etcds:// for TLS), got "${url}"`);
  const tls = m[1] === 's';
  const endpoints = m[2].split(',').map((h) => {
    const host = h.trim();
    if (!/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+)(:\d+)?$/.test(host)) throw new Error(`--store: "${host}" is not HOST or HOST:PORT`);
    return `${tls ? 'https' : 'http'}://${/:\d+$/.test(host) ? host : `${host}:${DEFAULT_PORT}`}`;
  });
  const prefix = (m[3] ?? '').replace(/\/+$/, '');
  return { endpoints, prefix: prefix || DEFAULT_PREFIX, tls };
}

export class EtcdStore implements Store {
  private client: Etcd3;
  private prefix: string;
  private watchers = new Set<Watcher>();
  private compactTimer?: NodeJS.Timeout;
  private lastRevision?: string;

  constructor(private opts: EtcdStoreOptions) {
    this.prefix = (opts.prefix ?? DEFAULT_PREFIX).replace(/\/+$/, '');
    const timeout = opts.requestTimeoutMs ?? 10_000;
    if (opts.credentials || opts.endpoints.some((e) => e.startsWith('https:'))) quietIpServerNameWarning(opts.endpoints);
    this.client = new Etcd3({
      hosts: opts.endpoints,
      // With credentials etcd3 speaks TLS to every host; https:// alone means TLS with the system's CAs.
      credentials: opts.credentials,
      dialTimeout: timeout,
      // Watches are long-lived streams; every other call gets a deadline.
      defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + timeout }),
    });
    const interval = opts.compactionIntervalMs ?? 5 * 60_000;
    if (interval > 0) {
      this.compactTimer = setInterval(() => void this.compactOlder().catch(() => {}), interval);
      this.compactTimer.unref();
    }
  }

  /** Fails with a clear message when etcd does not answer: the daemon checks this at start. */
  async ping(): Promise<void> {
    try {
      await this.currentResourceVersion();
    } catch (err) {
      const tls = !!this.opts.credentials || this.opts.endpoints.some((e) => e.startsWith('https:'));
      throw new Error(`cannot reach etcd at ${this.opts.endpoints.join(',')}: ${explainEtcdFailure((err as Error).message, tls)}`);
    }
  }

  async create(key: ObjectKey, obj: StoredObject): Promise<StoredObject> {
    const k = this.key(key);
    const value = encode(obj);
    const res = await this.client.kv.txn({
      compare: [{ key: k, target: 'Create', result: 'Equal', create_revision: 0 }],
      success: [{ request_put: { key: k, value } }],
      failure: [],
    });
    if (!res.succeeded) throw new StoreError('AlreadyExists', `${key.resource} "${key.name}" already exists`);
    return withRV(obj, res.header.revision);
  }

  async get(key: ObjectKey): Promise<StoredObject | undefined> {
    const res = await this.client.kv.range({ key: this.key(key) });
    return res.kvs[0] ? decode(res.kvs[0]) : undefined;
  }

  async list(resource: Resource, namespace?: string) {
    const p = this.dir(resource, namespace);
    // One range answers from one revision: the items and the version are consistent.
    const res = await this.client.kv.range({ key: p, range_end: prefixEnd(p) });
    const items = res.kvs.map(decode);
    return { items, resourceVersion: res.header.revision };
  }

  async update(key: ObjectKey, obj: StoredObject, expectedRV?: string): Promise<StoredObject> {
    const k = this.key(key);
    const res = await this.client.kv.txn({
      compare: [this.precondition(k, expectedRV)],
      success: [{ request_put: { key: k, value: encode(obj) } }],
      failure: [{ request_range: { key: k } }],
    });
    if (!res.succeeded) this.failed(key, res.responses[0]?.response_range?.kvs ?? []);
    return withRV(obj, res.header.revision);
  }

  async delete(key: ObjectKey, expectedRV?: string): Promise<StoredObject> {
    const k = this.key(key);
    const res = await this.client.kv.txn({
      compare: [this.precondition(k, expectedRV)],
      success: [{ request_delete_range: { key: k, prev_kv: true } }],
      failure: [{ request_range: { key: k } }],
    });
    if (!res.succeeded) this.failed(key, res.responses[0]?.response_range?.kvs ?? []);
    const prev = res.responses[0]?.response_delete_range?.prev_kvs?.[0];
    if (!prev) throw new StoreError('NotFound', `${key.resource} "${key.name}" not found`);
    return withRV(JSON.parse(prev.value.toString('utf8')) as StoredObject, res.header.revision);
  }

  watch(resource: Resource, fromRV: number, onEvent: (e: StoreEvent) => void, onError?: (err: StoreError) => void): Watch {
    const p = this.dir(resource);
    const watcher = this.client.watch().prefix(p).startRevision(String(fromRV + 1)).withPreviousKV().watcher();
    this.watchers.add(watcher);
    let stopped = false;
    // etcd delivers one key's changes, and a prefix's, in revision order; the client
    // resumes from the last revision it saw after a reconnect, so none is lost or repeated.
    watcher.on('put', (kv: IKeyValue) => {
      if (stopped) return;
      const object = decode(kv);
      onEvent({ type: kv.create_revision === kv.mod_revision ? 'ADDED' : 'MODIFIED', object, resourceVersion: Number(kv.mod_revision) });
    });
    watcher.on('delete', (kv: IKeyValue, prev?: IKeyValue) => {
      if (stopped || !prev) return;
      const object = withRV(JSON.parse(prev.value.toString('utf8')) as StoredObject, kv.mod_revision);
      onEvent({ type: 'DELETED', object, resourceVersion: Number(kv.mod_revision) });
    });
    // etcd cancels a watch whose start revision it has compacted (with no reason given);
    // any cancellation means this history is lost to us, which clients handle as Gone.
    watcher.on('error', (err: Error) => {
      if (stopped) return;
      stopped = true;
      this.watchers.delete(watcher);
      onError?.(new StoreError('Gone', `too old resource version: ${fromRV} (${err.message || 'watch canceled'})`));
    });
    return {
      stop: () => {
        if (stopped) return;
        stopped = true;
        this.watchers.delete(watcher);
        void watcher.cancel().catch(() => {});
      },
    };
  }

  async currentResourceVersion(): Promise<number> {
    const res = await this.client.kv.range({ key: Buffer.from(this.prefix + '/'), count_only: true });
    return Number(res.header.revision);
  }

  /** Discards all history up to now: a watch from an older version gets Gone. */
  async compact(revision?: number): Promise<void> {
    const rev = revision ?? (await this.currentResourceVersion());
    try {
      await this.client.kv.compact({ revision: rev, physical: true });
    } catch (err) {
      // Another API server compacted as far already.
      if (!/compacted/.test((err as Error).message)) throw err;
    }
  }

  async close(): Promise<void> {
    if (this.compactTimer) clearInterval(this.compactTimer);
    await Promise.all([...this.watchers].map((w) => w.cancel().catch(() => {})));
    this.watchers.clear();
    this.client.close();
  }

  /** Keeps one interval of history: compacts to the revision seen one tick ago. */
  private async compactOlder(): Promise<void> {
    const now = String(await this.currentResourceVersion());
    if (this.lastRevision) await this.compact(Number(this.lastRevision));
    this.lastRevision = now;
  }

  private key(k: ObjectKey): Buffer {
    return Buffer.from(`${this.prefix}/${k.resource}/${k.namespace}/${k.name}`);
  }

  private dir(resource: Resource, namespace?: string): Buffer {
    return Buffer.from(namespace === undefined ? `${this.prefix}/${resource}/` : `${this.prefix}/${resource}/${namespace}/`);
  }

  /** The object must exist, and be at expectedRV when one is given. */
  private precondition(k: Buffer, expectedRV?: string) {
    return expectedRV
      ? { key: k, target: 'Mod' as const, result: 'Equal' as const, mod_revision: expectedRV }
      : { key: k, target: 'Create' as const, result: 'Greater' as const, create_revision: 0 };
  }

  /** Explains a failed compare: the key is missing, or it moved on. */
  private failed(key: ObjectKey, kvs: IKeyValue[]): never {
    if (!kvs.length) throw new StoreError('NotFound', `${key.resource} "${key.name}" not found`);
    throw new StoreError(
      'Conflict',
      `Operation cannot be fulfilled on ${key.resource} "${key.name}": the object has been modified; please apply your changes to the latest version and try again`,
    );
  }
}

function encode(obj: StoredObject): Buffer {
  const { resourceVersion: _rv, ...metadata } = obj.metadata;
  return Buffer.from(JSON.stringify({ ...obj, metadata }));
}

function decode(kv: IKeyValue): StoredObject {
  return withRV(JSON.parse(kv.value.toString('utf8')) as StoredObject, kv.mod_revision);
}

function withRV(obj: StoredObject, rv: string | number): StoredObject {
  return { ...obj, metadata: { ...obj.metadata, resourceVersion: String(rv) } };
}

/** The end of the range of every key that starts with `p` (etcd's "prefix" range). */
function prefixEnd(p: Buffer): Buffer {
  const end = Buffer.from(p);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i] < 0xff) {
      end[i]++;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}

