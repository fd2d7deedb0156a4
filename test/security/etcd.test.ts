// etcd is not an open door (issue 12, item 5). etcd holds every object of the cluster
// and has no authentication of its own by default: whoever could write a pod into it
// would have it run. The test etcd (scripts/start-etcd.sh) speaks TLS only and wants a
// client certificate signed by its CA. Here a client without one — plain HTTP, TLS
// with no certificate, TLS with a certificate of its own making, the HTTP/JSON gateway —
// cannot write a key; minipod with the right files can, and runs the pod it stored.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import { join } from 'node:path';
import { Etcd3, type IOptions } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestCluster, runCli, watchPod } from '../e2e/harness.js';
import { type TestEtcd, startTestEtcd, testEtcdClient } from '../test-etcd.js';

const prefix = `/minipod-sec-${Math.random().toString(36).slice(2, 8)}`;
const evilKey = `${prefix}/pods/default/evil`;
const evilPod = JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'evil', namespace: 'default', uid: 'evil' }, spec: { containers: [{ name: 'c', image: 'busybox:1.36' }] } });
let etcd: TestEtcd;
let admin: Etcd3;
let cluster: TestCluster | undefined;
const tmp = mkdtempSync(join(os.tmpdir(), 'minipod-etcd-sec-'));

beforeAll(() => {
  etcd = startTestEtcd();
  admin = testEtcdClient(etcd);
  // A CA and a client certificate of the attacker's own making: well-formed, but not signed by etcd's CA.
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: tmp, stdio: ['ignore', 'ignore', 'pipe'] });
  ssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'own.key', '-out', 'own.crt', '-days', '1', '-subj', '/CN=minipod-test-etcd-client',
    '-addext', 'extendedKeyUsage=clientAuth');
});

afterAll(async () => {
  await cluster?.cleanup();
  await admin?.delete().prefix(prefix + '/').catch(() => {});
  admin?.close();
  rmSync(tmp, { recursive: true, force: true });
}, 60_000);

/** Tries to put the pod with a raw etcd3 client; resolves with the error it met (or "written"). */
async function tryPut(options: IOptions): Promise<string> {
  const c = new Etcd3({ ...options, dialTimeout: 3000, defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + 3000 }) });
  try {
    await c.put(evilKey).value(evilPod);
    return 'written';
  } catch (err) {
    return (err as Error).message;
  } finally {
    c.close();
  }
}

/** etcd's HTTP/JSON gateway (POST /v3/kv/put), over TLS with etcd's CA but without a client certificate. */
function gatewayPut(): Promise<string> {
  const body = JSON.stringify({ key: Buffer.from(evilKey).toString('base64'), value: Buffer.from(evilPod).toString('base64') });
  return new Promise((resolve) => {
    const req = https.request(`${etcd.endpoint}/v3/kv/put`, { method: 'POST', ca: readFileSync(etcd.caFile), timeout: 3000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(`written (HTTP ${res.statusCode})`));
    });
    req.on('error', (err) => resolve(err.message));
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.end(body);
  });
}

const notStored = async () => expect((await admin.get(evilKey).string()) ?? 'absent').toBe('absent');

describe('an unauthenticated client cannot write into etcd', () => {
  it('plain HTTP: etcd serves no plaintext client port', async () => {
    expect(await tryPut({ hosts: `http://${etcd.host}` })).toMatch(/UNAVAILABLE|Failed to connect|Connection dropped/);
    await notStored();
  });

  it('TLS that trusts etcd, with no client certificate: the handshake is refused', async () => {
    expect(await tryPut({ hosts: etcd.endpoint, credentials: { rootCertificate: readFileSync(etcd.caFile) } })).toMatch(/alert|certificate/i);
    await notStored();
  });

  it('TLS with a client certificate not signed by etcd\'s CA: refused', async () => {
    const credentials = { rootCertificate: readFileSync(etcd.caFile), certChain: readFileSync(join(tmp, 'own.crt')), privateKey: readFileSync(join(tmp, 'own.key')) };
    expect(await tryPut({ hosts: etcd.endpoint, credentials })).toMatch(/alert|certificate/i);
    await notStored();
  });

  it('the HTTP/JSON gateway, without a client certificate: refused', async () => {
    expect(await gatewayPut()).not.toMatch(/^written/);
    await notStored();
  });

  it('and the test etcd does let its own client certificate in (else the checks above prove nothing)', async () => {
    await admin.put(`${prefix}/probe`).value('ok');
    expect(await admin.get(`${prefix}/probe`).string()).toBe('ok');
    await admin.delete().key(`${prefix}/probe`);
  });
});

describe('minipod and a TLS etcd', () => {
  const store = () => `etcds://${etcd.host}${prefix}`;
  const bare = () => ({ ...process.env, MINIPOD_HOME: tmp, NO_COLOR: '1', MINIPOD_ETCD_CAFILE: '', MINIPOD_ETCD_CERTFILE: '', MINIPOD_ETCD_KEYFILE: '' });

  it('without a client certificate, the daemon says the TLS handshake failed (no stack trace)', async () => {
    const res = await runCli(['daemon', '--store', store(), '--etcd-cafile', etcd.caFile], bare());
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/^error: cannot reach etcd at https:\/\/127\.0\.0\.1:\d+: TLS handshake with etcd failed: etcd did not accept the client certificate/);
    expect(res.stderr).not.toMatch(/\n\s+at /);
    expect(res.stderr).not.toContain('DeprecationWarning');
  }, 30_000);

  it('with etcd:// (plain), the daemon points at etcds:// and the --etcd-* flags', async () => {
    const res = await runCli(['daemon', '--store', `etcd://${etcd.host}${prefix}`], bare());
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/^error: cannot reach etcd at http:\/\/127\.0\.0\.1:\d+: .*use --store etcds:\/\/… with --etcd-cafile, --etcd-certfile and --etcd-keyfile/);
  }, 30_000);

  it('a missing certificate file is named with its flag', async () => {
    const missing = join(tmp, 'nope.crt');
    const res = await runCli(['daemon', '--store', store(), '--etcd-cafile', etcd.caFile, '--etcd-certfile', missing, '--etcd-keyfile', etcd.keyFile], bare());
    expect(res).toMatchObject({ code: 1, stderr: `error: --etcd-certfile ${missing}: cannot read it (no such file)\n` });
  }, 30_000);

  it('with the right files (from MINIPOD_ETCD_*), a daemon stores a pod in etcd, shows it and runs it', async () => {
    cluster = new TestCluster({ env: etcd.env, daemonArgs: ['--store', store()] });
    await cluster.start();
    const applied = await cluster.mp(['run', 'through-tls', '--image', 'busybox:1.36', '--', 'sleep', '3600']);
    expect(applied.code).toBe(0);
    const got = await cluster.mp(['get', 'pods']);
    expect(got.stdout).toMatch(/^through-tls\s/m);
    expect(got.stdout).not.toMatch(/^evil\s/m);
    // The object is in etcd, under the daemon's prefix, readable only with the client certificate.
    const stored = JSON.parse((await admin.get(`${prefix}/pods/default/through-tls`).string())!);
    expect(stored.metadata.name).toBe('through-tls');
    await watchPod(cluster.client, 'default', 'through-tls', (p) => p.status?.phase === 'Running', 30_000, 'Running');
  }, 60_000);
});
