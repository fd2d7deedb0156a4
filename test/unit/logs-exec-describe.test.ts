// Pure parts of logs, exec and describe: which container's log the kubelet shows
// (with its error wording), the exec exit-status protocol, where a node's
// kubelet listens, and describe's tabwriter, probe and QoS lines.
import { describe, expect, it } from 'vitest';
import { kubeletTarget } from '../../src/api/kubelet-endpoint.js';
import type { ContainerStatus, Node, Pod } from '../../src/api/types.js';
import { resolveContainer } from '../../src/apiserver/proxy.js';
import { describeProbe, qosClass, rfc1123z, tabwrite } from '../../src/cli/commands/describe.js';
import { decodeExitStatus, exitStatus } from '../../src/client/remotecommand.js';
import { containerIdForLogs, parseLogOptions } from '../../src/kubelet/server.js';

function pod(statuses: Partial<ContainerStatus>[], extra: Partial<Pod['spec']> = {}): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', namespace: 'default' },
    spec: { containers: [{ name: 'c', image: 'busybox' }], ...extra },
    status: { containerStatuses: statuses.map((s) => ({ name: 'c', ready: false, restartCount: 0, image: 'busybox', imageID: '', lastState: {}, state: {}, ...s })) },
  };
}

const terminated = (id: string, exitCode = 1) => ({ terminated: { exitCode, containerID: `docker://${id}` } });

describe('containerIdForLogs (kubelet validateContainerLogStatus)', () => {
  it('picks the running container, else the terminated one, else the last terminated', () => {
    expect(containerIdForLogs(pod([{ state: { running: {} }, containerID: 'docker://run' }]), 'c', false)).toBe('run');
    expect(containerIdForLogs(pod([{ state: terminated('done', 0) }]), 'c', false)).toBe('done');
    expect(containerIdForLogs(pod([{ state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: terminated('crashed') }]), 'c', false)).toBe('crashed');
  });

  it('--previous is the last terminated attempt, or an error worded as the kubelet words it', () => {
    expect(containerIdForLogs(pod([{ state: { running: {} }, lastState: terminated('before') }]), 'c', true)).toBe('before');
    expect(() => containerIdForLogs(pod([{ state: { running: {} } }]), 'c', true)).toThrow('previous terminated container "c" in pod "p" not found');
  });

  it('says why a waiting container has no log', () => {
    const waiting = (reason: string) => pod([{ state: { waiting: { reason } } }]);
    expect(() => containerIdForLogs(waiting('ContainerCreating'), 'c', false)).toThrow('container "c" in pod "p" is waiting to start: ContainerCreating');
    expect(() => containerIdForLogs(waiting('ErrImagePull'), 'c', false)).toThrow('container "c" in pod "p" is waiting to start: image can\'t be pulled');
    expect(() => containerIdForLogs(waiting('ImagePullBackOff'), 'c', false)).toThrow('container "c" in pod "p" is waiting to start: trying and failing to pull image');
    expect(() => containerIdForLogs(pod([]), 'c', false)).toThrow('container "c" in pod "p" is waiting to start: ContainerCreating');
  });
});

describe('parseLogOptions', () => {
  it('reads PodLogOptions, sinceSeconds relative to now', () => {
    const q = new URLSearchParams('follow=true&previous=1&timestamps=false&tailLines=5&sinceSeconds=10&limitBytes=100');
    expect(parseLogOptions(q, 1_000_000)).toEqual({ follow: true, previous: true, timestamps: false, tailLines: 5, sinceTime: 990_000, limitBytes: 100 });
    expect(() => parseLogOptions(new URLSearchParams('tailLines=-1'))).toThrow('invalid tailLines: -1');
  });
});

describe('resolveContainer (the API server\'s LogLocation / streamLocation)', () => {
  const two = pod([], { containers: [{ name: 'a', image: 'x' }, { name: 'b', image: 'x' }], initContainers: [{ name: 'i', image: 'x' }] });
  it('needs a name when there is a choice, and a valid one', () => {
    expect(resolveContainer(pod([]), '')).toBe('c');
    expect(resolveContainer(two, 'i')).toBe('i');
    expect(() => resolveContainer(two, '')).toThrow('a container name must be specified for pod p, choose one of: [a b] or one of the init containers: [i]');
    expect(() => resolveContainer(two, 'z')).toThrow('container z is not valid for pod p');
  });
});

