// Pod status from what the runtime shows, as the kubelet computes it
// (kubelet_pods.go generateAPIPodStatus, getPhase; status/generate.go).
// Pure functions: the pod worker supplies the runtime's containers and the
// reasons it is holding a container back (back-off, pull errors).
import type {
  Container,
  ContainerState,
  ContainerStatus,
  Pod,
  PodCondition,
  PodPhase,
  PodStatus,
} from '../api/types.js';
import type { RuntimeContainer } from '../runtime/docker.js';
import { podQOSClass } from '../api/qos.js';

export interface Waiting {
  reason: string;
  message?: string;
}

export interface StatusInput {
  pod: Pod;
  containers: RuntimeContainer[]; // all attempts of all the pod's containers, sandbox included
  waiting: Map<string, Waiting>; // container name → why it is not running now
  podIP?: string;
  hostIP?: string;
  /** container name → readiness probe result; absent = no readiness probe */
  readiness?: Map<string, boolean>;
  /** container name → startup probe has succeeded; absent = no startup probe */
  started?: Map<string, boolean>;
  now: Date;
}

export function terminatedState(c: RuntimeContainer): ContainerState {
  return {
    terminated: {
      exitCode: c.exitCode,
      reason: terminatedReason(c),
      ...(c.message || c.error ? { message: c.message || c.error } : {}),
      startedAt: c.startedAt,
      finishedAt: c.finishedAt,
      containerID: `docker://${c.id}`,
    },
  };
}

/** Docker gives no reason; synthesize the CRI's (containerd completeExitReason). */
export function terminatedReason(c: RuntimeContainer): string {
  if (c.oomKilled) return 'OOMKilled';
  if (!c.startedAt && c.exitCode !== 0) return 'StartError';
  return c.exitCode === 0 ? 'Completed' : 'Error';
}

export function attemptsOf(containers: RuntimeContainer[], name: string, kind: 'init' | 'app'): RuntimeContainer[] {
  return containers.filter((c) => c.name === name && c.kind === kind).sort((a, b) => a.attempt - b.attempt);
}

function containerStatus(spec: Container, attempts: RuntimeContainer[], input: StatusInput, defaultWaiting: string): ContainerStatus {
  const latest = attempts.at(-1);
  const previous = attempts.at(-2);
  const held = input.waiting.get(spec.name);
  let state: ContainerState;
  let lastState: ContainerState = previous && previous.state === 'exited' ? terminatedState(previous) : {};
  if (held) {
    state = { waiting: { reason: held.reason, ...(held.message ? { message: held.message } : {}) } };
    if (latest?.state === 'exited') lastState = terminatedState(latest);
  } else if (!latest || latest.state === 'created' || latest.state === 'unknown') {
    state = { waiting: { reason: defaultWaiting } };
  } else if (latest.state === 'running') {
    state = { running: { startedAt: latest.startedAt } };
  } else {
    state = terminatedState(latest);
  }
  const running = !!state.running;
  const started = running && (input.started?.get(spec.name) ?? true);
  const ready = started && (input.readiness?.get(spec.name) ?? true);
  return {
    name: spec.name,
    state,
    lastState,
    ready,
    started,
    restartCount: latest ? latest.attempt : 0,
    image: spec.image,
    imageID: latest ? `docker://${latest.imageID}` : '',
    ...(latest ? { containerID: `docker://${latest.id}` } : {}),
  };
}

export function initStatuses(input: StatusInput): ContainerStatus[] {
  return (input.pod.spec.initContainers ?? []).map((spec) => {
    const s = containerStatus(spec, attemptsOf(input.containers, spec.name, 'init'), input, 'PodInitializing');
    // Init containers are ready iff they completed successfully; sidecars like app containers.
    if (spec.restartPolicy !== 'Always') s.ready = s.state.terminated?.exitCode === 0;
    return s;
  });
}

/** An init container is done when it exited 0, or (a sidecar) once it has started. */
function initDone(pod: Pod, s: ContainerStatus): boolean {
  const sidecar = pod.spec.initContainers?.find((c) => c.name === s.name)?.restartPolicy === 'Always';
  return sidecar ? !!s.started : exitedOK(s);
}

