// Who may do what. A request carries one of three identities: the admin (the
// daemon's token, or the owner on the unix socket: everything), a node (a token
// from the node credential exchange: what a kubelet needs, as Kubernetes' Node
// authorizer grants it) and the join token (the exchange and nothing else).
// The authorizer decides from the request line alone; NodeRestriction admission
// (node-restriction.ts) then narrows a node's writes to its own objects.
import { resourcePath, resourceType } from '../api/api-resources.js';
import type { Store } from '../store/store.js';
import { admitNodeRequest } from './node-restriction.js';
import type { Route } from './server.js';
import { ApiError } from './status.js';

export type Identity = { kind: 'admin' } | { kind: 'node'; name: string } | { kind: 'join'; tokenId: string };

export const ADMIN: Identity = { kind: 'admin' };

/** The user name Kubernetes would give the identity (system:node:NAME, system:bootstrap:ID). */
export function userName(id: Identity): string {
  if (id.kind === 'node') return `system:node:${id.name}`;
  if (id.kind === 'join') return `system:bootstrap:${id.tokenId}`;
  return 'minipod:admin';
}

/** What a request asks for, in the authorizer's terms. */
export interface RequestAttributes {
  verb: string;
  /** Absent for a non-resource request (discovery, /healthz, /openapi). */
  resource?: string;
  apiGroup: string;
  subresource?: string;
  namespace?: string;
  name?: string;
  path: string;
}

export type Decision = { allowed: true } | { allowed: false; reason: string };

const allow: Decision = { allowed: true };
const deny = (reason = ''): Decision => ({ allowed: false, reason });

/** The node credential exchange (node-credentials.ts), the only thing the join token may do. */
export const NODE_CREDENTIALS = { apiGroup: resourceType('nodecredentials').group, resource: 'nodecredentials', path: resourcePath('nodecredentials') };

const NODE_LEASE_NAMESPACE = 'kube-node-lease';
const READ = ['get', 'list', 'watch'];

export function authorize(id: Identity, a: RequestAttributes): Decision {
  if (id.kind === 'admin') return allow;
  if (id.kind === 'join') {
    return a.resource === NODE_CREDENTIALS.resource && a.apiGroup === NODE_CREDENTIALS.apiGroup && a.verb === 'create' ? allow : deny();
  }
  return authorizeNode(id.name, a);
}

function authorizeNode(node: string, a: RequestAttributes): Decision {
  if (a.resource === undefined) return a.verb === 'get' ? allow : deny(); // discovery, openapi, healthz
  const sub = a.subresource ?? '';
  if (a.apiGroup === 'coordination.k8s.io' && a.resource === 'leases') return authorizeLease(node, a);
  if (a.apiGroup !== '') return deny();
  switch (a.resource) {
    case 'pods':
      // No node reads another pod's logs or opens a stream into its containers: exec, log, portforward are denied.
      if (sub === '' && (READ.includes(a.verb) || a.verb === 'create' || a.verb === 'delete')) return allow; // create, delete: NodeRestriction narrows them
      if (sub === 'status' && ['get', 'update', 'patch'].includes(a.verb)) return allow; // only pods bound to it: NodeRestriction
      return deny();
    case 'nodes':
      if (sub === '' && (READ.includes(a.verb) || ['create', 'update', 'patch'].includes(a.verb))) return allow; // its own only: NodeRestriction
      if (sub === 'status' && ['get', 'update', 'patch'].includes(a.verb)) return allow;
      return deny();
    case 'namespaces':
      return sub === '' && READ.includes(a.verb) ? allow : deny();
    case 'events':
      return sub === '' && ['create', 'update', 'patch'].includes(a.verb) ? allow : deny();
    default:
      return deny();
  }
}

function authorizeLease(node: string, a: RequestAttributes): Decision {
  if (!['get', 'create', 'update', 'patch', 'delete'].includes(a.verb)) return deny('can only get, create, update, patch, or delete a node lease');
  if (a.namespace !== NODE_LEASE_NAMESPACE) return deny(`can only access leases in the "${NODE_LEASE_NAMESPACE}" system namespace`);
  // The name of a lease being created is in its body: NodeRestriction checks it.
  if (a.verb !== 'create' && a.name !== node) return deny('can only access node lease with the same name as the requesting node');
  return allow;
}

