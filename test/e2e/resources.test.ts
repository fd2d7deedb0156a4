// Issue "Fidelity", item 6: resources as the kubelet sets them — CPU shares from
// requests.cpu, a CFS quota over 100 ms from limits.cpu, the memory limit with no
// swap on top — seen in `docker inspect` and in the container's own cgroup files
// (v1 or v2, whichever this machine has); the API server's default of requests to
// limits; status.qosClass; OOMKilled; and absurd values, refused or held.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pod } from '../../src/api/types.js';
import { ApiStatusError } from '../../src/client/client.js';
import { TestCluster, docker, waitFor, watchPod } from './harness.js';

const cluster = new TestCluster();
beforeAll(() => cluster.start(), 30_000);
afterAll(() => cluster.cleanup(), 60_000);

const MiB = 1024 * 1024;
/** The kernel's "no memory limit" (LONG_MAX rounded down to a page), as cgroup v1 shows it. */
const NO_MEMORY_LIMIT = '9223372036854771712';

const running = (p: Pod) => p.status?.phase === 'Running' && (p.status.containerStatuses ?? []).every((s) => s.state.running);
const idOf = (p: Pod, name: string) => p.status!.containerStatuses!.find((s) => s.name === name)!.containerID!.replace('docker://', '');
const hostConfig = async (p: Pod, name: string) => (await docker.getContainer(idOf(p, name)).inspect()).HostConfig;

async function applyText(yaml: string): Promise<void> {
  const res = await cluster.mp(['apply', '-f', '-'], yaml);
  expect(res.stderr).toBe('');
  expect(res.code).toBe(0);
}

// What the container sees of its own cgroup: v2's unified files, or v1's per controller.
const CGROUP_SCRIPT = `
if [ -f /sys/fs/cgroup/cpu.max ]; then
  echo version=2
  echo cpu.max=$(cat /sys/fs/cgroup/cpu.max)
  echo memory.max=$(cat /sys/fs/cgroup/memory.max)
  echo memory.swap.max=$(cat /sys/fs/cgroup/memory.swap.max 2>/dev/null)
else
  echo version=1
  echo cpu.shares=$(cat /sys/fs/cgroup/cpu/cpu.shares)
  echo cpu.cfs_quota_us=$(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us)
  echo cpu.cfs_period_us=$(cat /sys/fs/cgroup/cpu/cpu.cfs_period_us)
  echo memory.limit_in_bytes=$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes)
  echo memory.memsw.limit_in_bytes=$(cat /sys/fs/cgroup/memory/memory.memsw.limit_in_bytes 2>/dev/null)
fi`;

