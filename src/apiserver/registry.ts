// What the API server does to objects before and after the store: defaulting,
// validation, immutable-field checks, graceful deletion and binding
// (pkg/registry/core/pod/strategy.go and storage.go in Kubernetes).
import { randomBytes, randomUUID } from 'node:crypto';
import { applyPodDefaults } from '../api/defaults.js';
import type { Binding, Event, Node, Pod } from '../api/types.js';
import { dropNulls, setOwn, validatePod } from '../api/validate.js';
import { objectMetaMapErrors } from '../api/labels.js';
import { admitToNamespace, prepareNamespace, terminateNamespace } from './namespaces.js';
import { type Resource, type Store, type StoredObject, StoreError, keyOf } from '../store/store.js';
import { type AdmissionPolicy, DEFAULT_ADMISSION, admitNamespace, admitPod } from './admission.js';
import { ApiError, alreadyExists, badRequest, clip, conflict, invalid, notFound } from './status.js';

const KIND: Record<Resource, string> = { pods: 'Pod', nodes: 'Node', events: 'Event', leases: 'Lease', namespaces: 'Namespace' };
const NAMESPACED: Record<Resource, boolean> = { pods: true, nodes: false, events: true, leases: true, namespaces: false };

export interface DeleteOptions {
  gracePeriodSeconds?: number;
  preconditions?: { uid?: string; resourceVersion?: string };
}

export class Registry {
  constructor(
    readonly store: Store,
    readonly admission: AdmissionPolicy = DEFAULT_ADMISSION,
  ) {}

  isNamespaced(resource: Resource): boolean {
    return NAMESPACED[resource];
  }

  async get(resource: Resource, namespace: string, name: string): Promise<StoredObject> {
    const obj = await this.store.get(keyOf(resource, namespace, name));
    if (!obj) throw notFound(resource, name);
    return obj;
  }

  /** `warnings` collects what admission has to say (the response's Warning headers). */
  async create(resource: Resource, namespace: string, body: unknown, dryRun = false, warnings: string[] = []): Promise<StoredObject> {
    const obj = this.prepareCreate(resource, namespace, body);
    await admitToNamespace(this.store, resource, namespace, obj.metadata.name as string);
    if (resource === 'pods') await admitPod(this.store, obj as unknown as Pod, undefined, this.admission, warnings);
    if (resource === 'namespaces') await admitNamespace(this.store, obj, undefined, this.admission, warnings);
    if (dryRun) return obj;
    try {
      return await this.store.create(keyOf(resource, namespace, obj.metadata.name as string), obj);
    } catch (err) {
      throw translate(err, resource, obj.metadata.name as string);
    }
  }

  /** PUT of the main resource: metadata and (for pods) only mutable spec fields. */
  async update(resource: Resource, namespace: string, name: string, body: unknown, warnings: string[] = []): Promise<StoredObject> {
    const next = withObjectMeta(KIND[resource], asObject(dropNulls(body)));
    const old = await this.get(resource, namespace, name);
    if (typeof next.metadata?.name === 'string' && next.metadata.name && next.metadata.name !== name) {
      throw badRequest(`the name of the object (${clip(next.metadata.name)}) does not match the name on the URL (${name})`);
    }
    const merged = { ...old, ...next, metadata: keepSystemMeta(old.metadata, next.metadata ?? {}) } as StoredObject;
    if (resource === 'pods') {
      const pod = merged as unknown as Pod;
      // Validated before the defaults, which take the shape for granted (as on create).
      const errs = validatePod(stripStatus(pod));
      if (errs.length) throw invalid('Pod', name, errs);
      pod.spec.nodeName ??= (old as unknown as Pod).spec.nodeName; // set by the binding, not by clients
      applyPodDefaults(pod);
      checkPodSpecUpdate(old as unknown as Pod, pod);
      await admitPod(this.store, pod, old as unknown as Pod, this.admission, warnings);
      pod.status = (old as unknown as Pod).status; // status changes only through /status
    } else {
      // Pods get this from validatePod; nodes and events (`minipod label node`) here.
      const errs = objectMetaMapErrors(merged.metadata);
      if (errs.length) throw invalid(KIND[resource], name, errs);
      if (resource === 'namespaces') await admitNamespace(this.store, merged, old, this.admission, warnings);
    }
    return this.write(resource, namespace, name, merged, next.metadata?.resourceVersion);
  }

