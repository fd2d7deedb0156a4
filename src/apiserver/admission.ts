// Admission: what a pod may ask of the node, decided by the daemon's owner.
// Privileged containers, added capabilities and hostPath volumes outside the
// allowed prefixes are refused unless the daemon was started with
// --allow-privileged / --allow-host-path PREFIX.
import { resolve, sep } from 'node:path';
import type { Pod } from '../api/types.js';
import { ApiError } from './status.js';

export interface AdmissionPolicy {
  allowPrivileged: boolean;
  allowHostPaths: string[]; // absolute prefixes
}

export const DEFAULT_ADMISSION: AdmissionPolicy = { allowPrivileged: false, allowHostPaths: [] };

/** True when `path` is `prefix` or lies below it (no `..` escapes: both are resolved). */
export function underPrefix(path: string, prefix: string): boolean {
  const p = resolve(path);
  const base = resolve(prefix);
  return p === base || p.startsWith(base.endsWith(sep) ? base : base + sep);
}

export function admitPod(pod: Pod, policy: AdmissionPolicy): void {
  const problems: string[] = [];
  const containers = [...(pod.spec.initContainers ?? []).map((c) => ['initContainers', c] as const), ...pod.spec.containers.map((c) => ['containers', c] as const)];
  for (const [field, c] of containers) {
    if (c.securityContext?.privileged && !policy.allowPrivileged) {
      problems.push(`${field} "${c.name}": privileged containers are not allowed (start the daemon with --allow-privileged)`);
    }
    if (c.securityContext?.capabilities?.add?.length && !policy.allowPrivileged) {
      problems.push(`${field} "${c.name}": adding capabilities (${c.securityContext.capabilities.add.join(', ')}) is not allowed (start the daemon with --allow-privileged)`);
    }
  }
  for (const v of pod.spec.volumes ?? []) {
    if (v.hostPath && !policy.allowHostPaths.some((prefix) => underPrefix(v.hostPath!.path, prefix))) {
      const allowed = policy.allowHostPaths.length ? `allowed: ${policy.allowHostPaths.join(', ')}` : 'none allowed';
      problems.push(`volume "${v.name}": hostPath ${JSON.stringify(v.hostPath.path)} is not allowed (${allowed}; start the daemon with --allow-host-path PREFIX)`);
    }
  }
  if (problems.length) {
    throw new ApiError(403, 'Forbidden', `pods "${pod.metadata.name}" is forbidden: ${problems.join('; ')}`, { name: pod.metadata.name, kind: 'pods' });
  }
}
