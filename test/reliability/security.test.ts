// Security defaults (issue 7, item 6): private state, a loopback TCP listener
// that wants the token, admission of privileged containers and hostPath, and
// names that can never reach a shell or a path.
import { statSync } from 'node:fs';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearerMatches } from '../../src/api/bearer.js';
import { underPrefix } from '../../src/apiserver/admission.js';
import { TestCluster } from '../e2e/harness.js';

const PORT = 20000 + Math.floor(Math.random() * 20000);
const strict = new TestCluster({ daemonArgs: ['--listen', String(PORT)] });
const lenient = new TestCluster({ daemonArgs: ['--allow-privileged', '--allow-host-path', '/srv/minipod-data'] });
beforeAll(() => Promise.all([strict.start(), lenient.start()]), 60_000);
afterAll(() => Promise.all([strict.cleanup(), lenient.cleanup()]), 60_000);

const pod = (name: string, extra = '', container = '') => `apiVersion: v1
kind: Pod
metadata: {name: ${JSON.stringify(name)}}
spec:
  ${extra}
  containers:
  - name: main
    image: busybox:1.36
    command: ["sleep", "3600"]
    ${container}
`;

describe('state on disk', () => {
  it('keeps the home folder 0700 and the socket and token 0600', () => {
    expect(statSync(strict.home).mode & 0o777).toBe(0o700);
    expect(statSync(join(strict.home, 'minipod.sock')).mode & 0o777).toBe(0o600);
    expect(statSync(join(strict.home, 'token')).mode & 0o777).toBe(0o600);
  });
});

describe('the TCP listener', () => {
  const token = () => readFileSync(join(strict.home, 'token'), 'utf8').trim();

  it('binds 127.0.0.1 when no host is given', async () => {
    const ok = await fetch(`http://127.0.0.1:${PORT}/api/v1/pods`, { headers: { Authorization: `Bearer ${token()}` } });
    expect(ok.status).toBe(200);
    const tcp = readFileSync('/proc/net/tcp', 'utf8');
    const hexPort = PORT.toString(16).toUpperCase().padStart(4, '0');
    expect(tcp).toMatch(new RegExp(`0100007F:${hexPort} 00000000:0000 0A`)); // LISTEN on 127.0.0.1 only
    expect(tcp).not.toMatch(new RegExp(`00000000:${hexPort} 00000000:0000 0A`));
  });

  it('answers 401 without the token or with a wrong one', async () => {
    for (const headers of [{}, { Authorization: 'Bearer wrong' }, { Authorization: `Bearer ${token()}x` }, { Authorization: token() }]) {
      const res = await fetch(`http://127.0.0.1:${PORT}/api/v1/pods`, { headers });
      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({ kind: 'Status', reason: 'Unauthorized', code: 401 });
    }
  });

  it('compares tokens in constant time, whole', () => {
    expect(bearerMatches('Bearer abc', 'abc')).toBe(true);
    expect(bearerMatches('Bearer abd', 'abc')).toBe(false);
    expect(bearerMatches('Bearer ab', 'abc')).toBe(false);
    expect(bearerMatches(undefined, 'abc')).toBe(false);
  });
});

describe('admission', () => {
  it('refuses privileged containers and added capabilities unless --allow-privileged', async () => {
    for (const [name, sc] of [
      ['priv', 'securityContext: {privileged: true}'],
      ['caps', 'securityContext: {capabilities: {add: [NET_ADMIN]}}'],
    ]) {
      const res = await strict.mp(['apply', '-f', '-'], pod(name, '', sc));
      expect(res.code).toBe(1);
      expect(res.stderr).toMatch(new RegExp(`^Error from server \\(Forbidden\\): pods "${name}" is forbidden: containers "main": .*--allow-privileged`));
      expect((await lenient.mp(['apply', '-f', '-'], pod(name, '', sc))).code).toBe(0);
    }
    expect((await strict.client.listPods('default')).items).toEqual([]);
  });

  it('refuses hostPath outside the allowed prefixes, with no way out through ..', async () => {
    const vol = (path: string) => `volumes: [{name: h, hostPath: {path: ${path}}}]`;
    const denied = await strict.mp(['apply', '-f', '-'], pod('host-etc', vol('/etc')));
    expect(denied.code).toBe(1);
    expect(denied.stderr).toContain('volume "h": hostPath "/etc" is not allowed (none allowed; start the daemon with --allow-host-path PREFIX)');
    const escape = await lenient.mp(['apply', '-f', '-'], pod('host-escape', vol('/srv/minipod-data/../../etc')));
    expect(escape.code).toBe(1);
    expect(escape.stderr).toContain('is not allowed (allowed: /srv/minipod-data;');
    expect((await lenient.mp(['apply', '-f', '-'], pod('host-ok', vol('/srv/minipod-data/app'), ''))).code).toBe(0);
    expect(underPrefix('/srv/minipod-data-other', '/srv/minipod-data')).toBe(false);
  });
});

describe('hostile names', () => {
  it.each(['../x', '$(id)', 'a\nb', 'a;rm -rf /', '`id`', '/etc/passwd'])('refuses the pod name %j before anything runs', async (name) => {
    const res = await strict.mp(['apply', '-f', '-'], pod(name));
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/metadata\.name: Invalid value/);
    expect(res.stderr).not.toMatch(/\n\s+at /);
    const api = await strict.client.request('POST', '/api/v1/namespaces/default/pods', { apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { containers: [{ name: 'main', image: 'busybox:1.36' }] } }).catch((e) => e);
    expect(api.code).toBe(422);
    expect(await strict.containers()).toEqual([]);
  });

  it('refuses hostile label keys, container names and namespaces', async () => {
    const res = await strict.mp(['apply', '-f', '-'], `apiVersion: v1
kind: Pod
metadata: {name: ok, namespace: "../kube", labels: {"$(id)": "x"}}
spec:
  containers: [{name: "../c", image: busybox:1.36}]
`);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('metadata.namespace');
    expect(res.stderr).toContain('metadata.labels');
    expect(res.stderr).toContain('spec.containers[0].name');
  });
});
