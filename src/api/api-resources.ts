// The resource model: every kind of object minipod keeps, declared once, as
// upstream's RESTMapper and discovery know it (group/version, kind, plural,
// singular, short names, scope, verbs, subresources). Discovery, the API
// server's routes, the store's keys, the client's paths and the CLI's resource
// names all derive from this table; what the API server does to each kind is its
// strategy (src/apiserver/strategy.ts). Data only: the CLI loads it at start-up.

export type Verb = 'create' | 'delete' | 'deletecollection' | 'get' | 'list' | 'patch' | 'update' | 'watch';

export interface Subresource {
  name: string;
  /** The kind it takes or answers (discovery says so). */
  kind: string;
  verbs: readonly Verb[];
}

export interface ResourceType {
  /** '' is the core group, served under /api/VERSION; any other under /apis/GROUP/VERSION. */
  group: string;
  version: string;
  kind: string;
  listKind: string;
  plural: string;
  singular: string;
  shortNames: readonly string[];
  namespaced: boolean;
  /** What the API server's REST handler serves; none: the objects are kept in the store, but no route reads them. */
  verbs: readonly Verb[];
  subresources: readonly Subresource[];
  categories?: readonly string[];
  /** The fields a field selector may name (the strategy's ToSelectableFields), and old names still accepted for them. */
  selectableFields: readonly string[];
  fieldLabelAliases?: Readonly<Record<string, string>>;
  /** How minipod's CLI shows a table of these, beyond the server's Table. */
  print?: {
    /** Rows sorted by this top-level field of the object (events: by time, oldest first). */
    sortBy?: string;
    /** Columns of `-o wide` that minipod never fills (no preemption, no readinessGates). */
    hiddenWideColumns?: readonly string[];
  };
}

const RW = ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'] as const;
const STATUS = ['get', 'patch', 'update'] as const;

export const RESOURCES = {
  pods: {
    group: '', version: 'v1', kind: 'Pod', listKind: 'PodList', plural: 'pods', singular: 'pod', shortNames: ['po'], namespaced: true,
    verbs: RW,
    categories: ['all'],
    subresources: [
      { name: 'binding', kind: 'Binding', verbs: ['create'] },
      { name: 'exec', kind: 'PodExecOptions', verbs: ['create', 'get'] },
      { name: 'log', kind: 'Pod', verbs: ['get'] },
      { name: 'portforward', kind: 'PodPortForwardOptions', verbs: ['create', 'get'] },
      { name: 'status', kind: 'Pod', verbs: STATUS },
    ],
    selectableFields: [
      'metadata.name', 'metadata.namespace', 'spec.nodeName', 'spec.restartPolicy', 'spec.schedulerName',
      'spec.serviceAccountName', 'spec.hostNetwork', 'status.phase', 'status.podIP', 'status.podIPs', 'status.nominatedNodeName',
    ],
    fieldLabelAliases: { 'spec.host': 'spec.nodeName' }, // old clients' name, still converted by Kubernetes
    print: { hiddenWideColumns: ['Nominated Node', 'Readiness Gates'] },
  },
  nodes: {
    group: '', version: 'v1', kind: 'Node', listKind: 'NodeList', plural: 'nodes', singular: 'node', shortNames: ['no'], namespaced: false,
    verbs: RW,
    subresources: [{ name: 'status', kind: 'Node', verbs: STATUS }],
    selectableFields: ['metadata.name', 'spec.unschedulable'],
  },
  events: {
    group: '', version: 'v1', kind: 'Event', listKind: 'EventList', plural: 'events', singular: 'event', shortNames: ['ev'], namespaced: true,
    verbs: RW,
    subresources: [],
    selectableFields: [
      'metadata.name', 'metadata.namespace', 'involvedObject.kind', 'involvedObject.namespace', 'involvedObject.name',
      'involvedObject.uid', 'involvedObject.apiVersion', 'involvedObject.resourceVersion', 'involvedObject.fieldPath',
      'reason', 'reportingComponent', 'source', 'type',
    ],
    print: { sortBy: 'lastTimestamp' },
  },
  namespaces: {
    group: '', version: 'v1', kind: 'Namespace', listKind: 'NamespaceList', plural: 'namespaces', singular: 'namespace', shortNames: ['ns'], namespaced: false,
    verbs: RW,
    subresources: [{ name: 'status', kind: 'Namespace', verbs: STATUS }],
    selectableFields: ['metadata.name', 'status.phase'],
  },
  // The controller manager's leader election writes its Lease to the store itself.
  leases: {
    group: 'coordination.k8s.io', version: 'v1', kind: 'Lease', listKind: 'LeaseList', plural: 'leases', singular: 'lease', shortNames: [], namespaced: true,
    verbs: [],
    subresources: [],
    selectableFields: ['metadata.name', 'metadata.namespace'],
  },
  // What a node's token stands for (node-credentials.ts): its own POST exchange
  // creates them, and no route may read or list them.
  nodecredentials: {
    group: 'minipod.io', version: 'v1', kind: 'NodeCredential', listKind: 'NodeCredentialList', plural: 'nodecredentials', singular: 'nodecredential', shortNames: [], namespaced: false,
    verbs: [],
    subresources: [],
    selectableFields: ['metadata.name'],
  },
} as const satisfies Record<string, ResourceType>;

