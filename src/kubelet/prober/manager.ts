// The probe manager (pkg/kubelet/prober/prober_manager.go): the kubelet owns one.
// Pod workers tell it when containers start and stop; it runs one worker per
// (container, probe kind) and keeps their committed results, from which the pod
// worker's status takes each container's `started` and `ready`. It calls back
// when a result changes the status (readiness, started) and when a container
// must be killed (a committed liveness or startup failure).
import type { Logger } from 'pino';
import type { Container, Pod } from '../../api/types.js';
import type { RuntimeContainer } from '../../runtime/docker.js';
import type { Clock } from '../clock.js';
import { type ProbeRunner } from './prober.js';
import { type ProbeKind, PROBE_KINDS, type ProbeResult, kindTitle, probeOf, probeTiming } from './types.js';
import { ProbeWorker } from './worker.js';

export interface ProbeEvents {
  event(pod: Pod, type: 'Normal' | 'Warning', reason: string, message: string, fieldPath?: string): void;
}

export interface ProbeManagerDeps {
  clock: Clock;
  run: ProbeRunner;
  recorder: ProbeEvents;
  logger?: Logger;
  /** A committed result changed what the pod's status shows (ready, started). */
  onStatusChange(podUid: string): void;
  /** A committed liveness/startup failure: the container must be killed and restarted per policy. */
  onUnhealthy(podUid: string, containerName: string, containerId: string, kind: 'liveness' | 'startup'): void;
}

/** What the manager keeps of one running container. */
interface ContainerProbes {
  containerId: string;
  spec: Container;
  fieldPath: string; // events name the container by it
  workers: Map<ProbeKind, ProbeWorker>;
  results: Map<ProbeKind, ProbeResult>;
}

interface PodProbes {
  pod: Pod;
  terminating: boolean;
  containers: Map<string, ContainerProbes>; // by container name
}

/** The kubelet's initial results: not ready until proven, alive until proven otherwise. */
const INITIAL: Record<ProbeKind, ProbeResult> = { readiness: 'failure', liveness: 'success', startup: 'unknown' };

export class ProbeManager {
  private pods = new Map<string, PodProbes>();

  constructor(private deps: ProbeManagerDeps) {}

  /** Starts the workers of a container that started (or was adopted); idempotent per container ID. */
  containerStarted(pod: Pod, spec: Container, containerId: string, podIP: string | undefined, startedAt: number | string): void {
    const p = this.podEntry(pod);
    const old = p.containers.get(spec.name);
    if (old?.containerId === containerId) return;
    if (old) this.stopContainer(old);
    const sidecar = !!pod.spec.initContainers?.some((c) => c.name === spec.name);
    const fieldPath = `spec.${sidecar ? 'initContainers' : 'containers'}{${spec.name}}`;
    const entry: ContainerProbes = { containerId, spec, fieldPath, workers: new Map(), results: new Map() };
    p.containers.set(spec.name, entry);
    const started = typeof startedAt === 'number' ? startedAt : Date.parse(startedAt);
    for (const kind of PROBE_KINDS) {
      const probe = probeOf(spec, kind);
      if (!probe) continue;
      entry.results.set(kind, INITIAL[kind]);
      // A pod being deleted runs no liveness/startup probes (set to success).
      if (p.terminating && kind !== 'readiness') {
        entry.results.set(kind, 'success');
        continue;
      }
      const target = { containerId, spec, podIP };
      const worker = new ProbeWorker(kind, probeTiming(probe), Number.isFinite(started) ? started : this.deps.clock.now(), this.deps.clock, {
        shouldProbe: () => (kind === 'startup' ? !isStarted(entry) : isStarted(entry)),
        run: () => this.deps.run(probe, target),
        observed: (o) => this.observed(p, entry, kind, o.result, o.output),
        commit: (r) => this.commit(p, entry, kind, r),
      });
      entry.workers.set(kind, worker);
      worker.start();
    }
  }

  /** The container is no longer running: its workers stop, its results are forgotten. */
  containerStopped(podUid: string, name: string): void {
    const p = this.pods.get(podUid);
    const entry = p?.containers.get(name);
    if (!p || !entry) return;
    this.stopContainer(entry);
    p.containers.delete(name);
  }

  /**
   * Reconciles with what the runtime shows: workers for each running app container
   * and sidecar (a new container ID means new workers), none for the others.
   */
  syncPod(pod: Pod, containers: RuntimeContainer[], podIP: string | undefined): void {
    const p = this.podEntry(pod);
    for (const { spec, kind } of probedContainers(pod)) {
      const latest = containers.filter((c) => c.kind === kind && c.name === spec.name).sort((a, b) => a.attempt - b.attempt).at(-1);
      if (latest?.state === 'running') {
        if (hasProbe(spec)) this.containerStarted(pod, spec, latest.id, podIP, latest.startedAt ?? this.deps.clock.now());
      } else if (p.containers.has(spec.name)) {
        this.containerStopped(pod.metadata.uid!, spec.name);
      }
    }
  }

