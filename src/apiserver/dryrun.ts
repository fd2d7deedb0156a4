// `?dryRun=All` on PUT, PATCH and DELETE (kubectl --dry-run=server, label and
// annotate with --dry-run=server): the request goes through the registry as
// usual (defaults, validation, preconditions) over a store view that checks
// what a write would check but keeps nothing.
import { type ObjectKey, type Store, type StoredObject, StoreError } from '../store/store.js';

export const DRY_RUN = Symbol('dryRun');

export function isDryRun(store: Store): boolean {
  return (store as unknown as Record<symbol, boolean>)[DRY_RUN] === true;
}

export function dryRunStore(store: Store): Store {
  const current = async (key: ObjectKey, expectedRV?: string): Promise<StoredObject> => {
    const obj = await store.get(key);
    if (!obj) throw new StoreError('NotFound', `${key.resource} "${key.name}" not found`);
    if (expectedRV && obj.metadata.resourceVersion !== expectedRV) {
      throw new StoreError(
        'Conflict',
        `Operation cannot be fulfilled on ${key.resource} "${key.name}": the object has been modified; please apply your changes to the latest version and try again`,
      );
    }
    return obj;
  };
  const view: Partial<Store> & { [DRY_RUN]: true } = {
    [DRY_RUN]: true,
    async create(key, obj) {
      if (await store.get(key)) throw new StoreError('AlreadyExists', `${key.resource} "${key.name}" already exists`);
      return obj;
    },
    async update(key, obj, expectedRV) {
      const old = await current(key, expectedRV);
      return { ...obj, metadata: { ...obj.metadata, resourceVersion: old.metadata.resourceVersion } };
    },
    async delete(key, expectedRV) {
      return current(key, expectedRV);
    },
  };
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop in view) return (view as Record<string | symbol, unknown>)[prop];
      const v = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}
