// The node lifecycle controller (kube-controller-manager's nodelifecycle): it notes
// when each node's kubelet last posted a heartbeat, by this controller's own clock,
// and when one has been silent for the grace period (Kubernetes: 40 s) it sets the
// node's Ready condition to Unknown, records NodeNotReady, and marks the Ready
// condition of every pod on that node False: their containers may be running, but
// nobody can vouch for them. The kubelet's next heartbeat and status sync undo it.
import type { Logger } from 'pino';
import type { Event, Node, NodeCondition, Pod } from '../api/types.js';
import { ApiStatusError, type Client } from '../client/client.js';
import { Informer } from '../client/informer.js';
import { EventRecorder } from '../client/recorder.js';

export const DEFAULT_NODE_MONITOR_GRACE_PERIOD_MS = 40_000;

export interface NodeLifecycleOptions {
  client: Client;
  logger: Logger;
  /** Silence after which a node is Unknown (--node-monitor-grace-period). */
  gracePeriodMs?: number;
  /** How often nodes are checked (--node-monitor-period; default min(5 s, grace / 4)). */
  monitorPeriodMs?: number;
  now?: () => number;
}

export class NodeLifecycleController {
  private nodes: Informer<Node>;
  private observed = new Map<string, { heartbeat: string; at: number }>();
  private timer?: NodeJS.Timeout;
  private busy = false;
  private recorder: EventRecorder;
  private log: Logger;
  private now: () => number;
  readonly gracePeriodMs: number;

  constructor(private opts: NodeLifecycleOptions) {
    this.log = opts.logger.child({ component: 'node-lifecycle-controller' });
    this.now = opts.now ?? Date.now;
    this.gracePeriodMs = opts.gracePeriodMs ?? DEFAULT_NODE_MONITOR_GRACE_PERIOD_MS;
    this.recorder = new EventRecorder(opts.client, 'node-controller', undefined, this.log);
    this.nodes = new Informer<Node>(opts.client, 'nodes', undefined, {}, {
      onEvent: (type, node) => {
        if (type === 'DELETED') this.observed.delete(node.metadata.name!);
        else this.observe(node);
      },
      onError: (err) => this.log.warn({ err }, 'node watch failed'),
    });
  }

  async start(): Promise<void> {
    await this.nodes.start();
    const period = this.opts.monitorPeriodMs ?? Math.min(5_000, Math.max(100, this.gracePeriodMs / 4));
    this.timer = setInterval(() => void this.monitor(), period);
    this.timer.unref();
    this.log.info({ gracePeriodMs: this.gracePeriodMs }, 'node lifecycle controller started');
  }

  stop(): void {
    this.nodes.stop();
    if (this.timer) clearInterval(this.timer);
  }

  /** A heartbeat that differs from the last one seen restarts the node's clock. */
  private observe(node: Node): void {
    const ready = readyCondition(node);
    const heartbeat = ready ? `${ready.status}|${ready.lastHeartbeatTime ?? ''}` : '';
    const seen = this.observed.get(node.metadata.name!);
    if (!seen || seen.heartbeat !== heartbeat) this.observed.set(node.metadata.name!, { heartbeat, at: this.now() });
  }

  /** One pass over every node; exported for tests through monitorNow(). */
  async monitorNow(): Promise<void> {
    return this.monitor();
  }

  private async monitor(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      for (const node of this.nodes.cache.values()) {
        const name = node.metadata.name!;
        const seen = this.observed.get(name);
        if (!seen) continue;
        const ready = readyCondition(node);
        if (ready?.status === 'Unknown') {
          await this.markPodsNotReady(name); // pods bound since, or a write that failed last time
          continue;
        }
        if (this.now() - seen.at <= this.gracePeriodMs) continue;
        try {
          await this.markUnknown(node, ready);
          await this.markPodsNotReady(name);
        } catch (err) {
          // A heartbeat raced us (409): the node is alive after all, or we try again next pass.
          if (!(err instanceof ApiStatusError && (err.code === 409 || err.code === 404))) this.log.warn({ err, node: name }, 'could not mark node');
        }
      }
    } finally {
      this.busy = false;
    }
  }

  private async markUnknown(node: Node, ready: NodeCondition | undefined): Promise<void> {
    const name = node.metadata.name!;
    const now = new Date(this.now()).toISOString().replace(/\.\d+Z$/, 'Z');
    const never = !ready;
    const condition: NodeCondition = {
      type: 'Ready',
      status: 'Unknown',
      reason: never ? 'NodeStatusNeverUpdated' : 'NodeStatusUnknown',
      message: never ? 'Kubelet never posted node status.' : 'Kubelet stopped posting node status.',
      lastHeartbeatTime: ready?.lastHeartbeatTime,
      lastTransitionTime: now,
    };
    const conditions = [...(node.status?.conditions ?? []).filter((c) => c.type !== 'Ready'), condition];
    // With the node's resourceVersion: a heartbeat that lands first wins.
    await this.opts.client.updateNodeStatus({ ...node, status: { ...node.status, conditions } });
    this.log.warn({ node: name, silentMs: this.now() - (this.observed.get(name)?.at ?? 0) }, 'node stopped posting status: Ready is Unknown');
    await this.nodeEvent(node, 'NodeNotReady', `Node ${name} status is now: NodeNotReady`);
  }

  private async markPodsNotReady(nodeName: string): Promise<void> {
    const pods = await this.opts.client.listPods(undefined, { fieldSelector: `spec.nodeName=${nodeName}` });
    for (const pod of pods.items) {
      const conditions = pod.status?.conditions ?? [];
      const ready = conditions.find((c) => c.type === 'Ready');
      if (!ready || ready.status === 'False') continue;
      const next = conditions.map((c) =>
        c.type === 'Ready' ? { ...c, status: 'False' as const, reason: 'NodeNotReady', message: 'Node is not ready', lastTransitionTime: new Date(this.now()).toISOString() } : c,
      );
      try {
        await this.opts.client.updatePodStatus({ ...pod, status: { ...pod.status, conditions: next } } as Pod);
        this.recorder.event(pod, 'Warning', 'NodeNotReady', 'Node is not ready');
      } catch (err) {
        if (!(err instanceof ApiStatusError && (err.code === 409 || err.code === 404))) throw err;
      }
    }
  }

  private async nodeEvent(node: Node, reason: string, message: string): Promise<void> {
    const now = new Date(this.now()).toISOString();
    const ev: Event = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { generateName: `${node.metadata.name}.`, namespace: 'default' },
      // Kubernetes names a node's events by the node, with the node's name as uid.
      involvedObject: { kind: 'Node', name: node.metadata.name, uid: node.metadata.name, apiVersion: 'v1' },
      reason,
      message,
      type: 'Normal',
      source: { component: 'node-controller' },
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
    };
    await this.opts.client.createEvent('default', ev).catch((err) => this.log.warn({ err }, 'event not recorded'));
  }
}

function readyCondition(node: Node): NodeCondition | undefined {
  return node.status?.conditions?.find((c) => c.type === 'Ready');
}
