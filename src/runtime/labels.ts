// The labels minipod puts on every Docker object it makes, and the rules that
// decide which objects a kubelet may touch: those of its own cluster and node,
// never one without minipod's labels. Pure functions, so that the rules are
// unit-tested without Docker.

export const LABEL = {
  managed: 'minipod.io/managed',
  /** The uid of the store's kube-system Namespace: two daemons sharing one etcd are one cluster. */
  cluster: 'minipod.io/cluster',
  node: 'minipod.io/node',
  podUid: 'io.kubernetes.pod.uid',
  podName: 'io.kubernetes.pod.name',
  podNamespace: 'io.kubernetes.pod.namespace',
  container: 'io.kubernetes.container.name',
  kind: 'minipod.io/kind',
  attempt: 'minipod.io/attempt',
  hash: 'minipod.io/hash',
  sandbox: 'minipod.io/sandbox',
  // A node claim (node-claim.ts): who serves a node name on this engine.
  home: 'minipod.io/home',
  socket: 'minipod.io/socket',
  pid: 'minipod.io/pid',
  lock: 'minipod.io/lock',
  host: 'minipod.io/host',
} as const;

/** Whose objects a kubelet deals with. */
export interface Owner {
  cluster: string;
  node: string;
}

/** Docker's label filter for a node's pod containers (Docker ANDs them; the cluster is checked by `ownContainer`). */
export function podContainerFilter(node: string, podUid?: string): string[] {
  return [`${LABEL.managed}=true`, `${LABEL.node}=${node}`, podUid ? `${LABEL.podUid}=${podUid}` : LABEL.podUid];
}

/**
 * Whether a container (by its labels) is this kubelet's to list, adopt and remove.
 * One of another cluster never is. One made by an older minipod (no cluster label)
 * is only when its pod is one this cluster's API knows (`knownPod`): an upgrade
 * keeps running pods, and such a container is never an orphan to remove.
 */
export function ownContainer(labels: Record<string, string> | undefined, owner: Owner, knownPod?: (uid: string) => boolean): boolean {
  const l = labels ?? {};
  if (l[LABEL.managed] !== 'true' || l[LABEL.node] !== owner.node || !l[LABEL.podUid]) return false;
  const cluster = l[LABEL.cluster];
  if (cluster) return cluster === owner.cluster;
  return !!knownPod?.(l[LABEL.podUid]);
}

/** Whether a Docker event's attributes (its container's labels) are of this kubelet's pods. */
export function ownEvent(attrs: Record<string, string> | undefined, owner: Owner): boolean {
  const l = attrs ?? {};
  if (l[LABEL.node] !== owner.node || !l[LABEL.podUid]) return false;
  return !l[LABEL.cluster] || l[LABEL.cluster] === owner.cluster; // an older one's: its pod worker (if any) decides
}

export type ContainerKind = 'sandbox' | 'init' | 'app';

export interface PodRef {
  uid: string;
  name: string;
  namespace: string;
}

/** The labels of one pod container. */
export function podContainerLabels(owner: Owner, pod: PodRef, name: string, kind: ContainerKind, attempt: number, hash: string): Record<string, string> {
  return {
    [LABEL.managed]: 'true',
    [LABEL.cluster]: owner.cluster,
    [LABEL.node]: owner.node,
    [LABEL.podUid]: pod.uid,
    [LABEL.podName]: pod.name,
    [LABEL.podNamespace]: pod.namespace,
    [LABEL.container]: name,
    [LABEL.kind]: kind,
    [LABEL.attempt]: String(attempt),
    [LABEL.hash]: hash,
  };
}

/** Who holds a node name on one Docker Engine (see src/kubelet/node-claim.ts). */
export interface NodeClaim {
  node: string;
  cluster: string;
  home: string;
  /** Where its API server (a daemon) or kubelet (a node agent) answers, when on a unix socket. */
  socket: string;
  pid: number;
  /** The lock file its process holds while it runs (src/daemon/lock.ts). */
  lock: string;
  /** The machine it runs on: pid and lock mean something on that machine only. */
  host: string;
}

export function claimLabels(c: NodeClaim): Record<string, string> {
  return {
    [LABEL.managed]: 'true',
    [LABEL.kind]: 'claim',
    [LABEL.node]: c.node,
    [LABEL.cluster]: c.cluster,
    [LABEL.home]: c.home,
    [LABEL.socket]: c.socket,
    [LABEL.pid]: String(c.pid),
    [LABEL.lock]: c.lock,
    [LABEL.host]: c.host,
  };
}

/** The claim a Docker object's labels describe; undefined when they are not a claim's. */
export function claimFromLabels(labels: Record<string, string> | undefined): NodeClaim | undefined {
  const l = labels ?? {};
  if (l[LABEL.managed] !== 'true' || l[LABEL.kind] !== 'claim' || !l[LABEL.node]) return undefined;
  return {
    node: l[LABEL.node],
    cluster: l[LABEL.cluster] ?? '',
    home: l[LABEL.home] ?? '',
    socket: l[LABEL.socket] ?? '',
    pid: Number(l[LABEL.pid] ?? 0),
    lock: l[LABEL.lock] ?? '',
    host: l[LABEL.host] ?? '',
  };
}

/** The claim's Docker volume: one name per node name, so that Docker's name uniqueness arbitrates two claimants. */
export function claimVolumeName(node: string): string {
  return `minipod-claim-${node}`;
}
