// Server-side printing: the meta.k8s.io Table that kubectl asks for with
// `Accept: application/json;as=Table;v=v1;g=meta.k8s.io`, with the columns of
// kubectl's printers (pkg/printers/internalversion/printers.go), and the
// content negotiation that chooses it (apiserver handlers/response.go).
import { age, podRow } from '../api/printers.js';
import type { Event, Node, Pod } from '../api/types.js';
import type { StoredObject } from '../store/store.js';
import { ApiError, badRequest } from './status.js';

export interface ColumnDefinition {
  name: string;
  type: string;
  format: string;
  description: string;
  priority: number;
}

export interface TableRow {
  cells: unknown[];
  object?: unknown;
  conditions?: { type: string; status: string }[];
}

export interface Table {
  kind: 'Table';
  apiVersion: string;
  metadata: { resourceVersion?: string };
  columnDefinitions: ColumnDefinition[];
  rows: TableRow[];
}

const col = (name: string, description: string, priority = 0, format = ''): ColumnDefinition => ({
  name,
  type: 'string',
  format,
  description,
  priority,
});

const NAME_DOC =
  'Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names';
const AGE_DOC =
  'CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata';

/** A kind's server-side printer: its columns, and the cells of one object's row. */
export interface TableConvertor<T> {
  columns: ColumnDefinition[];
  row(obj: T, now: number): TableRow;
}

const POD_COLUMNS = [
  col('Name', NAME_DOC, 0, 'name'),
  col('Ready', 'The aggregate readiness state of this pod for accepting traffic.'),
  col('Status', 'The aggregate status of the containers in this pod.'),
  col('Restarts', 'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.'),
  col('Age', AGE_DOC),
  col('IP', 'podIP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.', 1),
  col('Node', 'NodeName indicates in which node this pod is scheduled.', 1),
  col('Nominated Node', 'nominatedNodeName is set only when this pod preempts other pods on the node.', 1),
  col('Readiness Gates', 'If specified, all readiness gates will be evaluated for pod readiness.', 1),
];

const NODE_COLUMNS = [
  col('Name', NAME_DOC, 0, 'name'),
  col('Status', 'The status of the node'),
  col('Roles', 'The roles of the node'),
  col('Age', AGE_DOC),
  col('Version', 'Kubelet Version reported by the node.'),
  col('Internal-IP', 'List of addresses reachable to the node.', 1),
  col('External-IP', 'List of addresses reachable to the node.', 1),
  col('OS-Image', 'OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).', 1),
  col('Kernel-Version', "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).", 1),
  col('Container-Runtime', 'ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).', 1),
];

const EVENT_COLUMNS = [
  col('Last Seen', 'The time at which the most recent occurrence of this event was recorded.'),
  col('Type', 'Type of this event (Normal, Warning), new types could be added in the future'),
  col('Reason', 'This should be a short, machine understandable string that gives the reason for the transition into the object\'s current status.'),
  col('Object', 'The object that this event is about.'),
  col('Subobject', 'If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement.', 1),
  col('Source', 'The component reporting this event. Should be a short machine understandable string.', 1),
  col('Message', 'A human-readable description of the status of this operation.'),
  col('First Seen', 'The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)', 1),
  col('Count', 'The number of times this event has occurred.', 1),
  col('Name', NAME_DOC, 1, 'name'),
];

const NAMESPACE_COLUMNS = [col('Name', NAME_DOC, 0, 'name'), col('Status', 'The status of the namespace'), col('Age', AGE_DOC)];

export const POD_TABLE: TableConvertor<Pod> = { columns: POD_COLUMNS, row: podCells };
export const NODE_TABLE: TableConvertor<Node> = { columns: NODE_COLUMNS, row: nodeCells };
export const EVENT_TABLE: TableConvertor<Event> = { columns: EVENT_COLUMNS, row: eventCells };
export const NAMESPACE_TABLE: TableConvertor<StoredObject> = { columns: NAMESPACE_COLUMNS, row: namespaceCells };

function podCells(pod: Pod, now: number): TableRow {
  const r = podRow(pod, now);
  const status = pod.status as (Pod['status'] & { nominatedNodeName?: string }) | undefined;
  const gates = (pod.spec as { readinessGates?: { conditionType: string }[] }).readinessGates ?? [];
  const gatesCell = gates.length
    ? `${gates.filter((g) => status?.conditions?.some((c) => (c.type as string) === g.conditionType && c.status === 'True')).length}/${gates.length}`
    : '<none>';
  const row: TableRow = {
    cells: [r.name, r.ready, r.status, r.restarts, r.age, pod.status?.podIP || '<none>', pod.spec.nodeName || '<none>', status?.nominatedNodeName || '<none>', gatesCell],
  };
  // printPod marks finished pods so that clients may hide them.
  if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') row.conditions = [{ type: 'Completed', status: 'True' }];
  return row;
}

/** printNode's STATUS: Ready/NotReady from the Ready condition, then SchedulingDisabled. */
export function nodeStatus(node: Node): string {
  const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
  const status = [ready ? (ready.status === 'True' ? 'Ready' : 'NotReady') : 'Unknown'];
  if (node.spec?.unschedulable) status.push('SchedulingDisabled');
  return status.join(',');
}

