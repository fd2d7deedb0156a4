// Issue 3, item 6: `describe pod` as kubectl prints it (containers with state and
// last state, init containers, conditions, volumes, the pod's own events) and
// `get events` sorted, with a field selector.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Event, Pod } from '../../src/api/types.js';
import { TestCluster, watchPod } from './harness.js';

const cluster = new TestCluster({ daemonArgs: ['--pod-security', 'privileged', '--allow-host-path', '/tmp'] }); // its pod mounts /tmp (hostPath: not baseline)
beforeAll(() => cluster.start(), 30_000);
afterAll(() => cluster.cleanup(), 60_000);

// The main container crashes once (exit 2), then runs: State Running, Last State Terminated.
const MANIFEST = `apiVersion: v1
kind: Pod
metadata:
  name: described
  labels: {app: web, tier: front}
  annotations: {team: blue}
spec:
  initContainers:
  - name: prepare
    image: busybox:1.36
    command: [sh, -c, 'echo ready > /work/ready']
    volumeMounts: [{name: work, mountPath: /work}]
  containers:
  - name: main
    image: busybox:1.36
    command: [sh, -c]
    args: ['if [ -f /work/crashed ]; then exec sleep 3600; fi; touch /work/crashed; exit 2']
    env:
    - {name: GREETING, value: hello}
    - name: MY_POD
      valueFrom: {fieldRef: {fieldPath: metadata.name}}
    ports: [{containerPort: 8080}]
    volumeMounts: [{name: work, mountPath: /work}, {name: host, mountPath: /host, readOnly: true}]
    readinessProbe: {exec: {command: [cat, /work/ready]}, periodSeconds: 2}
    resources: {limits: {memory: 64Mi}, requests: {cpu: 50m}}
  volumes:
  - {name: work, emptyDir: {}}
  - {name: host, hostPath: {path: /tmp, type: Directory}}
`;

const main = (p: Pod) => p.status?.containerStatuses?.find((s) => s.name === 'main');
let pod: Pod;
let out: string;

beforeAll(async () => {
  const bystander = `apiVersion: v1
kind: Pod
metadata: {name: bystander, labels: {app: other}}
spec:
  containers: [{name: c, image: busybox:1.36, command: [sleep, '3600']}]
`;
  expect((await cluster.mp(['apply', '-f', '-'], bystander)).code).toBe(0);
  expect((await cluster.mp(['apply', '-f', '-'], MANIFEST)).code).toBe(0);
  pod = await watchPod(cluster.client, 'default', 'described', (p) => !!main(p)?.state.running && main(p)!.restartCount === 1, 30_000, 'running after one crash');
  await watchPod(cluster.client, 'default', 'bystander', (p) => p.status?.phase === 'Running', 30_000, 'Running');
  const res = await cluster.mp(['describe', 'pod', 'described']);
  expect(res).toMatchObject({ code: 0, stderr: '' });
  out = res.stdout;
}, 60_000);

/** The lines of `out` from the one equal to `first` (trimmed) up to, not including, `until`. */
function section(first: string, until?: string): string[] {
  const all = out.split('\n');
  const start = all.findIndex((l) => l === first);
  expect(start, `a line "${first}"`).toBeGreaterThanOrEqual(0);
  const rest = all.slice(start);
  const end = until ? rest.findIndex((l) => l === until) : rest.length;
  return rest.slice(0, end < 0 ? rest.length : end);
}

/** Every line's value starts in the same column (kubectl's tabwriter alignment). */
function expectAligned(block: string[]) {
  const cols = block.map((l) => /^(\s*[^:]+:\s+)\S/.exec(l)?.[1].length);
  expect(cols.every((c) => c !== undefined && c === cols[0]), block.join('\n')).toBe(true);
}

