// The Pod Security Standards as a table of small checks, one per control
// (k8s.io/pod-security-admission/policy, at its latest version). Each check looks
// at a pod's metadata and spec and returns nothing, or why the pod fails it:
// a short reason and a detail, worded exactly as the upstream API server words
// them, since users and scripts match on those strings.
//
// The views below name every field a check reads, wider than the Pod minipod
// accepts today: the checks stay right when the schema grows.

export interface Failure {
  reason: string;
  detail: string;
}

interface SeccompView { type?: string }
interface SELinuxView { type?: string; user?: string; role?: string; level?: string }
interface WindowsView { hostProcess?: boolean }
interface HandlerView { httpGet?: { host?: string }; tcpSocket?: { host?: string } }

export interface ContainerView {
  name: string;
  image?: string;
  ports?: { hostPort?: number }[];
  livenessProbe?: HandlerView;
  readinessProbe?: HandlerView;
  startupProbe?: HandlerView;
  lifecycle?: { postStart?: HandlerView; preStop?: HandlerView };
  securityContext?: {
    privileged?: boolean;
    allowPrivilegeEscalation?: boolean;
    capabilities?: { add?: string[]; drop?: string[] };
    runAsNonRoot?: boolean;
    runAsUser?: number;
    procMount?: string;
    seccompProfile?: SeccompView;
    seLinuxOptions?: SELinuxView;
    appArmorProfile?: SeccompView;
    windowsOptions?: WindowsView;
  };
}

