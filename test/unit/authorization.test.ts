// The authorizer as a table: identity × request → allowed, or the 403 the API server
// answers (its wording: the Node authorizer's reasons, NodeRestriction's messages).
import { describe, expect, it } from 'vitest';
import {
  type Identity,
  type RequestAttributes,
  admitCreate,
  authorize,
  authorizationError,
  authorizeRequest,
  requestAttributes,
} from '../../src/apiserver/authorization.js';
import { parsePath } from '../../src/apiserver/server.js';
import type { Store, StoredObject } from '../../src/store/store.js';

const admin: Identity = { kind: 'admin' };
const nodeA: Identity = { kind: 'node', name: 'a' };
const join: Identity = { kind: 'join', tokenId: 'abcdef' };

/** [identity, METHOD path, expected: true or the message] */
type Row = [Identity, string, true | string];

const A = 'User "system:node:a"';
const J = 'User "system:bootstrap:abcdef"';

const AUTHORIZER: Row[] = [
  [admin, 'DELETE /api/v1/nodes/b', true],
  [admin, 'GET /api/v1/namespaces/default/pods/p/exec', true],
  // What a kubelet needs.
  [nodeA, 'GET /api/v1/pods', true],
  [nodeA, 'GET /api/v1/pods?watch=true&fieldSelector=spec.nodeName%3Da', true],
  [nodeA, 'GET /api/v1/namespaces/default/pods/p', true],
  [nodeA, 'GET /api/v1/nodes', true],
  [nodeA, 'GET /api/v1/nodes/b', true],
  [nodeA, 'GET /api/v1/namespaces', true],
  [nodeA, 'POST /api/v1/nodes', true],
  [nodeA, 'PATCH /api/v1/nodes/a', true],
  [nodeA, 'PUT /api/v1/nodes/a/status', true],
  [nodeA, 'PUT /api/v1/namespaces/default/pods/p/status', true],
  [nodeA, 'DELETE /api/v1/namespaces/default/pods/p', true],
  [nodeA, 'POST /api/v1/namespaces/default/events', true],
  [nodeA, 'PATCH /api/v1/namespaces/default/events/e', true],
  [nodeA, 'GET /api', true],
  [nodeA, 'GET /openapi/v2', true],
  // What it may not do at all.
  [nodeA, 'GET /api/v1/namespaces/default/pods/p/log', `pods "p" is forbidden: ${A} cannot get resource "pods/log" in API group "" in the namespace "default"`],
  [nodeA, 'GET /api/v1/namespaces/default/pods/p/exec?command=id', `pods "p" is forbidden: ${A} cannot create resource "pods/exec" in API group "" in the namespace "default"`],
  [nodeA, 'GET /api/v1/namespaces/default/pods/p/portforward?ports=80', `pods "p" is forbidden: ${A} cannot create resource "pods/portforward" in API group "" in the namespace "default"`],
  [nodeA, 'POST /api/v1/namespaces/default/pods/p/binding', `pods "p" is forbidden: ${A} cannot create resource "pods/binding" in API group "" in the namespace "default"`],
  [nodeA, 'PATCH /api/v1/namespaces/default/pods/p', `pods "p" is forbidden: ${A} cannot patch resource "pods" in API group "" in the namespace "default"`],
  [nodeA, 'PUT /api/v1/namespaces/default/pods/p', `pods "p" is forbidden: ${A} cannot update resource "pods" in API group "" in the namespace "default"`],
  [nodeA, 'DELETE /api/v1/nodes/a', `nodes "a" is forbidden: ${A} cannot delete resource "nodes" in API group "" at the cluster scope`],
  [nodeA, 'POST /api/v1/namespaces', `namespaces is forbidden: ${A} cannot create resource "namespaces" in API group "" at the cluster scope`],
  [nodeA, 'DELETE /api/v1/namespaces/dev', `namespaces "dev" is forbidden: ${A} cannot delete resource "namespaces" in API group "" in the namespace "dev"`],
  [nodeA, 'GET /api/v1/events', `events is forbidden: ${A} cannot list resource "events" in API group "" at the cluster scope`],
  [nodeA, 'DELETE /api/v1/namespaces/default/pods', `pods is forbidden: ${A} cannot deletecollection resource "pods" in API group "" in the namespace "default"`],
  [nodeA, 'POST /apis/minipod.io/v1/nodecredentials', `nodecredentials.minipod.io is forbidden: ${A} cannot create resource "nodecredentials" in API group "minipod.io" at the cluster scope`],
  [nodeA, 'POST /api', `forbidden: ${A} cannot create path "/api"`],
  // The join token: the exchange, and nothing else.
  [join, 'POST /apis/minipod.io/v1/nodecredentials', true],
  [join, 'GET /api/v1/pods', `pods is forbidden: ${J} cannot list resource "pods" in API group "" at the cluster scope`],
  [join, 'GET /api/v1/pods?watch=1', `pods is forbidden: ${J} cannot watch resource "pods" in API group "" at the cluster scope`],
  [join, 'GET /api/v1/nodes/a', `nodes "a" is forbidden: ${J} cannot get resource "nodes" in API group "" at the cluster scope`],
  [join, 'POST /api/v1/nodes', `nodes is forbidden: ${J} cannot create resource "nodes" in API group "" at the cluster scope`],
  [join, 'GET /api', `forbidden: ${J} cannot get path "/api"`],
  [join, 'GET /healthz', `forbidden: ${J} cannot get path "/healthz"`],
];

