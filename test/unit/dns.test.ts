// The pod's resolv.conf as the kubelet forms it: the node's file as the base,
// the pod's dnsConfig appended and deduplicated, options merged by name, the
// resolver's limits applied, and the warnings the kubelet records.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Pod, PodSpec } from '../../src/api/types.js';
import { type DNSConfig, fitLimits, formatResolvConf, mergeOptions, nodeResolvConfPath, parseResolvConf, podDNSConfig, podDNSType, writePodResolvConf } from '../../src/kubelet/dns.js';

const NODE: DNSConfig = { servers: ['10.0.0.2', '10.0.0.3'], searches: ['corp.example'], options: ['ndots:1', 'edns0'] };
const pod = (spec: Partial<PodSpec>): Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'web', namespace: 'shop', uid: '1234' },
  spec: { containers: [{ name: 'c', image: 'busybox' }], ...spec },
});
const MISSING = 'pod: "web_shop(1234)". kubelet does not have ClusterDNS IP configured and cannot create Pod using "ClusterFirst" policy. Falling back to "Default" policy.';

describe('parseResolvConf', () => {
  it.each([
    ['empty', '', { servers: [], searches: [], options: [] }],
    ['a plain file', 'nameserver 1.1.1.1\nsearch a.example b.example\noptions ndots:2 rotate\n', { servers: ['1.1.1.1'], searches: ['a.example', 'b.example'], options: ['ndots:2', 'rotate'] }],
    ['nameservers accumulate; search and options: the last line wins', 'search a\nnameserver 1.1.1.1\nsearch b c\nnameserver 2.2.2.2\noptions x\noptions y:1', { servers: ['1.1.1.1', '2.2.2.2'], searches: ['b', 'c'], options: ['y:1'] }],
    ['comments, blanks, tabs, a domain line and a bare "nameserver" are skipped', '# generated\n\n\tnameserver\t9.9.9.9  # x\ndomain d.example\nnameserver\n', { servers: ['9.9.9.9'], searches: [], options: [] }],
    ['a trailing dot of a search domain is dropped', 'search a.example. b.example', { servers: [], searches: ['a.example', 'b.example'], options: [] }],
  ])('%s', (_name, text, want) => {
    expect(parseResolvConf(text)).toEqual(want);
  });
});

describe('podDNSType', () => {
  it.each([
    [undefined, false, 'cluster'],
    ['ClusterFirst', false, 'cluster'],
    ['ClusterFirst', true, 'host'], // falls to Default on the host network, with no warning
    ['ClusterFirstWithHostNet', true, 'cluster'],
    ['ClusterFirstWithHostNet', false, 'cluster'],
    ['Default', false, 'host'],
    ['None', true, 'none'],
  ] as const)('%s, hostNetwork %s: %s', (dnsPolicy, hostNetwork, want) => {
    expect(podDNSType({ dnsPolicy, hostNetwork })).toBe(want);
  });
});

describe('podDNSConfig', () => {
  it.each<[string, Partial<PodSpec>, DNSConfig, string[]]>([
    ['ClusterFirst: the node\'s file, and MissingClusterDNS', {}, NODE, [MISSING]],
    ['ClusterFirstWithHostNet on the host network: the same warning', { dnsPolicy: 'ClusterFirstWithHostNet', hostNetwork: true }, NODE, [MISSING]],
    ['ClusterFirst on the host network: Default, silently', { hostNetwork: true }, NODE, []],
    ['Default', { dnsPolicy: 'Default' }, NODE, []],
    [
      'None: only the pod\'s settings',
      { dnsPolicy: 'None', dnsConfig: { nameservers: ['192.0.2.1'], searches: ['ns1.svc.example'], options: [{ name: 'ndots', value: '2' }, { name: 'edns0' }] } },
      { servers: ['192.0.2.1'], searches: ['ns1.svc.example'], options: ['ndots:2', 'edns0'] },
      [],
    ],
    [
      'Default + dnsConfig: appended, duplicates once, options by name with the pod\'s value winning',
      { dnsPolicy: 'Default', dnsConfig: { nameservers: ['10.0.0.3', '192.0.2.1'], searches: ['corp.example', 'x.example'], options: [{ name: 'ndots', value: '5' }, { name: 'edns0' }, { name: 'timeout', value: '2' }] } },
      { servers: ['10.0.0.2', '10.0.0.3', '192.0.2.1'], searches: ['corp.example', 'x.example'], options: ['ndots:5', 'edns0', 'timeout:2'] },
      [],
    ],
    [
      'an option without a value removes the node\'s value',
      { dnsPolicy: 'Default', dnsConfig: { options: [{ name: 'ndots' }] } },
      { ...NODE, options: ['ndots', 'edns0'] },
      [],
    ],
    [
      'more than 3 nameservers after the merge: the first 3, and DNSConfigForming',
      { dnsPolicy: 'Default', dnsConfig: { nameservers: ['192.0.2.1', '192.0.2.2'] } },
      { ...NODE, servers: ['10.0.0.2', '10.0.0.3', '192.0.2.1'] },
      ['Nameserver limits were exceeded, some nameservers have been omitted, the applied nameserver line is: 10.0.0.2 10.0.0.3 192.0.2.1'],
    ],
  ])('%s', (_name, spec, want, messages) => {
    const { config, events } = podDNSConfig(pod(spec), NODE);
    expect(config).toEqual(want);
    expect(events.map((e) => e.message)).toEqual(messages);
    expect(events.every((e) => e.reason === (e.message === MISSING ? 'MissingClusterDNS' : 'DNSConfigForming'))).toBe(true);
  });

  it('never changes the node\'s settings it was given', () => {
    const node = structuredClone(NODE);
    podDNSConfig(pod({ dnsPolicy: 'Default', dnsConfig: { nameservers: ['192.0.2.1'], searches: ['y'], options: [{ name: 'ndots', value: '3' }] } }), node);
    expect(node).toEqual(NODE);
  });
});