/** findNodeRoles: node-role.kubernetes.io/ROLE labels and kubernetes.io/role. */
export function nodeRoles(node: Node): string {
  const roles = new Set<string>();
  for (const [k, v] of Object.entries(node.metadata.labels ?? {})) {
    if (k.startsWith('node-role.kubernetes.io/')) roles.add(k.slice('node-role.kubernetes.io/'.length));
    else if (k === 'kubernetes.io/role' && v) roles.add(v);
  }
  return roles.size ? [...roles].sort().join(',') : '<none>';
}

function nodeCells(node: Node, now: number): TableRow {
  const info = node.status?.nodeInfo ?? {};
  const address = (type: string) => node.status?.addresses?.find((a) => a.type === type)?.address ?? '<none>';
  return {
    cells: [
      node.metadata.name,
      nodeStatus(node),
      nodeRoles(node),
      age(node.metadata.creationTimestamp, now),
      info.kubeletVersion ?? '',
      address('InternalIP'),
      address('ExternalIP'),
      info.osImage || '<unknown>',
      info.kernelVersion || '<unknown>',
      info.containerRuntimeVersion || '<unknown>',
    ],
  };
}

function eventCells(ev: Event, now: number): TableRow {
  const first = age(ev.firstTimestamp, now);
  const last = ev.lastTimestamp ? age(ev.lastTimestamp, now) : first;
  const kind = (ev.involvedObject.kind ?? '').toLowerCase();
  const target = ev.involvedObject.name ? `${kind}/${ev.involvedObject.name}` : kind;
  const src = ev.source ?? {};
  const source = src.component ? (src.host ? `${src.component}, ${src.host}` : src.component) : '';
  return {
    cells: [last, ev.type, ev.reason, target, ev.involvedObject.fieldPath ?? '', source, (ev.message ?? '').trim(), first, ev.count || 1, ev.metadata.name],
  };
}

function namespaceCells(ns: StoredObject, now: number): TableRow {
  const status = (ns.status as { phase?: string } | undefined)?.phase ?? 'Active';
  return { cells: [ns.metadata.name, status, age(ns.metadata.creationTimestamp as string | undefined, now)] };
}

export type IncludeObject = 'None' | 'Metadata' | 'Object';

export interface TableOptions {
  apiVersion: string; // meta.k8s.io/v1 or meta.k8s.io/v1beta1
  includeObject: IncludeObject;
  noHeaders?: boolean;
}

export function partialObjectMetadata(obj: { metadata: object }, apiVersion = 'meta.k8s.io/v1') {
  return { kind: 'PartialObjectMetadata', apiVersion, metadata: obj.metadata };
}

/** ConvertToTable for a list (or one object), with the row objects the client asked for. */
export function toTable<T extends { metadata: object }>(convertor: TableConvertor<T>, objects: T[], resourceVersion: string | undefined, opts: TableOptions, now = Date.now()): Table {
  const rows = objects.map((o) => {
    const row = convertor.row(o, now);
    if (opts.includeObject === 'Object') row.object = o;
    else if (opts.includeObject === 'Metadata') row.object = partialObjectMetadata(o, opts.apiVersion);
    return row;
  });
  return {
    kind: 'Table',
    apiVersion: opts.apiVersion,
    metadata: resourceVersion ? { resourceVersion } : {},
    columnDefinitions: opts.noHeaders ? [] : convertor.columns,
    rows,
  };
}

/** What the client's Accept header asks to be converted to, if anything. */
export type Conversion =
  | { kind: 'Table'; options: TableOptions }
  | { kind: 'PartialObjectMetadata' | 'PartialObjectMetadataList'; apiVersion: string };

interface MediaType {
  type: string;
  params: Record<string, string>;
}

function parseAccept(header: string): MediaType[] {
  return header
    .split(',')
    .map((part) => {
      const [type, ...params] = part.split(';').map((s) => s.trim());
      return {
        type: type.toLowerCase(),
        params: Object.fromEntries(params.map((p) => p.split('=').map((s) => s.trim())).filter((kv) => kv.length === 2)),
      };
    })
    .filter((m) => m.type);
}

const META_VERSIONS = ['v1', 'v1beta1'];

/**
 * Negotiates as the API server does: the first acceptable media type wins; an
 * `as=` conversion we cannot do is skipped in favour of a later plain type, and
 * only when nothing is acceptable is the answer 406.
 */
export function negotiate(accept: string | undefined, q: URLSearchParams): Conversion | undefined {
  if (!accept) return undefined;
  const types = parseAccept(accept);
  for (const m of types) {
    const jsonLike = m.type === 'application/json' || m.type === '*/*' || m.type === 'application/*';
    if (!jsonLike) continue;
    const as = m.params.as;
    if (!as) return undefined;
    if (m.params.g !== 'meta.k8s.io' || !META_VERSIONS.includes(m.params.v ?? '')) continue;
    const apiVersion = `meta.k8s.io/${m.params.v}`;
    if (as === 'Table') {
      const include = q.get('includeObject') || 'Metadata';
      if (!['None', 'Metadata', 'Object'].includes(include)) throw badRequest(`unrecognized includeObject value: "${include}"`);
      return { kind: 'Table', options: { apiVersion, includeObject: include as IncludeObject } };
    }
    if (as === 'PartialObjectMetadata' || as === 'PartialObjectMetadataList') return { kind: as, apiVersion };
  }
  // Only a conversion we cannot do is refused; any other type gets JSON, as curl and browsers expect.
  if (types.some((m) => m.params.as)) {
    throw new ApiError(406, 'NotAcceptable', 'only the following media types are accepted: application/json, application/json;as=Table;v=v1;g=meta.k8s.io');
  }
  return undefined;
}
