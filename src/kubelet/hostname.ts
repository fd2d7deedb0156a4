// The pod's hostname and domain, as the kubelet makes them
// (GeneratePodHostNameAndDomain, GetNodenameForKernel): spec.hostname or the pod's
// name, cut to 63 characters; with spec.subdomain the domain is
// <subdomain>.<namespace>.svc.<cluster domain>; with setHostnameAsFQDN the kernel's
// hostname is the whole FQDN, which must fit its 64 characters.
import type { Pod } from '../api/types.js';

/** minipod's cluster domain: the conventional one, as no cluster DNS serves it. */
export const CLUSTER_DOMAIN = 'cluster.local';

const HOSTNAME_MAX = 63; // 64 bytes with the terminating NUL
const FQDN_MAX = 64; // the kernel's nodename field

/** The sandbox cannot be configured from the pod's spec: the kubelet's FailedCreatePodSandBox. */
export class SandboxConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SandboxConfigError';
  }
}

/** A hostname over 63 characters is cut, and may then not end with '-' or '.'. */
export function truncatePodHostname(hostname: string): string {
  if (hostname.length <= HOSTNAME_MAX) return hostname;
  return hostname.slice(0, HOSTNAME_MAX).replace(/[-.]+$/, '');
}

/** The short hostname, and the domain ('' without a subdomain). */
export function podHostnameAndDomain(pod: Pod, clusterDomain = CLUSTER_DOMAIN): { hostname: string; domain: string } {
  const hostname = truncatePodHostname(pod.spec.hostname || pod.metadata.name!);
  const sub = pod.spec.subdomain;
  return { hostname, domain: sub ? `${sub}.${pod.metadata.namespace ?? 'default'}.svc.${clusterDomain}` : '' };
}

/** The hostname the pod's UTS namespace gets: the FQDN with setHostnameAsFQDN (and a domain), else the short name. */
export function nodenameForKernel(hostname: string, domain: string, setHostnameAsFQDN?: boolean): string {
  if (!domain || !setHostnameAsFQDN) return hostname;
  const fqdn = `${hostname}.${domain}`;
  if (fqdn.length > FQDN_MAX) {
    throw new SandboxConfigError(
      `failed to construct FQDN from pod hostname and cluster domain, FQDN ${fqdn} is too long (${FQDN_MAX} characters is the max, ${fqdn.length} characters requested)`,
    );
  }
  return fqdn;
}
