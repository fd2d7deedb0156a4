// NodeRestriction admission: the writes the Node authorizer lets a node make are
// narrowed to its own objects — its Node (and its status), its Lease, the status
// of pods bound to it, and the deletion of those pods (the kubelet finalizes a
// graceful deletion). No node creates pods: minipod has no static (mirror) pods.
// The messages are the apiserver's.
import type { Store } from '../store/store.js';
import type { RequestAttributes } from './authorization.js';
import { forbidden } from './authorization.js';

const MIRROR_POD_ANNOTATION = 'kubernetes.io/config.mirror';

type Meta = { metadata?: { name?: unknown; annotations?: Record<string, unknown> } };
const nameOf = (body: unknown) => {
  const name = (body as Meta | undefined)?.metadata?.name;
  return typeof name === 'string' ? name : undefined;
};

/** Throws the 403 when node `node` may not make the write `a` (`body`: a create's object). */
export async function admitNodeRequest(node: string, a: RequestAttributes, store: Store, body?: unknown): Promise<void> {
  if (a.apiGroup === '' && a.resource === 'nodes') return admitNode(node, a, body);
  if (a.apiGroup === '' && a.resource === 'pods') return admitPod(node, a, store, body);
  if (a.apiGroup === 'coordination.k8s.io' && a.resource === 'leases' && a.verb === 'create' && nameOf(body) !== node) {
    throw forbidden({ ...a, name: nameOf(body) }, 'can only access node lease with the same name as the requesting node');
  }
}

function admitNode(node: string, a: RequestAttributes, body: unknown): void {
  if (!['create', 'update', 'patch'].includes(a.verb)) return;
  const target = a.verb === 'create' ? (nameOf(body) ?? '') : a.name;
  if (target !== node) throw forbidden({ ...a, name: target }, `node "${node}" is not allowed to modify node "${target}"`);
}

async function admitPod(node: string, a: RequestAttributes, store: Store, body: unknown): Promise<void> {
  const sub = a.subresource ?? '';
  if (sub === '' && a.verb === 'create') {
    const name = nameOf(body);
    const annotations = (body as Meta | undefined)?.metadata?.annotations;
    if (!annotations || !(MIRROR_POD_ANNOTATION in annotations)) {
      throw forbidden({ ...a, name }, `pod does not have "${MIRROR_POD_ANNOTATION}" annotation, node "${node}" can only create mirror pods`);
    }
    throw forbidden({ ...a, name }, `node "${node}" can create no mirror pods: minipod runs no static pods`);
  }
  const boundHere = async () => {
    const pod = await store.get({ resource: 'pods', namespace: a.namespace ?? '', name: a.name ?? '' });
    // A pod that is not there is the handler's 404 to give.
    return !pod || (pod.spec as { nodeName?: string } | undefined)?.nodeName === node;
  };
  if (sub === '' && a.verb === 'delete' && !(await boundHere())) {
    throw forbidden(a, `node "${node}" can only delete pods with spec.nodeName set to itself`);
  }
  if (sub === 'status' && (a.verb === 'update' || a.verb === 'patch') && !(await boundHere())) {
    throw forbidden(a, `node "${node}" can only update pod status for pods with spec.nodeName set to itself`);
  }
}
