// Security defaults (issue 7, item 6): private state, a loopback TCP listener
// that wants the token, admission (Pod Security at baseline by default, and the
// hostPath allow-list that holds even where Pod Security is privileged), and
// names that can never reach a shell or a path.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearerMatches } from '../../src/api/bearer.js';
import { underPrefix } from '../../src/apiserver/admission.js';
import { TestCluster, runCli } from '../e2e/harness.js';

const PORT = 20000 + Math.floor(Math.random() * 20000);
// The allowed hostPath prefix, with a way out that must stay shut: link -> /
const data = mkdtempSync(join(os.tmpdir(), 'minipod-data-'));
mkdirSync(join(data, 'app'));
symlinkSync('/', join(data, 'link'));
const strict = new TestCluster({ daemonArgs: ['--listen', String(PORT)] });
const lenient = new TestCluster({ daemonArgs: ['--pod-security', 'privileged', '--allow-host-path', data] });
beforeAll(() => Promise.all([strict.start(), lenient.start()]), 60_000);
afterAll(async () => {
  await Promise.all([strict.cleanup(), lenient.cleanup()]);
  rmSync(data, { recursive: true, force: true });
}, 60_000);

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
  it('refuses privileged containers and added capabilities under the default Pod Security level, baseline', async () => {
    for (const [name, sc, why] of [
      ['priv', 'securityContext: {privileged: true}', 'privileged (container "main" must not set securityContext.privileged=true)'],
      ['caps', 'securityContext: {capabilities: {add: [NET_ADMIN]}}', 'non-default capabilities (container "main" must not include "NET_ADMIN" in securityContext.capabilities.add)'],
    ]) {
      const res = await strict.mp(['apply', '-f', '-'], pod(name, '', sc));
      expect(res).toMatchObject({ code: 1, stdout: '', stderr: `Error from server (Forbidden): pods "${name}" is forbidden: violates PodSecurity "baseline:latest": ${why}\n` });
      expect((await lenient.mp(['apply', '-f', '-'], pod(name, '', sc))).code).toBe(0);
    }
    expect((await strict.client.listPods('default')).items).toEqual([]);
  });

  it('answers --allow-privileged, now gone, with what replaced it', async () => {
    const home = mkdtempSync(join(os.tmpdir(), 'minipod-gone-'));
    try {
      for (const args of [['daemon', '--allow-privileged'], ['daemon', 'start', '--allow-privileged']]) {
        const res = await runCli(args, { ...strict.env, MINIPOD_HOME: home });
        expect(res.code).toBe(1);
        expect(res.stderr).toMatch(/^error: --allow-privileged was removed: .* --pod-security privileged, or label one namespace: minipod label namespace NS pod-security.kubernetes.io\/enforce=privileged --overwrite\n$/);
      }
      const bad = await runCli(['daemon', '--pod-security', 'lenient'], { ...strict.env, MINIPOD_HOME: home });
      expect(bad.stderr).toBe('error: invalid --pod-security "lenient": must be one of privileged, baseline, restricted\n');
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('refuses hostPath outside the allowed prefixes, even where Pod Security allows it, with no way out through .. or a symlink', async () => {
    const vol = (path: string) => `volumes: [{name: h, hostPath: {path: ${JSON.stringify(path)}}}]`;
    const baseline = await strict.mp(['apply', '-f', '-'], pod('host-etc', vol('/etc')));
    expect(baseline.stderr).toBe('Error from server (Forbidden): pods "host-etc" is forbidden: violates PodSecurity "baseline:latest": hostPath volumes (volume "h")\n');
    const denied = await lenient.mp(['apply', '-f', '-'], pod('host-etc', vol('/etc')));
    expect(denied.code).toBe(1);
    expect(denied.stderr).toBe(`Error from server (Forbidden): pods "host-etc" is forbidden: volume "h": hostPath "/etc" is not allowed (allowed: ${data}; start the daemon with --allow-host-path PREFIX)\n`);
    for (const [name, path] of [['host-escape', `${data}/../../etc`], ['host-link', `${data}/link`], ['host-link-etc', `${data}/link/etc`]]) {
      const res = await lenient.mp(['apply', '-f', '-'], pod(name, vol(path)));
      expect(res.code).toBe(1);
      expect(res.stderr).toContain(`is not allowed (allowed: ${data};`);
    }
    expect((await lenient.mp(['apply', '-f', '-'], pod('host-ok', vol(`${data}/app`), ''))).code).toBe(0);
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
