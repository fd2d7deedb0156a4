// Discovery documents (legacy, unaggregated form: client-go falls back to it when
// /api answers plain application/json), so that kubectl and client libraries find
// the served resources and know their verbs and short names. Made from the
// resource model (src/api/api-resources.ts).
import { servedResources, resourceType } from '../api/api-resources.js';

/** The APIResourceList of /api/v1: each core resource, then its subresources, in the order of their names. */
export function apiResourceList() {
  const resources = servedResources().map(resourceType)
    .filter((r) => r.group === '' && r.version === 'v1')
    .flatMap((r) => [
      {
        name: r.plural,
        singularName: r.singular,
        namespaced: r.namespaced,
        kind: r.kind,
        verbs: [...r.verbs],
        ...(r.shortNames.length ? { shortNames: [...r.shortNames] } : {}),
        ...(r.categories ? { categories: [...r.categories] } : {}),
      },
      ...[...r.subresources]
        .sort((a, b) => a.name.localeCompare(b.name))
        .map((s) => ({ name: `${r.plural}/${s.name}`, singularName: '', namespaced: r.namespaced, kind: s.kind, verbs: [...s.verbs] })),
    ]);
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: 'v1', resources };
}

export const SERVER_VERSION = {
  major: '1',
  minor: '30',
  gitVersion: 'v1.30.0-minipod',
  gitCommit: '',
  gitTreeState: 'clean',
  buildDate: '1970-01-01T00:00:00Z',
  goVersion: `node${process.versions.node}`,
  compiler: 'node',
  platform: `${process.platform}/${process.arch === 'x64' ? 'amd64' : process.arch}`,
};

/**
 * The document for a discovery path, or undefined. `serverAddress` is the
 * host:port the client reached us at, which /api reports back.
 */
export function discovery(path: string, serverAddress = '127.0.0.1'): unknown {
  switch (path.replace(/\/+$/, '')) {
    case '/api':
      return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] };
    case '/apis':
      return { kind: 'APIGroupList', apiVersion: 'v1', groups: [] };
    case '/api/v1':
      return apiResourceList();
    case '/version':
      return SERVER_VERSION;
    case '/healthz':
    case '/readyz':
    case '/livez':
      return 'ok';
    default:
      return undefined;
  }
}
