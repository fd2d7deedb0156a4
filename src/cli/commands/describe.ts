// `minipod describe pod NAME...`: kubectl's describe output (pkg/describe
// describe.go describePod), aligned by a port of Go's text/tabwriter as kubectl
// configures it, with the pod's events found by involvedObject.
import { humanDuration } from '../../api/printers.js';
import { parseQuantity } from '../../api/quantity.js';
import { podQOSClass } from '../../api/qos.js';
import type { Container, ContainerState, ContainerStatus, EnvVar, Event, Pod, PodQOSClass, Probe, Volume } from '../../api/types.js';
import type { Client } from '../../client/client.js';
import { connect } from '../connect.js';
import { UsageError } from '../output.js';
import { resourceOf } from './get.js';

export interface DescribeOptions {
  namespace?: string;
  selector?: string;
  showEvents?: boolean;
}

export async function describe(type: string, names: string[], opts: DescribeOptions): Promise<void> {
  const { resource, name } = resourceOf(type);
  if (resource !== 'pods') throw new UsageError(`minipod describes pods, not ${resource}`);
  if (name) names = [name, ...names];
  const ns = opts.namespace ?? 'default';
  const client = connect();
  try {
    const pods = names.length
      ? await Promise.all(names.map((n) => client.getPod(ns, n)))
      : (await client.listPods(ns, { labelSelector: opts.selector })).items;
    if (!pods.length) {
      process.stderr.write(`No resources found in ${ns} namespace.\n`);
      return;
    }
    const texts: string[] = [];
    for (const pod of pods) {
      const events = opts.showEvents === false ? undefined : await podEvents(client, pod);
      texts.push(describePod(pod, events));
    }
    process.stdout.write(texts.join('\n\n') + '\n');
  } finally {
    client.close();
  }
}

/** The pod's events, as kubectl finds them: by name, namespace, kind and uid. */
async function podEvents(client: Client, pod: Pod): Promise<Event[]> {
  const m = pod.metadata;
  const fieldSelector = `involvedObject.name=${m.name},involvedObject.namespace=${m.namespace},involvedObject.kind=Pod,involvedObject.uid=${m.uid}`;
  return (await client.listEvents(m.namespace, { fieldSelector })).items;
}

// --- Go's text/tabwriter (minwidth 0, padding 2, padchar ' '), as kubectl's describe uses it

/**
 * Aligns tab-separated cells: a column is a run of consecutive lines that have a
 * tab-terminated cell in it; each is padded to the widest cell of its run plus 2.
 */
export function tabwrite(text: string, padding = 2): string {
  const cells = text.split('\n').map((l) => l.split('\t'));
  const widths: number[] = [];
  const out: string[] = [];
  const width = (s: string) => [...s].length;
  const writeLines = (from: number, to: number) => {
    for (let i = from; i < to; i++) {
      out.push(cells[i].map((c, j) => (j < widths.length ? c + ' '.repeat(Math.max(0, widths[j] - width(c))) : c)).join(''));
    }
  };
  const format = (from: number, to: number) => {
    const column = widths.length;
    for (let t = from; t < to; t++) {
      if (column >= cells[t].length - 1) continue;
      writeLines(from, t);
      from = t;
      let w = 0;
      for (; t < to && column < cells[t].length - 1; t++) w = Math.max(w, width(cells[t][column]) + padding);
      widths.push(w);
      format(from, t);
      widths.pop();
      from = t;
    }
    writeLines(from, to);
  };
  format(0, cells.length);
  return out.join('\n');
}

// --- describePod

const LEVEL = ['', '  ', '    ', '      ', '        '];

class PrefixWriter {
  text = '';
  write(level: number, s: string): void {
    this.text += LEVEL[level] + s;
  }
}

/** Go's time.RFC1123Z in local time: "Mon, 02 Jan 2006 15:04:05 -0700". */
export function rfc1123z(iso: string | undefined): string {
  if (!iso) return '<unknown>';
  const d = new Date(iso);
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const p2 = (n: number) => String(n).padStart(2, '0');
  const off = -d.getTimezoneOffset();
  const zone = `${off >= 0 ? '+' : '-'}${p2(Math.floor(Math.abs(off) / 60))}${p2(Math.abs(off) % 60)}`;
  return `${days[d.getDay()]}, ${p2(d.getDate())} ${months[d.getMonth()]} ${d.getFullYear()} ${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())} ${zone}`;
}

