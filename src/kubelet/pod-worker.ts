// One pod worker per pod: all work on a pod is serial, pods proceed in parallel
// (pkg/kubelet/pod_workers.go). Each sync compares the pod's spec with what Docker
// shows and takes the next steps (computePodActions): sandbox, init containers in
// order, app containers with restart policy and back-off; then writes the status.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Container, Pod, PodCondition, PodStatus } from '../api/types.js';
import type { Client } from '../client/client.js';
import { ApiStatusError } from '../client/client.js';
import type { EventRecorder } from '../client/recorder.js';
import {
  type ContainerKind,
  type DockerRuntime,
  ImageError,
  type PodRef,
  type RuntimeContainer,
  dockerMessage,
} from '../runtime/docker.js';
import type { Backoff } from './backoff.js';
import type { Clock } from './clock.js';
import { ContainerConfigError, buildContainerConfig, containerHash, type PodContext } from './container-config.js';
import { needsImageUser, seccompRoot } from './security-context.js';
import { ContainerKiller, fieldPath, isSidecar } from './container-killer.js';
import { TerminationMessages } from './termination-messages.js';
import { describeHandler, runHook } from './hooks.js';
import { pullImageIfNeeded } from './images.js';
import type { ProbeManager } from './prober/index.js';
import { attemptsOf, generatePodStatus, type Waiting } from './status.js';
import { emptyDirPath, podDir, prepareVolumes, removePodDir } from './volumes.js';
import { EVICTED, emptyDirOverLimit } from './eviction.js';
import { writePodResolvConf } from './dns.js';
import { managedHostsFileContent, nodeHostsFileContent, readNodeHosts, writeHostsFile } from './hosts-file.js';
import { SandboxConfigError, nodenameForKernel, podHostnameAndDomain } from './hostname.js';

export interface PodWorkerDeps {
  runtime: DockerRuntime;
  client: Client;
  recorder: EventRecorder;
  backoff: Backoff;
  imageBackoff: Backoff;
  clock: Clock;
  logger: Logger;
  nodeName: string;
  hostIP?: string;
  podsDir: string;
  apiHost?: string;
  apiPort?: number;
  /** The kubelet's probe manager (liveness, readiness, startup). */
  probes?: ProbeManager;
}

const POST_START_TIMEOUT_MS = 5 * 60_000;

export class PodWorker {
  private pod: Pod;
  private removed = false; // gone from the API (force delete): kill at once
  private finished = false;
  private finishWaiters: (() => void)[] = [];
  private running = false;
  private dirty = false;
  private timers = new Set<NodeJS.Timeout>();
  private waiting = new Map<string, Waiting>();
  private lastStatus = '';
  private log: Logger;
  private killer: ContainerKiller;
  private messages: TerminationMessages;
  private evicted?: string; // the eviction manager's message, once it decided
  private hostsContent?: string; // what the pod's hosts file holds, as this worker last wrote it

  constructor(
    pod: Pod,
    private deps: PodWorkerDeps,
    private onFinished: (uid: string) => void,
  ) {
    this.pod = pod;
    this.log = deps.logger.child({ pod: `${pod.metadata.namespace}/${pod.metadata.name}`, uid: pod.metadata.uid });
    this.killer = new ContainerKiller(deps, () => this.pod);
    this.messages = new TerminationMessages(deps.runtime, join(podDir(deps.podsDir, pod.metadata.uid!), 'containers'));
  }

  get uid(): string {
    return this.pod.metadata.uid!;
  }

  update(pod: Pod): void {
    this.pod = pod;
    this.requestSync();
  }

  /** The pod was deleted from the API without a grace period: remove its containers now. */
  remove(): void {
    if (this.removed) return;
    this.removed = true;
    // Not through the serial loop: a graceful stop in progress must not delay it.
    void this.removeAll().finally(() => this.requestSync());
  }

  requestSync(): void {
    if (this.finished) return;
    this.dirty = true;
    if (!this.running) void this.loop();
  }

  private async loop(): Promise<void> {
    this.running = true;
    while (this.dirty && !this.finished) {
      this.dirty = false;
      try {
        await this.sync();
      } catch (err) {
        this.log.error({ err }, 'pod sync failed; retrying');
        this.after(2000);
      }
    }
    this.running = false;
  }

