// Image pull policies against the real registry on 127.0.0.1:5000 (started by
// scripts/bootstrap.sh): registry access is read from the registry's own log.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pod } from '../../src/api/types.js';
import { TestCluster, docker, watchPod } from './harness.js';

const REGISTRY_LOG = '/var/log/minipod-registry.log';
const cluster = new TestCluster();
beforeAll(() => cluster.start(), 30_000);
afterAll(() => cluster.cleanup(), 60_000);

/** Manifest fetches of the test image seen by the registry. */
const manifestGets = () => (readFileSync(REGISTRY_LOG, 'utf8').match(/"(GET|HEAD) \/v2\/minipod\/testbox\/manifests\/1 /g) ?? []).length;
const waitingReason = (p: Pod) => p.status?.containerStatuses?.[0]?.state.waiting?.reason;

const pod = (name: string, image: string, policy: string, extra = '') => `apiVersion: v1
kind: Pod
metadata: {name: ${name}}
spec:
  ${extra}
  containers:
  - name: main
    image: ${image}
    imagePullPolicy: ${policy}
    command: ["sh", "-c", "sleep 0.3; exit 0"]
`;

describe('image pull policies', () => {
  it('Always pulls at every start of the container', async () => {
    const before = manifestGets();
    // Exits 0 under Always: started twice quickly (the first restart has no back-off).
    expect((await cluster.mp(['apply', '-f', '-'], pod('always', '127.0.0.1:5000/minipod/testbox:1', 'Always'))).code).toBe(0);
    await watchPod(cluster.client, 'default', 'always', (p) => (p.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1, 30_000, 'restarted');
    expect(manifestGets() - before).toBeGreaterThanOrEqual(2);
    const pulled = (await cluster.client.listEvents('default', { fieldSelector: 'involvedObject.name=always,reason=Pulled' })).items;
    expect(pulled[0].message).toMatch(/^Successfully pulled image "127.0.0.1:5000\/minipod\/testbox:1" in [\d.]+s\. Image size: \d+ bytes\.$/);
    expect(pulled[0].count ?? 1).toBeGreaterThanOrEqual(1);
    expect((await cluster.client.listEvents('default', { fieldSelector: 'involvedObject.name=always,reason=Pulling' })).items.length).toBeGreaterThanOrEqual(1);
  }, 60_000);

  it('IfNotPresent does not pull an image that is present', async () => {
    await docker.getImage('127.0.0.1:5000/minipod/testbox:1').inspect(); // present since the test above
    const before = manifestGets();
    expect((await cluster.mp(['apply', '-f', '-'], pod('ifnotpresent', '127.0.0.1:5000/minipod/testbox:1', 'IfNotPresent', 'restartPolicy: Never'))).code).toBe(0);
    await watchPod(cluster.client, 'default', 'ifnotpresent', (p) => p.status?.phase === 'Succeeded', 30_000, 'Succeeded');
    expect(manifestGets()).toBe(before);
    const pulled = (await cluster.client.listEvents('default', { fieldSelector: 'involvedObject.name=ifnotpresent,reason=Pulled' })).items;
    expect(pulled[0].message).toBe('Container image "127.0.0.1:5000/minipod/testbox:1" already present on machine');
  }, 60_000);

  it('Never on a missing image shows ErrImageNeverPull', async () => {
    expect((await cluster.mp(['apply', '-f', 'manifests/pull-policies.yaml'])).code).toBe(0);
    const p = await watchPod(cluster.client, 'default', 'pull-never-missing', (x) => waitingReason(x) === 'ErrImageNeverPull', 30_000, 'ErrImageNeverPull');
    expect(p.status!.containerStatuses![0].state.waiting!.message).toBe('Container image "127.0.0.1:5000/minipod/not-there:1" is not present with pull policy of Never');
    expect((await cluster.mp(['get', 'pod', 'pull-never-missing'])).stdout).toMatch(/^pull-never-missing\s+0\/1\s+ErrImageNeverPull\s/m);
    await watchPod(cluster.client, 'default', 'pull-always', (x) => x.status?.phase === 'Running', 30_000, 'Running');
  }, 60_000);

  it('an unknown image shows ErrImagePull, then ImagePullBackOff', async () => {
    const seen: string[] = [];
    expect((await cluster.mp(['apply', '-f', '-'], pod('unknown-image', '127.0.0.1:5000/minipod/no-such-image:1', 'IfNotPresent'))).code).toBe(0);
    const p = await watchPod(cluster.client, 'default', 'unknown-image', (x) => {
      const r = waitingReason(x);
      if (r && seen.at(-1) !== r) seen.push(r);
      return r === 'ImagePullBackOff';
    }, 30_000, 'ImagePullBackOff');
    expect(seen.slice(0, 2)).toEqual(['ErrImagePull', 'ImagePullBackOff']);
    expect(p.status!.containerStatuses![0].state.waiting!.message).toBe('Back-off pulling image "127.0.0.1:5000/minipod/no-such-image:1"');
  }, 60_000);
});
