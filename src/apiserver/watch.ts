// Watch streams: newline-delimited {"type","object"} JSON, from a resourceVersion
// on, with no gap and no duplicate. With selectors, an object that stops matching
// is sent as DELETED and one that starts matching as ADDED, as Kubernetes does.
import type http from 'node:http';
import { type Resource, type Store, type StoreEvent, type StoredObject, StoreError } from '../store/store.js';
import { type Selectors, selects } from './server.js';
import { gone } from './status.js';

export interface WatchRequest {
  resource: Resource;
  namespace?: string;
  selectors: Selectors;
  query: URLSearchParams;
}

export async function serveWatch(store: Store, req: http.IncomingMessage, res: http.ServerResponse, w: WatchRequest): Promise<void> {
  res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked', 'Cache-Control': 'no-cache' });
  res.flushHeaders();
  const write = (type: string, object: unknown) => res.write(JSON.stringify({ type, object }) + '\n');
  const inScope = (o: StoredObject) => !w.namespace || o.metadata.namespace === w.namespace;
  const matched = new Map<string, boolean>(); // last match state per object seen on this watch
  const keyOf = (o: StoredObject) => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;

  let fromRV = Number(w.query.get('resourceVersion') ?? '0');
  if (!Number.isFinite(fromRV) || fromRV < 0) fromRV = 0;
  if (fromRV === 0 || w.query.get('sendInitialEvents') === 'true') {
    // No version (or "0"): start with the current state as ADDED events, as Kubernetes does.
    const { items, resourceVersion } = await store.list(w.resource, w.namespace);
    for (const o of items) {
      const ok = selects(o, w.selectors);
      matched.set(keyOf(o), ok);
      if (ok) write('ADDED', o);
    }
    if (w.query.get('sendInitialEvents') === 'true') {
      write('BOOKMARK', {
        kind: 'Pod',
        apiVersion: 'v1',
        metadata: { resourceVersion, annotations: { 'k8s.io/initial-events-end': 'true' } },
      });
    }
    fromRV = Number(resourceVersion);
  }

  const onEvent = (e: StoreEvent) => {
    if (!inScope(e.object)) return;
    const key = keyOf(e.object);
    const before = matched.get(key);
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
    watch = store.watch(w.resource, fromRV, onEvent);
  } catch (err) {
    if (err instanceof StoreError && err.reason === 'Gone') {
      write('ERROR', gone(err.message).toStatus());
      res.end();
      return;
    }
    throw err;
  }
  const timeout = Number(w.query.get('timeoutSeconds') ?? 0);
  const timer = timeout > 0 ? setTimeout(() => res.end(), timeout * 1000) : undefined;
  await new Promise<void>((resolve) => {
    const done = () => {
      watch.stop();
      if (timer) clearTimeout(timer);
      resolve();
    };
    res.on('close', done);
    req.on('close', done);
  });
}
