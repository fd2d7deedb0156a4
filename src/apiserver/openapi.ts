// A minimal OpenAPI v3 document: just what kubectl reads from it. kubectl's
// field validation (cli-runtime query_param_verifier_v3.go) asks whether the
// PATCH operation of a kind lists the `fieldValidation` query parameter; when it
// does, kubectl leaves validation to the server (which is strict: unknown fields
// are refused) instead of downloading full schemas. The PATCH operations carry no
// requestBody, so `kubectl apply` computes its strategic merge patch from the
// built-in Pod type rather than from schemas this document does not have.
import { createHash } from 'node:crypto';

const QUERY_PARAMS = ['dryRun', 'fieldManager', 'fieldValidation', 'force'].map((name) => ({
  name,
  in: 'query',
  description: `${name} (see the Kubernetes API reference)`,
  schema: { type: name === 'force' ? 'boolean' : 'string', uniqueItems: true },
}));

function patchOperation(kind: string, operationId: string) {
  return {
    patch: {
      operationId,
      parameters: QUERY_PARAMS,
      responses: { '200': { description: 'OK' } },
      'x-kubernetes-action': 'patch',
      'x-kubernetes-group-version-kind': { group: '', version: 'v1', kind },
    },
  };
}

const CORE_V1 = {
  openapi: '3.0.0',
  info: { title: 'Kubernetes', version: 'v1.30.0-minipod' },
  paths: {
    '/api/v1/namespaces/{namespace}/pods/{name}': patchOperation('Pod', 'patchCoreV1NamespacedPod'),
    '/api/v1/namespaces/{namespace}/pods/{name}/status': patchOperation('Pod', 'patchCoreV1NamespacedPodStatus'),
    '/api/v1/nodes/{name}': patchOperation('Node', 'patchCoreV1Node'),
    '/api/v1/namespaces/{namespace}/events/{name}': patchOperation('Event', 'patchCoreV1NamespacedEvent'),
    '/api/v1/namespaces/{name}': patchOperation('Namespace', 'patchCoreV1Namespace'),
  },
  components: { schemas: {} },
};

const CORE_V1_TEXT = JSON.stringify(CORE_V1);
const CORE_V1_HASH = createHash('sha512').update(CORE_V1_TEXT).digest('hex').slice(0, 128).toUpperCase();

/** The documents under /openapi/v3, or undefined for paths that are not ours. */
export function openapi(path: string): string | undefined {
  switch (path.replace(/\/+$/, '')) {
    case '/openapi/v3':
      return JSON.stringify({ paths: { 'api/v1': { serverRelativeURL: `/openapi/v3/api/v1?hash=${CORE_V1_HASH}` } } });
    case '/openapi/v3/api/v1':
      return CORE_V1_TEXT;
    default:
      return undefined;
  }
}
