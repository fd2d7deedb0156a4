// kubectl's pod columns (pkg/printers/internalversion/printers.go printPod) and
// apimachinery's HumanDuration, shared by the CLI and the API server's Table output.
import type { Pod } from './types.js';

/** duration.HumanDuration: "45s", "3m20s", "25m", "5h3m", "30h", "3d4h", "400d", "2y10d". */
export function humanDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return s % 60 === 0 ? `${m}m` : `${m}m${s % 60}s`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 8) return m % 60 === 0 ? `${h}h` : `${h}h${m % 60}m`;
  if (h < 48) return `${h}h`;
  const d = Math.floor(h / 24);
  if (h < 24 * 8) return h % 24 === 0 ? `${d}d` : `${d}d${h % 24}h`;
  if (d < 365 * 2) return `${d}d`;
  const y = Math.floor(d / 365);
  return d % 365 === 0 ? `${y}y` : `${y}y${d % 365}d`;
}

export function age(timestamp: string | undefined, now = Date.now()): string {
  return timestamp ? humanDuration(now - Date.parse(timestamp)) : '<unknown>';
}

/** The STATUS column. */
export function podStatusReason(pod: Pod): string {
  const status = pod.status ?? {};
  let reason = status.reason || status.phase || 'Pending';
  const init = status.initContainerStatuses ?? [];
  const initSpecs = pod.spec.initContainers ?? [];
  let initializing = false;
  for (let i = 0; i < init.length; i++) {
    const s = init[i];
    const sidecar = initSpecs.find((c) => c.name === s.name)?.restartPolicy === 'Always';
    const t = s.state.terminated;
    if (t && t.exitCode === 0) continue;
    if (sidecar && s.started) continue;
    if (t) {
      reason = t.reason ? `Init:${t.reason}` : t.signal ? `Init:Signal:${t.signal}` : `Init:ExitCode:${t.exitCode}`;
    } else if (s.state.waiting?.reason && s.state.waiting.reason !== 'PodInitializing') {
      reason = `Init:${s.state.waiting.reason}`;
    } else {
      reason = `Init:${i}/${initSpecs.length}`;
    }
    initializing = true;
    break;
  }
  if (!initializing) {
    let hasRunning = false;
    const statuses = status.containerStatuses ?? [];
    for (let i = statuses.length - 1; i >= 0; i--) {
      const s = statuses[i];
      if (s.state.waiting?.reason) reason = s.state.waiting.reason;
      else if (s.state.terminated?.reason) reason = s.state.terminated.reason;
      else if (s.state.terminated) reason = s.state.terminated.signal ? `Signal:${s.state.terminated.signal}` : `ExitCode:${s.state.terminated.exitCode}`;
      else if (s.state.running && s.ready) hasRunning = true;
    }
    if (reason === 'Completed' && hasRunning) {
      const ready = status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
      reason = ready ? 'Running' : 'NotReady';
    }
  }
  if (pod.metadata.deletionTimestamp && status.phase !== 'Succeeded' && status.phase !== 'Failed') {
    reason = status.reason === 'NodeLost' ? 'Unknown' : 'Terminating';
  }
  return reason;
}

export function podReady(pod: Pod): string {
  const statuses = pod.status?.containerStatuses ?? [];
  const ready = statuses.filter((s) => s.ready && s.state.running).length;
  const sidecars = (pod.spec.initContainers ?? []).filter((c) => c.restartPolicy === 'Always');
  const readySidecars = (pod.status?.initContainerStatuses ?? []).filter((s) => sidecars.some((c) => c.name === s.name) && s.ready).length;
  return `${ready + readySidecars}/${pod.spec.containers.length + sidecars.length}`;
}

export function podRestarts(pod: Pod, now = Date.now()): string {
  const all = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
  const count = all.reduce((n, s) => n + s.restartCount, 0);
  const last = all
    .map((s) => s.lastState.terminated?.finishedAt)
    .filter((t): t is string => !!t)
    .sort()
    .at(-1);
  return count > 0 && last ? `${count} (${humanDuration(now - Date.parse(last))} ago)` : String(count);
}

export interface PodRow {
  name: string;
  ready: string;
  status: string;
  restarts: string;
  age: string;
  ip: string;
  node: string;
  namespace: string;
}

export function podRow(pod: Pod, now = Date.now()): PodRow {
  return {
    name: pod.metadata.name ?? '',
    ready: podReady(pod),
    status: podStatusReason(pod),
    restarts: podRestarts(pod, now),
    age: age(pod.metadata.creationTimestamp, now),
    ip: pod.status?.podIP ?? '<none>',
    node: pod.spec.nodeName ?? '<none>',
    namespace: pod.metadata.namespace ?? 'default',
  };
}