  private after(ms: number): void {
    const t = this.deps.clock.setTimeout(() => {
      this.timers.delete(t);
      this.requestSync();
    }, ms);
    this.timers.add(t);
  }

  /** While the pod is being deleted: when its grace period ends (the API's deletionTimestamp), in ms. */
  get terminatingUntil(): number | undefined {
    const at = this.pod.metadata.deletionTimestamp;
    return at && !this.finished ? Date.parse(at) : undefined;
  }

  /** Resolves once the worker is done with its pod (it is gone from the API and from Docker). */
  whenFinished(): Promise<void> {
    return this.finished ? Promise.resolve() : new Promise((resolve) => this.finishWaiters.push(resolve));
  }

  private finish(): void {
    this.finished = true;
    for (const resolve of this.finishWaiters.splice(0)) resolve();
    for (const t of this.timers) this.deps.clock.clearTimeout(t);
    this.timers.clear();
    this.deps.backoff.forget(`${this.uid}/`);
    this.deps.imageBackoff.forget(`${this.uid}/`);
    this.deps.probes?.podRemoved(this.uid); // probes: the pod is gone
    this.onFinished(this.uid);
  }

  private ref(): PodRef {
    const m = this.pod.metadata;
    return { uid: m.uid!, name: m.name!, namespace: m.namespace ?? 'default' };
  }

  private async sync(): Promise<void> {
    if (this.removed) {
      await this.removeAll();
      return this.finish();
    }
    if (this.pod.metadata.deletionTimestamp) return this.terminate();
    await this.killUnhealthy(); // probes: liveness/startup kills queued by killForProbe
    const containers = await this.deps.runtime.listContainers(this.uid);
    this.syncProbes(containers); // probes: workers follow the containers that run
    const phase = this.pod.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') {
      await this.stopRunning(containers, 'pod is terminal');
      return;
    }
    if (this.deadlineExceeded()) return this.failDeadline(containers);
    if (this.evicted) return this.failEvicted(containers, this.evicted);