  async updateStatus(resource: Resource, namespace: string, name: string, body: unknown): Promise<StoredObject> {
    const next = withObjectMeta(KIND[resource], asObject(body));
    const old = await this.get(resource, namespace, name);
    if (typeof next.metadata?.name === 'string' && next.metadata.name && next.metadata.name !== name) {
      throw badRequest(`the name of the object (${clip(next.metadata.name)}) does not match the name on the URL (${name})`);
    }
    const status: unknown = next.status;
    if (status !== undefined && status !== null && (typeof status !== 'object' || Array.isArray(status))) {
      throw invalid(KIND[resource], name, [{ path: 'status', message: 'must be object' }]);
    }
    const merged = { ...old, status: next.status } as StoredObject;
    return this.write(resource, namespace, name, merged, next.metadata?.resourceVersion);
  }

  /** JSON merge patch (RFC 7386); kubectl's strategic merge patch is the same for metadata maps. */
  async patch(resource: Resource, namespace: string, name: string, patch: unknown, status = false, warnings: string[] = []): Promise<StoredObject> {
    const old = await this.get(resource, namespace, name);
    const next = withObjectMeta(KIND[resource], asObject(mergePatch(structuredClone(old), patch)));
    next.metadata.resourceVersion = (asObject(patch).metadata?.resourceVersion as string | undefined) ?? old.metadata.resourceVersion;
    return status ? this.updateStatus(resource, namespace, name, next) : this.update(resource, namespace, name, next, warnings);
  }

