// Shared shapes of the prober (pkg/kubelet/prober, pkg/probe): what one probe run
// yields, and what a probe needs to know about its container.
import type { Container, Probe } from '../../api/types.js';

export type ProbeKind = 'liveness' | 'readiness' | 'startup';

/** A cached, committed result (pkg/kubelet/prober/results). Unknown changes nothing. */
export type ProbeResult = 'success' | 'failure' | 'unknown';

/**
 * One run of a handler (pkg/probe): `warning` is a success with something to say
 * (an HTTP redirect that was not followed); `unknown` is an error of the prober
 * itself (not of the container), whose result is thrown away.
 */
export interface ProbeOutcome {
  result: 'success' | 'warning' | 'failure' | 'unknown';
  output: string;
}

/** What a handler probes: one container of one pod. */
export interface ProbeTarget {
  containerId: string;
  spec: Container;
  /** The pod's IP (the host's with hostNetwork): the default host of tcpSocket and httpGet. */
  podIP?: string;
}

/** A probe with the API's defaults applied (SetDefaults_Probe), in case the stored pod lacks them. */
export interface ProbeTiming {
  initialDelaySeconds: number;
  periodSeconds: number;
  timeoutSeconds: number;
  successThreshold: number;
  failureThreshold: number;
}

export function probeTiming(p: Probe): ProbeTiming {
  return {
    initialDelaySeconds: p.initialDelaySeconds ?? 0,
    periodSeconds: p.periodSeconds || 10,
    timeoutSeconds: p.timeoutSeconds || 1,
    successThreshold: p.successThreshold || 1,
    failureThreshold: p.failureThreshold || 3,
  };
}

/** "Liveness", as the kubelet's probeType.String() in event messages. */
export function kindTitle(kind: ProbeKind): string {
  return kind[0].toUpperCase() + kind.slice(1);
}

export const PROBE_KINDS: readonly ProbeKind[] = ['startup', 'liveness', 'readiness'];

export function probeOf(spec: Container, kind: ProbeKind): Probe | undefined {
  return kind === 'liveness' ? spec.livenessProbe : kind === 'readiness' ? spec.readinessProbe : spec.startupProbe;
}

/** A port given by name is looked up among the container's ports (probe.ResolveContainerPort). */
export function resolveProbePort(port: number | string, spec: Container): number {
  if (typeof port === 'number') return port;
  if (/^\d+$/.test(port)) return Number(port);
  const found = spec.ports?.find((p) => p.name === port);
  if (!found) throw new Error(`couldn't find port "${port}" in container "${spec.name}"`);
  return found.containerPort;
}

/** Go's net error texts, which users know from kubelet events. */
export function dialError(host: string, port: number, err: NodeJS.ErrnoException): string {
  const addr = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  switch (err.code) {
    case 'ECONNREFUSED':
      return `dial tcp ${addr}: connect: connection refused`;
    case 'EHOSTUNREACH':
      return `dial tcp ${addr}: connect: no route to host`;
    case 'ENETUNREACH':
      return `dial tcp ${addr}: connect: network is unreachable`;
    case 'ETIMEDOUT':
      return `dial tcp ${addr}: i/o timeout`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `dial tcp: lookup ${host}: no such host`;
    default:
      return `dial tcp ${addr}: ${err.message}`;
  }
}
