// A pod's QoS class (pkg/apis/core/v1/helper/qos GetPodQOS), which the kubelet
// reports in status.qosClass and kubectl describe prints. Only cpu and memory
// count, over app and init containers alike:
//   BestEffort  no container requests or limits any cpu or memory;
//   Guaranteed  every container has both limits, and the pod's summed requests
//               equal its summed limits, resource by resource;
//   Burstable   anything else.
import { quantityNanos } from './quantity.js';
import type { Container, Pod, PodQOSClass } from './types.js';

const QOS_RESOURCES = ['cpu', 'memory'] as const;

type Sums = Partial<Record<(typeof QOS_RESOURCES)[number], bigint>>;

function positive(list: Record<string, string | number> | undefined, name: string): bigint | undefined {
  const q = list?.[name];
  if (q === undefined) return undefined;
  try {
    const n = quantityNanos(q);
    return n > 0n ? n : undefined; // a zero (or negative) amount counts as none
  } catch {
    return undefined; // validation refuses it; not a resource
  }
}

export function podQOSClass(pod: Pod): PodQOSClass {
  const requests: Sums = {};
  const limits: Sums = {};
  let guaranteed = true;
  const all: Container[] = [...pod.spec.containers, ...(pod.spec.initContainers ?? [])];
  for (const c of all) {
    // The API server defaults each missing request to its limit; the same here for a
    // pod that was never defaulted (a manifest read by the CLI).
    const req = { ...c.resources?.limits, ...c.resources?.requests };
    for (const name of QOS_RESOURCES) {
      const r = positive(req, name);
      if (r !== undefined) requests[name] = (requests[name] ?? 0n) + r;
      const l = positive(c.resources?.limits, name);
      if (l !== undefined) limits[name] = (limits[name] ?? 0n) + l;
      else guaranteed = false;
    }
  }
  const named = (s: Sums) => Object.keys(s) as (keyof Sums)[];
  if (!named(requests).length && !named(limits).length) return 'BestEffort';
  if (guaranteed && named(requests).length === named(limits).length && named(requests).every((k) => requests[k] === limits[k])) return 'Guaranteed';
  return 'Burstable';
}
