// The apiserver's rules for dnsPolicy, dnsConfig, hostAliases and the hostname
// fields (pkg/apis/core/validation), plus minipod's one extra rule: nothing that
// reaches resolv.conf or /etc/hosts may carry whitespace or a newline of its own.
import { describe, expect, it } from 'vitest';
import { validatePod } from '../../src/api/validate.js';

const pod = (spec: Record<string, unknown>) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'p' },
  spec: { containers: [{ name: 'c', image: 'busybox' }], ...spec },
});

describe('accepted', () => {
  it.each<[string, Record<string, unknown>]>([
    ['every dnsPolicy', { dnsPolicy: 'ClusterFirstWithHostNet', hostNetwork: true }],
    ['Default', { dnsPolicy: 'Default' }],
    ['None with a nameserver', { dnsPolicy: 'None', dnsConfig: { nameservers: ['2001:db8::53'] } }],
    ['dnsConfig without None', { dnsConfig: { searches: ['svc.example.', 'a-b.example'], options: [{ name: 'ndots', value: '2' }, { name: 'edns0' }] } }],
    ['32 search paths', { dnsConfig: { searches: Array.from({ length: 32 }, (_, i) => `d${i}.example`) } }],
    ['hostAliases', { hostAliases: [{ ip: '127.0.0.1', hostnames: ['foo.local', 'bar'] }, { ip: '::1' }] }],
    ['hostAliases on the host network', { hostNetwork: true, hostAliases: [{ ip: '10.1.2.3', hostnames: ['db'] }] }],
    ['hostname, subdomain and setHostnameAsFQDN', { hostname: 'db-0', subdomain: 'backend', setHostnameAsFQDN: true }],
  ])('%s', (_name, spec) => {
    expect(validatePod(pod(spec))).toEqual([]);
  });
});

describe('refused', () => {
  it.each<[string, Record<string, unknown>, { path: string; message: string }[]]>([
    ['an unknown dnsPolicy', { dnsPolicy: 'ClusterLast' }, [{ path: 'spec.dnsPolicy', message: 'Unsupported value: "ClusterLast": must be one of ClusterFirstWithHostNet, ClusterFirst, Default, None' }]],
    ['None without dnsConfig', { dnsPolicy: 'None' }, [{ path: 'spec.dnsConfig', message: 'Required value: must provide `dnsConfig` when `dnsPolicy` is None' }]],
    ['None with empty nameservers', { dnsPolicy: 'None', dnsConfig: { nameservers: [] } }, [{ path: 'spec.dnsConfig.nameservers', message: 'Required value: must provide at least one DNS nameserver when `dnsPolicy` is None' }]],
    ['an IP with a zone', { dnsConfig: { nameservers: ['fe80::1%eth0'] } }, [{ path: 'spec.dnsConfig.nameservers[0]', message: 'Invalid value: "fe80::1%eth0": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)' }]],
    ['a name as a nameserver', { dnsConfig: { nameservers: ['dns.example'] } }, [{ path: 'spec.dnsConfig.nameservers[0]', message: 'Invalid value: "dns.example": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)' }]],
    [
      'a search list over 2048 characters',
      { dnsConfig: { searches: Array.from({ length: 30 }, (_, i) => `${'a'.repeat(60)}${String(i).padStart(2, '0')}.example`) } }, // 30 × 70 + 29 = 2129
      [{ path: 'spec.dnsConfig.searches', message: 'must not have more than 2048 characters (including spaces) in the search list' }],
    ],
    ['a search path with a newline', { dnsConfig: { searches: ['a.example\nnameserver 6.6.6.6'] } }, [{ path: 'spec.dnsConfig.searches[0]', message: 'Invalid value: "a.example\\nnameserver 6.6.6.6": a lowercase RFC 1123 subdomain' }]],
    ['a bare dot as a search path', { dnsConfig: { searches: ['.'] } }, [{ path: 'spec.dnsConfig.searches[0]', message: 'Invalid value: "": a lowercase RFC 1123 subdomain' }]],
    ['an option name with a blank', { dnsConfig: { options: [{ name: 'ndots:1 rotate' }] } }, [{ path: 'spec.dnsConfig.options[0].name', message: 'Invalid value: "ndots:1 rotate": must not contain whitespace or control characters' }]],
    ['an option value with a newline', { dnsConfig: { options: [{ name: 'ndots', value: '1\nsearch evil.example' }] } }, [{ path: 'spec.dnsConfig.options[0].value', message: 'Invalid value: "1\\nsearch evil.example": must not contain whitespace or control characters' }]],
    ['an alias IP that is not one', { hostAliases: [{ ip: 'localhost', hostnames: ['a'] }] }, [{ path: 'spec.hostAliases[0].ip', message: 'Invalid value: "localhost": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)' }]],
    ['an alias hostname that adds a line', { hostAliases: [{ ip: '10.0.0.1', hostnames: ['a\n10.6.6.6 bank.example'] }] }, [{ path: 'spec.hostAliases[0].hostnames[0]', message: 'Invalid value: "a\\n10.6.6.6 bank.example": a lowercase RFC 1123 subdomain' }]],
    ['an alias hostname with a tab', { hostAliases: [{ ip: '10.0.0.1', hostnames: ['a\tb'] }] }, [{ path: 'spec.hostAliases[0].hostnames[0]', message: 'Invalid value: "a\\tb": a lowercase RFC 1123 subdomain' }]],
    ['setHostnameAsFQDN that is not a boolean', { setHostnameAsFQDN: 'yes' }, [{ path: 'spec.setHostnameAsFQDN', message: 'must be boolean' }]],
    ['a subdomain with dots', { subdomain: 'a.b' }, [{ path: 'spec.subdomain', message: 'Invalid value: "a.b": must not contain dots' }]],
  ])('%s', (_name, spec, want) => {
    const got = validatePod(pod(spec));
    expect(got).toHaveLength(want.length);
    want.forEach((w, i) => {
      expect(got[i].path).toBe(w.path);
      expect(got[i].message).toContain(w.message);
    });
  });
});
