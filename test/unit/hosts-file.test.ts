// The pod's /etc/hosts and hostname as the kubelet makes them: the managed file
// (or the node's, on the host network) with the hostAliases after it; the FQDN
// from hostname, subdomain and namespace; setHostnameAsFQDN and its 64-character limit.
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { HostAlias, Pod, PodSpec } from '../../src/api/types.js';
import { hostAliasEntries, managedHostsFileContent, nodeHostsFileContent, writeHostsFile } from '../../src/kubelet/hosts-file.js';
import { SandboxConfigError, nodenameForKernel, podHostnameAndDomain, truncatePodHostname } from '../../src/kubelet/hostname.js';

const BASE = [
  '# Kubernetes-managed hosts file.',
  '127.0.0.1\tlocalhost',
  '::1\tlocalhost ip6-localhost ip6-loopback',
  'fe00::0\tip6-localnet',
  'fe00::0\tip6-mcastprefix',
  'fe00::1\tip6-allnodes',
  'fe00::2\tip6-allrouters',
];
const ALIASES: HostAlias[] = [
  { ip: '127.0.0.1', hostnames: ['foo.local', 'bar.local'] },
  { ip: '10.1.2.3', hostnames: ['foo.remote'] },
];
const lines = (...l: string[]) => `${l.join('\n')}\n`;

describe('managedHostsFileContent', () => {
  it.each<[string, string[], string, string, HostAlias[], string]>([
    ['no IP yet', [], 'web', '', [], lines(...BASE)],
    ['the pod\'s IP and hostname', ['172.17.0.5'], 'web', '', [], lines(...BASE, '172.17.0.5\tweb')],
    ['with a subdomain: the FQDN first', ['172.17.0.5'], 'web', 'sub.shop.svc.cluster.local', [], lines(...BASE, '172.17.0.5\tweb.sub.shop.svc.cluster.local\tweb')],
    ['one line per IP', ['172.17.0.5', 'fd00::5'], 'web', '', [], lines(...BASE, '172.17.0.5\tweb', 'fd00::5\tweb')],
    [
      'hostAliases after a blank line and their header, one line per IP',
      ['172.17.0.5'], 'web', '', ALIASES,
      lines(...BASE, '172.17.0.5\tweb', '', '# Entries added by HostAliases.', '127.0.0.1\tfoo.local\tbar.local', '10.1.2.3\tfoo.remote'),
    ],
  ])('%s', (_name, ips, hostname, domain, aliases, want) => {
    expect(managedHostsFileContent(ips, hostname, domain, aliases)).toBe(want);
  });
});

describe('nodeHostsFileContent (host network)', () => {
  it.each<[string, string, HostAlias[], string]>([
    ['the node\'s file under the header', '127.0.0.1 localhost\n127.0.0.1 vm\n', [], '# Kubernetes-managed hosts file (host network).\n127.0.0.1 localhost\n127.0.0.1 vm\n'],
    [
      'then the aliases',
      '127.0.0.1 localhost\n', [{ ip: '192.0.2.7', hostnames: ['db'] }],
      '# Kubernetes-managed hosts file (host network).\n127.0.0.1 localhost\n\n# Entries added by HostAliases.\n192.0.2.7\tdb\n',
    ],
  ])('%s', (_name, node, aliases, want) => {
    expect(nodeHostsFileContent(node, aliases)).toBe(want);
  });

  it('no aliases add nothing', () => expect(hostAliasEntries([])).toBe(''));
});

describe('the pod\'s hostname', () => {
  const pod = (name: string, spec: Partial<PodSpec> = {}, namespace = 'shop'): Pod => ({
    apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace }, spec: { containers: [{ name: 'c', image: 'busybox' }], ...spec },
  });

  it.each<[string, Pod, { hostname: string; domain: string }]>([
    ['the pod\'s name', pod('web'), { hostname: 'web', domain: '' }],
    ['spec.hostname', pod('web-0', { hostname: 'db' }), { hostname: 'db', domain: '' }],
    ['with a subdomain', pod('web', { hostname: 'db', subdomain: 'backend' }), { hostname: 'db', domain: 'backend.shop.svc.cluster.local' }],
    ['a long pod name is cut to 63', pod(`${'a'.repeat(70)}`), { hostname: 'a'.repeat(63), domain: '' }],
    ['and may not end with - or . once cut', pod(`${'a'.repeat(61)}-.b-c`), { hostname: 'a'.repeat(61), domain: '' }],
  ])('%s', (_name, p, want) => {
    expect(podHostnameAndDomain(p)).toEqual(want);
  });

  it.each<[string, string, string, boolean | undefined, string]>([
    ['the short name without setHostnameAsFQDN', 'db', 'backend.shop.svc.cluster.local', undefined, 'db'],
    ['the short name without a domain', 'db', '', true, 'db'],
    ['the FQDN with both', 'db', 'backend.shop.svc.cluster.local', true, 'db.backend.shop.svc.cluster.local'],
    ['64 characters fit', 'a'.repeat(64 - '.b.shop.svc.cluster.local'.length), 'b.shop.svc.cluster.local', true, `${'a'.repeat(39)}.b.shop.svc.cluster.local`],
  ])('%s', (_name, hostname, domain, asFQDN, want) => {
    expect(nodenameForKernel(hostname, domain, asFQDN)).toBe(want);
  });

  it('refuses an FQDN over 64 characters with the kubelet\'s message', () => {
    const hostname = 'a'.repeat(41);
    const fqdn = `${hostname}.b.shop.svc.cluster.local`;
    expect(() => nodenameForKernel(hostname, 'b.shop.svc.cluster.local', true)).toThrow(SandboxConfigError);
    expect(() => nodenameForKernel(hostname, 'b.shop.svc.cluster.local', true)).toThrow(
      `failed to construct FQDN from pod hostname and cluster domain, FQDN ${fqdn} is too long (64 characters is the max, 66 characters requested)`,
    );
  });

  it('truncatePodHostname leaves a short name alone', () => expect(truncatePodHostname('a-b.')).toBe('a-b.'));
});

describe('writeHostsFile', () => {
  const dir = mkdtempSync(join(os.tmpdir(), 'minipod-hosts-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes in place, and only what changed', () => {
    const file = join(dir, 'etc-hosts');
    const first = writeHostsFile(file, 'a\n');
    const inode = statSync(file).ino;
    expect(writeHostsFile(file, 'b\n', first)).toBe('b\n');
    expect(readFileSync(file, 'utf8')).toBe('b\n');
    expect(statSync(file).ino).toBe(inode); // a running container's bind mount sees the new content
    const mtime = statSync(file).mtimeMs;
    writeHostsFile(file, 'b\n', 'b\n');
    expect(statSync(file).mtimeMs).toBe(mtime);
    expect(statSync(file).mode & 0o777).toBe(0o644);
  });
});