export function appStatuses(input: StatusInput, initialized: boolean): ContainerStatus[] {
  const waiting = initialized ? 'ContainerCreating' : 'PodInitializing';
  return input.pod.spec.containers.map((spec) => containerStatus(spec, attemptsOf(input.containers, spec.name, 'app'), input, waiting));
}

function exitedOK(s: ContainerStatus): boolean {
  return s.state.terminated?.exitCode === 0;
}

/** kubelet_pods.go getPhase. */
export function podPhase(pod: Pod, init: ContainerStatus[], app: ContainerStatus[]): PodPhase {
  const policy = pod.spec.restartPolicy ?? 'Always';
  const anyAppStarted = app.some((s) => s.state.running || s.state.terminated || s.lastState.terminated);
  for (const s of init) {
    const failed =
      (s.state.terminated && s.state.terminated.exitCode !== 0) ||
      (s.state.waiting && s.lastState.terminated && s.lastState.terminated.exitCode !== 0);
    if (failed && policy === 'Never') return 'Failed';
  }
  const initPending = init.some((s) => !initDone(pod, s));
  if (initPending && !anyAppStarted) return 'Pending';
  let running = 0;
  let waiting = 0;
  let stopped = 0;
  let succeeded = 0;
  for (const s of app) {
    if (s.state.running) running++;
    else if (s.state.terminated) {
      stopped++;
      if (s.state.terminated.exitCode === 0) succeeded++;
    } else if (s.state.waiting) {
      if (s.lastState.terminated) stopped++;
      else waiting++;
    }
  }
  if (waiting > 0) return 'Pending';
  if (running > 0) return 'Running';
  if (stopped > 0 && stopped === app.length) {
    if (policy === 'Always') return 'Running';
    if (succeeded === app.length) return 'Succeeded';
    if (policy === 'Never') return 'Failed';
    return 'Running';
  }
  return 'Pending';
}

function condition(type: PodCondition['type'], ok: boolean, reason?: string, message?: string): PodCondition {
  return {
    type,
    status: ok ? 'True' : 'False',
    lastProbeTime: null,
    ...(ok || !reason ? {} : { reason, message }),
  };
}

function podConditions(pod: Pod, phase: PodPhase, init: ContainerStatus[], app: ContainerStatus[]): PodCondition[] {
  const pendingInit = init.filter((s) => !initDone(pod, s)).map((s) => s.name);
  const initialized = pendingInit.length === 0 || phase === 'Running' || phase === 'Succeeded';
  const unready = app.filter((s) => !s.ready).map((s) => s.name);
  const terminal = phase === 'Succeeded' || phase === 'Failed';
  const reason = terminal ? (phase === 'Succeeded' ? 'PodCompleted' : 'PodFailed') : 'ContainersNotReady';
  const containersReady = condition('ContainersReady', !terminal && unready.length === 0, reason, terminal ? undefined : `containers with unready status: [${unready.join(' ')}]`);
  return [
    condition('Initialized', initialized, 'ContainersNotInitialized', `containers with incomplete status: [${pendingInit.join(' ')}]`),
    { ...containersReady, type: 'Ready' },
    containersReady,
    { type: 'PodScheduled', status: 'True', lastProbeTime: null },
  ];
}

/** The pod's whole status; transition times are carried over from `previous`. */
export function generatePodStatus(input: StatusInput, previous: PodStatus | undefined): PodStatus {
  const init = initStatuses(input);
  const initialized = init.every((s) => initDone(input.pod, s));
  const app = appStatuses(input, initialized);
  const phase = podPhase(input.pod, init, app);
  const now = input.now.toISOString(); // millisecond precision: `minipod trace` draws with it
  const conditions = podConditions(input.pod, phase, init, app).map((c) => {
    const old = previous?.conditions?.find((p) => p.type === c.type);
    return { ...c, lastTransitionTime: old && old.status === c.status ? old.lastTransitionTime : now };
  });
  const status: PodStatus = {
    phase,
    conditions,
    ...(input.hostIP ? { hostIP: input.hostIP } : {}),
    ...(input.podIP ? { podIP: input.podIP, podIPs: [{ ip: input.podIP }] } : {}),
    startTime: previous?.startTime ?? now,
    ...(init.length ? { initContainerStatuses: init } : {}),
    containerStatuses: app,
    qosClass: podQOSClass(input.pod), // as upstream, for pods the API server did not classify
  };
  return status;
}
