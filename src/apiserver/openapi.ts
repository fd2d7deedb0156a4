// A minimal OpenAPI v3 document: just what kubectl reads from it. kubectl's
// field validation (cli-runtime query_param_verifier_v3.go) asks whether the
// PATCH operation of a kind lists the `fieldValidation` query parameter; when it
// does, kubectl leaves validation to the server (which is strict: unknown fields
// are refused) instead of downloading full schemas. The PATCH operations carry no
// requestBody, so `kubectl apply` computes its strategic merge patch from the
// built-in Pod type rather than from schemas this document does not have.
import { createHash } from 'node:crypto';
import { servedResources, type ResourceType, apiPrefix, resourceType } from '../api/api-resources.js';

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

const capitalize = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/** The PATCH operations of the core resources and their subresources, named as upstream's operationIds. */
function patchPaths(): Record<string, ReturnType<typeof patchOperation>> {
  const paths: Record<string, ReturnType<typeof patchOperation>> = {};
  const add = (r: ResourceType, sub?: { name: string; kind: string }) => {
    const path = `${apiPrefix(r)}${r.namespaced ? '/namespaces/{namespace}' : ''}/${r.plural}/{name}${sub ? `/${sub.name}` : ''}`;
    const id = `patchCore${capitalize(r.version)}${r.namespaced ? 'Namespaced' : ''}${r.kind}${sub ? capitalize(sub.name) : ''}`;
    paths[path] = patchOperation(sub?.kind ?? r.kind, id);
  };
  for (const r of servedResources().map(resourceType).filter((t) => t.group === '')) {
    if (r.verbs.includes('patch')) add(r);
    for (const sub of r.subresources) if (sub.verbs.includes('patch')) add(r, sub);
  }
  return paths;
}

const CORE_V1 = {
  openapi: '3.0.0',
  info: { title: 'Kubernetes', version: 'v1.30.0-minipod' },
  paths: patchPaths(),
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