    if (this.startsFresh(containers)) await this.startFresh();
    else {
      const sandbox = await this.ensureSandbox(containers);
      if (sandbox) {
        const ctx = this.context(sandbox);
        if (await this.syncInitContainers(containers, sandbox, ctx)) await this.syncAppContainers(containers, sandbox, ctx);
      }
    }
    const after = await this.deps.runtime.listContainers(this.uid);
    const status = await this.writeStatus(after);
    if (status === 'Succeeded' || status === 'Failed') await this.stopRunning(after, 'pod is terminal');
  }

  // --- sandbox

  private async ensureSandbox(containers: RuntimeContainer[], whileStarting?: (sandboxId: string) => Promise<void>): Promise<RuntimeContainer | undefined> {
    const sandboxes = containers.filter((c) => c.kind === 'sandbox');
    const current = sandboxes.at(-1);
    if (current?.state === 'running') {
      // Only the newest sandbox counts: older ones (a crash mid-recreation) go.
      await Promise.all(sandboxes.slice(0, -1).map((s) => this.removeQuietly(s.id)));
      return current;
    }
    const ran = containers.some((c) => c.kind !== 'sandbox');
    if (current && ran && this.pod.spec.restartPolicy === 'Never') return undefined; // nothing may restart
    if (current) {
      this.deps.recorder.event(this.pod, 'Normal', 'SandboxChanged', 'Pod sandbox changed, it will be killed and re-created.');
      await Promise.all(containers.filter((c) => c.state === 'running').map((c) => this.deps.runtime.stopContainer(c.id, 0)));
      await Promise.all(sandboxes.map((s) => this.removeQuietly(s.id)));
    }
    const spec = this.pod.spec;
    const ports = [...(spec.initContainers ?? []), ...spec.containers].flatMap((c) =>
      (c.ports ?? [])
        .filter((p) => p.hostPort)
        .map((p) => ({ containerPort: p.containerPort, hostPort: p.hostPort!, hostIP: p.hostIP ?? '127.0.0.1', protocol: p.protocol ?? 'TCP' })),
    );
    const hostname = this.sandboxDNS();
    if (hostname === undefined) return undefined;
    const sandbox = await this.deps.runtime.runSandbox(this.ref(), {
      hostname,
      hostNetwork: !!spec.hostNetwork,
      ports,
      attempt: current ? current.attempt + 1 : 0,
    }, whileStarting);
    this.log.info({ sandbox: sandbox.id.slice(0, 12), ip: sandbox.ip }, 'sandbox started');
    return sandbox;
  }

  /**
   * The kubelet's sandbox config for DNS: the pod's resolv.conf (written anew for
   * each sandbox, with its warnings) and the hostname. A hostname that cannot be
   * made fails the sandbox as upstream does (FailedCreatePodSandBox); the next
   * sync tries again.
   */
  private sandboxDNS(): string | undefined {
    const dir = podDir(this.deps.podsDir, this.uid);
    mkdirSync(dir, { recursive: true });
    for (const e of writePodResolvConf(join(dir, 'resolv.conf'), this.pod)) this.deps.recorder.event(this.pod, 'Warning', e.reason, e.message);
    const { hostname, domain } = podHostnameAndDomain(this.pod);
    try {
      return nodenameForKernel(hostname, domain, this.pod.spec.setHostnameAsFQDN);
    } catch (err) {
      if (!(err instanceof SandboxConfigError)) throw err;
      this.deps.recorder.event(this.pod, 'Warning', 'FailedCreatePodSandBox', `Failed to create pod sandbox: ${err.message}`);
      this.after(10_000);
      return undefined;
    }
  }

  /**
   * The pod's hosts file, written as soon as the sandbox's IP is known (before
   * that, in a sandbox still starting, without the pod's own line).
   */
  private hostsFile(podIP: string | undefined): string {
    const dir = podDir(this.deps.podsDir, this.uid);
    mkdirSync(dir, { recursive: true });
    const spec = this.pod.spec;
    const { hostname, domain } = podHostnameAndDomain(this.pod);
    const content = spec.hostNetwork
      ? nodeHostsFileContent(readNodeHosts(), spec.hostAliases)
      : managedHostsFileContent(podIP ? [podIP] : [], hostname, domain, spec.hostAliases);
    const file = join(dir, 'etc-hosts');
    this.hostsContent = writeHostsFile(file, content, existsSync(file) ? this.hostsContent : undefined);
    return file;
  }

  private context(sandbox: RuntimeContainer): PodContext {
    const hostsFile = this.hostsFile(sandbox.ip);
    const resolvConf = join(podDir(this.deps.podsDir, this.uid), 'resolv.conf');
    // A sandbox made before the file existed (an older minipod, a lost pod directory):
    // formed again, its warnings already given when that sandbox was made.
    if (!existsSync(resolvConf)) writePodResolvConf(resolvConf, this.pod);
    return {
      hostsFile,
      resolvConf,
      pod: this.pod,
      podIP: this.pod.spec.hostNetwork ? this.deps.hostIP : sandbox.ip,
      hostIP: this.deps.hostIP,
      volumeDirs: prepareVolumes(this.deps.podsDir, this.pod),
      terminationLogDir: join(podDir(this.deps.podsDir, this.uid), 'containers'),
      subPathsDir: join(podDir(this.deps.podsDir, this.uid), 'volume-subpaths'),
      seccompRoot: seccompRoot(this.deps.podsDir),
      apiHost: this.deps.apiHost,
      apiPort: this.deps.apiPort,
    };
  }

  /**
   * A new pod of one container, no init containers and no host ports, whose
   * container needs no pod IP in its environment: nothing in Docker yet, nothing
   * ran before (restart counts start at 0).
   */
  private startsFresh(containers: RuntimeContainer[]): boolean {
    const spec = this.pod.spec;
    if (containers.length || spec.initContainers?.length || spec.containers.length !== 1) return false;
    const c = spec.containers[0];
    if (c.ports?.some((p) => p.hostPort) || this.attemptAfterLoss(c.name, 'app') > 0) return false;
    return !c.env?.some((e) => e.valueFrom?.fieldRef?.fieldPath.startsWith('status.podIP'));
  }

  /**
   * The general path's steps, events and waiting reasons, with one overlap: the
   * container is pulled and created while the pause container starts (Docker
   * needs the pause container to exist, not to run, to create a container that
   * joins its namespaces); it starts once the pause container runs.
   */
  private async startFresh(): Promise<void> {
    const spec = this.pod.spec.containers[0];
    let ctx: PodContext | undefined;
    let id: string | undefined;
    let sandbox: RuntimeContainer | undefined;
    try {
      sandbox = await this.ensureSandbox([], async (sandboxId) => {
        const joining = { id: sandboxId } as RuntimeContainer; // createContainer joins by id; the IP comes with the start
        ctx = this.context(joining);
        id = await this.create(spec, 'app', 0, joining, ctx);
      });
    } catch (err) {
      if (id) await this.deps.runtime.removeContainer(id); // as if never created: the retry starts from scratch
      throw err;
    }
    if (!sandbox || !ctx || !id) return;
    ctx.podIP = this.pod.spec.hostNetwork ? this.deps.hostIP : sandbox.ip;
    this.hostsFile(sandbox.ip); // now with the pod's IP, before the container starts
    await this.run(spec, 'app', id, ctx);
  }

  // --- init containers: one at a time, in order, each to exit 0

  /** True when every init container has completed in the current sandbox. */
  private async syncInitContainers(containers: RuntimeContainer[], sandbox: RuntimeContainer, ctx: PodContext): Promise<boolean> {
    const inSandbox = containers.filter((c) => c.sandboxId === sandbox.id);
    // Once an app container runs in this sandbox, init containers are not re-run;
    // sidecars (restartPolicy: Always) are kept running beside the app containers.
    if (inSandbox.some((c) => c.kind === 'app')) {
      for (const spec of (this.pod.spec.initContainers ?? []).filter(isSidecar)) {
        const all = attemptsOf(containers, spec.name, 'init');
        if (all.at(-1)?.state !== 'running') await this.startWithBackoff(spec, 'init', all.at(-1), sandbox, ctx);
      }
      return true;
    }
    for (const spec of this.pod.spec.initContainers ?? []) {
      const all = attemptsOf(containers, spec.name, 'init');
      const current = all.filter((c) => c.sandboxId === sandbox.id).at(-1);
      if (isSidecar(spec)) {
        // A sidecar need only have started (its startup probe passed, if it has
        // one) before the next container starts.
        if (current?.state === 'running') {
          if (this.deps.probes?.started(this.uid).get(spec.name) === false) return false;
          continue;
        }
        await this.startWithBackoff(spec, 'init', all.at(-1), sandbox, ctx);
        if (!this.waiting.has(spec.name)) this.requestSync(); // go on once it runs
        return false;
      }
      if (current?.state === 'running') return false;
      if (current?.state === 'exited' && current.exitCode === 0) continue;
      if (current?.state === 'exited' && this.pod.spec.restartPolicy === 'Never') return false; // pod fails
      await this.startWithBackoff(spec, 'init', all.at(-1), sandbox, ctx);
      return false;
    }
    return true;
  }

  // --- app containers: restart policy and crash-loop back-off

  private async syncAppContainers(containers: RuntimeContainer[], sandbox: RuntimeContainer, ctx: PodContext): Promise<void> {
    for (const spec of this.pod.spec.containers) {
      const all = attemptsOf(containers, spec.name, 'app');
      const latest = all.at(-1);
      const current = latest?.sandboxId === sandbox.id ? latest : undefined;
      if (current?.state === 'running') {
        if (current.hash !== containerHash(spec)) {
          this.deps.recorder.event(this.pod, 'Normal', 'Killing', `Container ${spec.name} definition changed, will be restarted`, fieldPath(spec, 'app'));
          await this.killer.killContainer(current, this.pod.spec.terminationGracePeriodSeconds ?? 30, 'DefinitionChanged');
          await this.start(spec, 'app', current.attempt + 1, sandbox, ctx);
        }
        continue;
      }
      if (current?.state === 'created') {
        await this.deps.runtime.removeContainer(current.id);
        await this.start(spec, 'app', current.attempt, sandbox, ctx);
        continue;
      }
      if (!latest && this.pod.spec.restartPolicy === 'Never' && this.attemptAfterLoss(spec.name, 'app') > 0) continue; // ran once; never again
      if (latest && !this.shouldRestart(latest)) {
        this.waiting.delete(spec.name);
        continue;
      }
      await this.startWithBackoff(spec, 'app', latest, sandbox, ctx);
    }
  }

  /**
   * The next attempt when Docker has no container of this name any more (removed
   * behind our back): continue the count the API last showed, so that
   * restartCount never goes backwards.
   */
  private attemptAfterLoss(name: string, kind: ContainerKind): number {
    const statuses = kind === 'init' ? this.pod.status?.initContainerStatuses : this.pod.status?.containerStatuses;
    const last = statuses?.find((s) => s.name === name);
    return last?.containerID ? last.restartCount + 1 : 0;
  }

  /** ShouldContainerBeRestarted: Never → no; OnFailure → only after a non-zero exit; Always → yes. */
  private shouldRestart(last: RuntimeContainer): boolean {
    const policy = this.pod.spec.restartPolicy ?? 'Always';
    if (policy === 'Never') return false;
    if (policy === 'OnFailure') return last.exitCode !== 0;
    return true;
  }

  private async startWithBackoff(spec: Container, kind: ContainerKind, last: RuntimeContainer | undefined, sandbox: RuntimeContainer, ctx: PodContext) {
    if (last) {
      const key = `${this.uid}/${spec.name}`;
      const finishedAt = Date.parse(last.finishedAt ?? last.createdAt);
      const { backoff } = this.deps;
      if (backoff.isInBackOffSince(key, finishedAt)) {
        const delay = backoff.get(key) / 1000;
        const pod = this.pod.metadata;
        this.waiting.set(spec.name, {
          reason: 'CrashLoopBackOff',
          message: `back-off ${formatSeconds(delay)} restarting failed container=${spec.name} pod=${pod.name}_${pod.namespace}(${pod.uid})`,
        });
        this.deps.recorder.event(this.pod, 'Warning', 'BackOff', `Back-off restarting failed container ${spec.name} in pod ${pod.name}_${pod.namespace}(${pod.uid})`, fieldPath(spec, kind));
        this.after(backoff.remaining(key, finishedAt) + 50);
        return;
      }
      backoff.next(key);
    }
    await this.start(spec, kind, last ? last.attempt + 1 : this.attemptAfterLoss(spec.name, kind), sandbox, ctx);
    if (last) await this.collectGarbage(spec, kind); // a first attempt leaves nothing older to collect
  }

  /** Pull (per policy), create and start one container; failures become waiting reasons. */
  private async start(spec: Container, kind: ContainerKind, attempt: number, sandbox: RuntimeContainer, ctx: PodContext): Promise<void> {
    const id = await this.create(spec, kind, attempt, sandbox, ctx);
    if (id) await this.run(spec, kind, id, ctx);
  }

  /** Pull (per policy) and create one container: its id, or undefined and a waiting reason. */
  private async create(spec: Container, kind: ContainerKind, attempt: number, sandbox: RuntimeContainer, ctx: PodContext): Promise<string | undefined> {
    const { runtime, recorder } = this.deps;
    const path = fieldPath(spec, kind);
    const pulled = await pullImageIfNeeded(this.deps, this.pod, spec, path);
    if (!pulled.ok) {
      this.waiting.set(spec.name, pulled.waiting);
      if (pulled.retryInMs) this.after(pulled.retryInMs);
      return undefined;
    }
    let id: string;
    try {
      // runAsNonRoot without runAsUser is decided by the image's user (present by now).
      const imageUser = needsImageUser(this.pod, spec) ? await runtime.imageUser(spec.image) : undefined;
      const cfg = buildContainerConfig(spec, kind, attempt, ctx, imageUser);
      id = await runtime.createContainer(this.ref(), sandbox, cfg, !!this.pod.spec.shareProcessNamespace);
    } catch (err) {
      // A config that cannot be made (a subPath leading out of its volume, ...) is
      // the kubelet's CreateContainerConfigError: nothing reached Docker.
      const config = err instanceof ContainerConfigError;
      if (config && err.detail) this.log.warn({ container: spec.name, detail: err.detail }, err.message);
      const message = config || err instanceof ImageError ? (err as Error).message : dockerMessage(err);
      this.waiting.set(spec.name, { reason: config ? 'CreateContainerConfigError' : 'CreateContainerError', message });
      recorder.event(this.pod, 'Warning', 'Failed', `Error: ${message}`, path);
      this.after(10_000);
      return undefined;
    }
    this.waiting.delete(spec.name);
    recorder.event(this.pod, 'Normal', 'Created', `Created container ${spec.name}`, path);
    return id;
  }

  /** Starts a created container, then runs its postStart hook. */
  private async run(spec: Container, kind: ContainerKind, id: string, ctx: PodContext): Promise<void> {
    const { runtime, recorder } = this.deps;
    const path = fieldPath(spec, kind);
    try {
      await runtime.startContainer(id);
      recorder.event(this.pod, 'Normal', 'Started', `Started container ${spec.name}`, path);
    } catch (err) {
      // Docker leaves the container created with exit code 128: shown as StartError.
      recorder.event(this.pod, 'Warning', 'Failed', `Error: failed to start container "${spec.name}": ${dockerMessage(err)}`, path);
      return;
    }
    if (spec.lifecycle?.postStart) await this.postStart(spec, id, ctx, path);
  }

  /**
   * postStart runs right after the start and blocks this pod's sync (the container
   * is not reported Running until it returns); a failure kills the container,
   * whose restart then follows the restart policy and back-off.
   */
  private async postStart(spec: Container, id: string, ctx: PodContext, path: string): Promise<void> {
    const hook = spec.lifecycle!.postStart!;
    const result = await runHook(this.deps.runtime, hook, { containerId: id, podIP: ctx.podIP, spec }, POST_START_TIMEOUT_MS);
    if (result.ok) return;
    const m = this.pod.metadata;
    this.deps.recorder.event(
      this.pod,
      'Warning',
      'FailedPostStartHook',
      `${describeHandler(hook)} for Container "${spec.name}" in Pod "${m.name}_${m.namespace}(${m.uid})" failed - error: ${result.message}`,
      path,
    );
    const container = await this.deps.runtime.inspect(id);
    await this.killer.killContainer(container, this.pod.spec.terminationGracePeriodSeconds ?? 30, 'FailedPostStartHook');
  }

  /** Keeps the latest two attempts of a container (the current and `--previous`). */
  private async collectGarbage(spec: Container, kind: ContainerKind): Promise<void> {
    const all = attemptsOf(await this.deps.runtime.listContainers(this.uid), spec.name, kind === 'sandbox' ? 'app' : kind);
    await Promise.all(all.slice(0, -2).map((c) => this.removeQuietly(c.id)));
  }

  /**
   * Removal of a dead container that is only garbage: Docker may fail it (a dockerd
   * restart can leave its rootfs mount busy, "Removal In Progress" for good), and
   * that must not keep the pod from a new sandbox or its status from being written.
   */
  private async removeQuietly(id: string): Promise<void> {
    await this.deps.runtime.removeContainer(id).then(
      () => this.log.info({ containerId: id.slice(0, 12) }, 'garbage-collected a dead container'),
      (err) => this.log.warn({ err, containerId: id.slice(0, 12) }, 'could not remove a dead container; will try again'),
    );
  }

  // --- deadline

  private deadlineExceeded(): boolean {
    const limit = this.pod.spec.activeDeadlineSeconds;
    const start = this.pod.status?.startTime;
    if (!limit || !start) return false;
    const left = Date.parse(start) + limit * 1000 - this.deps.clock.now();
    if (left > 0) this.after(left + 10);
    return left <= 0;
  }

  private async failDeadline(containers: RuntimeContainer[]): Promise<void> {
    const message = 'Pod was active on the node longer than the specified deadline';
    this.deps.recorder.event(this.pod, 'Normal', 'DeadlineExceeded', message);
    await this.killer.killContainers(containers, this.pod.spec.terminationGracePeriodSeconds ?? 30);
    const after = await this.deps.runtime.listContainers(this.uid);
    await this.writeStatus(after, { phase: 'Failed', reason: 'DeadlineExceeded', message });
    await this.stopRunning(after, 'deadline exceeded');
  }

  // --- eviction (local storage: an emptyDir over its sizeLimit)

  /** Evicts the pod when one of its emptyDirs is over its sizeLimit; called on the eviction manager's period. */
  checkEviction(): void {
    if (this.evicted || this.finished || this.pod.metadata.deletionTimestamp) return;
    const phase = this.pod.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') return;
    const dirs = new Map((this.pod.spec.volumes ?? []).filter((v) => v.emptyDir?.sizeLimit !== undefined).map((v) => [v.name, emptyDirPath(this.deps.podsDir, this.uid, v.name)]));
    if (!dirs.size) return;
    const message = emptyDirOverLimit(this.pod, dirs);
    if (!message) return;
    this.evicted = message;
    this.requestSync();
  }

  private async failEvicted(containers: RuntimeContainer[], message: string): Promise<void> {
    this.log.info({ message }, 'evicting pod');
    this.deps.recorder.event(this.pod, 'Warning', EVICTED, message);
    await this.killer.killContainers(containers, 0); // local-storage eviction allows no grace
    const after = await this.deps.runtime.listContainers(this.uid);
    const disruption: PodCondition = { type: 'DisruptionTarget', status: 'True', reason: 'TerminationByKubelet', message, lastTransitionTime: new Date(this.deps.clock.now()).toISOString() };
    await this.writeStatus(after, { phase: 'Failed', reason: EVICTED, message }, disruption);
    await this.stopRunning(after, 'evicted');
  }

  // --- termination

  /** Graceful termination: stop every container within the grace period, then remove all. */
  private async terminate(): Promise<void> {
    this.deps.probes?.stopLivenessAndStartup(this.uid); // probes: readiness goes on, liveness/startup stop
    const containers = await this.deps.runtime.listContainers(this.uid);
    const grace = this.pod.metadata.deletionGracePeriodSeconds ?? this.pod.spec.terminationGracePeriodSeconds ?? 30;
    await this.killer.killContainers(containers, grace);
    await this.removeAll();
    try {
      await this.deps.client.deletePod(this.pod.metadata.namespace!, this.pod.metadata.name!, { gracePeriodSeconds: 0, uid: this.uid });
    } catch (err) {
      if (!(err instanceof ApiStatusError && (err.code === 404 || err.code === 409))) throw err;
    }
    this.log.info({ grace }, 'pod terminated');
    this.finish();
  }

  private async stopRunning(containers: RuntimeContainer[], why: string): Promise<void> {
    if (!containers.some((c) => c.state === 'running')) return;
    this.log.info({ why }, 'stopping the pod');
    await this.killer.killContainers(containers, this.pod.spec.terminationGracePeriodSeconds ?? 30);
  }

  private async removeAll(): Promise<void> {
    const containers = await this.deps.runtime.listContainers(this.uid);
    const apps = containers.filter((c) => c.kind !== 'sandbox');
    await Promise.all(apps.map((c) => this.deps.runtime.removeContainer(c.id)));
    await Promise.all(containers.filter((c) => c.kind === 'sandbox').map((c) => this.deps.runtime.removeContainer(c.id)));
    removePodDir(this.deps.podsDir, this.uid);
  }

  // --- probes (src/kubelet/prober): kills asked for by committed liveness/startup failures

  private unhealthy = new Map<string, { kind: 'liveness' | 'startup'; containerId: string }>(); // by container name

  /** A committed liveness/startup failure: the kill runs in this worker's serial loop. */
  killForProbe(containerName: string, kind: 'liveness' | 'startup', containerId: string): void {
    this.unhealthy.set(containerName, { kind, containerId });
    this.requestSync();
  }

  /** Kills each container whose probe failed (if it still runs); the restart policy and back-off follow. */
  private async killUnhealthy(): Promise<void> {
    if (this.unhealthy.size === 0) return;
    const queued = [...this.unhealthy];
    this.unhealthy.clear();
    const containers = await this.deps.runtime.listContainers(this.uid);
    await Promise.all(
      queued.map(async ([name, { kind, containerId }]) => {
        const c = containers.find((x) => x.id === containerId && x.state === 'running');
        const spec = [...this.pod.spec.containers, ...(this.pod.spec.initContainers ?? [])].find((s) => s.name === name);
        if (!c || !spec) return;
        const probe = kind === 'liveness' ? spec.livenessProbe : spec.startupProbe;
        const grace = probe?.terminationGracePeriodSeconds ?? this.pod.spec.terminationGracePeriodSeconds ?? 30;
        this.deps.recorder.event(this.pod, 'Normal', 'Killing', `Container ${name} failed ${kind} probe, will be restarted`, fieldPath(spec, c.kind));
        this.log.info({ container: name, kind, grace }, 'killing a container that failed its probe');
        await this.killer.killContainer(c, grace, 'Unhealthy');
      }),
    );
  }

  private syncProbes(containers: RuntimeContainer[]): void {
    const sandbox = containers.filter((c) => c.kind === 'sandbox').at(-1);
    this.deps.probes?.syncPod(this.pod, containers, this.pod.spec.hostNetwork ? this.deps.hostIP : sandbox?.ip);
  }

  private probeResults(containers: RuntimeContainer[]): { readiness?: Map<string, boolean>; started?: Map<string, boolean> } {
    if (!this.deps.probes) return {};
    this.syncProbes(containers);
    return { readiness: this.deps.probes.readiness(this.uid), started: this.deps.probes.started(this.uid) };
  }

  // --- status

  /** One line per container exit the status is about to report for the first time. */
  private logExits(status: PodStatus): void {
    const before = new Map([...(this.pod.status?.initContainerStatuses ?? []), ...(this.pod.status?.containerStatuses ?? [])].map((s) => [s.name, s]));
    for (const s of [...(status.initContainerStatuses ?? []), ...(status.containerStatuses ?? [])]) {
      const exit = s.state.terminated ?? s.lastState?.terminated;
      if (!exit) continue;
      const seen = before.get(s.name);
      const seenExit = seen?.state.terminated ?? seen?.lastState?.terminated;
      if (seenExit && seenExit.containerID === exit.containerID && seenExit.finishedAt === exit.finishedAt) continue;
      this.log.info({ container: s.name, exitCode: exit.exitCode, reason: exit.reason, restartCount: s.restartCount }, 'container exited');
    }
  }

  private async writeStatus(
    containers: RuntimeContainer[],
    override?: { phase: 'Failed'; reason: string; message: string },
    condition?: PodCondition,
  ): Promise<string | undefined> {
    const sandbox = containers.filter((c) => c.kind === 'sandbox').at(-1);
    await this.messages.fill(this.pod, containers);
    const status = generatePodStatus(
      {
        pod: this.pod,
        containers,
        waiting: this.waiting,
        podIP: this.pod.spec.hostNetwork ? this.deps.hostIP : sandbox?.ip,
        hostIP: this.deps.hostIP,
        ...this.probeResults(containers), // probes: ready and started
        now: new Date(this.deps.clock.now()),
      },
      this.pod.status,
    );
    if (override) Object.assign(status, override);
    this.logExits(status);
    if (condition) status.conditions = [...(status.conditions ?? []).filter((c) => c.type !== condition.type), condition];
    const text = JSON.stringify(status);
    if (text === this.lastStatus) return status.phase;
    try {
      const updated = await this.deps.client.updatePodStatus({ ...this.pod, status });
      this.lastStatus = text;
      this.pod = { ...this.pod, status: updated.status, metadata: { ...this.pod.metadata, resourceVersion: updated.metadata.resourceVersion } };
    } catch (err) {
      if (err instanceof ApiStatusError && err.code === 404) return status.phase;
      throw err;
    }
    return status.phase;
  }
}

function formatSeconds(s: number): string {
  return s >= 60 && s % 60 === 0 ? `${s / 60}m0s` : s >= 60 ? `${Math.floor(s / 60)}m${s % 60}s` : `${s}s`;
}