function attributes(request: string): RequestAttributes {
  const [method, target] = request.split(' ');
  const url = new URL(target, 'http://minipod');
  return requestAttributes(method, url, parsePath(url.pathname));
}

describe('the authorizer', () => {
  it.each(AUTHORIZER)('%o %s → %s', (id, request, expected) => {
    const a = attributes(request);
    const decision = authorize(id, a);
    if (expected === true) expect(decision).toEqual({ allowed: true });
    else expect(decision.allowed ? 'allowed' : authorizationError(id, a, decision.reason).message).toBe(expected);
  });

  it('gives its own reasons for node leases', () => {
    const lease = (verb: string, namespace: string, name?: string): RequestAttributes => ({ verb, apiGroup: 'coordination.k8s.io', resource: 'leases', namespace, name, path: '/' });
    expect(authorize(nodeA, lease('get', 'kube-node-lease', 'a'))).toEqual({ allowed: true });
    expect(authorize(nodeA, lease('update', 'kube-node-lease', 'a'))).toEqual({ allowed: true });
    expect(authorize(nodeA, lease('create', 'kube-node-lease'))).toEqual({ allowed: true });
    expect(authorize(nodeA, lease('update', 'kube-node-lease', 'b'))).toEqual({ allowed: false, reason: 'can only access node lease with the same name as the requesting node' });
    expect(authorize(nodeA, lease('get', 'kube-system', 'a'))).toEqual({ allowed: false, reason: 'can only access leases in the "kube-node-lease" system namespace' });
    expect(authorize(nodeA, lease('list', 'kube-node-lease'))).toEqual({ allowed: false, reason: 'can only get, create, update, patch, or delete a node lease' });
    expect(authorizationError(nodeA, lease('update', 'kube-node-lease', 'b'), 'can only access node lease with the same name as the requesting node').message).toBe(
      `leases.coordination.k8s.io "b" is forbidden: ${A} cannot update resource "leases" in API group "coordination.k8s.io" in the namespace "kube-node-lease": can only access node lease with the same name as the requesting node`,
    );
  });
});

/** A store that holds two pods, one bound to node a and one to node b. */
const store = {
  async get(key: { resource: string; name: string }): Promise<StoredObject | undefined> {
    if (key.resource !== 'pods') return undefined;
    const nodeName = { 'on-a': 'a', 'on-b': 'b' }[key.name];
    return nodeName ? { metadata: { name: key.name, namespace: 'default' }, spec: { nodeName } } : undefined;
  },
} as unknown as Store;

/** [METHOD path, body (creates), expected: true or the 403 message] — for node a. */
const NODE_RESTRICTION: [string, unknown, true | string][] = [
  ['PATCH /api/v1/nodes/a', undefined, true],
  ['PATCH /api/v1/nodes/b', undefined, 'nodes "b" is forbidden: node "a" is not allowed to modify node "b"'],
  ['PUT /api/v1/nodes/b/status', undefined, 'nodes "b" is forbidden: node "a" is not allowed to modify node "b"'],
  ['POST /api/v1/nodes', { metadata: { name: 'a' } }, true],
  ['POST /api/v1/nodes', { metadata: { name: 'b' } }, 'nodes "b" is forbidden: node "a" is not allowed to modify node "b"'],
  ['PUT /api/v1/namespaces/default/pods/on-a/status', undefined, true],
  ['PATCH /api/v1/namespaces/default/pods/on-b/status', undefined, 'pods "on-b" is forbidden: node "a" can only update pod status for pods with spec.nodeName set to itself'],
  ['DELETE /api/v1/namespaces/default/pods/on-a', undefined, true],
  ['DELETE /api/v1/namespaces/default/pods/on-b', undefined, 'pods "on-b" is forbidden: node "a" can only delete pods with spec.nodeName set to itself'],
  ['DELETE /api/v1/namespaces/default/pods/gone', undefined, true], // the handler's 404
  ['POST /api/v1/namespaces/default/pods', { metadata: { name: 'x' } }, 'pods "x" is forbidden: pod does not have "kubernetes.io/config.mirror" annotation, node "a" can only create mirror pods'],
  ['POST /api/v1/namespaces/default/events', { metadata: { name: 'e' } }, true],
];

describe('NodeRestriction', () => {
  it.each(NODE_RESTRICTION)('node a: %s %o → %s', async (request, body, expected) => {
    const [method, target] = request.split(' ');
    const url = new URL(target, 'http://minipod');
    const route = parsePath(url.pathname);
    const run = async () => {
      await authorizeRequest(nodeA, method, url, route, store);
      if (method === 'POST') await admitCreate(nodeA, method, url, route, store, body);
    };
    if (expected === true) await expect(run()).resolves.toBeUndefined();
    else await expect(run()).rejects.toMatchObject({ code: 403, reason: 'Forbidden', message: expected });
  });

  it('leaves the admin alone', async () => {
    const url = new URL('http://minipod/api/v1/namespaces/default/pods/on-b/status');
    await expect(authorizeRequest(admin, 'PATCH', url, parsePath(url.pathname), store)).resolves.toBeUndefined();
    await expect(admitCreate(admin, 'POST', url, parsePath(url.pathname), store, {})).resolves.toBeUndefined();
  });
});
