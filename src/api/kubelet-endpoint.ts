// How a node tells the API server where its kubelet serves logs and exec: an
// annotation with the full address (a unix socket for the daemon's own kubelet,
// https://host:port for a node agent), and, as Kubernetes publishes it,
// status.daemonEndpoints.kubeletEndpoint.Port next to the node's InternalIP. A
// kubelet on TCP serves a self-signed certificate whose SHA-256 the node publishes
// too: only the node itself may write its Node object (NodeRestriction), so the
// API server can trust that pin, and never sends its credential to another server.
import type { Node } from './types.js';

export const KUBELET_ENDPOINT_ANNOTATION = 'minipod.io/kubelet-endpoint';
export const KUBELET_SERVING_CERT_ANNOTATION = 'minipod.io/kubelet-serving-cert-sha256';

/** Where a node's kubelet can be reached, as published on its Node object. */
export interface KubeletEndpoint {
  /** unix:///path/to/kubelet.sock or https://host:port */
  url: string;
  /** status.daemonEndpoints.kubeletEndpoint.Port (0 for a unix socket) */
  port: number;
  /** On TCP: the SHA-256 of the serving certificate (hex). */
  certificateSha256?: string;
}

export type NodeWithEndpoints = Node & { status?: { daemonEndpoints?: { kubeletEndpoint?: { Port?: number } } } };

export interface KubeletTarget {
  url: string;
  socketPath?: string;
  host?: string;
  port?: number;
  /** The SHA-256 the kubelet's serving certificate must have (TCP). */
  certificateSha256?: string;
  /** An http:// endpoint, which the API server refuses to use. */
  plainHttp?: boolean;
}

/** Where the kubelet of `node` listens: its annotation, else InternalIP:daemonEndpoints port. */
export function kubeletTarget(node: NodeWithEndpoints): KubeletTarget | undefined {
  const url = node.metadata.annotations?.[KUBELET_ENDPOINT_ANNOTATION];
  if (url?.startsWith('unix://')) return { url, socketPath: url.slice('unix://'.length) };
  const certificateSha256 = node.metadata.annotations?.[KUBELET_SERVING_CERT_ANNOTATION];
  if (url?.startsWith('https://') || url?.startsWith('http://')) {
    const u = new URL(url);
    const plainHttp = u.protocol === 'http:';
    return { url, host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port || (plainHttp ? 80 : 443)), certificateSha256, ...(plainHttp ? { plainHttp } : {}) };
  }
  const port = node.status?.daemonEndpoints?.kubeletEndpoint?.Port;
  const ip = node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
  if (port && ip) return { url: `https://${ip.includes(':') ? `[${ip}]` : ip}:${port}`, host: ip, port, certificateSha256 };
  return undefined;
}
