// Picks the store backend from `minipod daemon --store`: the embedded SQLite file
// (default) or etcd (etcd://HOST:PORT[,HOST:PORT…][/PREFIX]) for more than one machine.
import { EtcdStore, parseEtcdUrl } from './etcd.js';
import { SqliteStore } from './sqlite.js';
import type { Store } from './store.js';

export interface OpenedStore {
  store: Store;
  /** Several API servers can share it (and so must elect one scheduler). */
  shared: boolean;
  description: string;
}

export async function openStore(spec: string | undefined, sqlitePath: string): Promise<OpenedStore> {
  if (!spec || spec === 'sqlite') return { store: new SqliteStore(sqlitePath), shared: false, description: `sqlite ${sqlitePath}` };
  if (spec.startsWith('etcd://')) {
    const { endpoints, prefix } = parseEtcdUrl(spec);
    const store = new EtcdStore({ endpoints, prefix });
    try {
      await store.ping();
    } catch (err) {
      await store.close().catch(() => {});
      throw err;
    }
    return { store, shared: true, description: `etcd ${endpoints.join(',')} prefix ${prefix}` };
  }
  throw new Error(`--store wants "sqlite" or etcd://HOST:PORT[,HOST:PORT…][/PREFIX], got "${spec}"`);
}
