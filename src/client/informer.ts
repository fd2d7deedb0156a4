// List-then-watch with resume, as client-go's reflector does: list once, watch
// from the list's resourceVersion, re-watch from the last seen version when a
// stream ends, and re-list when the server answers 410 Gone.
import type { KObject, WatchEvent } from '../api/types.js';
import { type ServedResource, resourcePath } from '../api/api-resources.js';
import { ApiStatusError, type Client, ConnectionError, type ListOptions, type WatchHandle } from './client.js';

export interface InformerHandlers<T> {
  /** Called for every object of the initial list (as ADDED) and every later change. */
  onEvent(type: 'ADDED' | 'MODIFIED' | 'DELETED', obj: T): void;
  /** Called after a (re)list with the full current set, so that callers can drop what vanished. */
  onResync?(objects: T[]): void;
  onError?(err: Error): void;
  /** The watch ended and was resumed from the last version ("rewatch") or started again from a new list ("relist"), and why. */
  onRestart?(how: 'rewatch' | 'relist', why: string): void;
}

export class Informer<T extends KObject> {
  private current?: WatchHandle;
  private stopped = false;
  readonly cache = new Map<string, T>();

  constructor(
    private client: Client,
    private resource: ServedResource,
    private namespace: string | undefined,
    private opts: ListOptions,
    private handlers: InformerHandlers<T>,
    private retryMs = 1000,
  ) {}

  /** Resolves once the initial list has been delivered. */
  async start(): Promise<void> {
    const rv = await this.relist();
    void this.loop(rv);
  }

  stop(): void {
    this.stopped = true;
    this.current?.stop();
  }

  private key(o: T): string {
    return `${o.metadata.namespace ?? ''}/${o.metadata.name}`;
  }

  private async relist(): Promise<string> {
    const list = (await this.client.request<{ items: T[]; metadata: { resourceVersion: string } }>(
      'GET',
      `${resourcePath(this.resource)}?${new URLSearchParams(Object.entries(this.opts).filter(([, v]) => v) as [string, string][])}`,
    ));
    const items = this.namespace === undefined ? list.items : list.items.filter((o) => o.metadata.namespace === this.namespace);
    const seen = new Set(items.map((o) => this.key(o)));
    for (const [k, old] of this.cache) {
      if (!seen.has(k)) {
        this.cache.delete(k);
        this.handlers.onEvent('DELETED', old);
      }
    }
    for (const o of items) {
      const had = this.cache.has(this.key(o));
      this.cache.set(this.key(o), o);
      this.handlers.onEvent(had ? 'MODIFIED' : 'ADDED', o);
    }
    this.handlers.onResync?.(items);
    return list.metadata.resourceVersion;
  }

  private async loop(rv: string): Promise<void> {
    while (!this.stopped) {
      try {
        let gone = false;
        this.current = this.client.watch<T>(this.resource, this.namespace, { ...this.opts, resourceVersion: rv }, (e: WatchEvent<T>) => {
          if (e.type === 'ERROR') {
            gone = (e.object as unknown as { code?: number }).code === 410;
            return;
          }
          if (e.type === 'BOOKMARK') {
            rv = e.object.metadata.resourceVersion ?? rv;
            return;
          }
          rv = e.object.metadata.resourceVersion ?? rv;
          if (e.type === 'DELETED') this.cache.delete(this.key(e.object));
          else this.cache.set(this.key(e.object), e.object);
          this.handlers.onEvent(e.type, e.object);
        });
        await this.current.done;
        if (this.stopped) return;
        if (gone) {
          this.handlers.onRestart?.('relist', 'resourceVersion too old (410 Gone)');
          rv = await this.relist();
        } else this.handlers.onRestart?.('rewatch', 'the watch stream ended');
      } catch (err) {
        if (this.stopped) return;
        if (err instanceof ApiStatusError && err.code === 410) {
          this.handlers.onRestart?.('relist', 'resourceVersion too old (410 Gone)');
          rv = await this.relist().catch(() => rv);
          continue;
        }
        if (!(err instanceof ConnectionError)) this.handlers.onError?.(err as Error);
        await new Promise((r) => setTimeout(r, this.retryMs));
        if (this.stopped) return;
        this.handlers.onRestart?.('relist', (err as Error).message);
        rv = await this.relist().catch(() => rv);
      }
    }
  }
}
