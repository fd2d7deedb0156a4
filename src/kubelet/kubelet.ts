// The kubelet: registers its node, watches the pods bound to it through the API,
// runs one pod worker per pod, and follows Docker's event stream so that a
// container's death is handled at once. After a restart it rebuilds everything
// from the API and Docker's labels: running containers are adopted, orphans removed.
import type { Logger } from 'pino';
import type { Pod } from '../api/types.js';
import type { Client } from '../client/client.js';
import { Informer } from '../client/informer.js';
import { EventRecorder } from '../client/recorder.js';
import type { DockerRuntime } from '../runtime/docker.js';
import { Backoff } from './backoff.js';
import { type Clock, realClock } from './clock.js';
import { NodeStatusReporter } from './node-status.js';
import { PodWorker } from './pod-worker.js';
import { KubeletServer } from './server.js';
import { ProbeManager, handlerRunner } from './prober/index.js';
import { removePodDir } from './volumes.js';
import { monitoringPeriodMs } from './eviction.js';

export interface KubeletOptions {
  nodeName: string;
  nodeLabels?: Record<string, string>;
  client: Client;
  runtime: DockerRuntime;
  logger: Logger;
  podsDir: string;
  clock?: Clock;
  apiHost?: string;
  apiPort?: number;
  /** Serve logs and exec for the API server: on a unix socket, or on TCP (HOST:PORT, HTTPS) for the API server's token alone. */
  server?: { socketPath?: string; listen?: string; tls?: { cert: string; key: string }; clientTokenSha256?: string };
}

export class Kubelet {
  private workers = new Map<string, PodWorker>();
  private informer?: Informer<Pod>;
  private dockerEvents?: { stop(): void };
  private nodeStatus: NodeStatusReporter;
  private backoff: Backoff;
  private imageBackoff: Backoff;
  private recorder: EventRecorder;
  private probes: ProbeManager;
  private log: Logger;
  private synced = false;
  private server?: KubeletServer;
  private evictionTimer?: NodeJS.Timeout;

  constructor(private opts: KubeletOptions) {
    const clock = opts.clock ?? realClock;
    this.log = opts.logger.child({ component: 'kubelet', node: opts.nodeName });
    this.backoff = new Backoff(clock);
    this.imageBackoff = new Backoff(clock);
    this.recorder = new EventRecorder(opts.client, 'kubelet', opts.nodeName, (err) => this.log.warn({ err }, 'event not recorded'));
    this.nodeStatus = new NodeStatusReporter(opts.client, opts.runtime, opts.nodeName, opts.nodeLabels ?? {}, this.log);
    // Probes: a readiness/started change syncs the pod's status; a liveness/startup failure kills the container.
    this.probes = new ProbeManager({
      clock,
      run: handlerRunner(opts.runtime),
      recorder: this.recorder,
      logger: this.log,
      onStatusChange: (uid) => this.workers.get(uid)?.requestSync(),
      onUnhealthy: (uid, name, id, kind) => this.workers.get(uid)?.killForProbe(name, kind, id),
    });
  }

  async start(): Promise<void> {
    if (this.opts.server) {
      // Listening before registering: the endpoint the node publishes must answer.
      this.server = new KubeletServer({ ...this.opts.server, nodeName: this.opts.nodeName, client: this.opts.client, runtime: this.opts.runtime, logger: this.log });
      this.nodeStatus.endpoint = await this.server.start();
    }
    await this.nodeStatus.start();
    this.dockerEvents = this.opts.runtime.watchEvents(
      (e) => {
        if (e.action === 'die' || e.action === 'oom' || e.action === 'destroy') this.workers.get(e.podUid)?.requestSync();
      },
      () => this.resyncAll(), // dockerd came back: look at every pod again
    );
    this.informer = new Informer<Pod>(
      this.opts.client,
      'pods',
      undefined,
      { fieldSelector: `spec.nodeName=${this.opts.nodeName}` },
      {
        onEvent: (type, pod) => this.handlePod(type, pod),
        onResync: () => void this.removeOrphans(),
        onError: (err) => this.log.warn({ err }, 'pod watch failed'),
      },
    );
    await this.informer.start();
    this.synced = true;
    // The eviction manager's period: emptyDirs over their sizeLimit.
    this.evictionTimer = setInterval(() => {
      for (const w of this.workers.values()) w.checkEviction();
    }, monitoringPeriodMs());
    this.evictionTimer.unref();
    await this.removeOrphans();
    this.log.info('kubelet started');
  }

  async stop(): Promise<void> {
    clearInterval(this.evictionTimer);
    this.informer?.stop();
    this.dockerEvents?.stop();
    this.nodeStatus.stop();
    await this.server?.stop();
    this.probes.stop();
  }

  private handlePod(type: 'ADDED' | 'MODIFIED' | 'DELETED', pod: Pod): void {
    const uid = pod.metadata.uid!;
    let worker = this.workers.get(uid);
    if (type === 'DELETED') {
      if (worker) worker.remove();
      else void this.removePodContainers(uid);
      return;
    }
    if (!worker) {
      worker = new PodWorker(
        pod,
        {
          runtime: this.opts.runtime,
          client: this.opts.client,
          recorder: this.recorder,
          backoff: this.backoff,
          imageBackoff: this.imageBackoff,
          clock: this.opts.clock ?? realClock,
          logger: this.log,
          nodeName: this.opts.nodeName,
          hostIP: this.nodeStatus.hostIP,
          podsDir: this.opts.podsDir,
          apiHost: this.opts.apiHost,
          apiPort: this.opts.apiPort,
          probes: this.probes,
        },
        (doneUid) => this.workers.delete(doneUid),
      );
      this.workers.set(uid, worker);
    }
    worker.update(pod);
  }

  private resyncAll(): void {
    for (const w of this.workers.values()) w.requestSync();
  }

  /** Removes Docker containers of this node whose pod the API no longer has. */
  private async removeOrphans(): Promise<void> {
    if (!this.synced || !this.informer) return;
    const known = new Set([...this.informer.cache.values()].map((p) => p.metadata.uid));
    try {
      const containers = await this.opts.runtime.listContainers();
      const orphans = new Set(containers.filter((c) => !known.has(c.pod.uid)).map((c) => c.pod.uid));
      for (const uid of orphans) {
        if (this.workers.has(uid)) continue;
        this.log.info({ uid }, 'removing containers of a pod that no longer exists');
        await this.removePodContainers(uid);
      }
    } catch (err) {
      this.log.warn({ err }, 'orphan cleanup failed');
    }
  }

  private async removePodContainers(uid: string): Promise<void> {
    const containers = await this.opts.runtime.listContainers(uid);
    await Promise.all(containers.map((c) => this.opts.runtime.removeContainer(c.id)));
    removePodDir(this.opts.podsDir, uid);
  }
}
