// What the API server does to objects before and after the store, the same for
// every kind: object metadata, names, validation, defaulting, admission,
// system fields, graceful deletion (apiserver/pkg/registry/generic/registry).
// What differs between kinds is each one's strategy (strategy.ts).
import { randomUUID } from 'node:crypto';
import { dropNulls, setOwn } from '../api/validate.js';
import { type ServedResource, qualifiedResource, groupVersion, resourceType } from '../api/api-resources.js';
import { type Store, type StoredObject, StoreError, keyOf } from '../store/store.js';
import { type AdmissionPolicy, DEFAULT_ADMISSION, admit } from './admission.js';
import { randomSuffix } from './names.js';
import { bindPod } from './pods.js';
import { ApiError, alreadyExists, badRequest, clip, conflict, invalid, notFound } from './status.js';
import { strategyFor } from './strategy.js';

export { sortKeys } from './pods.js';

export interface DeleteOptions {
  gracePeriodSeconds?: number;
  preconditions?: { uid?: string; resourceVersion?: string };
}

export class Registry {
  constructor(
    readonly store: Store,
    readonly admission: AdmissionPolicy = DEFAULT_ADMISSION,
  ) {}

  /** Waits for what the resource's strategy needs in the store before serving it. */
  async ready(resource: ServedResource): Promise<void> {
    await strategyFor(resource).ready?.(this.store);
  }

  async get(resource: ServedResource, namespace: string, name: string): Promise<StoredObject> {
    const obj = await this.store.get(keyOf(resource, namespace, name));
    if (!obj) throw notFound(qualifiedResource(resourceType(resource)), name);
    return obj;
  }

  /** `warnings` collects what admission has to say (the response's Warning headers). */
  async create(resource: ServedResource, namespace: string, body: unknown, dryRun = false, warnings: string[] = []): Promise<StoredObject> {
    const obj = this.prepareCreate(resource, namespace, body);
    await admit(this.store, this.admission, { resource, operation: 'create', object: obj }, warnings);
    if (dryRun) return obj;
    try {
      return await this.store.create(keyOf(resource, namespace, obj.metadata.name as string), obj);
    } catch (err) {
      throw translate(err, resource, obj.metadata.name as string);
    }
  }

  /** PUT of the main resource: metadata, and what the strategy lets change. */
  async update(resource: ServedResource, namespace: string, name: string, body: unknown, warnings: string[] = []): Promise<StoredObject> {
    const { kind } = resourceType(resource);
    const strategy = strategyFor(resource);
    const next = withObjectMeta(kind, asObject(dropNulls(body)));
    const old = await this.get(resource, namespace, name);
    if (typeof next.metadata?.name === 'string' && next.metadata.name && next.metadata.name !== name) {
      throw badRequest(`the name of the object (${clip(next.metadata.name)}) does not match the name on the URL (${name})`);
    }
    const merged = { ...old, ...next, metadata: keepSystemMeta(old.metadata, next.metadata ?? {}) } as StoredObject;
    const errs = strategy.validate(merged);
    if (errs.length) throw invalid(kind, name, errs);
    strategy.prepareForUpdate?.(merged, old);
    await admit(this.store, this.admission, { resource, operation: 'update', object: merged, old }, warnings);
    return this.write(resource, namespace, name, merged, next.metadata?.resourceVersion);
  }

  async updateStatus(resource: ServedResource, namespace: string, name: string, body: unknown): Promise<StoredObject> {
    const { kind } = resourceType(resource);
    const next = withObjectMeta(kind, asObject(body));
    const old = await this.get(resource, namespace, name);
    if (typeof next.metadata?.name === 'string' && next.metadata.name && next.metadata.name !== name) {
      throw badRequest(`the name of the object (${clip(next.metadata.name)}) does not match the name on the URL (${name})`);
    }
    const status: unknown = next.status;
    if (status !== undefined && status !== null && (typeof status !== 'object' || Array.isArray(status))) {
      throw invalid(kind, name, [{ path: 'status', message: 'must be object' }]);
    }
    const merged = { ...old, status: next.status } as StoredObject;
    return this.write(resource, namespace, name, merged, next.metadata?.resourceVersion);
  }

  /** JSON merge patch (RFC 7386); kubectl's strategic merge patch is the same for metadata maps. */
  async patch(resource: ServedResource, namespace: string, name: string, patch: unknown, status = false, warnings: string[] = []): Promise<StoredObject> {
    const old = await this.get(resource, namespace, name);
    const next = withObjectMeta(resourceType(resource).kind, asObject(mergePatch(structuredClone(old), patch)));
    next.metadata.resourceVersion = (asObject(patch).metadata?.resourceVersion as string | undefined) ?? old.metadata.resourceVersion;
    return status ? this.updateStatus(resource, namespace, name, next) : this.update(resource, namespace, name, next, warnings);
  }