describe('exec exit status (remotecommand v4/v5 error channel)', () => {
  it('round-trips success and exit codes, and surfaces other failures', () => {
    expect(decodeExitStatus(JSON.stringify(exitStatus(0, ['true'])))).toBe(0);
    expect(exitStatus(3, ['sh', '-c', 'exit 3'])).toMatchObject({ status: 'Failure', reason: 'NonZeroExitCode', details: { causes: [{ reason: 'ExitCode', message: '3' }] } });
    expect(decodeExitStatus(JSON.stringify(exitStatus(3, ['sh'])))).toBe(3);
    expect(() => decodeExitStatus(JSON.stringify({ status: 'Failure', reason: 'InternalError', message: 'boom' }))).toThrow('boom');
  });
});

describe('kubeletTarget', () => {
  const node = (annotations: Record<string, string>, status: object = {}) =>
    ({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'n', annotations }, spec: {}, status }) as unknown as Node;
  it('reads the annotation, else InternalIP and daemonEndpoints; on TCP, with the serving certificate pin', () => {
    const pin = { 'minipod.io/kubelet-serving-cert-sha256': 'ab'.repeat(32) };
    expect(kubeletTarget(node({ 'minipod.io/kubelet-endpoint': 'unix:///tmp/k.sock' }))).toEqual({ url: 'unix:///tmp/k.sock', socketPath: '/tmp/k.sock' });
    expect(kubeletTarget(node({ 'minipod.io/kubelet-endpoint': 'https://10.1.2.3:10250', ...pin }))).toEqual({ url: 'https://10.1.2.3:10250', host: '10.1.2.3', port: 10250, certificateSha256: 'ab'.repeat(32) });
    // Plain HTTP is read, and marked: the API server refuses to use it.
    expect(kubeletTarget(node({ 'minipod.io/kubelet-endpoint': 'http://10.1.2.3:10250' }))).toMatchObject({ host: '10.1.2.3', port: 10250, plainHttp: true });
    const fallback = node(pin, { addresses: [{ type: 'InternalIP', address: '10.0.0.9' }], daemonEndpoints: { kubeletEndpoint: { Port: 10250 } } });
    expect(kubeletTarget(fallback)).toEqual({ url: 'https://10.0.0.9:10250', host: '10.0.0.9', port: 10250, certificateSha256: 'ab'.repeat(32) });
    expect(kubeletTarget(node({}))).toBeUndefined();
  });
});

describe("describe's formatting", () => {
  it('aligns columns in runs of lines, as Go\'s text/tabwriter does', () => {
    expect(tabwrite('a\tb\tc\naa\tbbb\tc\n\nxxxxx\ty')).toBe('a   b    c\naa  bbb  c\n\nxxxxx  y');
    // A line without a tab ends a column block; nested columns only span their own run.
    expect(tabwrite('Name:\tx\nLonger name:\ty\nSection:\n  k:\tv')).toBe('Name:         x\nLonger name:  y\nSection:\n  k:  v');
    expect(tabwrite('a\tb\nc\td\te')).toBe('a  b\nc  d  e');
  });

  it('words probes and the QoS class as kubectl does', () => {
    expect(describeProbe({ httpGet: { path: '/healthz', port: 8080 }, periodSeconds: 5 })).toBe('http-get http://:8080/healthz delay=0s timeout=1s period=5s #success=1 #failure=3');
    expect(describeProbe({ tcpSocket: { port: 'web' }, initialDelaySeconds: 3 })).toBe('tcp-socket :web delay=3s timeout=1s period=10s #success=1 #failure=3');
    const withResources = (resources: object) => pod([], { containers: [{ name: 'c', image: 'x', resources }] });
    expect(qosClass(withResources({}))).toBe('BestEffort');
    expect(qosClass(withResources({ limits: { cpu: '1', memory: '1Gi' } }))).toBe('Guaranteed');
    expect(qosClass(withResources({ limits: { cpu: '1', memory: '1Gi' }, requests: { cpu: '500m' } }))).toBe('Burstable');
    expect(qosClass(withResources({ requests: { memory: '10Mi' } }))).toBe('Burstable');
  });

  it('prints times as RFC 1123 with a numeric zone', () => {
    expect(rfc1123z('2024-03-05T07:08:09Z')).toMatch(/^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Mar) 2024 \d\d:\d\d:09 [+-]\d{4}$/);
    expect(rfc1123z(undefined)).toBe('<unknown>');
  });
});
