// A pod's names, checked from inside its containers: /etc/resolv.conf per
// dnsPolicy and dnsConfig, /etc/hosts with the pod's FQDN and hostAliases (the
// host network's variant too), `hostname` and `hostname -f` with subdomain and
// setHostnameAsFQDN; init containers and a recreated sandbox see the same; a
// hostname the kernel cannot hold fails the sandbox as the kubelet does; and what
// would inject lines into those files never gets past the API server.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Event, Pod } from '../../src/api/types.js';
import { ApiStatusError } from '../../src/client/client.js';
import { TestCluster, docker, waitFor, watchPod } from './harness.js';

// Privileged Pod Security: one pod uses the host network.
const cluster = new TestCluster({ daemonArgs: ['--pod-security', 'privileged'] });
beforeAll(() => cluster.start(), 30_000);
afterAll(() => cluster.cleanup(), 60_000);

const KUBELET_HOSTS = [
  '# Kubernetes-managed hosts file.',
  '127.0.0.1\tlocalhost',
  '::1\tlocalhost ip6-localhost ip6-loopback',
  'fe00::0\tip6-localnet',
  'fe00::0\tip6-mcastprefix',
  'fe00::1\tip6-allnodes',
  'fe00::2\tip6-allrouters',
].join('\n');
const MISSING_CLUSTER_DNS = 'kubelet does not have ClusterDNS IP configured and cannot create Pod using "ClusterFirst" policy. Falling back to "Default" policy.';

/** The node's resolv.conf as the runtime rewrites it: search, nameservers, options (this machine's file has no systemd-resolved stub). */
function nodeResolvConf(): string {
  const lines = readFileSync('/etc/resolv.conf', 'utf8').split('\n').map((l) => l.trim().split(/\s+/));
  const servers = lines.filter((f) => f[0] === 'nameserver' && f[1]).map((f) => `nameserver ${f[1]}\n`);
  const search = lines.filter((f) => f[0] === 'search').at(-1)?.slice(1).map((s) => s.replace(/\.$/, ''));
  const options = lines.filter((f) => f[0] === 'options').at(-1)?.slice(1);
  return `${search?.length ? `search ${search.join(' ')}\n` : ''}${servers.join('')}${options?.length ? `options ${options.join(' ')}\n` : ''}`;
}

const running = (p: Pod) => p.status?.phase === 'Running' && (p.status.containerStatuses ?? []).every((s) => s.state.running);

async function apply(yaml: string): Promise<void> {
  const res = await cluster.mp(['apply', '-f', '-'], yaml);
  expect(res.stderr).toBe('');
  expect(res.code).toBe(0);
}

/** What a command prints inside a running container (through the API, as a user would). */
async function inside(pod: string, container: string, ...cmd: string[]): Promise<string> {
  const res = await cluster.mp(['exec', pod, '-c', container, '--', ...cmd]);
  expect(res.stderr).toBe('');
  expect(res.code).toBe(0);
  return res.stdout;
}

async function events(pod: string, reason: string): Promise<Event[]> {
  return (await cluster.client.listEvents('default', { fieldSelector: `involvedObject.name=${pod},reason=${reason}` })).items;
}

describe('manifests/dns-config.yaml: dnsPolicy None, dnsConfig, hostAliases, hostname and subdomain', () => {
  let pod: Pod;
  beforeAll(async () => {
    const res = await cluster.mp(['apply', '-f', 'manifests/dns-config.yaml']);
    expect(res.code).toBe(0);
    pod = await watchPod(cluster.client, 'default', 'dns-config', running, 30_000, 'Running');
  }, 40_000);

  it('resolv.conf holds only the pod\'s dnsConfig', async () => {
    expect(await inside('dns-config', 'app', 'cat', '/etc/resolv.conf')).toBe(
      'search docs.default.svc.cluster.local corp.example\nnameserver 192.0.2.10\nnameserver 2001:db8::10\noptions ndots:2 edns0\n',
    );
    expect(await events('dns-config', 'MissingClusterDNS')).toEqual([]); // None asks for no cluster DNS
  });

  it('/etc/hosts is the kubelet\'s, with the FQDN on the pod\'s IP and the aliases after', async () => {
    expect(pod.status!.podIP).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(await inside('dns-config', 'app', 'cat', '/etc/hosts')).toBe(
      `${KUBELET_HOSTS}\n${pod.status!.podIP}\tweb.docs.default.svc.cluster.local\tweb\n\n# Entries added by HostAliases.\n127.0.0.1\tcache.local\n192.0.2.20\tdb.corp.example\tdb\n`,
    );
  });

  it('hostname is the short name, hostname -f the FQDN', async () => {
    expect(await inside('dns-config', 'app', 'hostname')).toBe('web\n');
    expect(await inside('dns-config', 'app', 'hostname', '-f')).toBe('web.docs.default.svc.cluster.local\n');
  });

  it('a recreated sandbox gets the files anew, with its own IP', async () => {
    const before = pod.status!.containerStatuses![0].containerID;
    const pause = (await cluster.containers(pod.metadata.uid)).find((c) => c.Labels['minipod.io/kind'] === 'sandbox')!;
    await docker.getContainer(pause.Id).kill();
    const again = await watchPod(cluster.client, 'default', 'dns-config', (p) => running(p) && p.status!.containerStatuses![0].containerID !== before, 45_000, 'Running in a new sandbox');
    const sandboxes = (await cluster.containers(pod.metadata.uid)).filter((c) => c.Labels['minipod.io/kind'] === 'sandbox' && c.State === 'running');
    expect(sandboxes.map((s) => s.Id)).not.toContain(pause.Id);
    expect(await inside('dns-config', 'app', 'cat', '/etc/hosts')).toContain(`\n${again.status!.podIP}\tweb.docs.default.svc.cluster.local\tweb\n`);
    expect(await inside('dns-config', 'app', 'cat', '/etc/resolv.conf')).toBe(
      'search docs.default.svc.cluster.local corp.example\nnameserver 192.0.2.10\nnameserver 2001:db8::10\noptions ndots:2 edns0\n',
    );
  }, 60_000);
});