function since(iso: string | undefined, now: number): string {
  return iso ? humanDuration(now - Date.parse(iso)) : '<unknown>';
}

function printLabels(w: PrefixWriter, title: string, labels: Record<string, string> | undefined): void {
  w.write(0, `${title}:\t`);
  const keys = Object.keys(labels ?? {}).sort();
  if (!keys.length) return w.write(0, '<none>\n');
  keys.forEach((k, i) => w.write(0, `${i ? '\t' : ''}${k}=${labels![k]}\n`));
}

const MAX_ANNOTATION_LEN = 140;
const SKIP_ANNOTATIONS = new Set(['kubectl.kubernetes.io/last-applied-configuration']);

function printAnnotations(w: PrefixWriter, annotations: Record<string, string> | undefined): void {
  w.write(0, 'Annotations:\t');
  const keys = Object.keys(annotations ?? {}).filter((k) => !SKIP_ANNOTATIONS.has(k)).sort();
  if (!keys.length) return w.write(0, '<none>\n');
  keys.forEach((k, i) => {
    if (i) w.write(0, '\t');
    const value = annotations![k].replace(/\n$/, '');
    if (value.length + k.length + 2 > MAX_ANNOTATION_LEN || value.includes('\n')) {
      w.write(0, `${k}:\n`);
      for (const line of value.split('\n')) {
        const short = line.length > MAX_ANNOTATION_LEN - 2 ? line.slice(0, MAX_ANNOTATION_LEN - 5) + '...' : line;
        w.write(0, `\t  ${short}\n`);
      }
    } else {
      w.write(0, `${k}: ${value}\n`);
    }
  });
}

function describeState(w: PrefixWriter, title: string, state: ContainerState): void {
  if (state.running) {
    w.write(2, `${title}:\tRunning\n`);
    w.write(3, `Started:\t${rfc1123z(state.running.startedAt)}\n`);
  } else if (state.terminated) {
    const t = state.terminated;
    w.write(2, `${title}:\tTerminated\n`);
    if (t.reason) w.write(3, `Reason:\t${t.reason}\n`);
    if (t.message) w.write(3, `Message:\t${t.message}\n`);
    w.write(3, `Exit Code:\t${t.exitCode}\n`);
    if (t.signal) w.write(3, `Signal:\t${t.signal}\n`);
    w.write(3, `Started:\t${rfc1123z(t.startedAt)}\n`);
    w.write(3, `Finished:\t${rfc1123z(t.finishedAt)}\n`);
  } else {
    w.write(2, `${title}:\tWaiting\n`);
    if (state.waiting?.reason) w.write(3, `Reason:\t${state.waiting.reason}\n`);
  }
}

export function describeProbe(p: Probe): string {
  const attrs = `delay=${p.initialDelaySeconds ?? 0}s timeout=${p.timeoutSeconds ?? 1}s period=${p.periodSeconds ?? 10}s #success=${p.successThreshold ?? 1} #failure=${p.failureThreshold ?? 3}`;
  if (p.exec) return `exec [${p.exec.command.join(' ')}] ${attrs}`;
  if (p.httpGet) {
    const host = p.httpGet.host ?? '';
    return `http-get ${(p.httpGet.scheme ?? 'HTTP').toLowerCase()}://${host.includes(':') ? `[${host}]` : host}:${p.httpGet.port}${p.httpGet.path ?? ''} ${attrs}`;
  }
  if (p.tcpSocket) return `tcp-socket ${p.tcpSocket.host ?? ''}:${p.tcpSocket.port} ${attrs}`;
  return `unknown ${attrs}`;
}

/** What `fieldRef` resolves to on this pod (kubectl's EnvValueRetriever); '' when it cannot tell. */
function fieldRefValue(pod: Pod, path: string): string {
  const m = /^metadata\.(labels|annotations)\['(.*)'\]$/.exec(path);
  if (m) return (pod.metadata[m[1] as 'labels' | 'annotations'] ?? {})[m[2]] ?? '';
  const known: Record<string, string | undefined> = {
    'metadata.name': pod.metadata.name,
    'metadata.namespace': pod.metadata.namespace,
    'metadata.uid': pod.metadata.uid,
    'spec.nodeName': pod.spec.nodeName,
    'spec.serviceAccountName': pod.spec.serviceAccountName,
    'status.hostIP': pod.status?.hostIP,
    'status.podIP': pod.status?.podIP,
  };
  return known[path] ?? '';
}

