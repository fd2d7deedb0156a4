// From a pod's container spec to the runtime's container config: command and
// args, the environment ($(VAR) expansion, fieldRef, resourceFieldRef, the
// kubernetes service variables), volumes, limits and the security context.
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Container, Pod } from '../api/types.js';
import { parseQuantity } from '../api/quantity.js';
import type { ContainerConfig, ContainerKind, Mount } from '../runtime/docker.js';
import { sortKeys } from '../apiserver/registry.js';
import { SubPathError, resolveSubPath } from './subpath.js';
import { bindSubPath, canBindMount, subPathTarget } from './subpath-mount.js';
import { seccompFor, verifyRunAsNonRoot } from './security-context.js';
import { linuxContainerResources } from './resources.js';

/**
 * The container's config cannot be made from its spec and the node's state: the
 * kubelet's CreateContainerConfigError, and no container is created. `message` is
 * for the user; `detail` (host paths) only for the daemon's log.
 */
export class ContainerConfigError extends Error {
  constructor(
    message: string,
    readonly detail?: string,
  ) {
    super(message);
    this.name = 'ContainerConfigError';
  }
}

export interface PodContext {
  pod: Pod;
  podIP?: string;
  hostIP?: string;
  volumeDirs: Map<string, string>; // volume name → host path
  /** Host folder for the files mounted at each container's terminationMessagePath. */
  terminationLogDir?: string;
  /** Host folder for the pinned bind mounts of subPaths (volume-subpaths). */
  subPathsDir?: string;
  /** The kubelet's seccomp root: Localhost profiles are read below it. */
  seccompRoot?: string;
  /** Where pods reach the API server, for the KUBERNETES_SERVICE_* variables. */
  apiHost?: string;
  apiPort?: number;
  /** The pod's hosts file and resolv.conf on the host, mounted at /etc/hosts and /etc/resolv.conf. */
  hostsFile?: string;
  resolvConf?: string;
}

/** A short hash of the container's spec: a changed spec means a new container. */
export function containerHash(c: Container): string {
  return createHash('sha256').update(JSON.stringify(sortKeys(c))).digest('hex').slice(0, 12);
}

/** Kubernetes' $(VAR) expansion: $$ escapes, unknown references stay as written. */
export function expand(text: string, vars: Map<string, string>): string {
  return text.replace(/\$\$|\$\(([-._a-zA-Z][-._a-zA-Z0-9]*)\)/g, (m, name: string | undefined) => {
    if (m === '$$') return '$';
    return vars.has(name!) ? vars.get(name!)! : m;
  });
}

function fieldRef(path: string, ctx: PodContext): string {
  const meta = ctx.pod.metadata;
  const sub = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
  if (sub) return (sub[1] === 'labels' ? meta.labels : meta.annotations)?.[sub[2]] ?? '';
  switch (path) {
    case 'metadata.name':
      return meta.name ?? '';
    case 'metadata.namespace':
      return meta.namespace ?? 'default';
    case 'metadata.uid':
      return meta.uid ?? '';
    case 'metadata.labels':
      return formatMap(meta.labels);
    case 'metadata.annotations':
      return formatMap(meta.annotations);
    case 'spec.nodeName':
      return ctx.pod.spec.nodeName ?? '';
    case 'spec.serviceAccountName':
      return 'default';
    case 'status.podIP':
    case 'status.podIPs':
      return ctx.podIP ?? '';
    case 'status.hostIP':
      return ctx.hostIP ?? '';
    default:
      return '';
  }
}

/** The downward API's `key="value"` lines, sorted by key. */
export function formatMap(m: Record<string, string> | undefined): string {
  return Object.keys(m ?? {})
    .sort()
    .map((k) => `${k}=${JSON.stringify(m![k])}`)
    .join('\n');
}

function resourceFieldRef(c: Container, ref: { resource: string; divisor?: string | number }): string {
  const [kind, name] = ref.resource.split('.');
  const value = c.resources?.[kind as 'limits' | 'requests']?.[name];
  const divisor = ref.divisor !== undefined ? parseQuantity(ref.divisor) : 1;
  if (value === undefined) return kind === 'limits' && name === 'cpu' ? String(Math.ceil(2 / divisor)) : '0';
  return String(Math.ceil(parseQuantity(value) / divisor));
}

export function containerEnv(c: Container, ctx: PodContext): string[] {
  const vars = new Map<string, string>();
  if (ctx.apiHost) {
    const port = String(ctx.apiPort ?? 443);
    const url = `tcp://${ctx.apiHost}:${port}`;
    vars.set('KUBERNETES_SERVICE_HOST', ctx.apiHost);
    vars.set('KUBERNETES_SERVICE_PORT', port);
    vars.set('KUBERNETES_SERVICE_PORT_HTTPS', port);
    vars.set('KUBERNETES_PORT', url);
    vars.set(`KUBERNETES_PORT_${port}_TCP`, url);
    vars.set(`KUBERNETES_PORT_${port}_TCP_PROTO`, 'tcp');
    vars.set(`KUBERNETES_PORT_${port}_TCP_PORT`, port);
    vars.set(`KUBERNETES_PORT_${port}_TCP_ADDR`, ctx.apiHost);
  }
  for (const e of c.env ?? []) {
    let value: string;
    if (e.valueFrom?.fieldRef) value = fieldRef(e.valueFrom.fieldRef.fieldPath, ctx);
    else if (e.valueFrom?.resourceFieldRef) value = resourceFieldRef(c, e.valueFrom.resourceFieldRef);
    else value = expand(e.value ?? '', vars);
    vars.set(e.name, value);
  }
  return [...vars].map(([k, v]) => `${k}=${v}`);
}

