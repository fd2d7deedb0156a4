// Namespaces as the API server and its namespace controller keep them: the
// built-in ones always exist; a new one is Active with the kubernetes finalizer
// and the kubernetes.io/metadata.name label; deleting one makes it Terminating,
// refuses new pods in it, deletes its pods (gracefully) and events, and removes
// it when nothing is left. Unlike Kubernetes, minipod does not require a pod's
// namespace to exist: `minipod apply` of a manifest in namespace `dev` just works.
import { randomUUID } from 'node:crypto';
import { objectMetaMapErrors } from '../api/labels.js';
import type { FieldError } from '../api/validate.js';
import { type Store, type StoredObject, StoreError, keyOf } from '../store/store.js';
import { isDryRun } from './dryrun.js';
import type { Registry } from './registry.js';
import { ApiError } from './status.js';
import type { RESTStrategy } from './strategy.js';
import { NAMESPACE_TABLE } from './table.js';

export const BUILT_IN_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];
const UNDELETABLE = new Set(['default', 'kube-system', 'kube-public']);

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_LABEL_MSG =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";

/** The namespace strategy (pkg/registry/core/namespace/strategy.go and storage.go). */
export const NAMESPACE_STRATEGY: RESTStrategy<StoredObject> = {
  validate: (ns) => [...namespaceNameErrors(ns.metadata.name ?? ''), ...objectMetaMapErrors(ns.metadata)],
  prepareForCreate: prepareNamespace,
  delete: (registry: Registry, name: string) => terminateNamespace(registry.store, { deletePod: (ns, pod) => registry.delete('pods', ns, pod, {}) }, name),
  ready: ensureBuiltInNamespaces,
  table: NAMESPACE_TABLE,
};

function namespaceNameErrors(name: string): FieldError[] {
  const errs: FieldError[] = [];
  if (name.length > 63) errs.push({ path: 'metadata.name', message: `Invalid value: "${name}": must be no more than 63 characters` });
  if (!DNS1123_LABEL.test(name)) errs.push({ path: 'metadata.name', message: `Invalid value: "${name}": ${DNS1123_LABEL_MSG}` });
  return errs;
}

/** What a new namespace starts with: the metadata.name label, the kubernetes finalizer, Active. */
function prepareNamespace(obj: StoredObject): void {
  const name = obj.metadata.name ?? '';
  obj.metadata.labels = { ...(obj.metadata.labels as Record<string, string> | undefined), 'kubernetes.io/metadata.name': name };
  obj.spec = { finalizers: ['kubernetes'] };
  obj.status = { phase: 'Active' };
}

function namespaceObject(name: string): StoredObject {
  const obj: StoredObject = {
    kind: 'Namespace',
    apiVersion: 'v1',
    metadata: { name, uid: randomUUID(), creationTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z') },
  };
  prepareNamespace(obj);
  return obj;
}

const ensured = new WeakMap<Store, Promise<void>>();

/** Creates the built-in namespaces once per store (another API server may have made them). */
export function ensureBuiltInNamespaces(store: Store): Promise<void> {
  let p = ensured.get(store);
  if (!p) {
    p = (async () => {
      for (const name of BUILT_IN_NAMESPACES) {
        if (await store.get(keyOf('namespaces', '', name))) continue;
        await store.create(keyOf('namespaces', '', name), namespaceObject(name)).catch((err) => {
          if (!(err instanceof StoreError && err.reason === 'AlreadyExists')) throw err;
        });
      }
    })();
    p.catch(() => ensured.delete(store)); // try again on the next request
    ensured.set(store, p);
  }
  return p;
}

/**
 * NamespaceLifecycle admission, on every create of a namespaced object: the
 * namespace must exist (a cluster does not make one up from a manifest), and
 * one being deleted takes no new content.
 */
export async function admitToNamespace(store: Store, resource: string, namespace: string, name: string): Promise<void> {
  let ns = await store.get(keyOf('namespaces', '', namespace));
  if (!ns && (BUILT_IN_NAMESPACES as readonly string[]).includes(namespace)) {
    await ensureBuiltInNamespaces(store); // they always exist, even before the first request made them
    ns = await store.get(keyOf('namespaces', '', namespace));
  }
  if (!ns) throw new ApiError(404, 'NotFound', `namespaces "${namespace}" not found`, { name: namespace, kind: 'namespaces' });
  if ((ns.status as { phase?: string } | undefined)?.phase === 'Terminating') {
    throw new ApiError(403, 'Forbidden', `${resource} "${name}" is forbidden: unable to create new content in namespace ${namespace} because it is being terminated`, {
      name,
      kind: resource,
      causes: [{ reason: 'NamespaceTerminating', message: `namespace ${namespace} is being terminated`, field: 'metadata.namespace' }],
    });
  }
}

export interface ContentDeleter {
  /** Deletes a pod as a client would (graceful, through the registry). */
  deletePod(namespace: string, name: string): Promise<unknown>;
}

const FINALIZE_POLL_MS = 250;

/**
 * DELETE of a namespace: it turns Terminating at once; its content is deleted in
 * the background and the namespace itself goes when no pod is left in it.
 */
export async function terminateNamespace(store: Store, deleter: ContentDeleter, name: string): Promise<StoredObject> {
  if (UNDELETABLE.has(name)) {
    throw new ApiError(403, 'Forbidden', `namespaces "${name}" is forbidden: this namespace may not be deleted`, { name, kind: 'namespaces' });
  }
  const key = keyOf('namespaces', '', name);
  const ns = await store.get(key);
  if (!ns) throw new ApiError(404, 'NotFound', `namespaces "${name}" not found`, { name, kind: 'namespaces' });
  if ((ns.status as { phase?: string } | undefined)?.phase === 'Terminating') return ns;
  const terminating = structuredClone(ns);
  terminating.metadata.deletionTimestamp = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  terminating.metadata.deletionGracePeriodSeconds = 0;
  terminating.status = { phase: 'Terminating' };
  const written = await store.update(key, terminating, ns.metadata.resourceVersion);
  if (!isDryRun(store)) void finalize(store, deleter, name);
  return written;
}

async function finalize(store: Store, deleter: ContentDeleter, name: string): Promise<void> {
  for (;;) {
    try {
      const pods = (await store.list('pods', name)).items;
      for (const p of pods) {
        if (!p.metadata.deletionTimestamp) await deleter.deletePod(name, p.metadata.name!).catch(() => {});
      }
      if (!pods.length) {
        for (const e of (await store.list('events', name)).items) await store.delete(keyOf('events', name, e.metadata.name!)).catch(() => {});
        await store.delete(keyOf('namespaces', '', name)).catch(() => {});
        return;
      }
    } catch {
      // the store is busy or gone: try again below
    }
    await new Promise((r) => setTimeout(r, FINALIZE_POLL_MS).unref());
    if (!(await store.get(keyOf('namespaces', '', name)).catch(() => undefined))) return;
  }
}
