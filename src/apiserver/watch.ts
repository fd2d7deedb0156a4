// Watch streams: newline-delimited {"type","object"} JSON, from a resourceVersion
// on, with no gap and no duplicate (the store replays its history, then follows
// live writes). With selectors, an object that stops matching is sent as DELETED
// and one that starts matching as ADDED, as Kubernetes does. The parameters are
// the API server's: resourceVersion ("" or "0": start with the current objects
// as ADDED), sendInitialEvents + resourceVersionMatch=NotOlderThan (client-go's
// WatchList: the current objects, then a BOOKMARK annotated
// k8s.io/initial-events-end), allowWatchBookmarks (periodic BOOKMARKs carrying
// the latest resourceVersion, so a client resumes without 410), timeoutSeconds.
import type http from 'node:http';
import { type ServedResource, groupVersion, resourceType } from '../api/api-resources.js';
import { type Resource, type Store, type StoreEvent, type StoredObject, StoreError } from '../store/store.js';
import { type Selectors, selects } from './server.js';
import { ApiError, gone } from './status.js';
import { strategyFor } from './strategy.js';
import { type Conversion, partialObjectMetadata, toTable } from './table.js';

export interface WatchRequest {
  resource: ServedResource;
  namespace?: string;
  selectors: Selectors;
  query: URLSearchParams;
  /** What the client's Accept asked for instead of the plain objects. */
  conversion?: Conversion;
}

export interface WatchServeOptions {
  /** How often a watch with allowWatchBookmarks=true gets a BOOKMARK (Kubernetes: about a minute). */
  bookmarkIntervalMs?: number;
}

export const DEFAULT_BOOKMARK_INTERVAL_MS = 60_000;
export const INITIAL_EVENTS_END = 'k8s.io/initial-events-end';

const truthy = (v: string | null) => v !== null && ['true', '1', 't', 'True', 'TRUE', 'T'].includes(v);

interface WatchParams {
  resourceVersion: string;
  sendInitialEvents?: boolean;
  allowBookmarks: boolean;
  timeoutSeconds: number;
}

/**
 * The checks of apimachinery's validateWatchOptions (WatchList enabled); an
 * invalid combination is a 422 Invalid ListOptions, as from the API server.
 */
export function watchParams(q: URLSearchParams): WatchParams {
  const rv = q.get('resourceVersion') ?? '';
  const match = q.get('resourceVersionMatch') ?? '';
  const send = q.has('sendInitialEvents') ? truthy(q.get('sendInitialEvents')) : undefined;
  const causes: { field: string; reason: string; message: string }[] = [];
  if (send !== undefined && match !== 'NotOlderThan') {
    causes.push({ field: 'resourceVersionMatch', reason: 'FieldValueForbidden', message: 'Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan' });
  }
  if (match) {
    if (send === undefined) {
      causes.push({ field: 'resourceVersionMatch', reason: 'FieldValueForbidden', message: 'Forbidden: resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided' });
    }
    if (match !== 'NotOlderThan') {
      causes.push({ field: 'resourceVersionMatch', reason: 'FieldValueNotSupported', message: `Unsupported value: "${match}": supported values: "NotOlderThan"` });
    }
    if (q.get('continue')) {
      causes.push({ field: 'resourceVersionMatch', reason: 'FieldValueForbidden', message: 'Forbidden: resourceVersionMatch is forbidden when continue is provided' });
    }
  }
  if (causes.length) {
    const list = causes.map((c) => `${c.field}: ${c.message}`);
    throw new ApiError(422, 'Invalid', `ListOptions.meta.k8s.io "" is invalid: ${list.length === 1 ? list[0] : `[${list.join(', ')}]`}`, {
      kind: 'ListOptions',
      causes,
      ...({ group: 'meta.k8s.io' } as object),
    });
  }
  if (rv !== '' && !/^\d+$/.test(rv)) {
    throw new ApiError(400, 'BadRequest', `resourceVersion: Invalid value: "${rv}": strconv.ParseUint: parsing "${rv}": invalid syntax`);
  }
  const timeout = Number(q.get('timeoutSeconds') ?? 0);
  return {
    resourceVersion: rv,
    sendInitialEvents: send,
    allowBookmarks: truthy(q.get('allowWatchBookmarks')),
    timeoutSeconds: Number.isFinite(timeout) && timeout > 0 ? timeout : 0,
  };
}

/** A store that can tell what an object was at an earlier version (SqliteStore can). */
interface StoreHistory {
  objectAt(resource: Resource, namespace: string, name: string, rv: number): StoredObject | null | undefined;
}
const history = (s: Store): s is Store & StoreHistory => typeof (s as Partial<StoreHistory>).objectAt === 'function';

