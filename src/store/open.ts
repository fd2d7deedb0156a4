// Picks the store backend from `minipod daemon --store`: the embedded SQLite file
// (default) or etcd (etcd://HOST:PORT[,HOST:PORT…][/PREFIX], or etcds://… over TLS
// with the --etcd-* files) for more than one machine.
import { EtcdStore, parseEtcdUrl } from './etcd.js';
import { type EtcdTls, etcdCredentials } from './etcd-tls.js';
import { SqliteStore } from './sqlite.js';
import type { Store } from './store.js';

export interface OpenedStore {
  store: Store;
  /** Several API servers can share it (and so must elect one scheduler). */
  shared: boolean;
  description: string;
}

export async function openStore(spec: string | undefined, sqlitePath: string, tls?: EtcdTls): Promise<OpenedStore> {
  if (!spec || spec === 'sqlite') return { store: new SqliteStore(sqlitePath), shared: false, description: `sqlite ${sqlitePath}` };
  if (spec.startsWith('etcd://') || spec.startsWith('etcds://')) {
    const { endpoints, prefix, tls: secure } = parseEtcdUrl(spec);
    if (!secure && (tls?.ca || tls?.cert)) throw new Error(`${(tls.ca ?? tls.cert)!.from} is for an etcd spoken to over TLS: give --store etcds://… (etcd:// is plain HTTP)`);
    const store = new EtcdStore({ endpoints, prefix, credentials: secure ? etcdCredentials(tls) : undefined });
    try {
      await store.ping();
    } catch (err) {
      await store.close().catch(() => {});
      throw err;
    }
    const how = secure ? (tls?.cert ? ' over TLS with a client certificate' : ' over TLS') : '';
    return { store, shared: true, description: `etcd ${endpoints.join(',')}${how} prefix ${prefix}` };
  }
  throw new Error(`--store wants "sqlite", etcd://HOST:PORT[,HOST:PORT…][/PREFIX] or etcds://… (TLS), got "${spec}"`);
}