  /** The pod is being deleted: liveness and startup are set to success and stop; readiness goes on. */
  stopLivenessAndStartup(podUid: string): void {
    const p = this.pods.get(podUid);
    if (!p || p.terminating) return;
    p.terminating = true;
    let changed = false;
    for (const entry of p.containers.values()) {
      for (const kind of ['liveness', 'startup'] as const) {
        const w = entry.workers.get(kind);
        if (!w) continue;
        w.stop();
        entry.workers.delete(kind);
        if (entry.results.get(kind) !== 'success') changed ||= kind === 'startup';
        entry.results.set(kind, 'success');
      }
    }
    if (changed) this.deps.onStatusChange(podUid);
  }

  /** The pod is gone: every worker stops, every result is forgotten. */
  podRemoved(podUid: string): void {
    const p = this.pods.get(podUid);
    if (!p) return;
    for (const entry of p.containers.values()) this.stopContainer(entry);
    this.pods.delete(podUid);
  }

  /** Container name → readiness, for the containers with a readiness probe (false until it succeeds). */
  readiness(podUid: string): Map<string, boolean> {
    return this.resultMap(podUid, 'readiness');
  }

  /** Container name → started, for the containers with a startup probe (false until it succeeds). */
  started(podUid: string): Map<string, boolean> {
    return this.resultMap(podUid, 'startup');
  }

  /** The kubelet stops: every worker stops. */
  stop(): void {
    for (const uid of [...this.pods.keys()]) this.podRemoved(uid);
  }

  /** Running workers (for tests and the daemon's own checks). */
  workerCount(): number {
    let n = 0;
    for (const p of this.pods.values()) for (const e of p.containers.values()) n += e.workers.size;
    return n;
  }

  private resultMap(podUid: string, kind: ProbeKind): Map<string, boolean> {
    const out = new Map<string, boolean>();
    const p = this.pods.get(podUid);
    if (!p) return out;
    for (const { spec } of probedContainers(p.pod)) {
      if (!probeOf(spec, kind)) continue;
      out.set(spec.name, p.containers.get(spec.name)?.results.get(kind) === 'success');
    }
    return out;
  }

  private podEntry(pod: Pod): PodProbes {
    const uid = pod.metadata.uid!;
    let p = this.pods.get(uid);
    if (!p) {
      p = { pod, terminating: false, containers: new Map() };
      this.pods.set(uid, p);
    }
    p.pod = pod; // the newest: events name it
    if (pod.metadata.deletionTimestamp) this.stopLivenessAndStartup(uid);
    return p;
  }

  private stopContainer(entry: ContainerProbes): void {
    for (const w of entry.workers.values()) w.stop();
    entry.workers.clear();
  }

  private observed(p: PodProbes, entry: ContainerProbes, kind: ProbeKind, result: string, output: string): void {
    if (p.containers.get(entry.spec.name) !== entry) return; // a stale container
    const path = entry.fieldPath;
    const text = output.trimEnd();
    if (result === 'failure') this.deps.recorder.event(p.pod, 'Warning', 'Unhealthy', `${kindTitle(kind)} probe failed: ${text}`, path);
    else if (result === 'unknown') this.deps.recorder.event(p.pod, 'Warning', 'Unhealthy', `${kindTitle(kind)} probe errored: ${text}`, path);
    else if (result === 'warning') this.deps.recorder.event(p.pod, 'Warning', 'ProbeWarning', `${kindTitle(kind)} probe warning: ${text}`, path);
    if (result !== 'success') this.deps.logger?.debug({ pod: `${p.pod.metadata.namespace}/${p.pod.metadata.name}`, uid: p.pod.metadata.uid, container: entry.spec.name, probe: kind, result, output: text }, 'probe not successful');
  }

  private commit(p: PodProbes, entry: ContainerProbes, kind: ProbeKind, result: 'success' | 'failure'): void {
    if (p.containers.get(entry.spec.name) !== entry) return;
    const before = entry.results.get(kind);
    entry.results.set(kind, result);
    const uid = p.pod.metadata.uid!;
    if (before !== result) {
      const pod = `${p.pod.metadata.namespace}/${p.pod.metadata.name}`;
      this.deps.logger?.info({ pod, uid, container: entry.spec.name, probe: kind, result, ...(before ? { previous: before } : {}) }, 'probe result changed');
    }
    if (result === 'failure' && (kind === 'liveness' || kind === 'startup')) {
      this.deps.logger?.info({ pod: `${p.pod.metadata.namespace}/${p.pod.metadata.name}`, uid, container: entry.spec.name, probe: kind }, 'probe failed: the container will be killed');
      this.deps.onUnhealthy(uid, entry.spec.name, entry.containerId, kind);
      return;
    }
    if (before !== result && (kind === 'readiness' || kind === 'startup')) this.deps.onStatusChange(uid);
  }
}

/** App containers and sidecars (init containers with restartPolicy Always) are probed; other init containers never. */
function probedContainers(pod: Pod): { spec: Container; kind: 'app' | 'init' }[] {
  const sidecars = (pod.spec.initContainers ?? []).filter((c) => c.restartPolicy === 'Always');
  return [...sidecars.map((spec) => ({ spec, kind: 'init' as const })), ...pod.spec.containers.map((spec) => ({ spec, kind: 'app' as const }))];
}

function isStarted(entry: ContainerProbes): boolean {
  return !entry.spec.startupProbe || entry.results.get('startup') === 'success';
}

function hasProbe(spec: Container): boolean {
  return !!(spec.livenessProbe || spec.readinessProbe || spec.startupProbe);
}
