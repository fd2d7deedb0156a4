// Docker faults behind the kubelet's back: containers killed or removed with the
// docker CLI, the pause container killed. The kubelet must notice from Docker's
// event stream and do what a kubelet does.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Event, Pod } from '../../src/api/types.js';
import { TestCluster, watchPod } from '../e2e/harness.js';

const run = promisify(execFile);
const cluster = new TestCluster();
beforeAll(() => cluster.start(), 30_000);
afterAll(() => cluster.cleanup(), 60_000);

const manifest = (name: string, policy = 'Always') => `apiVersion: v1
kind: Pod
metadata: {name: ${name}}
spec:
  restartPolicy: ${policy}
  terminationGracePeriodSeconds: 1
  containers:
  - {name: a, image: busybox:1.36, command: ["sleep", "3600"]}
  - {name: b, image: busybox:1.36, command: ["sleep", "3601"]}
`;

const allRunning = (p: Pod) => p.status?.phase === 'Running' && (p.status.containerStatuses ?? []).every((s) => s.state.running);
const status = (p: Pod, name: string) => p.status!.containerStatuses!.find((s) => s.name === name)!;
const dockerId = (p: Pod, name: string) => status(p, name).containerID!.replace('docker://', '');

async function start(name: string, policy?: string): Promise<Pod> {
  expect((await cluster.mp(['apply', '-f', '-'], manifest(name, policy))).code).toBe(0);
  return watchPod(cluster.client, 'default', name, allRunning, 30_000, 'Running');
}

describe('docker faults', () => {
  it('docker kill of an app container: restarted, restartCount 1', async () => {
    const before = await start('killed');
    await run('docker', ['kill', dockerId(before, 'a')]);
    const after = await watchPod(cluster.client, 'default', 'killed', (p) => allRunning(p) && status(p, 'a').restartCount === 1, 20_000, 'restarted');
    expect(status(after, 'a').lastState.terminated).toMatchObject({ exitCode: 137, reason: 'Error' });
    expect(dockerId(after, 'b')).toBe(dockerId(before, 'b')); // the other container is untouched
  }, 60_000);

  it('docker rm -f of an app container: recreated, and restartCount does not go backwards', async () => {
    const before = await start('removed');
    await run('docker', ['rm', '-f', dockerId(before, 'a')]);
    const after = await watchPod(cluster.client, 'default', 'removed', (p) => allRunning(p) && status(p, 'a').restartCount === 1, 20_000, 'recreated');
    expect(dockerId(after, 'a')).not.toBe(dockerId(before, 'a'));
  }, 60_000);

  it('docker kill under restartPolicy Never: not restarted, the pod fails', async () => {
    const before = await start('never-killed', 'Never');
    await run('docker', ['kill', dockerId(before, 'a'), dockerId(before, 'b')]);
    const after = await watchPod(cluster.client, 'default', 'never-killed', (p) => p.status?.phase === 'Failed', 20_000, 'Failed');
    expect(status(after, 'a').restartCount).toBe(0);
  }, 60_000);

  it('docker kill of the pause container: the sandbox and all containers are recreated, with an event', async () => {
    const before = await start('sandbox-lost');
    const pause = (await cluster.containers(before.metadata.uid)).find((c) => c.Labels['minipod.io/kind'] === 'sandbox')!;
    await run('docker', ['kill', pause.Id]);
    const after = await watchPod(
      cluster.client, 'default', 'sandbox-lost',
      (p) => allRunning(p) && status(p, 'a').restartCount === 1 && status(p, 'b').restartCount === 1, 30_000, 'recreated',
    );
    const sandboxes = (await cluster.containers(after.metadata.uid)).filter((c) => c.Labels['minipod.io/kind'] === 'sandbox');
    expect(sandboxes.map((s) => [s.State, s.Labels['minipod.io/attempt']])).toEqual([['running', '1']]);
    const events: Event[] = (await cluster.client.listEvents('default', { fieldSelector: 'involvedObject.name=sandbox-lost,reason=SandboxChanged' })).items;
    expect(events[0].message).toBe('Pod sandbox changed, it will be killed and re-created.');
    // The new containers joined the new sandbox.
    const info = JSON.parse((await run('docker', ['inspect', dockerId(after, 'a')])).stdout)[0];
    expect(info.HostConfig.NetworkMode).toBe(`container:${sandboxes[0].Id}`);
  }, 60_000);
});
