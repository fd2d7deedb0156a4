// The kubelet: registers its node, watches the pods bound to it through the API,
// runs one pod worker per pod, and follows Docker's event stream so that a
// container's death is handled at once. After a restart it rebuilds everything
// from the API and Docker's labels: running containers are adopted, orphans removed.
// It touches only what is its own: the objects labelled with its cluster (learnt
// from the API) and its node, whose name it claims on the engine (node-claim.ts).
import os from 'node:os';
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
import { claimNode, releaseNodeClaim } from './node-claim.js';
import type { NodeClaim } from '../runtime/labels.js';

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
  /** Claim the node name on the engine for this process (see node-claim.ts); `flag` names the node in a refusal. */
  claim?: { home: string; socket: string; lock: string; flag: string };
}

/** How long a stop waits for the containers of deleted pods to go. */
const DRAIN_MS = 20_000;
/** After the last grace period: time for the kill to be seen and the containers and the pod to be removed. */
const TERMINATION_MARGIN_MS = 10_000;

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
  private claim?: NodeClaim;

  constructor(private opts: KubeletOptions) {
    const clock = opts.clock ?? realClock;
    this.log = opts.logger.child({ component: 'kubelet', node: opts.nodeName });
    this.backoff = new Backoff(clock);
    this.imageBackoff = new Backoff(clock);
    this.recorder = new EventRecorder(opts.client, 'kubelet', opts.nodeName, this.log);
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
    // Before anything touches Docker: whose objects are ours, and that the node name is.
    const cluster = await this.opts.client.clusterUid();
    this.opts.runtime.cluster = cluster;
    if (this.opts.claim) {
      const { flag, ...where } = this.opts.claim;
      const claim: NodeClaim = { node: this.opts.nodeName, cluster, ...where, pid: process.pid, host: os.hostname() };
      await claimNode(this.opts.runtime, claim, flag);
      this.claim = claim;
      this.log.info({ cluster, claim: where }, 'node name claimed on the Docker Engine');
    }
    if (this.opts.server) {
      // Listening before registering: the endpoint the node publishes must answer.
      this.server = new KubeletServer({ ...this.opts.server, nodeName: this.opts.nodeName, client: this.opts.client, runtime: this.opts.runtime, logger: this.opts.logger.child({ node: this.opts.nodeName }) }); // its own component key
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
        onRestart: (how, why) => this.log[how === 'relist' ? 'info' : 'debug']({ resource: 'pods', why }, how === 'relist' ? 'pod watch restarted from a new list' : 'pod watch resumed'),
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

  /**
   * Stops, after removing the containers of pods already gone from the API (a
   * force delete just before a stop must not leave them running). Answers how many
   * pods keep running: the next start adopts them.
   */
  async stop(): Promise<{ podsRunning: number }> {
    if (this.synced) await this.finishTerminating();
    if (this.synced) await this.removeDeleted();
    clearInterval(this.evictionTimer);
    this.informer?.stop();
    this.dockerEvents?.stop();
    this.nodeStatus.stop();
    await this.server?.stop();
    this.probes.stop();
    let podsRunning = 0;
    if (this.synced) {
      const running = (await this.opts.runtime.listContainers().catch(() => [])).filter((c) => c.state === 'running');
      podsRunning = new Set(running.map((c) => c.pod.uid)).size;
    }
    if (this.claim) await releaseNodeClaim(this.opts.runtime, this.claim).catch((err) => this.log.warn({ err }, 'node claim not released'));
    return { podsRunning };
  }

  /**
   * Pods being deleted get the grace period they were promised (preStop hooks, the
   * SIGTERM, the final removal) before the kubelet stops: it waits for their
   * workers, until the last grace period ends (plus a margin for the removal).
   */
  private async finishTerminating(): Promise<void> {
    // Asked now, not the watch cache: a deletion just before the stop counts too.
    const pods = await this.opts.client.listPods(undefined, { fieldSelector: `spec.nodeName=${this.opts.nodeName}` }).catch(() => undefined);
    for (const pod of pods?.items ?? []) {
      if (pod.metadata.deletionTimestamp && this.workers.get(pod.metadata.uid!)?.terminatingUntil === undefined) this.handlePod('MODIFIED', pod);
    }
    const terminating = [...this.workers.values()].filter((w) => w.terminatingUntil !== undefined);
    if (!terminating.length) return;
    const waitMs = Math.max(0, Math.max(...terminating.map((w) => w.terminatingUntil!)) - Date.now()) + TERMINATION_MARGIN_MS;
    this.log.info({ pods: terminating.length, waitMs }, 'waiting for terminating pods before stopping');
    let timer: NodeJS.Timeout | undefined;
    const finished = await Promise.race([
      Promise.all(terminating.map((w) => w.whenFinished())).then(() => true),
      new Promise<false>((r) => (timer = setTimeout(() => r(false), waitMs))),
    ]);
    clearTimeout(timer);
    if (!finished) this.log.warn({ pods: terminating.filter((w) => w.terminatingUntil !== undefined).length }, 'terminating pods did not finish in time; the next start goes on with them');
  }

  /**
   * Removes the containers whose pod the API (asked now, not the watch cache, which
   * may lag) no longer has, until Docker lists none (a removal a pod worker began
   * may still be in progress).
   */
  private async removeDeleted(): Promise<void> {
    const deadline = Date.now() + DRAIN_MS;
    let logged = false;
    const drain = async () => {
      while (Date.now() < deadline) {
        const pods = await this.opts.client.listPods(undefined, { fieldSelector: `spec.nodeName=${this.opts.nodeName}` });
        const known = new Set(pods.items.map((p) => p.metadata.uid));
        const gone = new Set((await this.opts.runtime.listContainers()).filter((c) => !known.has(c.pod.uid)).map((c) => c.pod.uid));
        if (!gone.size) return;
        if (!logged) this.log.info({ pods: gone.size }, 'removing the containers of deleted pods before stopping');
        logged = true;
        await Promise.all([...gone].map((uid) => this.removePodContainers(uid)));
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([drain().catch((err) => this.log.warn({ err }, 'removing the containers of deleted pods failed')), new Promise((r) => (timer = setTimeout(r, DRAIN_MS)))]);
    clearTimeout(timer);
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
      this.log.info({ pod: `${pod.metadata.namespace}/${pod.metadata.name}`, uid }, 'pod admitted');
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
