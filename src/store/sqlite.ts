// The embedded store: one SQLite file in WAL mode. Every write is one transaction
// that appends to `changes` (whose autoincrement key is the global
// resourceVersion) and updates `objects`; watches replay `changes` and then follow
// live writes. better-sqlite3 is synchronous, so replay-then-subscribe has no gap.
import Database from 'better-sqlite3';
import { EventEmitter } from 'node:events';
import {
  type ObjectKey,
  type Resource,
  type Store,
  type StoreEvent,
  type StoredObject,
  type Watch,
  StoreError,
} from './store.js';

const HISTORY = 20_000; // changes kept for watch resume; older ones answer Gone
const COMPACT_EVERY = 1_000;

interface Row {
  rv: number;
  data: string;
}

export interface SqliteStoreOptions {
  /** Changes kept for watch resume (default 20,000); tests make it small to reach Gone. */
  history?: number;
  /** Compact after this many writes (default 1,000). */
  compactEvery?: number;
}

export class SqliteStore implements Store {
  private db: Database.Database;
  private live = new EventEmitter();
  private writes = 0;
  private history: number;
  private compactEvery: number;

  constructor(path: string, opts: SqliteStoreOptions = {}) {
    this.history = opts.history ?? HISTORY;
    this.compactEvery = opts.compactEvery ?? COMPACT_EVERY;
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    // FULL: an acknowledged write survives a crash of the process or the machine.
    this.db.pragma('synchronous = FULL');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS objects (
        resource TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,
        rv INTEGER NOT NULL, data TEXT NOT NULL,
        PRIMARY KEY (resource, namespace, name));
      CREATE TABLE IF NOT EXISTS changes (
        rv INTEGER PRIMARY KEY AUTOINCREMENT,
        resource TEXT NOT NULL, type TEXT NOT NULL, data TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
    `);
    this.live.setMaxListeners(0);
  }

  async create(key: ObjectKey, obj: StoredObject): Promise<StoredObject> {
    return this.tx(() => {
      if (this.row(key)) throw new StoreError('AlreadyExists', `${key.resource} "${key.name}" already exists`);
      return this.write(key, obj, 'ADDED');
    });
  }

  async get(key: ObjectKey): Promise<StoredObject | undefined> {
    const row = this.row(key);
    return row ? withRV(JSON.parse(row.data), row.rv) : undefined;
  }

  async list(resource: Resource, namespace?: string) {
    const rows: Row[] =
      namespace === undefined
        ? this.db.prepare('SELECT rv, data FROM objects WHERE resource = ? ORDER BY namespace, name').all(resource) as Row[]
        : this.db
            .prepare('SELECT rv, data FROM objects WHERE resource = ? AND namespace = ? ORDER BY name')
            .all(resource, namespace) as Row[];
    return {
      items: rows.map((r) => withRV(JSON.parse(r.data), r.rv)),
      resourceVersion: String(this.currentRV()),
    };
  }

  async update(key: ObjectKey, obj: StoredObject, expectedRV?: string): Promise<StoredObject> {
    return this.tx(() => {
      this.check(key, expectedRV);
      return this.write(key, obj, 'MODIFIED');
    });
  }

  async delete(key: ObjectKey, expectedRV?: string): Promise<StoredObject> {
    const { event, obj } = this.db.transaction(() => {
      const row = this.check(key, expectedRV);
      const old = JSON.parse(row.data) as StoredObject;
      const rv = this.append(key.resource, 'DELETED', old);
      this.db.prepare('DELETE FROM objects WHERE resource = ? AND namespace = ? AND name = ?').run(key.resource, key.namespace, key.name);
      const deleted = withRV(old, rv);
      return { obj: deleted, event: { type: 'DELETED' as const, object: deleted, resourceVersion: rv } };
    })();
    this.publish(key.resource, event);
    return obj;
  }

  watch(resource: Resource, fromRV: number, onEvent: (e: StoreEvent) => void): Watch {
    const compacted = this.compactedRV();
    if (fromRV < compacted) {
      throw new StoreError('Gone', `too old resource version: ${fromRV} (${compacted})`);
    }
    const rows = this.db
      .prepare('SELECT rv, type, data FROM changes WHERE resource = ? AND rv > ? ORDER BY rv')
      .all(resource, fromRV) as (Row & { type: StoreEvent['type'] })[];
    for (const r of rows) onEvent({ type: r.type, object: withRV(JSON.parse(r.data), r.rv), resourceVersion: r.rv });
    const listener = (e: StoreEvent) => onEvent(e);
    this.live.on(resource, listener);
    return { stop: () => this.live.off(resource, listener) };
  }

  async currentResourceVersion(): Promise<number> {
    return this.currentRV();
  }

  /**
   * The object as it was at resourceVersion `rv` (null: it did not exist then;
   * undefined: that history is compacted). Watches with selectors use it to tell
   * whether an object that changed matched before the change.
   */
  objectAt(resource: Resource, namespace: string, name: string, rv: number): StoredObject | null | undefined {
    const now = this.row({ resource, namespace, name });
    if (now && now.rv <= rv) return withRV(JSON.parse(now.data), now.rv); // unchanged since
    const compacted = this.compactedRV();
    if (rv < compacted) return undefined;
    const row = this.db
      .prepare(
        `SELECT rv, type, data FROM changes WHERE resource = ? AND rv <= ?
           AND json_extract(data, '$.metadata.name') = ? AND coalesce(json_extract(data, '$.metadata.namespace'), '') = ?
         ORDER BY rv DESC LIMIT 1`,
      )
      .get(resource, rv, name, namespace) as (Row & { type: string }) | undefined;
    if (!row) return compacted > 0 ? undefined : null; // its last change may be compacted away
    if (row.type === 'DELETED') return null;
    return withRV(JSON.parse(row.data), row.rv);
  }

  async close(): Promise<void> {
    this.live.removeAllListeners();
    this.db.close();
  }

  private tx(fn: () => { obj: StoredObject; event: StoreEvent; resource: Resource }): StoredObject {
    const { obj, event, resource } = this.db.transaction(fn)();
    this.publish(resource, event);
    return obj;
  }

  private write(key: ObjectKey, obj: StoredObject, type: 'ADDED' | 'MODIFIED') {
    const rv = this.append(key.resource, type, obj);
    const stored = withRV(obj, rv);
    this.db
      .prepare('INSERT OR REPLACE INTO objects (resource, namespace, name, rv, data) VALUES (?, ?, ?, ?, ?)')
      .run(key.resource, key.namespace, key.name, rv, JSON.stringify(stored));
    return { obj: stored, event: { type, object: stored, resourceVersion: rv }, resource: key.resource };
  }

  /** Appends a change; its rowid is the new global resourceVersion. */
  private append(resource: Resource, type: StoreEvent['type'], obj: StoredObject): number {
    const info = this.db.prepare("INSERT INTO changes (resource, type, data) VALUES (?, ?, '')").run(resource, type);
    const rv = Number(info.lastInsertRowid);
    this.db.prepare('UPDATE changes SET data = ? WHERE rv = ?').run(JSON.stringify(withRV(obj, rv)), rv);
    return rv;
  }

  private check(key: ObjectKey, expectedRV?: string): Row {
    const row = this.row(key);
    if (!row) throw new StoreError('NotFound', `${key.resource} "${key.name}" not found`);
    if (expectedRV && String(row.rv) !== expectedRV) {
      throw new StoreError(
        'Conflict',
        `Operation cannot be fulfilled on ${key.resource} "${key.name}": the object has been modified; please apply your changes to the latest version and try again`,
      );
    }
    return row;
  }

  private row(key: ObjectKey): Row | undefined {
    return this.db
      .prepare('SELECT rv, data FROM objects WHERE resource = ? AND namespace = ? AND name = ?')
      .get(key.resource, key.namespace, key.name) as Row | undefined;
  }

  private publish(resource: Resource, event: StoreEvent) {
    if (++this.writes % this.compactEvery === 0) this.compact();
    this.live.emit(resource, event);
  }

  private compact() {
    const keepFrom = this.currentRV() - this.history;
    if (keepFrom <= 0) return;
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM changes WHERE rv < ?').run(keepFrom);
      this.db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('compacted', ?)").run(keepFrom - 1);
    })();
  }

  private compactedRV(): number {
    const row = this.db.prepare("SELECT value FROM meta WHERE key = 'compacted'").get() as { value: number } | undefined;
    return row?.value ?? 0;
  }

  private currentRV(): number {
    const row = this.db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'changes'").get() as { seq: number } | undefined;
    return row?.seq ?? 0;
  }
}

function withRV(obj: StoredObject, rv: number): StoredObject {
  return { ...obj, metadata: { ...obj.metadata, resourceVersion: String(rv) } };
}