describe('describe pod', () => {
  it('starts with the pod: node, start time, labels, annotations, status, IP, aligned as kubectl aligns them', () => {
    const head = section('Name:         described', 'IPs:');
    expect(head).toEqual([
      'Name:         described',
      'Namespace:    default',
      `Node:         ${cluster.node}/${pod.status!.hostIP}`,
      expect.stringMatching(/^Start Time: {3}(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d [+-]\d{4}$/),
      'Labels:       app=web',
      '              tier=front',
      'Annotations:  team: blue',
      'Status:       Running',
      `IP:           ${pod.status!.podIP}`,
    ]);
    expect(section('IPs:', 'Init Containers:')).toEqual(['IPs:', `  IP:  ${pod.status!.podIP}`]);
  });

  it('shows the init container completed and the app container running after its crash', () => {
    const init = section('  prepare:', 'Containers:');
    expect(init).toContain('    State:          Terminated');
    expect(init).toContain('      Reason:       Completed');
    expect(init).toContain('      Exit Code:    0');
    expect(init).toContain('    Restart Count:  0');
    expect(init).toContain(`    Container ID:  ${pod.status!.initContainerStatuses![0].containerID}`);

    const c = section('  main:', 'Conditions:');
    const s = main(pod)!;
    expect(c.slice(0, 10)).toEqual([
      '  main:',
      `    Container ID:  ${s.containerID}`,
      '    Image:         busybox:1.36',
      `    Image ID:      ${s.imageID}`,
      '    Port:          8080/TCP',
      '    Host Port:     0/TCP',
      '    Command:',
      '      sh',
      '      -c',
      '    Args:',
    ]);
    const state = c.slice(c.indexOf('    State:          Running'));
    expect(state.slice(0, 9)).toEqual([
      '    State:          Running',
      expect.stringMatching(/^ {6}Started: {6}\w{3}, /),
      '    Last State:     Terminated',
      '      Reason:       Error',
      '      Exit Code:    2',
      expect.stringMatching(/^ {6}Started: {6}\w{3}, /),
      expect.stringMatching(/^ {6}Finished: {5}\w{3}, /),
      expect.stringMatching(/^ {4}Ready: {10}(True|False)$/),
      '    Restart Count:  1',
    ]);
    expect(c).toContain('    Readiness:  exec [cat /work/ready] delay=0s timeout=1s period=2s #success=1 #failure=3');
    expect(c.join('\n')).toContain('    Limits:\n      memory:  64Mi\n    Requests:\n      cpu:      50m');
    expect(c.join('\n')).toContain('    Environment:\n      GREETING:  hello\n      MY_POD:    described (v1:metadata.name)');
    expect(c.join('\n')).toContain('    Mounts:\n      /host from host (ro)\n      /work from work (rw)');
  });

  it('lists conditions, volumes and the QoS class', () => {
    const cond = section('Conditions:', 'Volumes:');
    expect(cond.map((l) => l.trimEnd())).toEqual([
      'Conditions:',
      '  Type              Status',
      '  Initialized       True',
      expect.stringMatching(/^ {2}Ready {13}(True|False)$/),
      expect.stringMatching(/^ {2}ContainersReady {3}(True|False)$/),
      '  PodScheduled      True',
    ]);
    const vols = section('Volumes:', 'Events:');
    expect(vols.map((l) => l.trimEnd())).toEqual([
      'Volumes:',
      '  work:',
      "    Type:       EmptyDir (a temporary directory that shares a pod's lifetime)",
      '    Medium:',
      '    SizeLimit:  <unset>',
      '  host:',
      '    Type:          HostPath (bare host directory volume)',
      '    Path:          /tmp',
      '    HostPathType:  Directory',
      'QoS Class:         Burstable',
      'Node-Selectors:    <none>',
    ]);
  });

  it("ends with this pod's events only, oldest first, as a table", async () => {
    const table = section('Events:');
    const header = table[1];
    expect(header).toMatch(/^ {2}Type +Reason +Age +From +Message$/);
    expect(table[2]).toMatch(/^ {2}---- +------ +---- +---- +-------$/);
    const rows = table.slice(3).filter(Boolean);
    // Columns line up under the header.
    const at = ['Reason', 'Age', 'From', 'Message'].map((h) => header.indexOf(h));
    for (const r of rows) for (const col of at) expect(r[col - 1], r).toBe(' ');
    expect(rows[0]).toMatch(new RegExp(`^ {2}Normal +Scheduled +\\S+ +default-scheduler +Successfully assigned default/described to ${cluster.node}$`));
    expect(rows.some((r) => /Normal +Started .* kubelet +Started container prepare$/.test(r))).toBe(true);
    expect(rows.some((r) => /Normal +Started +\S+ \(x2 over \S+\) +kubelet +Started container main$/.test(r))).toBe(true);
    expect(out).not.toContain('bystander');
    // The same events as the API has for this pod, in lastTimestamp order.
    const events = (await cluster.client.listEvents('default', { fieldSelector: `involvedObject.uid=${pod.metadata.uid}` })).items;
    const byTime = [...events].sort((a, b) => Date.parse(a.lastTimestamp!) - Date.parse(b.lastTimestamp!));
    expect(rows).toHaveLength(events.length);
    expect(rows.map((r) => r.trim().split(/\s+/)[1])).toEqual(byTime.map((e) => e.reason));
  });

  it('describes by selector, refuses what it cannot find, and can leave the events out', async () => {
    const bySel = await cluster.mp(['describe', 'pods', '-l', 'app=web']);
    expect(bySel.stdout).toContain('Name:         described');
    expect(bySel.stdout).not.toContain('bystander');
    const quiet = await cluster.mp(['describe', 'pod/bystander', '--no-show-events']);
    expect(quiet.code).toBe(0);
    expect(quiet.stdout).toMatch(/^Name: +bystander$/m);
    expect(quiet.stdout).not.toContain('Events:');
    expect(await cluster.mp(['describe', 'pod', 'nope'])).toMatchObject({ code: 1, stdout: '', stderr: 'Error from server (NotFound): pods "nope" not found\n' });
  });
});

describe('get events', () => {
  it('sorts by last seen and filters with --field-selector involvedObject.name', async () => {
    const res = await cluster.mp(['get', 'events', '--field-selector', 'involvedObject.name=described']);
    expect(res.code).toBe(0);
    const [header, ...rows] = res.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^LAST SEEN +TYPE +REASON +OBJECT +MESSAGE$/);
    expect(rows.length).toBeGreaterThan(4);
    for (const r of rows) expect(r.split(/\s{2,}/)[3]).toBe('pod/described');
    const events = (await cluster.client.listEvents('default', { fieldSelector: 'involvedObject.name=described' })).items as Event[];
    const byTime = [...events].sort((a, b) => Date.parse(a.lastTimestamp!) - Date.parse(b.lastTimestamp!));
    expect(rows.map((r) => r.split(/\s{2,}/)[4])).toEqual(byTime.map((e) => e.message));
    const all = await cluster.mp(['get', 'events']);
    expect(all.stdout).toContain('pod/bystander');
  });
});
