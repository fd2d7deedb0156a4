// How a node tells the API server where its kubelet serves logs and exec: an
// annotation with the full address (a unix socket for the daemon's own kubelet,
// http://host:port for a node agent), and, as Kubernetes publishes it,
// status.daemonEndpoints.kubeletEndpoint.Port next to the node's InternalIP.
import type { Node } from './types.js';

export const KUBELET_ENDPOINT_ANNOTATION = 'minipod.io/kubelet-endpoint';

/** Where a node's kubelet can be reached, as published on its Node object. */
export interface KubeletEndpoint {
  /** unix:///path/to/kubelet.sock or http://host:port */
  url: string;
  /** status.daemonEndpoints.kubeletEndpoint.Port (0 for a unix socket) */
  port: number;
}

export type NodeWithEndpoints = Node & { status?: { daemonEndpoints?: { kubeletEndpoint?: { Port?: number } } } };

export interface KubeletTarget {
  url: string;
  socketPath?: string;
  host?: string;
  port?: number;
}

/** Where the kubelet of `node` listens: its annotation, else InternalIP:daemonEndpoints port. */
export function kubeletTarget(node: NodeWithEndpoints): KubeletTarget | undefined {
  const url = node.metadata.annotations?.[KUBELET_ENDPOINT_ANNOTATION];
  if (url?.startsWith('unix://')) return { url, socketPath: url.slice('unix://'.length) };
  if (url?.startsWith('http://')) {
    const u = new URL(url);
    return { url, host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port || 80) };
  }
  const port = node.status?.daemonEndpoints?.kubeletEndpoint?.Port;
  const ip = node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
  if (port && ip) return { url: `http://${ip}:${port}`, host: ip, port };
  return undefined;
}