function describeEnv(w: PrefixWriter, pod: Pod, env: EnvVar[] | undefined): void {
  if (!env?.length) return w.write(2, 'Environment:\t<none>\n');
  w.write(2, 'Environment:\n');
  for (const e of env) {
    if (!e.valueFrom) {
      (e.value ?? '').split('\n').forEach((line, i) => w.write(3, i === 0 ? `${e.name}:\t${line}\n` : `\t${line}\n`));
    } else if (e.valueFrom.fieldRef) {
      const f = e.valueFrom.fieldRef;
      w.write(3, `${e.name}:\t${fieldRefValue(pod, f.fieldPath)} (${f.apiVersion ?? 'v1'}:${f.fieldPath})\n`);
    } else if (e.valueFrom.resourceFieldRef) {
      w.write(3, `${e.name}:\t (${e.valueFrom.resourceFieldRef.resource})\n`);
    }
  }
}

function describeContainers(w: PrefixWriter, pod: Pod, title: string, containers: Container[], statuses: ContainerStatus[] | undefined): void {
  w.write(0, `${title}:${containers.length ? '' : ' <none>'}\n`);
  for (const c of containers) {
    const s = statuses?.find((x) => x.name === c.name);
    w.write(1, `${c.name}:\n`);
    if (s) w.write(2, `Container ID:\t${s.containerID ?? ''}\n`);
    w.write(2, `Image:\t${c.image}\n`);
    if (s) w.write(2, `Image ID:\t${s.imageID ?? ''}\n`);
    const ports = (c.ports ?? []).map((p) => `${p.containerPort}/${p.protocol ?? 'TCP'}`).join(', ');
    w.write(2, ports.includes(',') ? `Ports:\t${ports}\n` : `Port:\t${ports || '<none>'}\n`);
    const hostPorts = (c.ports ?? []).map((p) => `${p.hostPort ?? 0}/${p.protocol ?? 'TCP'}`).join(', ');
    w.write(2, hostPorts.includes(',') ? `Host Ports:\t${hostPorts}\n` : `Host Port:\t${hostPorts || '<none>'}\n`);
    for (const [label, list] of [['Command', c.command], ['Args', c.args]] as const) {
      if (!list?.length) continue;
      w.write(2, `${label}:\n`);
      for (const part of list) for (const line of part.split('\n')) w.write(3, `${line}\n`);
    }
    if (s) {
      describeState(w, 'State', s.state);
      if (s.lastState?.terminated) describeState(w, 'Last State', s.lastState);
      w.write(2, `Ready:\t${s.ready ? 'True' : 'False'}\n`);
      w.write(2, `Restart Count:\t${s.restartCount}\n`);
    }
    for (const [label, list] of [['Limits', c.resources?.limits], ['Requests', c.resources?.requests]] as const) {
      const keys = Object.keys(list ?? {}).sort();
      if (!keys.length) continue;
      w.write(2, `${label}:\n`);
      for (const k of keys) w.write(3, `${k}:\t${list![k]}\n`);
    }
    if (c.livenessProbe) w.write(2, `Liveness:\t${describeProbe(c.livenessProbe)}\n`);
    if (c.readinessProbe) w.write(2, `Readiness:\t${describeProbe(c.readinessProbe)}\n`);
    if (c.startupProbe) w.write(2, `Startup:\t${describeProbe(c.startupProbe)}\n`);
    describeEnv(w, pod, c.env);
    const mounts = [...(c.volumeMounts ?? [])].sort((a, b) => a.mountPath.localeCompare(b.mountPath));
    if (!mounts.length) w.write(2, 'Mounts:\t<none>\n');
    else {
      w.write(2, 'Mounts:\n');
      for (const m of mounts) {
        const flags = [m.readOnly ? 'ro' : 'rw', ...(m.subPath ? [`path=${JSON.stringify(m.subPath)}`] : [])];
        w.write(3, `${m.mountPath} from ${m.name} (${flags.join(',')})\n`);
      }
    }
  }
}

