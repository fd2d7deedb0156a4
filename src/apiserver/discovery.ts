// Discovery documents (legacy, unaggregated form: client-go falls back to it when
// /api answers plain application/json), so that kubectl and client libraries find
// pods, nodes, events and namespaces and know their verbs and short names.
const RW = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

const RESOURCE_LIST = {
  kind: 'APIResourceList',
  apiVersion: 'v1',
  groupVersion: 'v1',
  resources: [
    { name: 'events', singularName: 'event', namespaced: true, kind: 'Event', verbs: RW.filter((v) => v !== 'deletecollection'), shortNames: ['ev'] },
    { name: 'namespaces', singularName: 'namespace', namespaced: false, kind: 'Namespace', verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'], shortNames: ['ns'] },
    { name: 'namespaces/status', singularName: '', namespaced: false, kind: 'Namespace', verbs: ['get', 'patch', 'update'] },
    { name: 'nodes', singularName: 'node', namespaced: false, kind: 'Node', verbs: RW.filter((v) => v !== 'deletecollection'), shortNames: ['no'] },
    { name: 'nodes/status', singularName: '', namespaced: false, kind: 'Node', verbs: ['get', 'patch', 'update'] },
    { name: 'pods', singularName: 'pod', namespaced: true, kind: 'Pod', verbs: RW.filter((v) => v !== 'deletecollection'), shortNames: ['po'], categories: ['all'] },
    { name: 'pods/binding', singularName: '', namespaced: true, kind: 'Binding', verbs: ['create'] },
    { name: 'pods/exec', singularName: '', namespaced: true, kind: 'PodExecOptions', verbs: ['create', 'get'] },
    { name: 'pods/log', singularName: '', namespaced: true, kind: 'Pod', verbs: ['get'] },
    { name: 'pods/portforward', singularName: '', namespaced: true, kind: 'PodPortForwardOptions', verbs: ['create', 'get'] },
    { name: 'pods/status', singularName: '', namespaced: true, kind: 'Pod', verbs: ['get', 'patch', 'update'] },
  ],
};

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
      return RESOURCE_LIST;
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