describe('dnsPolicy ClusterFirst (the default) without a cluster DNS server', () => {
  it('falls back to the node\'s resolv.conf with MissingClusterDNS, in init containers too', async () => {
    await apply(`
apiVersion: v1
kind: Pod
metadata: {name: dns-default}
spec:
  terminationGracePeriodSeconds: 1
  volumes: [{name: out, emptyDir: {}}]
  initContainers:
  - name: look
    image: busybox:1.36
    command: [sh, -c, 'cat /etc/resolv.conf > /out/resolv.conf; cat /etc/hosts > /out/hosts; hostname > /out/hostname']
    volumeMounts: [{name: out, mountPath: /out}]
  containers:
  - name: app
    image: busybox:1.36
    command: [sleep, "3600"]
    volumeMounts: [{name: out, mountPath: /out}]
`);
    const pod = await watchPod(cluster.client, 'default', 'dns-default', running, 30_000, 'Running');
    const m = pod.metadata;
    const hosts = `${KUBELET_HOSTS}\n${pod.status!.podIP}\tdns-default\n`;
    expect(await inside('dns-default', 'app', 'cat', '/etc/resolv.conf')).toBe(nodeResolvConf());
    expect(await inside('dns-default', 'app', 'cat', '/etc/hosts')).toBe(hosts);
    expect(await inside('dns-default', 'app', 'hostname')).toBe('dns-default\n');
    // The init container ran in the same sandbox, with the same files.
    expect(await inside('dns-default', 'app', 'cat', '/out/resolv.conf')).toBe(nodeResolvConf());
    expect(await inside('dns-default', 'app', 'cat', '/out/hosts')).toBe(hosts);
    expect(await inside('dns-default', 'app', 'cat', '/out/hostname')).toBe('dns-default\n');
    const warned = await waitFor(async () => (await events('dns-default', 'MissingClusterDNS'))[0], 10_000, 'the MissingClusterDNS event');
    expect(warned).toMatchObject({ type: 'Warning', message: `pod: "dns-default_default(${m.uid})". ${MISSING_CLUSTER_DNS}` });
  }, 45_000);
});

describe('setHostnameAsFQDN', () => {
  it('makes the FQDN the hostname', async () => {
    await apply(`
apiVersion: v1
kind: Pod
metadata: {name: fqdn}
spec:
  hostname: api
  subdomain: backend
  setHostnameAsFQDN: true
  dnsPolicy: Default
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: busybox:1.36
    command: [sleep, "3600"]
`);
    const pod = await watchPod(cluster.client, 'default', 'fqdn', running, 30_000, 'Running');
    expect(await inside('fqdn', 'app', 'hostname')).toBe('api.backend.default.svc.cluster.local\n');
    expect(await inside('fqdn', 'app', 'hostname', '-f')).toBe('api.backend.default.svc.cluster.local\n');
    expect(await inside('fqdn', 'app', 'cat', '/etc/hosts')).toBe(`${KUBELET_HOSTS}\n${pod.status!.podIP}\tapi.backend.default.svc.cluster.local\tapi\n`);
    expect(await inside('fqdn', 'app', 'cat', '/etc/resolv.conf')).toBe(nodeResolvConf());
    expect(await events('fqdn', 'MissingClusterDNS')).toEqual([]); // Default: the node's file is what was asked for
  }, 45_000);

  it('an FQDN over 64 characters fails the sandbox with the kubelet\'s message, and nothing reaches Docker', async () => {
    const hostname = 'h'.repeat(40);
    await apply(`
apiVersion: v1
kind: Pod
metadata: {name: fqdn-too-long}
spec:
  hostname: ${hostname}
  subdomain: backend
  setHostnameAsFQDN: true
  containers:
  - name: app
    image: busybox:1.36
    command: [sleep, "3600"]
`);
    const fqdn = `${hostname}.backend.default.svc.cluster.local`; // 74 characters
    const failed = await waitFor(async () => (await events('fqdn-too-long', 'FailedCreatePodSandBox'))[0], 20_000, 'FailedCreatePodSandBox');
    expect(failed).toMatchObject({
      type: 'Warning',
      message: `Failed to create pod sandbox: failed to construct FQDN from pod hostname and cluster domain, FQDN ${fqdn} is too long (64 characters is the max, 74 characters requested)`,
    });
    const pod = await watchPod(cluster.client, 'default', 'fqdn-too-long', (p) => !!p.status?.containerStatuses, 10_000, 'a status');
    expect(pod.status!.phase).toBe('Pending');
    expect(pod.status!.containerStatuses![0].state.waiting?.reason).toBe('ContainerCreating');
    expect(await cluster.containers(pod.metadata.uid)).toEqual([]);
  }, 40_000);
});