function describeVolumes(w: PrefixWriter, volumes: Volume[] | undefined): void {
  if (!volumes?.length) return w.write(0, 'Volumes:\t<none>\n');
  w.write(0, 'Volumes:\n');
  for (const v of volumes) {
    w.write(1, `${v.name}:\n`);
    if (v.hostPath) {
      w.write(2, `Type:\tHostPath (bare host directory volume)\n    Path:\t${v.hostPath.path}\n    HostPathType:\t${v.hostPath.type ?? ''}\n`);
    } else if (v.emptyDir) {
      const limit = v.emptyDir.sizeLimit !== undefined && parseQuantity(v.emptyDir.sizeLimit) > 0 ? String(v.emptyDir.sizeLimit) : '<unset>';
      w.write(2, `Type:\tEmptyDir (a temporary directory that shares a pod's lifetime)\n    Medium:\t${v.emptyDir.medium ?? ''}\n    SizeLimit:\t${limit}\n`);
    } else {
      w.write(1, '<unknown>\n');
    }
  }
}

/** kubectl's QoS line: the class the pod's status reports, else computed from its spec. */
export function qosClass(pod: Pod): PodQOSClass {
  return pod.status?.qosClass || podQOSClass(pod);
}

function describeEvents(events: Event[], now: number): string {
  if (!events.length) return tabwrite('Events:\t<none>');
  const sorted = [...events].sort((a, b) => Date.parse(a.lastTimestamp ?? '') - Date.parse(b.lastTimestamp ?? ''));
  const w = new PrefixWriter();
  w.write(0, 'Events:\n  Type\tReason\tAge\tFrom\tMessage\n');
  w.write(1, '----\t------\t----\t----\t-------\n');
  for (const e of sorted) {
    const first = since(e.firstTimestamp ?? e.lastTimestamp, now);
    const interval = (e.count ?? 1) > 1 ? `${since(e.lastTimestamp, now)} (x${e.count} over ${first})` : first;
    w.write(1, `${e.type}\t${e.reason}\t${interval}\t${e.source?.component ?? ''}\t${e.message.trim()}\n`);
  }
  return tabwrite(w.text.replace(/\n$/, ''));
}

export function describePod(pod: Pod, events: Event[] | undefined, now = Date.now()): string {
  const w = new PrefixWriter();
  const s = pod.status ?? {};
  w.write(0, `Name:\t${pod.metadata.name}\n`);
  w.write(0, `Namespace:\t${pod.metadata.namespace}\n`);
  w.write(0, `Node:\t${pod.spec.nodeName ? `${pod.spec.nodeName}/${s.hostIP ?? ''}` : '<none>'}\n`);
  if (s.startTime) w.write(0, `Start Time:\t${rfc1123z(s.startTime)}\n`);
  printLabels(w, 'Labels', pod.metadata.labels);
  printAnnotations(w, pod.metadata.annotations);
  if (pod.metadata.deletionTimestamp && s.phase !== 'Failed' && s.phase !== 'Succeeded') {
    w.write(0, `Status:\tTerminating (lasts ${humanDuration(Date.parse(pod.metadata.deletionTimestamp) - now)})\n`);
    w.write(0, `Termination Grace Period:\t${pod.metadata.deletionGracePeriodSeconds}s\n`);
  } else {
    w.write(0, `Status:\t${s.phase ?? ''}\n`);
  }
  if (s.reason) w.write(0, `Reason:\t${s.reason}\n`);
  if (s.message) w.write(0, `Message:\t${s.message}\n`);
  w.write(0, `IP:\t${s.podIP ?? ''}\n`);
  if (!s.podIPs?.length) w.write(0, 'IPs:\t<none>\n');
  else {
    w.write(0, 'IPs:\n');
    for (const ip of s.podIPs) w.write(1, `IP:\t${ip.ip}\n`);
  }
  if (pod.spec.initContainers?.length) describeContainers(w, pod, 'Init Containers', pod.spec.initContainers, s.initContainerStatuses);
  describeContainers(w, pod, 'Containers', pod.spec.containers, s.containerStatuses);
  if (s.conditions?.length) {
    w.write(0, 'Conditions:\n  Type\tStatus\n');
    for (const c of s.conditions) w.write(1, `${c.type} \t${c.status} \n`);
  }
  describeVolumes(w, pod.spec.volumes);
  w.write(0, `QoS Class:\t${qosClass(pod)}\n`);
  printLabels(w, 'Node-Selectors', pod.spec.nodeSelector);
  const text = tabwrite(w.text.replace(/\n$/, ''));
  return events ? `${text}\n${describeEvents(events, now)}` : text;
}
