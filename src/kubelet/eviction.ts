// Local-storage eviction of an emptyDir that outgrows its sizeLimit, as the
// kubelet's eviction manager does it: usage is measured like du (allocated
// blocks, symlinks never followed), checked on a period, and a pod over a limit
// is evicted at once (grace 0) with reason Evicted and upstream's message.
import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Pod } from '../api/types.js';
import { parseQuantity } from '../api/quantity.js';

export const EVICTED = 'Evicted';
/** How often the kubelet looks (upstream's evictionMonitoringPeriod); the environment may shorten it for tests. */
export const monitoringPeriodMs = () => Number(process.env.MINIPOD_EVICTION_MONITORING_PERIOD_MS) || 10_000;

/** Bytes allocated under `dir` (du's count), walking without following links. */
export function diskUsageBytes(dir: string): number {
  let total = 0;
  const stack = [dir];
  while (stack.length) {
    const path = stack.pop()!;
    let st;
    try {
      st = lstatSync(path);
    } catch {
      continue; // removed while we walked
    }
    total += st.blocks * 512;
    if (!st.isDirectory()) continue;
    let names: string[];
    try {
      names = readdirSync(path);
    } catch {
      continue;
    }
    for (const n of names) stack.push(join(path, n));
  }
  return total;
}

/** The eviction message when one of the pod's emptyDirs is over its sizeLimit, else undefined. */
export function emptyDirOverLimit(pod: Pod, volumeDirs: Map<string, string>, usage = diskUsageBytes): string | undefined {
  for (const v of pod.spec.volumes ?? []) {
    const limit = v.emptyDir?.sizeLimit;
    const dir = volumeDirs.get(v.name);
    if (limit === undefined || !dir) continue;
    const bytes = parseQuantity(limit);
    if (bytes > 0 && usage(dir) > bytes) return `Usage of EmptyDir volume ${JSON.stringify(v.name)} exceeds the limit ${JSON.stringify(String(limit))}. `;
  }
  return undefined;
}