/** A 403 as the API server words it: `<resource> "<name>" is forbidden: <why>`. */
export function forbidden(a: Pick<RequestAttributes, 'resource' | 'apiGroup' | 'name'>, why: string): ApiError {
  if (a.resource === undefined) return new ApiError(403, 'Forbidden', `forbidden: ${why}`);
  const qualified = a.apiGroup ? `${a.resource}.${a.apiGroup}` : a.resource;
  const message = a.name ? `${qualified} "${a.name}" is forbidden: ${why}` : `${qualified} is forbidden: ${why}`;
  return new ApiError(403, 'Forbidden', message, { name: a.name, kind: a.resource });
}

/** The authorizer's refusal: who cannot do what, where, and the authorizer's reason when it has one. */
export function authorizationError(id: Identity, a: RequestAttributes, reason: string): ApiError {
  const user = userName(id);
  let why: string;
  if (a.resource === undefined) {
    why = `User "${user}" cannot ${a.verb} path "${a.path}"`;
  } else {
    const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
    const scope = a.namespace ? `in the namespace "${a.namespace}"` : 'at the cluster scope';
    why = `User "${user}" cannot ${a.verb} resource "${resource}" in API group "${a.apiGroup}" ${scope}`;
  }
  return forbidden(a, reason ? `${why}: ${reason}` : why);
}

const STREAMS = new Set(['exec', 'attach', 'portforward', 'proxy']);

/** The attributes of an HTTP request to the API server (`route`: its /api/v1 route, when it has one). */
export function requestAttributes(method: string, url: URL, route: Route | undefined): RequestAttributes {
  const path = url.pathname.replace(/\/+$/, '') || '/';
  const writeVerb: Record<string, string> = { POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete' };
  if (path === NODE_CREDENTIALS.path) return { verb: writeVerb[method] ?? 'get', apiGroup: NODE_CREDENTIALS.apiGroup, resource: NODE_CREDENTIALS.resource, path };
  if (!route) return { verb: method === 'GET' || method === 'HEAD' ? 'get' : (writeVerb[method] ?? method.toLowerCase()), apiGroup: '', path };
  const { resource, name, subresource } = route;
  let verb: string;
  if (subresource && STREAMS.has(subresource)) verb = 'create'; // an upgrade is a GET, but it starts a process in the pod
  else if (method === 'GET' || method === 'HEAD') verb = name ? 'get' : url.searchParams.get('watch') === 'true' || url.searchParams.get('watch') === '1' ? 'watch' : 'list';
  else if (method === 'DELETE' && !name) verb = 'deletecollection';
  else verb = writeVerb[method] ?? method.toLowerCase();
  // A namespace is its own scope (as Kubernetes' RequestInfo has it).
  const namespace = resource === 'namespaces' ? name : route.namespace;
  return { verb, resource, apiGroup: resourceType(resource).group, subresource, namespace, name, path };
}

/**
 * Authorizes a request, then runs NodeRestriction on a node's writes that the
 * request line and the stored objects decide (creates wait for their body:
 * admitCreate). Throws the 403 to answer.
 */
export async function authorizeRequest(id: Identity, method: string, url: URL, route: Route | undefined, store: Store): Promise<void> {
  if (id.kind === 'admin') return;
  const a = requestAttributes(method, url, route);
  const decision = authorize(id, a);
  if (!decision.allowed) throw authorizationError(id, a, decision.reason);
  if (id.kind === 'node' && a.verb !== 'create') await admitNodeRequest(id.name, a, store);
}

/** NodeRestriction for a create, once its body is read. */
export async function admitCreate(id: Identity, method: string, url: URL, route: Route | undefined, store: Store, body: unknown): Promise<void> {
  if (id.kind !== 'node') return;
  await admitNodeRequest(id.name, requestAttributes(method, url, route), store, body);
}
