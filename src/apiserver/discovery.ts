// Discovery documents, so that kubectl and client libraries find the pods resource.
const RESOURCE_LIST = {
  kind: 'APIResourceList',
  groupVersion: 'v1',
  resources: [
    { name: 'pods', singularName: 'pod', namespaced: true, kind: 'Pod', verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'], shortNames: ['po'], categories: ['all'] },
    { name: 'pods/status', singularName: '', namespaced: true, kind: 'Pod', verbs: ['get', 'patch', 'update'] },
    { name: 'pods/binding', singularName: '', namespaced: true, kind: 'Binding', verbs: ['create'] },
    { name: 'nodes', singularName: 'node', namespaced: false, kind: 'Node', verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'], shortNames: ['no'] },
    { name: 'events', singularName: 'event', namespaced: true, kind: 'Event', verbs: ['create', 'get', 'list', 'watch'], shortNames: ['ev'] },
  ],
};

export function discovery(path: string): unknown {
  switch (path.replace(/\/+$/, '')) {
    case '/api':
      return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '127.0.0.1' }] };
    case '/apis':
      return { kind: 'APIGroupList', apiVersion: 'v1', groups: [] };
    case '/api/v1':
      return RESOURCE_LIST;
    case '/version':
      return { major: '1', minor: '30', gitVersion: 'v1.30.0-minipod', platform: `${process.platform}/${process.arch}` };
    case '/healthz':
    case '/readyz':
    case '/livez':
      return 'ok';
    default:
      return undefined;
  }
}