function mounts(c: Container, ctx: PodContext, attempt: number): Mount[] {
  const out = (c.volumeMounts ?? []).map((m, i) => {
    const dir = ctx.volumeDirs.get(m.name);
    if (!dir) throw new ContainerConfigError(`volume "${m.name}" of container "${c.name}" is not prepared`);
    const target = ctx.subPathsDir && canBindMount() ? subPathTarget(ctx.subPathsDir, m.name, c.name, i) : undefined;
    return { hostPath: m.subPath ? subPathSource(dir, m.subPath, m.name, c.name, target) : dir, containerPath: m.mountPath, readOnly: m.readOnly };
  });
  if (ctx.terminationLogDir) {
    // As the kubelet does: a fresh file per attempt, where the container may leave its last words.
    const file = terminationLogFile(ctx.terminationLogDir, c.name, attempt);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, '', { mode: 0o666 });
    chmodSync(file, 0o666);
    out.push({ hostPath: file, containerPath: c.terminationMessagePath ?? '/dev/termination-log', readOnly: false });
  }
  // A container that mounts a volume there keeps its own (the kubelet's and the runtime's rule).
  const taken = (path: string) => (c.volumeMounts ?? []).some((m) => m.mountPath === path);
  if (ctx.hostsFile && !taken('/etc/hosts')) out.push({ hostPath: ctx.hostsFile, containerPath: '/etc/hosts', readOnly: false });
  if (ctx.resolvConf && !taken('/etc/resolv.conf')) out.push({ hostPath: ctx.resolvConf, containerPath: '/etc/resolv.conf', readOnly: !!c.securityContext?.readOnlyRootFilesystem });
  return out;
}

/**
 * The host path to bind for a subPath, checked anew at each container start. As the
 * kubelet does, the user sees which mount failed but not the host paths involved.
 */
function subPathSource(volumePath: string, subPath: string, volume: string, container: string, target?: string): string {
  try {
    return target ? bindSubPath(volumePath, subPath, target) : resolveSubPath(volumePath, subPath).path;
  } catch (err) {
    if (!(err instanceof SubPathError)) throw err;
    const which = `volumeMount ${JSON.stringify(volume)} of container ${JSON.stringify(container)}`;
    if (err.step === 'validate') throw new ContainerConfigError(err.message);
    if (err.step === 'create') throw new ContainerConfigError(`failed to create subPath directory for ${which}`, err.message);
    throw new ContainerConfigError(`failed to prepare subPath for ${which}`, err.message);
  }
}

export function terminationLogFile(dir: string, container: string, attempt: number): string {
  return join(dir, container, String(attempt));
}

/** `imageUser`: the image's configured user, which runAsNonRoot needs when no runAsUser is set. */
export function buildContainerConfig(c: Container, kind: ContainerKind, attempt: number, ctx: PodContext, imageUser?: string): ContainerConfig {
  const envList = containerEnv(c, ctx);
  const vars = new Map(envList.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
  const podSec = ctx.pod.spec.securityContext ?? {};
  const sec = c.securityContext ?? {};
  const uid = sec.runAsUser ?? podSec.runAsUser;
  const gid = sec.runAsGroup ?? podSec.runAsGroup;
  const groups = [...(podSec.supplementalGroups ?? []), ...(podSec.fsGroup !== undefined ? [podSec.fsGroup] : [])];
  const resources = linuxContainerResources(c);
  // The kubelet's order: mounts and environment, then runAsNonRoot, then seccomp.
  const containerMounts = mounts(c, ctx, attempt);
  verifyRunAsNonRoot(ctx.pod, c, imageUser);
  const seccomp = seccompFor(ctx.pod, c, ctx.seccompRoot);
  return {
    name: c.name,
    kind,
    attempt,
    hash: containerHash(c),
    image: c.image,
    entrypoint: c.command?.map((s) => expand(s, vars)),
    cmd: c.args?.map((s) => expand(s, vars)),
    env: envList,
    workingDir: c.workingDir,
    mounts: containerMounts,
    user: uid !== undefined ? (gid !== undefined ? `${uid}:${gid}` : String(uid)) : gid !== undefined ? `0:${gid}` : undefined,
    readOnlyRootfs: sec.readOnlyRootFilesystem,
    cpuShares: resources.cpuShares,
    cpuPeriod: resources.cpuPeriod,
    cpuQuota: resources.cpuQuota,
    memoryBytes: resources.memoryLimitBytes,
    memorySwapBytes: resources.memorySwapLimitBytes,
    capAdd: sec.capabilities?.add,
    capDrop: sec.capabilities?.drop,
    privileged: sec.privileged,
    noNewPrivileges: sec.allowPrivilegeEscalation === false,
    seccomp,
    tty: c.tty,
    stdin: c.stdin,
    groupAdd: groups.length ? groups.map(String) : undefined,
  };
}
