// The scheduler: a controller over watches of pods and nodes. For each unbound
// pod it filters the nodes (Ready, nodeSelector, requests that fit), scores them
// (least requested), binds the pod through the API, and records Scheduled or
// FailedScheduling. A pod that fits nowhere is tried again when nodes change.
import type { Logger } from 'pino';
import { parseQuantity } from '../api/quantity.js';
import type { Node, Pod } from '../api/types.js';
import { ApiStatusError, type Client, resourcePath } from '../client/client.js';
import { Informer } from '../client/informer.js';
import { EventRecorder } from '../client/recorder.js';

const RETRY_MS = 5_000;

interface Fit {
  node: Node;
  score: number;
}

export class Scheduler {
  private pods: Informer<Pod>;
  private nodes: Informer<Node>;
  private queue = new Set<string>(); // keys of pods to schedule
  private busy = false;
  private recorder: EventRecorder;
  private log: Logger;
  private retryTimer?: NodeJS.Timeout;
  private lastFailure = new Map<string, string>();

  constructor(
    private client: Client,
    logger: Logger,
  ) {
    this.log = logger.child({ component: 'scheduler' });
    this.recorder = new EventRecorder(client, 'default-scheduler', undefined, this.log);
    this.pods = new Informer<Pod>(client, 'pods', undefined, {}, {
      onEvent: (type, pod) => {
        if (type !== 'DELETED' && needsScheduling(pod)) this.enqueue(pod);
      },
    });
    this.nodes = new Informer<Node>(client, 'nodes', undefined, {}, {
      // A new node or changed labels may make room for pending pods.
      onEvent: (type, _node) => {
        if (type === 'ADDED' || type === 'MODIFIED') this.requeuePending();
      },
    });
  }

  async start(): Promise<void> {
    await this.nodes.start();
    await this.pods.start();
    this.retryTimer = setInterval(() => this.requeuePending(), RETRY_MS);
    this.retryTimer.unref();
  }

  stop(): void {
    this.pods.stop();
    this.nodes.stop();
    if (this.retryTimer) clearInterval(this.retryTimer);
  }

  private enqueue(pod: Pod): void {
    this.queue.add(`${pod.metadata.namespace}/${pod.metadata.name}`);
    if (!this.busy) void this.drain();
  }

  private requeuePending(): void {
    for (const pod of this.pods.cache.values()) if (needsScheduling(pod)) this.enqueue(pod);
  }

  private async drain(): Promise<void> {
    this.busy = true;
    while (this.queue.size) {
      const key = this.queue.values().next().value!;
      this.queue.delete(key);
      const pod = this.pods.cache.get(key);
      if (!pod || !needsScheduling(pod)) continue;
      try {
        await this.schedule(pod);
      } catch (err) {
        this.log.warn({ err, pod: key }, 'scheduling failed');
      }
    }
    this.busy = false;
  }

  private async schedule(pod: Pod): Promise<void> {
    const nodes = [...this.nodes.cache.values()];
    const { fits, reasons } = this.filter(pod, nodes);
    const key = `${pod.metadata.namespace}/${pod.metadata.name}`;
    if (!fits.length) {
      // schedule_one.go: with no node at all, ErrNoNodesAvailable; otherwise the FitError histogram.
      const message = nodes.length ? `0/${nodes.length} nodes are available: ${summarize(reasons)}.` : 'no nodes available to schedule pods';
      if (this.lastFailure.get(key) !== message) {
        this.lastFailure.set(key, message);
        this.recorder.event(pod, 'Warning', 'FailedScheduling', message);
        await this.markUnschedulable(pod, message);
      }
      return;
    }
    fits.sort((a, b) => b.score - a.score || a.node.metadata.name!.localeCompare(b.node.metadata.name!));
    const node = fits[0].node.metadata.name!;
    try {
      await this.client.bindPod(pod.metadata.namespace!, pod.metadata.name!, node);
    } catch (err) {
      if (err instanceof ApiStatusError && (err.code === 409 || err.code === 404)) return; // bound or gone meanwhile
      throw err;
    }
    this.lastFailure.delete(key);
    // Reflect the binding in the cache at once so the next pod sees the node's load.
    this.pods.cache.set(key, { ...pod, spec: { ...pod.spec, nodeName: node } });
    this.recorder.event(pod, 'Normal', 'Scheduled', `Successfully assigned ${pod.metadata.namespace}/${pod.metadata.name} to ${node}`);
  }

