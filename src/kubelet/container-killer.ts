// Stopping a pod's containers as the kubelet's killContainer does: the preStop
// hook inside the grace period, then the stop signal, then SIGKILL when what is
// left of the grace period ends; app containers first, then sidecars in reverse
// order, then the sandbox.
import type { Container, Pod } from '../api/types.js';
import type { EventRecorder } from '../client/recorder.js';
import type { ContainerKind, DockerRuntime, RuntimeContainer } from '../runtime/docker.js';
import type { Clock } from './clock.js';
import { describeHandler, runHook } from './hooks.js';

const SANDBOX_STOP_SECONDS = 2;
/** The kubelet's minimumGracePeriodInSeconds: never less after a preStop hook. */
const MIN_GRACE_AFTER_PRESTOP_SECONDS = 2;

export interface KillerDeps {
  runtime: DockerRuntime;
  recorder: EventRecorder;
  clock: Clock;
}

/** A sidecar is an init container with restartPolicy Always (KEP-753). */
export function isSidecar(c: Container): boolean {
  return c.restartPolicy === 'Always';
}

export function fieldPath(spec: Container, kind: ContainerKind): string {
  return kind === 'init' ? `spec.initContainers{${spec.name}}` : `spec.containers{${spec.name}}`;
}

export class ContainerKiller {
  constructor(
    private deps: KillerDeps,
    private pod: () => Pod,
  ) {}

  /** Every running app/init container (app first, then sidecars in reverse order), then the sandbox. */
  async killContainers(containers: RuntimeContainer[], grace: number): Promise<void> {
    const pod = this.pod();
    const running = containers.filter((c) => c.kind !== 'sandbox' && c.state === 'running');
    const sidecars = (pod.spec.initContainers ?? []).filter(isSidecar).map((s) => s.name);
    const isSidecarContainer = (c: RuntimeContainer) => c.kind === 'init' && sidecars.includes(c.name);
    await Promise.all(running.filter((c) => !isSidecarContainer(c)).map((c) => this.killContainer(c, grace)));
    for (const name of [...sidecars].reverse()) {
      await Promise.all(running.filter((c) => isSidecarContainer(c) && c.name === name).map((c) => this.killContainer(c, grace)));
    }
    const sandboxes = containers.filter((c) => c.kind === 'sandbox' && c.state === 'running');
    await Promise.all(sandboxes.map((s) => this.deps.runtime.stopContainer(s.id, SANDBOX_STOP_SECONDS)));
  }

  /**
   * One container: preStop (within the grace period; a failure is reported and
   * the kill goes on), then the stop signal, SIGKILL at the end of what is left.
   * `reason` other than 'Killing' means the caller already said why.
   */
  async killContainer(c: RuntimeContainer, grace: number, reason = 'Killing'): Promise<void> {
    const pod = this.pod();
    const spec = [...pod.spec.containers, ...(pod.spec.initContainers ?? [])].find((s) => s.name === c.name);
    const path = spec ? fieldPath(spec, c.kind) : undefined;
    if (reason === 'Killing') this.deps.recorder.event(pod, 'Normal', 'Killing', `Stopping container ${c.name}`, path);
    const preStop = spec?.lifecycle?.preStop;
    if (spec && preStop && grace > 0) {
      const started = this.deps.clock.now();
      const result = await runHook(this.deps.runtime, preStop, { containerId: c.id, podIP: pod.status?.podIP, spec }, grace * 1000);
      if (!result.ok) {
        const m = pod.metadata;
        this.deps.recorder.event(
          pod,
          'Warning',
          'FailedPreStopHook',
          `${describeHandler(preStop)} for Container "${c.name}" in Pod "${m.name}_${m.namespace}(${m.uid})" failed - error: ${result.message}`,
          path,
        );
      }
      grace = Math.max(grace - Math.floor((this.deps.clock.now() - started) / 1000), MIN_GRACE_AFTER_PRESTOP_SECONDS);
    }
    await this.deps.runtime.stopContainer(c.id, grace);
  }
}