/** Inline volume sources; restricted allows the first nine. */
const ALLOWED_RESTRICTED_VOLUMES = ['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'image', 'persistentVolumeClaim', 'projected', 'secret'] as const;
/** The others, in the order upstream names the first one a volume sets. */
const RESTRICTED_VOLUME_TYPES = [
  'hostPath', 'gcePersistentDisk', 'awsElasticBlockStore', 'gitRepo', 'nfs', 'iscsi', 'glusterfs', 'rbd', 'flexVolume', 'cinder',
  'cephfs', 'flocker', 'fc', 'azureFile', 'vsphereVolume', 'quobyte', 'azureDisk', 'photonPersistentDisk', 'portworxVolume', 'scaleIO', 'storageos',
] as const;
type VolumeSource = (typeof ALLOWED_RESTRICTED_VOLUMES)[number] | (typeof RESTRICTED_VOLUME_TYPES)[number];
export type VolumeView = { name: string } & { [K in VolumeSource]?: unknown };

export interface PodSpecView {
  containers: ContainerView[];
  initContainers?: ContainerView[];
  ephemeralContainers?: ContainerView[];
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
  hostUsers?: boolean;
  os?: { name?: string };
  volumes?: VolumeView[];
  securityContext?: {
    runAsNonRoot?: boolean;
    runAsUser?: number;
    seccompProfile?: SeccompView;
    seLinuxOptions?: SELinuxView;
    appArmorProfile?: SeccompView;
    windowsOptions?: WindowsView;
    sysctls?: { name: string; value?: string }[];
  };
}

export interface PodMetaView {
  annotations?: Record<string, string>;
}

export interface Check {
  /** Upstream's check ID: the table's order follows it. */
  id: string;
  level: 'baseline' | 'restricted';
  /** Baseline checks that this restricted one replaces (it covers what they cover). */
  overrides?: string[];
  check(meta: PodMetaView, spec: PodSpecView): Failure | undefined;
}

// --- wording helpers (upstream's joinQuote and pluralize)

const joinQuote = (items: string[]) => (items.length ? `"${items.join('", "')}"` : '');
const plural = (singular: string, many: string, n: number) => (n === 1 ? singular : many);
const containers = (names: string[]) => `${plural('container', 'containers', names.length)} ${joinQuote(names)}`;
/** A sorted set, as Go's sets.String.List() gives it. */
const sortedSet = (items: Iterable<string>) => [...new Set(items)].sort();

/** Go's %q for the values users put in annotations. */
export function goQuote(s: string): string {
  const named: Record<string, string> = { '\x07': '\\a', '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\v': '\\v', '"': '\\"', '\\': '\\\\' };
  let out = '"';
  for (const ch of s) {
    const code = ch.codePointAt(0)!;
    if (named[ch]) out += named[ch];
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else if ((code >= 0x80 && code < 0xa0) || (code >= 0xd800 && code < 0xe000)) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return out + '"';
}

/** Init containers, then containers, then ephemeral containers. */
function allContainers(spec: PodSpecView): ContainerView[] {
  return [...(spec.initContainers ?? []), ...spec.containers, ...(spec.ephemeralContainers ?? [])];
}

/** "pod and containers "a", "b"": who set a forbidden value. */
function setters(podSet: boolean, names: string[]): string[] {
  const out = podSet ? ['pod'] : [];
  if (names.length) out.push(containers(names));
  return out;
}

const isWindows = (spec: PodSpecView) => spec.os?.name === 'windows';
/** In a user namespace, root in the pod is not root on the node. */
const inUserNamespace = (spec: PodSpecView) => spec.hostUsers === false;
const validSeccomp = (type: string | undefined) => type === 'RuntimeDefault' || type === 'Localhost';

// --- baseline

const BASELINE_CAPABILITIES = new Set([
  'AUDIT_WRITE', 'CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'KILL', 'MKNOD', 'NET_BIND_SERVICE', 'SETFCAP', 'SETGID', 'SETPCAP', 'SETUID', 'SYS_CHROOT',
]);

const SELINUX_TYPES = new Set(['', 'container_t', 'container_init_t', 'container_kvm_t', 'container_engine_t']);

export const SAFE_SYSCTLS = new Set([
  'kernel.shm_rmid_forced',
  'net.ipv4.ip_local_port_range',
  'net.ipv4.tcp_syncookies',
  'net.ipv4.ping_group_range',
  'net.ipv4.ip_unprivileged_port_start',
  'net.ipv4.ip_local_reserved_ports',
  'net.ipv4.tcp_keepalive_time',
  'net.ipv4.tcp_fin_timeout',
  'net.ipv4.tcp_keepalive_intvl',
  'net.ipv4.tcp_keepalive_probes',
  'net.ipv4.tcp_rmem',
  'net.ipv4.tcp_wmem',
  'net.ipv4.tcp_slow_start_after_idle',
  'net.ipv4.tcp_notsent_lowat',
]);

/**
 * A profile field (appArmorProfile, seccompProfile) set with a type the level
 * does not allow, at pod level and per container: who set it, and the values.
 */
function badProfileTypes(
  spec: PodSpecView,
  profile: (sc: { appArmorProfile?: { type?: string }; seccompProfile?: { type?: string } } | undefined) => { type?: string } | undefined,
  allowed: (type: string | undefined) => boolean,
): { podBad: boolean; bad: string[]; badValues: string[] } {
  const badValues: string[] = [];
  const pod = profile(spec.securityContext);
  const podBad = !!pod && !allowed(pod.type);
  if (podBad) badValues.push(pod!.type ?? '');
  const bad: string[] = [];
  for (const c of allContainers(spec)) {
    const p = profile(c.securityContext);
    if (p && !allowed(p.type)) {
      bad.push(c.name);
      badValues.push(p.type ?? '');
    }
  }
  return { podBad, bad, badValues };
}

const APPARMOR_ANNOTATION_PREFIX = 'container.apparmor.security.beta.kubernetes.io/';

function appArmorProfile(meta: PodMetaView, spec: PodSpecView): Failure | undefined {
  const allowedType = (t: string | undefined) => t === 'RuntimeDefault' || t === 'Localhost';
  const { podBad, bad, badValues } = badProfileTypes(spec, (sc) => sc?.appArmorProfile, allowedType);
  const who = setters(podBad, bad);
  const values = sortedSet(badValues);
  const annotations = Object.entries(meta.annotations ?? {})
    .filter(([k, v]) => k.startsWith(APPARMOR_ANNOTATION_PREFIX) && !(v === '' || v === 'runtime/default' || v.startsWith('localhost/')))
    .map(([k, v]) => `${k}=${goQuote(v)}`)
    .sort();
  if (annotations.length) {
    values.push(...annotations);
    who.push(plural('annotation', 'annotations', annotations.length));
  }
  if (!who.length) return undefined;
  return {
    reason: plural('forbidden AppArmor profile', 'forbidden AppArmor profiles', values.length),
    detail: `${who.join(' and ')} must not set AppArmor profile type to ${joinQuote(values)}`,
  };
}

function capabilitiesBaseline(_meta: PodMetaView, spec: PodSpecView): Failure | undefined {
  const bad: string[] = [];
  const caps: string[] = [];
  for (const c of allContainers(spec)) {
    const extra = (c.securityContext?.capabilities?.add ?? []).filter((cap) => !BASELINE_CAPABILITIES.has(cap));
    if (extra.length) {
      bad.push(c.name);
      caps.push(...extra);
    }
  }
  if (!bad.length) return undefined;
  return { reason: 'non-default capabilities', detail: `${containers(bad)} must not include ${joinQuote(sortedSet(caps))} in securityContext.capabilities.add` };
}

function hostNamespaces(_meta: PodMetaView, spec: PodSpecView): Failure | undefined {
  const set = [spec.hostNetwork && 'hostNetwork=true', spec.hostPID && 'hostPID=true', spec.hostIPC && 'hostIPC=true'].filter((s): s is string => !!s);
  return set.length ? { reason: 'host namespaces', detail: set.join(', ') } : undefined;
}

function hostPathVolumes(_meta: PodMetaView, spec: PodSpecView): Failure | undefined {
  const names = (spec.volumes ?? []).filter((v) => v.hostPath != null).map((v) => v.name);
  return names.length ? { reason: 'hostPath volumes', detail: `${plural('volume', 'volumes', names.length)} ${joinQuote(names)}` } : undefined;
}

function hostPorts(_meta: PodMetaView, spec: PodSpecView): Failure | undefined {
  const bad: string[] = [];
  const ports: string[] = [];
  for (const c of allContainers(spec)) {
    const used = (c.ports ?? []).filter((p) => p.hostPort).map((p) => String(p.hostPort));
    if (used.length) {
      bad.push(c.name);
      ports.push(...used);
    }
  }
  if (!bad.length) return undefined;
  const list = sortedSet(ports);
  return { reason: 'hostPort', detail: `${containers(bad)} ${plural('uses', 'use', bad.length)} ${plural('hostPort', 'hostPorts', list.length)} ${list.join(', ')}` };
}

function hostProbesAndHostLifecycle(_meta: PodMetaView, spec: PodSpecView): Failure | undefined {
  const hostsOf = (h: HandlerView | undefined) => [h?.httpGet?.host, h?.tcpSocket?.host].filter((x): x is string => !!x);
  const bad: string[] = [];
  const hosts: string[] = [];
  for (const c of allContainers(spec)) {
    const found = [c.livenessProbe, c.readinessProbe, c.startupProbe, c.lifecycle?.postStart, c.lifecycle?.preStop].flatMap(hostsOf);
    if (found.length) {
      bad.push(c.name);
      hosts.push(...found);
    }
  }
  if (!bad.length) return undefined;
  const names = sortedSet(bad);
  const list = sortedSet(hosts);
  return {
    reason: 'probe or lifecycle host',
    detail: `${containers(names)} ${plural('uses', 'use', names.length)} ${plural('probe or lifecycle host', 'probe or lifecycle hosts', list.length)} ${joinQuote(list)}`,
  };
}

function privileged(_meta: PodMetaView, spec: PodSpecView): Failure | undefined {
  const bad = allContainers(spec).filter((c) => c.securityContext?.privileged === true).map((c) => c.name);
  return bad.length ? { reason: 'privileged', detail: `${containers(bad)} must not set securityContext.privileged=true` } : undefined;
}

/** Unmasked /proc: refused unless the pod runs in a user namespace (baseline only). */
function procMountUnconditional(_meta: PodMetaView, spec: PodSpecView): Failure | undefined {
  const bad: string[] = [];
  const types: string[] = [];
  for (const c of allContainers(spec)) {
    const t = c.securityContext?.procMount;
    if (t != null && t !== 'Default') {
      bad.push(c.name);
      types.push(t);
    }
  }
  return bad.length ? { reason: 'procMount', detail: `${containers(bad)} must not set securityContext.procMount to ${joinQuote(sortedSet(types))}` } : undefined;
}

function procMountBaseline(meta: PodMetaView, spec: PodSpecView): Failure | undefined {
  return inUserNamespace(spec) ? undefined : procMountUnconditional(meta, spec);
}

function seLinuxOptions(_meta: PodMetaView, spec: PodSpecView): Failure | undefined {
  const badTypes: string[] = [];
  let user = false;
  let role = false;
  const valid = (o: SELinuxView) => {
    let ok = true;
    if (!SELINUX_TYPES.has(o.type ?? '')) {
      ok = false;
      badTypes.push(o.type ?? '');
    }
    if (o.user) {
      ok = false;
      user = true;
    }
    if (o.role) {
      ok = false;
      role = true;
    }
    return ok;
  };
  const podBad = !!spec.securityContext?.seLinuxOptions && !valid(spec.securityContext.seLinuxOptions);
  const bad = allContainers(spec).filter((c) => c.securityContext?.seLinuxOptions && !valid(c.securityContext.seLinuxOptions)).map((c) => c.name);
  const who = setters(podBad, bad);
  if (!who.length) return undefined;
  const types = sortedSet(badTypes);
  const data: string[] = [];
  if (types.length) data.push(`${plural('type', 'types', types.length)} ${joinQuote(types)}`);
  if (user) data.push('user may not be set');
  if (role) data.push('role may not be set');
  return { reason: 'seLinuxOptions', detail: `${who.join(' and ')} set forbidden securityContext.seLinuxOptions: ${data.join('; ')}` };
}

function seccompProfileBaseline(_meta: PodMetaView, spec: PodSpecView): Failure | undefined {
  const { podBad, bad, badValues } = badProfileTypes(spec, (sc) => sc?.seccompProfile, validSeccomp);
  const who = setters(podBad, bad);
  if (!who.length) return undefined;
  return { reason: 'seccompProfile', detail: `${who.join(' and ')} must not set securityContext.seccompProfile.type to ${joinQuote(sortedSet(badValues))}` };
}

function sysctls(_meta: PodMetaView, spec: PodSpecView): Failure | undefined {
  const bad = (spec.securityContext?.sysctls ?? []).map((s) => s.name).filter((n) => !SAFE_SYSCTLS.has(n));
  return bad.length ? { reason: 'forbidden sysctls', detail: bad.join(', ') } : undefined;
}

function windowsHostProcess(_meta: PodMetaView, spec: PodSpecView): Failure | undefined {
  const podSet = spec.securityContext?.windowsOptions?.hostProcess === true;
  const bad = allContainers(spec).filter((c) => c.securityContext?.windowsOptions?.hostProcess === true).map((c) => c.name);
  const who = setters(podSet, bad);
  return who.length ? { reason: 'hostProcess', detail: `${who.join(' and ')} must not set securityContext.windowsOptions.hostProcess=true` } : undefined;
}

// --- restricted

function allowPrivilegeEscalation(_meta: PodMetaView, spec: PodSpecView): Failure | undefined {
  if (isWindows(spec)) return undefined;
  const bad = allContainers(spec).filter((c) => c.securityContext?.allowPrivilegeEscalation !== false).map((c) => c.name);
  return bad.length ? { reason: 'allowPrivilegeEscalation != false', detail: `${containers(bad)} must set securityContext.allowPrivilegeEscalation=false` } : undefined;
}

function capabilitiesRestricted(_meta: PodMetaView, spec: PodSpecView): Failure | undefined {
  if (isWindows(spec)) return undefined;
  const missingDropAll: string[] = [];
  const adding: string[] = [];
  const caps: string[] = [];
  for (const c of allContainers(spec)) {
    const set = c.securityContext?.capabilities;
    if (!set) {
      missingDropAll.push(c.name);
      continue;
    }
    if (!(set.drop ?? []).includes('ALL')) missingDropAll.push(c.name);
    const extra = (set.add ?? []).filter((cap) => cap !== 'NET_BIND_SERVICE');
    if (extra.length) {
      adding.push(c.name);
      caps.push(...extra);
    }
  }
  const details: string[] = [];
  if (missingDropAll.length) details.push(`${containers(missingDropAll)} must set securityContext.capabilities.drop=["ALL"]`);
  if (adding.length) details.push(`${containers(adding)} must not include ${joinQuote(sortedSet(caps))} in securityContext.capabilities.add`);
  return details.length ? { reason: 'unrestricted capabilities', detail: details.join('; ') } : undefined;
}

function restrictedVolumes(_meta: PodMetaView, spec: PodSpecView): Failure | undefined {
  const bad: string[] = [];
  const types: string[] = [];
  for (const v of spec.volumes ?? []) {
    if (ALLOWED_RESTRICTED_VOLUMES.some((k) => v[k] != null)) continue;
    bad.push(v.name);
    types.push(RESTRICTED_VOLUME_TYPES.find((k) => v[k] != null) ?? 'unknown');
  }
  if (!bad.length) return undefined;
  const list = sortedSet(types);
  return {
    reason: 'restricted volume types',
    detail: `${plural('volume', 'volumes', bad.length)} ${joinQuote(bad)} ${plural('uses', 'use', bad.length)} ${plural('restricted volume type', 'restricted volume types', list.length)} ${joinQuote(list)}`,
  };
}

function runAsNonRoot(_meta: PodMetaView, spec: PodSpecView): Failure | undefined {
  if (inUserNamespace(spec)) return undefined;
  const pod = spec.securityContext?.runAsNonRoot;
  const explicit: string[] = [];
  const implicit: string[] = [];
  for (const c of allContainers(spec)) {
    const v = c.securityContext?.runAsNonRoot;
    if (v != null) {
      if (!v) explicit.push(c.name);
    } else if (pod !== true) implicit.push(c.name);
  }
  const who = setters(pod === false, explicit);
  if (who.length) return { reason: 'runAsNonRoot != true', detail: `${who.join(' and ')} must not set securityContext.runAsNonRoot=false` };
  if (implicit.length) return { reason: 'runAsNonRoot != true', detail: `pod or ${containers(implicit)} must set securityContext.runAsNonRoot=true` };
  return undefined;
}

function runAsUser(_meta: PodMetaView, spec: PodSpecView): Failure | undefined {
  if (inUserNamespace(spec)) return undefined;
  const bad = allContainers(spec).filter((c) => c.securityContext?.runAsUser === 0).map((c) => c.name);
  const who = setters(spec.securityContext?.runAsUser === 0, bad);
  return who.length ? { reason: 'runAsUser=0', detail: `${who.join(' and ')} must not set runAsUser=0` } : undefined;
}

function seccompProfileRestricted(_meta: PodMetaView, spec: PodSpecView): Failure | undefined {
  if (isWindows(spec)) return undefined;
  const pod = spec.securityContext?.seccompProfile;
  const podBad = !!pod && !validSeccomp(pod.type);
  const podSet = !!pod && !podBad;
  const badValues = podBad ? [pod!.type ?? ''] : [];
  const explicit: string[] = [];
  const implicit: string[] = [];
  for (const c of allContainers(spec)) {
    const p = c.securityContext?.seccompProfile;
    if (p) {
      if (!validSeccomp(p.type)) {
        explicit.push(c.name);
        badValues.push(p.type ?? '');
      }
    } else if (!podSet) implicit.push(c.name);
  }
  const who = setters(podBad, explicit);
  if (who.length) {
    return { reason: 'seccompProfile', detail: `${who.join(' and ')} must not set securityContext.seccompProfile.type to ${joinQuote(sortedSet(badValues))}` };
  }
  if (implicit.length) {
    return { reason: 'seccompProfile', detail: `pod or ${containers(implicit)} must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"` };
  }
  return undefined;
}

/** Baseline checks, then restricted ones, each group in upstream's ID order (so messages list them alike). */
export const CHECKS: readonly Check[] = [
  { id: 'appArmorProfile', level: 'baseline', check: appArmorProfile },
  { id: 'capabilities_baseline', level: 'baseline', check: capabilitiesBaseline },
  { id: 'hostNamespaces', level: 'baseline', check: hostNamespaces },
  { id: 'hostPathVolumes', level: 'baseline', check: hostPathVolumes },
  { id: 'hostPorts', level: 'baseline', check: hostPorts },
  { id: 'hostProbesAndHostLifecycle', level: 'baseline', check: hostProbesAndHostLifecycle },
  { id: 'privileged', level: 'baseline', check: privileged },
  { id: 'procMount', level: 'baseline', check: procMountBaseline },
  { id: 'seLinuxOptions', level: 'baseline', check: seLinuxOptions },
  { id: 'seccompProfile_baseline', level: 'baseline', check: seccompProfileBaseline },
  { id: 'sysctls', level: 'baseline', check: sysctls },
  { id: 'windowsHostProcess', level: 'baseline', check: windowsHostProcess },
  { id: 'allowPrivilegeEscalation', level: 'restricted', check: allowPrivilegeEscalation },
  { id: 'capabilities_restricted', level: 'restricted', overrides: ['capabilities_baseline'], check: capabilitiesRestricted },
  { id: 'procMount_restricted', level: 'restricted', overrides: ['procMount'], check: procMountUnconditional },
  { id: 'restrictedVolumes', level: 'restricted', overrides: ['hostPathVolumes'], check: restrictedVolumes },
  { id: 'runAsNonRoot', level: 'restricted', check: runAsNonRoot },
  { id: 'runAsUser', level: 'restricted', check: runAsUser },
  { id: 'seccompProfile_restricted', level: 'restricted', overrides: ['seccompProfile_baseline'], check: seccompProfileRestricted },
];

const OVERRIDDEN = new Set(CHECKS.flatMap((c) => c.overrides ?? []));

/** The checks a level runs: none for privileged; restricted runs the baseline ones it does not replace. */
export function checksFor(level: 'privileged' | 'baseline' | 'restricted'): readonly Check[] {
  if (level === 'privileged') return [];
  if (level === 'baseline') return CHECKS.filter((c) => c.level === 'baseline');
  return CHECKS.filter((c) => c.level === 'restricted' || !OVERRIDDEN.has(c.id));
}

export function evaluate(level: 'privileged' | 'baseline' | 'restricted', meta: PodMetaView, spec: PodSpecView): Failure[] {
  return checksFor(level).flatMap((c) => c.check(meta, spec) ?? []);
}

/** "reason (detail), reason": how the API server lists the failed checks of one pod. */
export function describeFailures(failures: Failure[]): string {
  return failures.map((f) => (f.detail ? `${f.reason} (${f.detail})` : f.reason)).join(', ');
}

/** The reasons alone, as warnings about existing pods give them. */
export const failureReasons = (failures: Failure[]) => failures.map((f) => f.reason).join(', ');