  /**
   * The default plugins' Filter, in their order (NodeUnschedulable,
   * TaintToleration for the not-ready/unreachable taints, NodeAffinity for
   * nodeSelector, NodePorts, NodeResourcesFit); a node stops at its first
   * failing plugin, and NodeResourcesFit reports every resource that is short.
   */
  filter(pod: Pod, nodes: Node[]): { fits: Fit[]; reasons: string[] } {
    const fits: Fit[] = [];
    const reasons: string[] = [];
    const want = podRequests(pod);
    const ports = hostPorts(pod);
    for (const node of nodes) {
      if (node.spec?.unschedulable) {
        reasons.push('node(s) were unschedulable');
        continue;
      }
      const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
      if (ready?.status !== 'True') {
        // The node lifecycle controller taints NotReady nodes not-ready, Unknown ones unreachable.
        reasons.push(`node(s) had untolerated taint {node.kubernetes.io/${ready?.status === 'False' ? 'not-ready' : 'unreachable'}: }`);
        continue;
      }
      const labels = node.metadata.labels ?? {};
      if (Object.entries(pod.spec.nodeSelector ?? {}).some(([k, v]) => labels[k] !== v)) {
        reasons.push("node(s) didn't match Pod's node affinity/selector");
        continue;
      }
      const used = this.usedOn(node.metadata.name!);
      if (ports.some((p) => used.ports.has(p))) {
        reasons.push("node(s) didn't have free ports for the requested pod ports");
        continue;
      }
      const alloc = node.status?.allocatable ?? {};
      const cpuCap = parseQuantity(alloc.cpu ?? '0');
      const memCap = parseQuantity(alloc.memory ?? '0');
      const podCap = alloc.pods !== undefined ? parseQuantity(alloc.pods) : Infinity;
      const short: string[] = [];
      if (used.pods + 1 > podCap) short.push('Too many pods');
      if (want.cpu > 0 && used.cpu + want.cpu > cpuCap) short.push('Insufficient cpu');
      if (want.memory > 0 && used.memory + want.memory > memCap) short.push('Insufficient memory');
      if (short.length) {
        reasons.push(...short);
        continue;
      }
      // LeastAllocated: prefer the node with the most room left, cpu and memory alike.
      const free = (cap: number, use: number) => (cap > 0 ? (cap - use) / cap : 0);
      const score = (free(cpuCap, used.cpu + want.cpu) + free(memCap, used.memory + want.memory)) * 50;
      fits.push({ node, score });
    }
    return { fits, reasons };
  }

  private usedOn(node: string): { cpu: number; memory: number; pods: number; ports: Set<string> } {
    let cpu = 0;
    let memory = 0;
    let pods = 0;
    const ports = new Set<string>();
    for (const p of this.pods.cache.values()) {
      if (p.spec.nodeName !== node || p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed') continue;
      const r = podRequests(p);
      cpu += r.cpu;
      memory += r.memory;
      pods++;
      for (const hp of hostPorts(p)) ports.add(hp);
    }
    return { cpu, memory, pods, ports };
  }

  private async markUnschedulable(pod: Pod, message: string): Promise<void> {
    const conditions = (pod.status?.conditions ?? []).filter((c) => c.type !== 'PodScheduled');
    conditions.push({ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message, lastProbeTime: null, lastTransitionTime: new Date().toISOString() });
    try {
      await this.client.request('PATCH', resourcePath('pods', pod.metadata.namespace, pod.metadata.name, 'status'), { status: { conditions } }, 'application/merge-patch+json');
    } catch (err) {
      if (!(err instanceof ApiStatusError && err.code === 404)) throw err;
    }
  }
}

function needsScheduling(pod: Pod): boolean {
  return !pod.spec.nodeName && !pod.metadata.deletionTimestamp && (pod.spec.schedulerName ?? 'default-scheduler') === 'default-scheduler';
}

/** Requests of the pod: the sum over app containers, at least the largest init container. */
export function podRequests(pod: Pod): { cpu: number; memory: number } {
  const sum = { cpu: 0, memory: 0 };
  const req = (c: { resources?: { requests?: Record<string, string | number> } }) => ({
    cpu: c.resources?.requests?.cpu !== undefined ? parseQuantity(c.resources.requests.cpu) : 0,
    memory: c.resources?.requests?.memory !== undefined ? parseQuantity(c.resources.requests.memory) : 0,
  });
  for (const c of pod.spec.containers) {
    const r = req(c);
    sum.cpu += r.cpu;
    sum.memory += r.memory;
  }
  for (const c of pod.spec.initContainers ?? []) {
    const r = req(c);
    sum.cpu = Math.max(sum.cpu, r.cpu);
    sum.memory = Math.max(sum.memory, r.memory);
  }
  return sum;
}

/** FitError's histogram: "N reason" strings, sorted as strings (Go's sort.Strings). */
export function summarize(reasons: string[]): string {
  const counts = new Map<string, number>();
  for (const r of reasons) counts.set(r, (counts.get(r) ?? 0) + 1);
  return [...counts]
    .map(([r, n]) => `${n} ${r}`)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    .join(', ');
}

/** The host ports a pod asks for, as "protocol/port": two pods on one node may not share one. */
function hostPorts(pod: Pod): string[] {
  const out: string[] = [];
  for (const c of [...pod.spec.containers, ...(pod.spec.initContainers ?? [])]) {
    for (const p of c.ports ?? []) if (p.hostPort) out.push(`${p.protocol ?? 'TCP'}/${p.hostPort}`);
  }
  return out;
}
