// Pods as the API server treats them (pkg/registry/core/pod/strategy.go and
// storage.go): validated before they are defaulted, born Pending, changed only
// in the spec fields Kubernetes lets change, deleted gracefully while a
// kubelet runs them, and bound to a node once.
import { podQOSClass } from '../api/qos.js';
import { DEFAULT_GRACE_SECONDS, applyPodDefaults } from '../api/defaults.js';
import type { Binding, Pod } from '../api/types.js';
import { validatePod } from '../api/validate.js';
import type { StoredObject } from '../store/store.js';
import type { Registry } from './registry.js';
import { ApiError, conflict, invalid } from './status.js';
import type { RESTStrategy } from './strategy.js';
import { POD_TABLE } from './table.js';

export const POD_STRATEGY: RESTStrategy<Pod> = {
  // Validated before the defaults, which take the shape for granted; status is the server's.
  validate: (pod) => validatePod(withoutStatus(pod)),
  prepareForCreate(pod) {
    applyPodDefaults(pod);
    pod.status = { phase: 'Pending', qosClass: podQOSClass(pod) }; // as the apiserver's PrepareForCreate
    if (pod.spec.nodeName) {
      pod.status.conditions = [{ type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: new Date().toISOString() }];
    }
  },
  prepareForUpdate(pod, old) {
    pod.spec.nodeName ??= old.spec.nodeName; // set by the binding, not by clients
    applyPodDefaults(pod);
    checkPodSpecUpdate(old, pod);
    pod.status = old.status; // status changes only through /status
  },
  // CheckGracefulDelete: a pod that no kubelet runs (unbound, or finished) goes at once.
  gracePeriodSeconds(pod, requested) {
    const grace = requested ?? pod.spec.terminationGracePeriodSeconds ?? DEFAULT_GRACE_SECONDS;
    const phase = pod.status?.phase;
    if (!pod.spec.nodeName || phase === 'Succeeded' || phase === 'Failed') return 0;
    return grace < 0 ? 1 : grace;
  },
  table: POD_TABLE,
};

function withoutStatus(pod: Pod): unknown {
  const { status: _s, ...rest } = pod;
  return rest;
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

/** POST pods/{name}/binding: the scheduler's decision, written once. */
export async function bindPod(registry: Registry, namespace: string, name: string, body: StoredObject): Promise<void> {
  const node = (body as Partial<Binding>).target?.name;
  if (!node) throw invalid('Binding', name, [{ path: 'target.name', message: 'Required value' }]);
  const pod = (await registry.get('pods', namespace, name)) as unknown as Pod; // the store keeps pods as the strategy made them
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
  await registry.write('pods', namespace, name, pod as unknown as StoredObject, pod.metadata.resourceVersion);
}