  /**
   * Graceful deletion: an object the strategy gives a grace period gets
   * deletionTimestamp and stays until its owner (a pod's kubelet) removes it;
   * anything else goes at once.
   */
  async delete(resource: ServedResource, namespace: string, name: string, opts: DeleteOptions): Promise<StoredObject> {
    const strategy = strategyFor(resource);
    if (strategy.delete) return strategy.delete(this, name);
    const old = await this.get(resource, namespace, name);
    const pre = opts.preconditions ?? {};
    if (pre.uid && pre.uid !== old.metadata.uid) {
      throw conflict(resource, name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${old.metadata.uid}`);
    }
    const grace = strategy.gracePeriodSeconds?.(old, opts.gracePeriodSeconds) ?? 0;
    if (grace > 0) {
      const current = old.metadata.deletionGracePeriodSeconds as number | undefined;
      if (current !== undefined && grace >= current) return old; // already terminating with a shorter grace period
      const graceful = structuredClone(old);
      graceful.metadata.deletionTimestamp = new Date(Date.now() + grace * 1000).toISOString();
      graceful.metadata.deletionGracePeriodSeconds = grace;
      return this.write(resource, namespace, name, graceful, pre.resourceVersion ?? old.metadata.resourceVersion);
    }
    try {
      return await this.store.delete(keyOf(resource, namespace, name), pre.resourceVersion);
    } catch (err) {
      throw translate(err, resource, name);
    }
  }

  /** POST pods/{name}/binding. */
  async bind(namespace: string, name: string, body: unknown): Promise<void> {
    await bindPod(this, namespace, name, asObject(body));
  }

  /** A store update, failing as the API does (for strategies and subresources too). */
  async write(resource: ServedResource, namespace: string, name: string, obj: StoredObject, rv?: string) {
    try {
      return await this.store.update(keyOf(resource, namespace, name), obj, rv || undefined);
    } catch (err) {
      throw translate(err, resource, name);
    }
  }

  private prepareCreate(resource: ServedResource, namespace: string, body: unknown): StoredObject {
    const type = resourceType(resource);
    const strategy = strategyFor(resource);
    const obj = withObjectMeta(type.kind, asObject(dropNulls(body))); // null means absent, as in Kubernetes (e.g. creationTimestamp: null)
    const meta = (obj.metadata ??= {});
    if (type.namespaced) {
      if (meta.namespace && meta.namespace !== namespace) {
        throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
      }
      meta.namespace = namespace;
    } else {
      delete meta.namespace;
    }
    if (!meta.name && typeof meta.generateName === 'string') meta.name = meta.generateName + randomSuffix();
    if (!meta.name && strategy.defaultName) meta.name = strategy.defaultName();
    if (!meta.name) throw invalid(type.kind, '', [{ path: 'metadata.name', message: 'Required value: name or generateName is required' }]);
    if (typeof meta.name !== 'string') throw invalid(type.kind, '', [{ path: 'metadata.name', message: 'must be string' }]);
    obj.kind ??= type.kind;
    obj.apiVersion ??= groupVersion(type);
    const errs = strategy.validate(obj);
    if (errs.length) throw invalid(type.kind, meta.name, errs);
    strategy.prepareForCreate?.(obj);
    meta.uid = randomUUID();
    meta.creationTimestamp = new Date().toISOString(); // RFC 3339 with milliseconds; Kubernetes clients accept fractions
    delete meta.resourceVersion;
    delete meta.deletionTimestamp;
    delete meta.deletionGracePeriodSeconds;
    return obj;
  }
}

type Loose = StoredObject & { metadata: Record<string, unknown> & StoredObject['metadata'] };

function asObject(body: unknown): Loose {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw badRequest('the request body must be a JSON object');
  return body as Loose;
}

/** The object, refused when its metadata is not an object (everything below reads into it). */
function withObjectMeta(kind: string, obj: Loose): Loose {
  const meta: unknown = obj.metadata;
  if (meta !== undefined && (meta === null || typeof meta !== 'object' || Array.isArray(meta))) throw invalid(kind, '', [{ path: 'metadata', message: 'must be object' }]);
  return obj;
}

/** Fields of ObjectMeta that only the server sets survive any update. */
function keepSystemMeta(old: StoredObject['metadata'], next: Record<string, unknown>) {
  return {
    ...next,
    name: old.name,
    namespace: old.namespace,
    uid: old.uid,
    creationTimestamp: old.creationTimestamp,
    deletionTimestamp: old.deletionTimestamp,
    deletionGracePeriodSeconds: old.deletionGracePeriodSeconds,
    resourceVersion: old.resourceVersion,
  };
}

export function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> = target && typeof target === 'object' && !Array.isArray(target) ? { ...(target as object) } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else setOwn(out, k, mergePatch(Object.hasOwn(out, k) ? out[k] : undefined, v)); // "__proto__" is a key like any other
  }
  return out;
}

function translate(err: unknown, resource: ServedResource, name: string): unknown {
  if (!(err instanceof StoreError)) return err;
  const qualified = qualifiedResource(resourceType(resource));
  switch (err.reason) {
    case 'NotFound':
      return notFound(qualified, name);
    case 'AlreadyExists':
      return alreadyExists(qualified, name);
    case 'Conflict':
      return conflict(qualified, name, err.message);
    case 'Gone':
      return new ApiError(410, 'Expired', err.message);
  }
}