export async function serveWatch(
  store: Store,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  w: WatchRequest,
  opts: WatchServeOptions = {},
): Promise<void> {
  const p = watchParams(w.query); // throws before the stream starts
  const keyOf = (o: StoredObject) => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;
  const inScope = (o: StoredObject) => !w.namespace || o.metadata.namespace === w.namespace;
  const hasSelectors = w.selectors.labels.length > 0 || w.selectors.fields.length > 0;

  // Which objects to send first, and from which resourceVersion to follow.
  let initial: StoredObject[] = [];
  let fromRV: number;
  let seed: { items: Map<string, StoredObject>; rv: number } | undefined;
  const current = await store.currentResourceVersion();
  const legacyInitial = p.sendInitialEvents === undefined && (p.resourceVersion === '' || p.resourceVersion === '0');
  if (p.sendInitialEvents === true || legacyInitial) {
    const list = await store.list(w.resource, w.namespace);
    initial = list.items;
    fromRV = Number(list.resourceVersion);
  } else {
    const asked = Number(p.resourceVersion || 0);
    // NotOlderThan without initial events may start from now; an exact version is honoured.
    fromRV = p.sendInitialEvents === false && (asked === 0 || asked < current) ? current : asked;
    if (hasSelectors) {
      // The objects as they are now: for one that changes only after this point we know
      // whether it matched before, so that a change of labels is an ADDED or DELETED.
      const list = await store.list(w.resource, w.namespace);
      seed = { items: new Map(list.items.map((o) => [keyOf(o), o])), rv: Number(list.resourceVersion) };
    }
  }

  res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked', 'Cache-Control': 'no-cache, private' });
  res.flushHeaders();

  let sentTable = false;
  const convert = (object: unknown): unknown => {
    const c = w.conversion;
    const obj = object as StoredObject;
    if (!c || (obj as { kind?: string }).kind === 'Status') return object;
    if (c.kind === 'Table') {
      // Column definitions go with the first event only, as the API server does.
      const t = toTable(strategyFor(w.resource).table, [obj], obj.metadata.resourceVersion, { ...c.options, noHeaders: sentTable });
      sentTable = true;
      return t;
    }
    return partialObjectMetadata(obj, c.apiVersion);
  };
  const write = (type: string, object: unknown) => {
    if (!res.writableEnded) res.write(JSON.stringify({ type, object: convert(object) }) + '\n');
  };
  let lastRV = fromRV;
  const bookmark = (annotations?: Record<string, string>) => {
    const metadata = { resourceVersion: String(lastRV), ...(annotations ? { annotations } : {}) };
    const c = w.conversion;
    const object =
      c?.kind === 'Table'
        ? { kind: 'Table', apiVersion: c.options.apiVersion, metadata, columnDefinitions: [], rows: [] }
        : c
          ? { kind: 'PartialObjectMetadata', apiVersion: c.apiVersion, metadata }
          : { kind: resourceType(w.resource).kind, apiVersion: groupVersion(resourceType(w.resource)), metadata };
    if (!res.writableEnded) res.write(JSON.stringify({ type: 'BOOKMARK', object }) + '\n');
  };

  const matched = new Map<string, boolean>(); // last match state of each object this watch has seen
  for (const o of initial) {
    const ok = selects(o, w.selectors);
    matched.set(keyOf(o), ok);
    if (ok) write('ADDED', o);
  }
  if (p.sendInitialEvents === true && p.allowBookmarks) bookmark({ [INITIAL_EVENTS_END]: 'true' });

  const onEvent = (e: StoreEvent) => {
    if (e.resourceVersion <= fromRV) return; // asked for a version not yet reached: only what follows it
    lastRV = e.resourceVersion;
    if (!inScope(e.object)) return;
    const key = keyOf(e.object);
    let before = matched.get(key);
    if (before === undefined && hasSelectors) {
      if (e.type === 'ADDED') before = false;
      else if (seed && e.resourceVersion > seed.rv) {
        const prev = seed.items.get(key); // unchanged between the seed and this event
        before = prev ? selects(prev, w.selectors) : false;
      } else if (history(store)) {
        const prev = store.objectAt(w.resource, e.object.metadata.namespace ?? '', e.object.metadata.name ?? '', e.resourceVersion - 1);
        if (prev !== undefined) before = prev ? selects(prev, w.selectors) : false;
      }
    }
    const now = selects(e.object, w.selectors);
    if (e.type === 'DELETED') {
      matched.delete(key);
      if (now || before) write('DELETED', e.object);
      return;
    }
    matched.set(key, now);
    if (now) write(before === false ? 'ADDED' : e.type, e.object);
    else if (before) write('DELETED', e.object);
  };

  let watch: { stop(): void };
  try {
    // etcd learns that a version was compacted only after the watch began.
    watch = store.watch(w.resource, fromRV, onEvent, (err) => {
      write('ERROR', gone(err.message).toStatus());
      res.end();
    });
  } catch (err) {
    if (err instanceof StoreError && err.reason === 'Gone') {
      write('ERROR', gone(err.message).toStatus());
      res.end();
      return;
    }
    throw err;
  }

  const interval = opts.bookmarkIntervalMs ?? DEFAULT_BOOKMARK_INTERVAL_MS;
  const ticker = p.allowBookmarks ? setInterval(() => bookmark(), interval) : undefined;
  const timer =
    p.timeoutSeconds > 0
      ? setTimeout(() => {
          if (p.allowBookmarks) bookmark(); // the client resumes from here
          res.end();
        }, p.timeoutSeconds * 1000)
      : undefined;
  await new Promise<void>((resolve) => {
    res.on('close', () => {
      watch.stop();
      if (ticker) clearInterval(ticker);
      if (timer) clearTimeout(timer);
      resolve();
    });
  });
  void req;
}
