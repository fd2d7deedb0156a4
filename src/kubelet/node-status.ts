// Node registration and heartbeats: the node's labels, capacity and a Ready
// condition that says whether Docker answers, renewed every 10 seconds.
import os from 'node:os';
import type { Logger } from 'pino';
import type { Node, NodeCondition } from '../api/types.js';
import { ApiStatusError, type Client } from '../client/client.js';
import type { DockerRuntime } from '../runtime/docker.js';
import { KUBELET_ENDPOINT_ANNOTATION, KUBELET_SERVING_CERT_ANNOTATION, type KubeletEndpoint } from '../api/kubelet-endpoint.js';

export const HEARTBEAT_MS = 10_000;
// A hung dockerd (frozen, overloaded) must turn the node NotReady too, not stall the heartbeat.
const RUNTIME_CHECK_TIMEOUT_MS = 5_000;

function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)));
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** The kubelet's --node-status-update-frequency: $MINIPOD_NODE_STATUS_UPDATE_FREQUENCY seconds (tests shorten it), else 10 s. */
export function heartbeatMs(): number {
  const s = Number(process.env.MINIPOD_NODE_STATUS_UPDATE_FREQUENCY);
  return Number.isFinite(s) && s > 0 ? s * 1000 : HEARTBEAT_MS;
}

export function hostAddress(): string | undefined {
  for (const addrs of Object.values(os.networkInterfaces())) {
    for (const a of addrs ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return undefined;
}

export class NodeStatusReporter {
  readonly hostIP = hostAddress();
  /** Where this node's kubelet server listens, published for the API server's log/exec proxy. */
  endpoint?: KubeletEndpoint;
  private timer?: NodeJS.Timeout;
  private readySince?: string;
  private lastReady?: boolean;

  constructor(
    private client: Client,
    private runtime: DockerRuntime,
    private nodeName: string,
    private extraLabels: Record<string, string>,
    private log: Logger,
  ) {}

  async start(): Promise<void> {
    await this.register();
    await this.heartbeat();
    this.timer = setInterval(() => void this.heartbeat().catch((err) => this.log.warn({ err }, 'node heartbeat failed')), heartbeatMs());
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  private labels(): Record<string, string> {
    return {
      'kubernetes.io/hostname': this.nodeName,
      'kubernetes.io/os': process.platform,
      'kubernetes.io/arch': process.arch === 'x64' ? 'amd64' : process.arch,
      ...this.extraLabels,
    };
  }

  private async register(): Promise<void> {
    const cpu = String(os.cpus().length);
    const memory = `${Math.floor(os.totalmem() / 1024)}Ki`;
    const node: Node = {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: this.nodeName, labels: this.labels(), ...this.endpointAnnotation() },
      spec: {},
      status: {
        capacity: { cpu, memory, pods: '110' },
        allocatable: { cpu, memory, pods: '110' },
        addresses: [
          { type: 'Hostname', address: os.hostname() },
          ...(this.hostIP ? [{ type: 'InternalIP', address: this.hostIP }] : []),
        ],
        nodeInfo: { operatingSystem: process.platform, architecture: process.arch, containerRuntimeVersion: 'docker://unknown', kubeletVersion: 'v1.30.0-minipod' },
        ...this.daemonEndpoints(),
      },
    };
    try {
      await this.client.createNode(node);
    } catch (err) {
      if (!(err instanceof ApiStatusError && err.code === 409)) throw err;
      // Re-registration: keep labels added with `minipod label node`, refresh ours.
      const existing = await this.client.getNode(this.nodeName);
      await this.client.request('PATCH', `/api/v1/nodes/${this.nodeName}`, { metadata: { labels: this.labels(), ...this.endpointAnnotation() } }, 'application/merge-patch+json');
      void existing;
    }
  }

  private endpointAnnotation(): { annotations?: Record<string, string> } {
    if (!this.endpoint) return {};
    const annotations: Record<string, string> = { [KUBELET_ENDPOINT_ANNOTATION]: this.endpoint.url };
    // The pin the API server checks the kubelet's certificate against; only this node may write it.
    if (this.endpoint.certificateSha256) annotations[KUBELET_SERVING_CERT_ANNOTATION] = this.endpoint.certificateSha256;
    return { annotations };
  }

  private daemonEndpoints(): { daemonEndpoints?: { kubeletEndpoint: { Port: number } } } {
    return this.endpoint ? { daemonEndpoints: { kubeletEndpoint: { Port: this.endpoint.port } } } : {};
  }

  async heartbeat(): Promise<void> {
    let ready = true;
    let message = 'kubelet is posting ready status';
    let runtimeVersion = 'unknown';
    try {
      runtimeVersion = await withTimeout(this.runtime.version(), RUNTIME_CHECK_TIMEOUT_MS, `no answer within ${RUNTIME_CHECK_TIMEOUT_MS / 1000}s`);
    } catch (err) {
      ready = false;
      message = `container runtime is down: ${(err as Error).message}`;
    }
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    if (ready !== this.lastReady) {
      this.readySince = now;
      this.lastReady = ready;
    }
    const condition: NodeCondition = {
      type: 'Ready',
      status: ready ? 'True' : 'False',
      reason: ready ? 'KubeletReady' : 'KubeletNotReady',
      message,
      lastHeartbeatTime: now,
      lastTransitionTime: this.readySince,
    };
    const node = await this.client.getNode(this.nodeName).catch(async (err) => {
      if (err instanceof ApiStatusError && err.code === 404) {
        await this.register();
        return this.client.getNode(this.nodeName);
      }
      throw err;
    });
    node.status = {
      ...node.status,
      conditions: [condition],
      ...this.daemonEndpoints(),
      nodeInfo: { ...node.status?.nodeInfo, containerRuntimeVersion: `docker://${runtimeVersion}` },
    };
    delete node.metadata.resourceVersion; // the heartbeat owns status: last writer wins
    await this.client.updateNodeStatus(node);
  }
}