describe('the host network', () => {
  it('gets the node\'s /etc/hosts with the aliases, and ClusterFirstWithHostNet the node\'s resolv.conf', async () => {
    await apply(`
apiVersion: v1
kind: Pod
metadata: {name: dns-hostnet}
spec:
  hostNetwork: true
  dnsPolicy: ClusterFirstWithHostNet
  hostAliases:
  - ip: 10.9.8.7
    hostnames: [registry.internal]
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: busybox:1.36
    command: [sleep, "3600"]
`);
    const pod = await watchPod(cluster.client, 'default', 'dns-hostnet', running, 30_000, 'Running');
    expect(await inside('dns-hostnet', 'app', 'cat', '/etc/hosts')).toBe(
      `# Kubernetes-managed hosts file (host network).\n${readFileSync('/etc/hosts', 'utf8')}\n# Entries added by HostAliases.\n10.9.8.7\tregistry.internal\n`,
    );
    expect(await inside('dns-hostnet', 'app', 'cat', '/etc/resolv.conf')).toBe(nodeResolvConf());
    expect(await inside('dns-hostnet', 'app', 'hostname')).toBe(`${os.hostname()}\n`);
    const warned = await waitFor(async () => (await events('dns-hostnet', 'MissingClusterDNS'))[0], 10_000, 'the MissingClusterDNS event');
    expect(warned.message).toBe(`pod: "dns-hostnet_default(${pod.metadata.uid})". ${MISSING_CLUSTER_DNS}`);
  }, 45_000);
});

describe('abuse: what would add lines to resolv.conf or /etc/hosts is refused by the API server', () => {
  const pod = (name: string, spec: Record<string, unknown>) =>
    ({ apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { containers: [{ name: 'c', image: 'busybox:1.36' }], ...spec } }) as unknown as Pod;

  it.each<[string, Record<string, unknown>, string]>([
    ['a hostAlias hostname with a newline', { hostAliases: [{ ip: '127.0.0.1', hostnames: ['ok.local\n203.0.113.66 bank.example'] }] }, 'spec.hostAliases[0].hostnames[0]: Invalid value: "ok.local\\n203.0.113.66 bank.example"'],
    ['a hostAlias IP with a newline', { hostAliases: [{ ip: '127.0.0.1\n203.0.113.66', hostnames: ['bank.example'] }] }, 'spec.hostAliases[0].ip: Invalid value: "127.0.0.1\\n203.0.113.66"'],
    ['a dnsConfig option value with a newline', { dnsConfig: { options: [{ name: 'ndots', value: '1\nnameserver 203.0.113.66' }] } }, 'spec.dnsConfig.options[0].value: Invalid value: "1\\nnameserver 203.0.113.66"'],
    ['a search path with a newline', { dnsConfig: { searches: ['a.example\nnameserver 203.0.113.66'] } }, 'spec.dnsConfig.searches[0]: Invalid value: "a.example\\nnameserver 203.0.113.66"'],
    ['1,000 search paths', { dnsConfig: { searches: Array.from({ length: 1000 }, (_, i) => `d${i}.example`) } }, 'spec.dnsConfig.searches: Invalid value: []string{"d0.example"'],
  ])('%s', async (_name, spec, message) => {
    const err = await cluster.client.createPod('default', pod('abuse', spec)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiStatusError);
    expect((err as ApiStatusError).code).toBe(422);
    expect((err as ApiStatusError).message).toContain(message);
    expect((await cluster.client.listPods('default', { fieldSelector: 'metadata.name=abuse' })).items).toEqual([]);
  });
});
