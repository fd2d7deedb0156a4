// CVE-2017-1002101 on a real daemon and real Docker: a container plants a symlink
// in a shared emptyDir, and another container (or the next start of the same one)
// mounts it through `subPath`. Docker follows links, so without the kubelet's
// check the mount would be the host's root. The container must instead fail with
// CreateContainerConfigError, never be created, and never see a host file.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Event, Pod } from '../../src/api/types.js';
import { TestCluster, dockerLogs, watchPod } from '../e2e/harness.js';

const cluster = new TestCluster();
beforeAll(() => cluster.start(), 30_000);
afterAll(() => cluster.cleanup(), 60_000);

// What the host's root would give away: the machine's own /etc/hostname.
const HOST_HOSTNAME = readFileSync('/etc/hostname', 'utf8').trim();

async function apply(yaml: string): Promise<void> {
  const res = await cluster.mp(['apply', '-f', '-'], yaml);
  expect(res.stderr).toBe('');
  expect(res.code).toBe(0);
}

async function events(pod: string): Promise<Event[]> {
  return (await cluster.client.listEvents('default', { fieldSelector: `involvedObject.name=${pod}` })).items;
}

const statusOf = (p: Pod, name: string) => p.status?.containerStatuses?.find((s) => s.name === name);
const configError = (name: string) => (p: Pod) => statusOf(p, name)?.state.waiting?.reason === 'CreateContainerConfigError';

/** Docker containers of one container of the pod, found by minipod's labels. */
async function dockerContainers(pod: Pod, name: string) {
  return (await cluster.containers(pod.metadata.uid)).filter((c) => c.Labels['io.kubernetes.container.name'] === name && c.Labels['minipod.io/kind'] === 'app');
}

describe('a symlinked subPath', () => {
  it('planted by an init container: the app is never created and sees nothing of the host', async () => {
    expect(HOST_HOSTNAME).not.toBe('');
    await apply(`
apiVersion: v1
kind: Pod
metadata: {name: subpath-escape}
spec:
  volumes: [{name: d, emptyDir: {}}]
  initContainers:
  - name: plant
    image: busybox:1.36
    command: [sh, -c, "ln -s / /d/r && mkdir /d/fine"]
    volumeMounts: [{name: d, mountPath: /d}]
  containers:
  - name: app
    image: busybox:1.36
    command: [sh, -c, "cat /host/etc/hostname; sleep 3600"]
    volumeMounts: [{name: d, mountPath: /host, subPath: r}]
  - name: ok
    image: busybox:1.36
    command: [sh, -c, "echo inside > /data/proof && cat /data/proof && ls /data && sleep 3600"]
    volumeMounts: [{name: d, mountPath: /data, subPath: fine}]
`);
    // Settled once `ok` runs and `app` is either refused or (the escape) created.
    const settled = (p: Pod) => (configError('app')(p) || !!statusOf(p, 'app')?.containerID) && !!statusOf(p, 'ok')?.state.running;
    const pod = await watchPod(cluster.client, 'default', 'subpath-escape', settled, 30_000, 'settled');
    expect(statusOf(pod, 'app')!.state.waiting?.reason).toBe('CreateContainerConfigError');
    expect(statusOf(pod, 'app')!.state.waiting!.message).toBe('failed to prepare subPath for volumeMount "d" of container "app"');
    expect(pod.status!.initContainerStatuses![0].state.terminated).toMatchObject({ exitCode: 0, reason: 'Completed' });

    const evs = await events('subpath-escape');
    expect(evs).toContainEqual(
      expect.objectContaining({ type: 'Warning', reason: 'Failed', message: 'Error: failed to prepare subPath for volumeMount "d" of container "app"' }),
    );
    expect(evs.map((e) => e.message)).not.toContain('Created container app');
    expect(await dockerContainers(pod, 'app')).toEqual([]);

    const get = await cluster.mp(['get', 'pod', 'subpath-escape']);
    expect(get.stdout).toMatch(/^subpath-escape\s+1\/2\s+CreateContainerConfigError\s/m);

    // A subPath that stays inside the volume still works, in the same pod.
    const [ok] = await dockerContainers(pod, 'ok');
    const logs = await dockerLogs(ok.Id);
    expect(logs).toContain('inside');
    expect(logs).not.toContain(HOST_HOSTNAME);
  }, 60_000);

  it('swapped in between two starts of the same container: the restart is refused', async () => {
    // The first run mounts subPath `work` (a real folder, made by the kubelet),
    // then through the whole volume replaces it with a link to / and fails.
    await apply(`
apiVersion: v1
kind: Pod
metadata: {name: subpath-swap}
spec:
  restartPolicy: OnFailure
  volumes: [{name: d, emptyDir: {}}]
  containers:
  - name: app
    image: busybox:1.36
    command: [sh, -c, "echo \\"seen: $(cat /w/etc/hostname 2>/dev/null)\\"; ls -d /w; mv /vol/work /vol/old && ln -s / /vol/work; exit 1"]
    volumeMounts:
    - {name: d, mountPath: /vol}
    - {name: d, mountPath: /w, subPath: work}
`);
    // Settled once the restart is refused or (the escape) a second attempt exists.
    const settled = (p: Pod) => configError('app')(p) || (statusOf(p, 'app')?.restartCount ?? 0) > 0;
    const pod = await watchPod(cluster.client, 'default', 'subpath-swap', settled, 30_000, 'settled');
    const app = statusOf(pod, 'app')!;
    expect(app.state.waiting?.reason).toBe('CreateContainerConfigError');
    expect(app.state.waiting!.message).toBe('failed to prepare subPath for volumeMount "d" of container "app"');
    expect(app.lastState.terminated).toMatchObject({ exitCode: 1 });
    expect((await events('subpath-swap')).map((e) => `${e.type} ${e.reason} ${e.message}`)).toContain(
      'Warning Failed Error: failed to prepare subPath for volumeMount "d" of container "app"',
    );

    // Only the first attempt ever existed, and it saw a folder of the volume, not the host.
    const created = await dockerContainers(pod, 'app');
    expect(created.map((c) => c.Labels['minipod.io/attempt'])).toEqual(['0']);
    const logs = await dockerLogs(created[0].Id);
    expect(logs).toMatch(/^seen: $/m);
    expect(logs).toContain('/w');
    expect(logs).not.toContain(HOST_HOSTNAME);
  }, 60_000);
});