async function cgroup(pod: string, container: string): Promise<Record<string, string>> {
  const res = await cluster.mp(['exec', pod, '-c', container, '--', 'sh', '-c', CGROUP_SCRIPT]);
  expect(res.code, res.stderr).toBe(0);
  return Object.fromEntries(res.stdout.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}

/** The cgroup files say: this many shares (v1 only: v2 converts them to a weight), this quota, this memory limit, no swap. */
function expectCgroup(cg: Record<string, string>, want: { shares: number; quota?: number; memory?: number }) {
  if (cg.version === '2') {
    expect(cg['cpu.max']).toBe(`${want.quota ?? 'max'} 100000`);
    expect(cg['memory.max']).toBe(want.memory !== undefined ? String(want.memory) : 'max');
    if (want.memory !== undefined && cg['memory.swap.max']) expect(cg['memory.swap.max']).toBe('0');
    return;
  }
  expect(cg.version).toBe('1');
  expect(cg['cpu.shares']).toBe(String(want.shares));
  expect(cg['cpu.cfs_quota_us']).toBe(String(want.quota ?? -1));
  expect(cg['cpu.cfs_period_us']).toBe('100000');
  expect(cg['memory.limit_in_bytes']).toBe(want.memory !== undefined ? String(want.memory) : NO_MEMORY_LIMIT);
  // Swap accounting on: memory+swap is the memory limit itself (Docker would give twice).
  if (want.memory !== undefined && cg['memory.memsw.limit_in_bytes']) expect(cg['memory.memsw.limit_in_bytes']).toBe(String(want.memory));
}

describe('requests and limits become cgroup settings', () => {
  it('sets shares from the request, a CFS quota over 100 ms from the limit, and memory without swap', async () => {
    await applyText(`apiVersion: v1
kind: Pod
metadata: {name: shaped}
spec:
  containers:
  - name: limited
    image: busybox:1.36
    command: [sleep, '3600']
    resources:
      requests: {cpu: 250m, memory: 32Mi}
      limits: {cpu: 500m, memory: 64Mi}
  - name: plain
    image: busybox:1.36
    command: [sleep, '3600']
`);
    const pod = await watchPod(cluster.client, 'default', 'shaped', running, 30_000, 'Running');
    expect(await hostConfig(pod, 'limited')).toMatchObject({ CpuShares: 256, CpuPeriod: 100000, CpuQuota: 50000, NanoCpus: 0, Memory: 64 * MiB, MemorySwap: 64 * MiB });
    // No request at all: the minimum of 2 shares, not the kernel's 1024; no quota, no memory limit.
    expect(await hostConfig(pod, 'plain')).toMatchObject({ CpuShares: 2, CpuPeriod: 100000, CpuQuota: 0, NanoCpus: 0, Memory: 0 });
    expectCgroup(await cgroup('shaped', 'limited'), { shares: 256, quota: 50000, memory: 64 * MiB });
    expectCgroup(await cgroup('shaped', 'plain'), { shares: 2 });
    expect(pod.status!.qosClass).toBe('Burstable');
  }, 60_000);

  it('defaults requests to limits in the API server: Guaranteed, with shares from the limit', async () => {
    const res = await cluster.mp(['apply', '-f', 'manifests/resources.yaml']);
    expect(res).toMatchObject({ code: 0, stderr: '', stdout: 'pod/resources created\npod/oom created\n' });
    const pod = await watchPod(cluster.client, 'default', 'resources', running, 30_000, 'Running');
    expect(pod.spec.containers[0].resources).toEqual({ limits: { cpu: '250m', memory: '64Mi' }, requests: { cpu: '250m', memory: '64Mi' } });
    expect(pod.status!.qosClass).toBe('Guaranteed');
    expect(await hostConfig(pod, 'main')).toMatchObject({ CpuShares: 256, CpuQuota: 25000, Memory: 64 * MiB, MemorySwap: 64 * MiB });
    expectCgroup(await cgroup('resources', 'main'), { shares: 256, quota: 25000, memory: 64 * MiB });
    const line = await waitFor(async () => (await cluster.mp(['logs', 'resources'])).stdout.trim(), 10_000, 'the log line');
    expect(line).toBe(`cpu: 25000us every 100000us, memory: ${64 * MiB} bytes`);
    const described = (await cluster.mp(['describe', 'pod', 'resources'])).stdout;
    expect(described).toMatch(/^QoS Class: +Guaranteed$/m);
    // The CLI defaults the manifest the same way: applied again, nothing changed.
    expect((await cluster.mp(['apply', '-f', 'manifests/resources.yaml'])).stdout).toBe('pod/resources unchanged\npod/oom unchanged\n');
    expect(described).toContain('    Limits:\n      cpu:     250m\n      memory:  64Mi\n    Requests:\n      cpu:        250m\n      memory:     64Mi');
  }, 60_000);

  it('counts init containers in the QoS class, and reports BestEffort', async () => {
    await applyText(`apiVersion: v1
kind: Pod
metadata: {name: qos-init}
spec:
  initContainers:
  - {name: setup, image: busybox:1.36, command: ['true']}
  containers:
  - name: main
    image: busybox:1.36
    command: [sleep, '3600']
    resources: {limits: {cpu: 100m, memory: 32Mi}}
---
apiVersion: v1
kind: Pod
metadata: {name: qos-none}
spec:
  containers:
  - {name: main, image: busybox:1.36, command: [sleep, '3600']}
`);
    const init = await watchPod(cluster.client, 'default', 'qos-init', running, 30_000, 'Running');
    const none = await watchPod(cluster.client, 'default', 'qos-none', running, 30_000, 'Running');
    expect(init.status!.qosClass).toBe('Burstable'); // the init container has no limits
    expect(none.status!.qosClass).toBe('BestEffort');
    expect((await cluster.mp(['describe', 'pod', 'qos-none'])).stdout).toMatch(/^QoS Class: +BestEffort$/m);
  }, 60_000);

  it("reports a container ended by the memory cgroup's OOM killer as OOMKilled, exit code 137", async () => {
    const pod = await watchPod(cluster.client, 'default', 'oom', (p) => p.status?.phase === 'Failed', 60_000, 'Failed');
    const s = pod.status!.containerStatuses![0];
    expect(s.state.terminated).toMatchObject({ reason: 'OOMKilled', exitCode: 137 });
    expect(s.restartCount).toBe(0);
    expect((await docker.getContainer(idOf(pod, 'hog')).inspect()).State).toMatchObject({ OOMKilled: true, ExitCode: 137 });
    expect(pod.status!.qosClass).toBe('Burstable');
    const table = (await cluster.mp(['get', 'pod', 'oom'])).stdout;
    expect(table).toMatch(/^oom +0\/1 +OOMKilled +0 +/m);
  }, 90_000);
});

describe('absurd values', () => {
  it("refuses a negative quantity with the API server's message", async () => {
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'negative' },
      spec: { containers: [{ name: 'c', image: 'busybox:1.36', resources: { limits: { cpu: '-1' }, requests: { memory: '-5Mi' } } }] },
    } as Pod;
    const err = await cluster.client.createPod('default', pod).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiStatusError);
    expect((err as ApiStatusError).code).toBe(422);
    expect((err as ApiStatusError).message).toContain('spec.containers[0].resources.limits[cpu]: Invalid value: "-1": must be greater than or equal to 0');
    expect((err as ApiStatusError).message).toContain('spec.containers[0].resources.requests[memory]: Invalid value: "-5Mi": must be greater than or equal to 0');
  });

  it('keeps a pod whose limit (so its request) is more cpu than the node has Pending, and never creates a container', async () => {
    await applyText(`apiVersion: v1
kind: Pod
metadata: {name: greedy}
spec:
  containers:
  - {name: c, image: busybox:1.36, command: [sleep, '3600'], resources: {limits: {cpu: '100000'}}}
`);
    const event = await waitFor(async () => {
      const list = await cluster.client.listEvents('default', { fieldSelector: 'involvedObject.name=greedy' });
      return list.items.find((e) => e.reason === 'FailedScheduling');
    }, 15_000, 'FailedScheduling');
    expect(event.message).toBe('0/1 nodes are available: 1 Insufficient cpu.');
    const pod = await cluster.client.getPod('default', 'greedy');
    expect(pod.spec.containers[0].resources!.requests).toEqual({ cpu: '100000' });
    expect(pod.spec.nodeName).toBeUndefined();
    expect(await cluster.containers(pod.metadata.uid)).toEqual([]);
  });

  it("passes a cpu limit beyond the node's, and holds one beyond the kernel's range at its maximum", async () => {
    await applyText(`apiVersion: v1
kind: Pod
metadata: {name: huge}
spec:
  containers:
  - name: wide
    image: busybox:1.36
    command: [sleep, '3600']
    resources: {limits: {cpu: '100000'}, requests: {cpu: 100m}}
  - name: boundless
    image: busybox:1.36
    command: [sleep, '3600']
    resources: {limits: {cpu: '1e9', memory: '1e999999999'}, requests: {cpu: 100m, memory: 16Mi}}
`);
    const pod = await watchPod(cluster.client, 'default', 'huge', running, 30_000, 'Running');
    // 100000 cores: a quota of 10^10 µs per 100 ms, as upstream passes it (it limits nothing).
    expect(await hostConfig(pod, 'wide')).toMatchObject({ CpuShares: 102, CpuPeriod: 100000, CpuQuota: 1e10, Memory: 0 });
    expectCgroup(await cgroup('huge', 'wide'), { shares: 102, quota: 1e10 });
    // 10^9 cores and 10^999999999 bytes: the kernel's largest quota (2^44-1 µs) and its "no limit".
    expect(await hostConfig(pod, 'boundless')).toMatchObject({ CpuShares: 102, CpuQuota: 2 ** 44 - 1, Memory: 2 ** 63 - 4096, MemorySwap: 2 ** 63 - 4096 });
    const cg = await cgroup('huge', 'boundless');
    if (cg.version === '1') expect(cg).toMatchObject({ 'cpu.cfs_quota_us': String(2 ** 44 - 1), 'memory.limit_in_bytes': NO_MEMORY_LIMIT });
  }, 60_000);

  it("fails a memory limit below Docker's minimum as CreateContainerError with Docker's message, and tries again", async () => {
    await applyText(`apiVersion: v1
kind: Pod
metadata: {name: tiny}
spec:
  containers:
  - {name: c, image: busybox:1.36, command: [sleep, '3600'], resources: {limits: {memory: '1'}}}
`);
    const pod = await watchPod(cluster.client, 'default', 'tiny', (p) => !!p.status?.containerStatuses?.[0]?.state.waiting?.message, 30_000, 'waiting with a message');
    expect(pod.status!.phase).toBe('Pending');
    expect(pod.status!.containerStatuses![0].state.waiting).toEqual({ reason: 'CreateContainerError', message: 'Minimum memory limit allowed is 6MB' });
    expect((await cluster.mp(['get', 'pod', 'tiny'])).stdout).toMatch(/^tiny +0\/1 +CreateContainerError +0 +/m);
    // Only the sandbox reached Docker; the kubelet tries again (upstream: on its next sync).
    const kinds = (await cluster.containers(pod.metadata.uid)).map((c) => c.Labels['minipod.io/kind']);
    expect(kinds).toEqual(['sandbox']);
    const failures = await waitFor(async () => {
      const list = await cluster.client.listEvents('default', { fieldSelector: 'involvedObject.name=tiny' });
      const failed = list.items.find((e) => e.reason === 'Failed');
      return failed && (failed.count ?? 1) >= 2 ? failed : undefined;
    }, 25_000, 'a second Failed event');
    expect(failures.message).toBe('Error: Minimum memory limit allowed is 6MB');
  }, 60_000);
});