  /**
   * Graceful deletion: a bound, running pod gets deletionTimestamp and its grace
   * period and stays until its kubelet has stopped it; anything else goes at once.
   */
  async delete(resource: Resource, namespace: string, name: string, opts: DeleteOptions): Promise<StoredObject> {
    if (resource === 'namespaces') return terminateNamespace(this.store, { deletePod: (ns, pod) => this.delete('pods', ns, pod, {}) }, name);
    const old = await this.get(resource, namespace, name);
    const pre = opts.preconditions ?? {};
    if (pre.uid && pre.uid !== old.metadata.uid) {
      throw conflict(resource, name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${old.metadata.uid}`);
    }
    if (resource === 'pods') {
      const pod = old as unknown as Pod;
      let grace = opts.gracePeriodSeconds ?? pod.spec.terminationGracePeriodSeconds ?? 30;
      if (grace < 0) grace = 1;
      const phase = pod.status?.phase;
      if (!pod.spec.nodeName || phase === 'Succeeded' || phase === 'Failed') grace = 0;
      const current = pod.metadata.deletionGracePeriodSeconds;
      if (grace > 0 && (current === undefined || grace < current)) {
        const graceful = structuredClone(old);
        graceful.metadata.deletionTimestamp = new Date(Date.now() + grace * 1000).toISOString();
        graceful.metadata.deletionGracePeriodSeconds = grace;
        return this.write(resource, namespace, name, graceful, pre.resourceVersion ?? old.metadata.resourceVersion as string);
      }
      if (grace > 0) return old; // already terminating with a shorter grace period
    }
    try {
      return await this.store.delete(keyOf(resource, namespace, name), pre.resourceVersion);
    } catch (err) {
      throw translate(err, resource, name);
    }
  }

  /** POST pods/{name}/binding: the scheduler's decision, written once. */
  async bind(namespace: string, name: string, body: unknown): Promise<void> {
    const binding = asObject(body) as unknown as Binding;
    const node = binding.target?.name;
    if (!node) throw invalid('Binding', name, [{ path: 'target.name', message: 'Required value' }]);
    const pod = (await this.get('pods', namespace, name)) as unknown as Pod;
    if (pod.spec.nodeName) {
      throw conflict('pods', name, `Operation cannot be fulfilled on pods/binding "${name}": pod ${name} is already assigned to node "${pod.spec.nodeName}"`);
    }
    if (pod.metadata.deletionTimestamp) {
      throw conflict('pods', name, `Operation cannot be fulfilled on pods/binding "${name}": pod ${name} is being deleted, cannot be assigned to a host`);
    }
    pod.spec.nodeName = node;
    const conditions = (pod.status?.conditions ?? []).filter((c) => c.type !== 'PodScheduled');
    conditions.push({ type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: new Date().toISOString() });
    pod.status = { ...pod.status, conditions };
    await this.write('pods', namespace, name, pod as unknown as StoredObject, pod.metadata.resourceVersion);
  }

  private async write(resource: Resource, namespace: string, name: string, obj: StoredObject, rv?: string) {
    try {
      return await this.store.update(keyOf(resource, namespace, name), obj, rv || undefined);
    } catch (err) {
      throw translate(err, resource, name);
    }
  }

  private prepareCreate(resource: Resource, namespace: string, body: unknown): StoredObject {
    const obj = withObjectMeta(KIND[resource], asObject(dropNulls(body))); // null means absent, as in Kubernetes (e.g. creationTimestamp: null)
    const meta = (obj.metadata ??= {});
    if (NAMESPACED[resource]) {
      if (meta.namespace && meta.namespace !== namespace) {
        throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
      }
      meta.namespace = namespace;
    } else {
      delete meta.namespace;
    }
    if (!meta.name && typeof meta.generateName === 'string') meta.name = meta.generateName + randomSuffix();
    if (!meta.name && resource === 'events') meta.name = `event.${randomSuffix()}${randomSuffix()}`;
    if (!meta.name) throw invalid(KIND[resource], '', [{ path: 'metadata.name', message: 'Required value: name or generateName is required' }]);
    if (typeof meta.name !== 'string') throw invalid(KIND[resource], '', [{ path: 'metadata.name', message: 'must be string' }]);
    obj.kind ??= KIND[resource];
    obj.apiVersion ??= 'v1';
    if (resource === 'pods') {
      const { status: _ignored, ...rest } = obj as unknown as Pod;
      const errs = validatePod(rest);
      if (errs.length) throw invalid('Pod', meta.name as string, errs);
      const pod = applyPodDefaults(rest as Pod); // admitted in create(): admission reads the store
      pod.status = { phase: 'Pending' };
      if (pod.spec.nodeName) {
        pod.status.conditions = [{ type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: new Date().toISOString() }];
      }
      Object.assign(obj, pod);
    }
    if (resource === 'events') {
      const ev = obj as unknown as Event;
      ev.firstTimestamp ??= new Date().toISOString();
      ev.lastTimestamp ??= ev.firstTimestamp;
      ev.count ??= 1;
    }
    if (resource === 'nodes') (obj as unknown as Node).spec ??= {};
    if (resource === 'namespaces') prepareNamespace(obj);
    if (resource !== 'pods') {
      const errs = objectMetaMapErrors(meta);
      if (errs.length) throw invalid(KIND[resource], meta.name as string, errs);
    }
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

function stripStatus(pod: Pod): unknown {
  const { status: _s, ...rest } = pod;
  return rest;
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

const MUTABLE_POD_FIELDS =
  '`spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)';

/** Kubernetes allows only images and activeDeadlineSeconds to change in a pod's spec. */
function checkPodSpecUpdate(old: Pod, next: Pod): void {
  const normalize = (spec: Pod['spec']) => {
    const s = structuredClone(spec);
    for (const c of [...s.containers, ...(s.initContainers ?? [])]) c.image = '';
    delete s.activeDeadlineSeconds;
    return JSON.stringify(sortKeys(s));
  };
  if (normalize(old.spec) !== normalize(next.spec)) {
    throw new ApiError(
      422,
      'Invalid',
      `Pod "${old.metadata.name}" is invalid: spec: Forbidden: pod updates may not change fields other than ${MUTABLE_POD_FIELDS}`,
      { name: old.metadata.name, kind: 'Pod', causes: [{ reason: 'FieldValueForbidden', message: 'Forbidden: pod updates may not change fields other than ' + MUTABLE_POD_FIELDS, field: 'spec' }] },
    );
  }
}

export function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') {
    return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]));
  }
  return v;
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

function translate(err: unknown, resource: Resource, name: string): unknown {
  if (!(err instanceof StoreError)) return err;
  switch (err.reason) {
    case 'NotFound':
      return notFound(resource, name);
    case 'AlreadyExists':
      return alreadyExists(resource, name);
    case 'Conflict':
      return conflict(resource, name, err.message);
    case 'Gone':
      return new ApiError(410, 'Expired', err.message);
  }
}

function randomSuffix(): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  return Array.from(randomBytes(5), (b) => alphabet[b % alphabet.length]).join('');
}
