// Kubernetes' defaulting for the Pod fields minipod implements
// (pkg/apis/core/v1/defaults.go), applied by the API server on create and by
// the CLI when it compares a manifest with the stored pod.
import type { Container, Pod, Probe } from './types.js';

export const DEFAULT_GRACE_SECONDS = 30;

/** `:latest` or no tag → Always, anything else (a tag or a digest) → IfNotPresent. */
export function defaultPullPolicy(image: string): 'Always' | 'IfNotPresent' {
  if (image.includes('@')) return 'IfNotPresent';
  const lastSlash = image.lastIndexOf('/');
  const colon = image.indexOf(':', lastSlash + 1);
  const tag = colon < 0 ? 'latest' : image.slice(colon + 1);
  return tag === 'latest' ? 'Always' : 'IfNotPresent';
}

function defaultProbe(p: Probe | undefined): void {
  if (!p) return;
  p.timeoutSeconds ??= 1;
  p.periodSeconds ??= 10;
  p.successThreshold ??= 1;
  p.failureThreshold ??= 3;
  if (p.httpGet) {
    p.httpGet.path ??= '/';
    p.httpGet.scheme ??= 'HTTP';
  }
}

/** SetDefaults_Pod: a limit without a request makes the request equal to it (in a pod, not a template). */
function defaultRequests(c: Container): void {
  const limits = c.resources?.limits;
  if (!limits || !Object.keys(limits).length) return;
  const requests = (c.resources!.requests ??= {});
  for (const [name, value] of Object.entries(limits)) {
    if (name !== '__proto__' && !Object.hasOwn(requests, name)) requests[name] = value;
  }
}

function defaultContainer(c: Container): void {
  defaultRequests(c);
  c.imagePullPolicy ??= defaultPullPolicy(c.image);
  c.terminationMessagePath ??= '/dev/termination-log';
  c.terminationMessagePolicy ??= 'File';
  for (const port of c.ports ?? []) port.protocol ??= 'TCP';
  defaultProbe(c.livenessProbe);
  defaultProbe(c.readinessProbe);
  defaultProbe(c.startupProbe);
}

/** Mutates and returns the pod with every default set. */
export function applyPodDefaults(pod: Pod): Pod {
  pod.metadata.namespace ||= 'default';
  const spec = pod.spec;
  spec.restartPolicy ??= 'Always';
  spec.terminationGracePeriodSeconds ??= DEFAULT_GRACE_SECONDS;
  spec.dnsPolicy ??= 'ClusterFirst';
  spec.schedulerName ??= 'default-scheduler';
  spec.enableServiceLinks ??= true;
  for (const c of spec.initContainers ?? []) defaultContainer(c);
  for (const c of spec.containers) defaultContainer(c);
  return pod;
}
