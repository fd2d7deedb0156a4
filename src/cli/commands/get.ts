// `minipod get pods|nodes|events [NAME...]` with kubectl's columns and output formats.
import { age, podRow } from '../../api/printers.js';
import type { Event, Node, Pod } from '../../api/types.js';
import type { Client, ResourceName } from '../../client/client.js';
import { connect } from '../connect.js';
import { UsageError, colorStatus, printObjects, table } from '../output.js';

export interface GetOptions {
  output?: string;
  selector?: string;
  fieldSelector?: string;
  namespace?: string;
  allNamespaces?: boolean;
  noHeaders?: boolean;
  showLabels?: boolean;
}

const ALIASES: Record<string, ResourceName> = {
  pod: 'pods', pods: 'pods', po: 'pods',
  node: 'nodes', nodes: 'nodes', no: 'nodes',
  event: 'events', events: 'events', ev: 'events',
};

export function resourceOf(arg: string): { resource: ResourceName; name?: string } {
  const [type, name] = arg.includes('/') ? arg.split('/', 2) : [arg, undefined];
  const resource = ALIASES[type.toLowerCase()];
  if (!resource) throw new UsageError(`the server doesn't have a resource type "${type}"`);
  return { resource, name };
}

export async function get(type: string, names: string[], opts: GetOptions): Promise<void> {
  const { resource, name } = resourceOf(type);
  if (name) names = [name, ...names];
  const output = opts.output ?? '';
  if (!['', 'wide', 'json', 'yaml', 'name'].includes(output)) {
    throw new UsageError(`unable to match a printer suitable for the output format "${output}", allowed formats are: json,name,wide,yaml`);
  }
  const ns = opts.allNamespaces || resource === 'nodes' ? undefined : (opts.namespace ?? 'default');
  const client = connect();
  try {
    const items = names.length
      ? await Promise.all(names.map((n) => client.request<Pod | Node | Event>('GET', objectPath(resource, ns ?? 'default', n))))
      : (await list(client, resource, ns, opts)).items;
    if (!items.length && !names.length) {
      process.stderr.write(ns ? `No resources found in ${ns} namespace.\n` : 'No resources found\n');
      return;
    }
    if (output === 'json' || output === 'yaml') return printObjects(items, output, names.length !== 1);
    if (output === 'name') {
      for (const o of items) console.log(`${resource === 'events' ? 'event' : resource.slice(0, -1)}/${o.metadata.name}`);
      return;
    }
    const wide = output === 'wide';
    const all = !!opts.allNamespaces && resource !== 'nodes';
    const printed =
      resource === 'pods' ? podTable(items as Pod[], wide, all, opts) : resource === 'nodes' ? nodeTable(items as Node[], wide, opts) : eventTable(items as Event[], all, opts);
    console.log(printed);
  } finally {
    client.close();
  }
}

function objectPath(resource: ResourceName, ns: string, name: string): string {
  return resource === 'nodes' ? `/api/v1/nodes/${encodeURIComponent(name)}` : `/api/v1/namespaces/${ns}/${resource}/${encodeURIComponent(name)}`;
}

function list(client: Client, resource: ResourceName, ns: string | undefined, opts: GetOptions) {
  const q = { labelSelector: opts.selector, fieldSelector: opts.fieldSelector };
  if (resource === 'pods') return client.listPods(ns, q);
  if (resource === 'nodes') return client.listNodes(q);
  return client.listEvents(ns, q);
}

function labelsText(labels?: Record<string, string>): string {
  const entries = Object.entries(labels ?? {});
  return entries.length ? entries.map(([k, v]) => `${k}=${v}`).join(',') : '<none>';
}

export function podTable(pods: Pod[], wide: boolean, allNamespaces: boolean, opts: GetOptions): string {
  const now = Date.now();
  const headers = [...(allNamespaces ? ['NAMESPACE'] : []), 'NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE', ...(wide ? ['IP', 'NODE'] : []), ...(opts.showLabels ? ['LABELS'] : [])];
  const rows = pods.map((p) => {
    const r = podRow(p, now);
    return [
      ...(allNamespaces ? [r.namespace] : []),
      r.name, r.ready, colorStatus(r.status), r.restarts, r.age,
      ...(wide ? [r.ip, r.node] : []),
      ...(opts.showLabels ? [labelsText(p.metadata.labels)] : []),
    ];
  });
  return table(headers, rows, opts.noHeaders);
}

function nodeTable(nodes: Node[], wide: boolean, opts: GetOptions): string {
  const headers = ['NAME', 'STATUS', 'ROLES', 'AGE', 'VERSION', ...(wide ? ['INTERNAL-IP', 'OS-IMAGE', 'CONTAINER-RUNTIME'] : []), ...(opts.showLabels ? ['LABELS'] : [])];
  const rows = nodes.map((n) => {
    const ready = n.status?.conditions?.find((c) => c.type === 'Ready');
    const status = ready?.status === 'True' ? 'Ready' : ready?.status === 'False' ? 'NotReady' : 'Unknown';
    return [
      n.metadata.name ?? '',
      colorStatus(status + (n.spec?.unschedulable ? ',SchedulingDisabled' : '')),
      '<none>',
      age(n.metadata.creationTimestamp),
      n.status?.nodeInfo?.kubeletVersion ?? '',
      ...(wide
        ? [n.status?.addresses?.find((a) => a.type === 'InternalIP')?.address ?? '<none>', n.status?.nodeInfo?.operatingSystem ?? '', n.status?.nodeInfo?.containerRuntimeVersion ?? '']
        : []),
      ...(opts.showLabels ? [labelsText(n.metadata.labels)] : []),
    ];
  });
  return table(headers, rows, opts.noHeaders);
}

function eventTable(events: Event[], allNamespaces: boolean, opts: GetOptions): string {
  const sorted = [...events].sort((a, b) => (a.lastTimestamp ?? '').localeCompare(b.lastTimestamp ?? ''));
  const headers = [...(allNamespaces ? ['NAMESPACE'] : []), 'LAST SEEN', 'TYPE', 'REASON', 'OBJECT', 'MESSAGE'];
  const rows = sorted.map((e) => [
    ...(allNamespaces ? [e.metadata.namespace ?? ''] : []),
    age(e.lastTimestamp),
    e.type,
    e.reason,
    `${(e.involvedObject.kind ?? '').toLowerCase()}/${e.involvedObject.name}`,
    e.message,
  ]);
  return table(headers, rows, opts.noHeaders);
}
