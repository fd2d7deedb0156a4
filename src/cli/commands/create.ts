// `minipod create namespace NAME`, as kubectl's: a namespace of one's own, to
// label (pod-security.kubernetes.io/enforce=…) apart from the others.
import { resourcePath } from '../../api/api-resources.js';
import { connect } from '../connect.js';

export async function createNamespace(name: string): Promise<void> {
  const client = connect();
  try {
    await client.request('POST', resourcePath('namespaces'), { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
    console.log(`namespace/${name} created`);
  } finally {
    client.close();
  }
}