/** Every declared resource: the store keeps objects under these names. */
export type ResourceName = keyof typeof RESOURCES;

/** The resources the API server serves through its REST handler (those with verbs). */
export type ServedResource = { [R in ResourceName]: (typeof RESOURCES)[R]['verbs'] extends readonly [] ? never : R }[ResourceName];

export function resourceType(name: ResourceName): ResourceType {
  return RESOURCES[name];
}

/** The served resources, in the order of their names (as discovery lists them). */
export function servedResources(): ServedResource[] {
  return (Object.keys(RESOURCES) as ResourceName[]).filter((name): name is ServedResource => RESOURCES[name].verbs.length > 0).sort();
}

export function isServed(name: string): name is ServedResource {
  return Object.hasOwn(RESOURCES, name) && RESOURCES[name as ResourceName].verbs.length > 0;
}

/** "v1" for the core group, "GROUP/VERSION" otherwise: an object's apiVersion. */
export const groupVersion = (r: ResourceType): string => (r.group ? `${r.group}/${r.version}` : r.version);

/** The resource as API errors name it: "pods", "leases.coordination.k8s.io". */
export const qualifiedResource = (r: ResourceType): string => (r.group ? `${r.plural}.${r.group}` : r.plural);

/** The kind as kubectl prints it: "Pod", "Lease.coordination.k8s.io". */
export const groupKind = (r: ResourceType): string => (r.group ? `${r.kind}.${r.group}` : r.kind);

/** Where the resource's group/version is served: /api/v1, /apis/GROUP/VERSION. */
export const apiPrefix = (r: ResourceType): string => (r.group ? `/apis/${r.group}/${r.version}` : `/api/${r.version}`);

/**
 * The URL of a collection, an object or a subresource. `namespace` undefined:
 * across all namespaces; it is ignored for a cluster-scoped resource.
 */
export function resourcePath(resource: ResourceName, namespace?: string, name?: string, subresource?: string): string {
  const r = resourceType(resource);
  let p = apiPrefix(r);
  if (namespace !== undefined && r.namespaced) p += `/namespaces/${encodeURIComponent(namespace)}`;
  p += `/${r.plural}`;
  if (name !== undefined) p += `/${encodeURIComponent(name)}`;
  if (subresource) p += `/${subresource}`;
  return p;
}

/**
 * The served resource a command line names, as kubectl's RESTMapper finds it:
 * by plural, singular, short name or kind, in any case. Undefined: no such type.
 */
export function findResource(arg: string): ServedResource | undefined {
  const wanted = arg.toLowerCase();
  return servedResources().find((name) => {
    const r = resourceType(name);
    return r.plural === wanted || r.singular === wanted || r.kind.toLowerCase() === wanted || r.shortNames.includes(wanted);
  });
}
