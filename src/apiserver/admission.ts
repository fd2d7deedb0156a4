// Admission of pods and namespaces, after validation and before the store:
// Pod Security Admission (the namespace's pod-security.kubernetes.io labels over
// the daemon's --pod-security default), then the daemon's own hostPath
// allow-list (--allow-host-path PREFIX), which holds in every namespace, even
// a privileged one: the node is the user's own machine.
import { realpathSync } from 'node:fs';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { type ServedResource, resourceType } from '../api/api-resources.js';
import type { Pod } from '../api/types.js';
import { type Store, type StoredObject, keyOf } from '../store/store.js';
import { admitToNamespace } from './namespaces.js';
import { type PodView, decideNamespaceUpdate, decidePod, isSignificantPodUpdate, namespaceCreateErrors, warnExistingPods } from './pod-security/admission.js';
import { ENFORCE_POLICY_KEY, type Level, defaultPolicy, policyFromLabels } from './pod-security/levels.js';
import { ApiError, invalid } from './status.js';

/** One admission finding for the daemon log (upstream puts these in the audit log). */
export interface AuditRecord {
  namespace: string;
  pod: string;
  operation: 'create' | 'update';
  annotations: Record<string, string>;
}

export interface AdmissionPolicy {
  /** Pod Security level for namespaces without labels: enforce, audit and warn alike. */
  podSecurity: Level;
  /** hostPath volumes only under these absolute prefixes. */
  allowHostPaths: string[];
  /** Receives audit-mode violations (and bad labels), for the daemon log. */
  audit?: (record: AuditRecord) => void;
}

export const DEFAULT_ADMISSION: AdmissionPolicy = { podSecurity: 'baseline', allowHostPaths: [] };

/** A write as admission sees it (upstream's admission.Attributes), after validation and defaulting. */
export interface AdmissionRequest {
  resource: ServedResource;
  operation: 'create' | 'update';
  object: StoredObject;
  old?: StoredObject;
}

/**
 * The admission chain. As upstream's plugins do, each acts on the resources it
 * is about: NamespaceLifecycle and Pod Security (with the hostPath allow-list)
 * on pods, Pod Security's label checks on namespaces. Refusals are thrown.
 */
export async function admit(store: Store, policy: AdmissionPolicy, a: AdmissionRequest, warnings: string[]): Promise<void> {
  const { name = '', namespace = '' } = a.object.metadata;
  if (a.operation === 'create' && resourceType(a.resource).namespaced) await admitToNamespace(store, a.resource, namespace, name);
  switch (a.resource) {
    case 'pods':
      // Validated and defaulted by the pod strategy: the objects are pods.
      return admitPod(store, a.object as unknown as Pod, a.old as unknown as Pod | undefined, policy, warnings);
    case 'namespaces':
      return admitNamespace(store, a.object, a.old, policy, warnings);
  }
}

/** True when `path` is `prefix` or lies below it (no `..` escapes: both are resolved). */
export function underPrefix(path: string, prefix: string): boolean {
  const p = resolve(path);
  const base = resolve(prefix);
  return p === base || p.startsWith(base.endsWith(sep) ? base : base + sep);
}

/**
 * The path with the symlinks of its existing part resolved (the rest cannot be
 * a link yet), so that a link under an allowed prefix cannot point out of it.
 * Undefined when the path cannot be looked at (no permission, a link loop).
 * Resolved on the API server's machine, which runs the kubelet that mounts it.
 */
export function realPath(path: string): string | undefined {
  let head = resolve(path);
  const rest: string[] = [];
  for (;;) {
    try {
      return join(realpathSync(head), ...rest);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') return undefined;
      const parent = dirname(head);
      if (parent === head) return undefined;
      rest.unshift(basename(head));
      head = parent;
    }
  }
}

/** Whether a hostPath volume's real path lies under one of the allowed prefixes' real paths. */
export function hostPathAllowed(path: string, prefixes: string[]): boolean {
  const real = realPath(path);
  return real !== undefined && prefixes.some((prefix) => underPrefix(real, realPath(prefix) ?? resolve(prefix)));
}

function forbidden(name: string, message: string): ApiError {
  return new ApiError(403, 'Forbidden', `pods "${name}" is forbidden: ${message}`, { name, kind: 'pods' });
}

async function namespaceLabels(store: Store, namespace: string): Promise<Record<string, string> | undefined> {
  // A pod's namespace need not exist in minipod: then it has no labels, and the defaults hold.
  const ns = await store.get(keyOf('namespaces', '', namespace));
  return ns?.metadata.labels as Record<string, string> | undefined;
}

/**
 * Admits a pod being created (`old` undefined) or updated. Warnings go to
 * `warnings` (the response's Warning headers); a refusal is thrown as 403.
 */
export async function admitPod(store: Store, pod: Pod, old: Pod | undefined, policy: AdmissionPolicy, warnings: string[]): Promise<void> {
  const name = pod.metadata.name ?? '';
  const view: PodView = pod;
  if (!old || isSignificantPodUpdate(view, old)) {
    const namespace = pod.metadata.namespace ?? 'default';
    const { policy: nsPolicy, errors } = policyFromLabels(await namespaceLabels(store, namespace), defaultPolicy(policy.podSecurity));
    const decision = decidePod(nsPolicy, errors, view);
    if (policy.audit && Object.keys(decision.audit).some((k) => k !== ENFORCE_POLICY_KEY)) {
      policy.audit({ namespace, pod: name, operation: old ? 'update' : 'create', annotations: decision.audit });
    }
    if (decision.forbidden) throw forbidden(name, decision.forbidden);
    warnings.push(...decision.warnings);
  }
  // Volumes cannot change on update: the allow-list is a create-time check.
  if (old) return;
  for (const v of pod.spec.volumes ?? []) {
    if (v.hostPath && !hostPathAllowed(v.hostPath.path, policy.allowHostPaths)) {
      const allowed = policy.allowHostPaths.length ? `allowed: ${policy.allowHostPaths.join(', ')}` : 'none allowed';
      throw forbidden(name, `volume "${v.name}": hostPath ${JSON.stringify(v.hostPath.path)} is not allowed (${allowed}; start the daemon with --allow-host-path PREFIX)`);
    }
  }
}

/** A namespace being created or updated: valid PSA labels; a stricter enforce level warns about pods already there. */
export async function admitNamespace(store: Store, ns: StoredObject, old: StoredObject | undefined, policy: AdmissionPolicy, warnings: string[]): Promise<void> {
  const defaults = defaultPolicy(policy.podSecurity);
  const name = ns.metadata.name ?? '';
  const labels = ns.metadata.labels as Record<string, string> | undefined;
  if (!old) {
    const errors = namespaceCreateErrors(labels, defaults);
    if (errors.length) throw invalid('Namespace', name, errors);
    return;
  }
  const decision = decideNamespaceUpdate(old.metadata.labels as Record<string, string> | undefined, labels, defaults);
  if (decision.errors.length) throw invalid('Namespace', name, decision.errors);
  if (!decision.checkPods) return;
  const pods = (await store.list('pods', name)).items as unknown as PodView[];
  warnings.push(...warnExistingPods(name, decision.enforce, pods));
}