describe('fitLimits', () => {
  const domains = (n: number, len = 10) => Array.from({ length: n }, (_, i) => `${String(i).padStart(3, '0')}${'a'.repeat(len - 3)}`);
  it.each<[string, string[], string[]]>([
    ['32 paths fit', domains(32), domains(32)],
    ['33 paths: the first 32', domains(33), domains(32)],
    ['a path over 253 characters is dropped', ['a.example', 'b'.repeat(254), 'c.example'], ['a.example', 'c.example']],
    // 20 paths of 100 characters make 2019 characters; 21 make 2120: cut from the end.
    ['over 2048 characters in all: cut from the end until it fits', domains(21, 100), domains(20, 100)],
  ])('%s', (_name, searches, want) => {
    const { config, events } = fitLimits({ servers: [], searches, options: [] });
    expect(config.searches).toEqual(want);
    expect(events.map((e) => e.message)).toEqual(
      want.length === searches.length ? [] : [`Search Line limits were exceeded, some search paths have been omitted, the applied search line is: ${want.join(' ')}`],
    );
  });
});

describe('mergeOptions', () => {
  it.each<[string[], { name: string; value?: string }[], string[]]>([
    [[], [], []],
    [['ndots:5'], [], ['ndots:5']],
    [['ndots:5', 'rotate'], [{ name: 'rotate' }, { name: 'ndots', value: '1' }], ['ndots:1', 'rotate']],
    [['attempts:2'], [{ name: 'single-request-reopen' }], ['attempts:2', 'single-request-reopen']],
  ])('%j + %j', (existing, podOptions, want) => {
    expect(mergeOptions(existing, podOptions)).toEqual(want);
  });
});

describe('formatResolvConf', () => {
  it.each<[DNSConfig, string]>([
    [{ servers: [], searches: [], options: [] }, ''],
    [{ servers: ['1.1.1.1', '2001:db8::1'], searches: [], options: [] }, 'nameserver 1.1.1.1\nnameserver 2001:db8::1\n'],
    [{ servers: ['1.1.1.1'], searches: ['a.example', 'b.example'], options: ['ndots:2', 'edns0'] }, 'search a.example b.example\nnameserver 1.1.1.1\noptions ndots:2 edns0\n'],
  ])('%j', (config, want) => {
    expect(formatResolvConf(config)).toBe(want);
  });

  it('reads back as what it wrote', () => {
    const config = { servers: ['192.0.2.1', '192.0.2.2'], searches: ['a.example'], options: ['ndots:2'] };
    expect(parseResolvConf(formatResolvConf(config))).toEqual(config);
  });
});

describe('the files', () => {
  const dir = mkdtempSync(join(os.tmpdir(), 'minipod-dns-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes the pod\'s file from the node\'s, or copies the node\'s when there is nothing to say', () => {
    const node = join(dir, 'node-resolv.conf');
    writeFileSync(node, '# from the host\nnameserver 10.0.0.2\noptions ndots:1\n');
    const out = join(dir, 'resolv.conf');
    expect(writePodResolvConf(out, pod({ dnsPolicy: 'Default', dnsConfig: { searches: ['x.example'] } }), node)).toEqual([]);
    expect(readFileSync(out, 'utf8')).toBe('search x.example\nnameserver 10.0.0.2\noptions ndots:1\n');
    writeFileSync(node, '# nothing here\n');
    expect(writePodResolvConf(out, pod({ dnsPolicy: 'Default' }), node)).toEqual([]);
    expect(readFileSync(out, 'utf8')).toBe('# nothing here\n');
    expect(writePodResolvConf(out, pod({}), join(dir, 'missing'))).toEqual([{ reason: 'MissingClusterDNS', message: MISSING }]);
    expect(readFileSync(out, 'utf8')).toBe('');
  });

  it('takes systemd-resolved\'s upstream file when /etc/resolv.conf names only its stub', () => {
    const etc = join(dir, 'etc-resolv.conf');
    const upstream = join(dir, 'upstream-resolv.conf');
    writeFileSync(etc, 'nameserver 127.0.0.53\noptions edns0 trust-ad\n');
    expect(nodeResolvConfPath(etc, upstream)).toBe(etc); // no upstream file: keep /etc's
    writeFileSync(upstream, 'nameserver 10.0.0.2\n');
    expect(nodeResolvConfPath(etc, upstream)).toBe(upstream);
    writeFileSync(etc, 'nameserver 127.0.0.53\nnameserver 10.0.0.9\n');
    expect(nodeResolvConfPath(etc, upstream)).toBe(etc);
  });
});
