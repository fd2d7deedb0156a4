// The tests' etcd, as scripts/start-etcd.sh runs it: TLS only, client certificates
// required. The script starts it when needed (idempotent; test files may all ask at
// once) and prints, as shell exports, its endpoint and the files that let a client in.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Etcd3 } from 'etcd3';
import { etcdCredentials, etcdTlsFiles, quietIpServerNameWarning } from '../src/store/etcd-tls.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

export interface TestEtcd {
  /** https://127.0.0.1:PORT */
  endpoint: string;
  /** 127.0.0.1:PORT, for --store etcds://HOST:PORT/PREFIX */
  host: string;
  caFile: string;
  certFile: string;
  keyFile: string;
  /** MINIPOD_ETCD_CAFILE, …_CERTFILE, …_KEYFILE: what minipod reads without flags. */
  env: Record<string, string>;
}

export function startTestEtcd(): TestEtcd {
  const out = execFileSync('bash', [join(ROOT, 'scripts/start-etcd.sh'), 'env'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const vars: Record<string, string> = {};
  for (const m of out.matchAll(/^export (\w+)='(.*)'$/gm)) vars[m[1]] = m[2].replace(/'\\''/g, "'");
  const need = ['MINIPOD_TEST_ETCD_ENDPOINT', 'MINIPOD_ETCD_CAFILE', 'MINIPOD_ETCD_CERTFILE', 'MINIPOD_ETCD_KEYFILE'];
  const missing = need.filter((k) => !vars[k]);
  if (missing.length) throw new Error(`scripts/start-etcd.sh env did not print ${missing.join(', ')}; it printed:\n${out}`);
  const endpoint = vars.MINIPOD_TEST_ETCD_ENDPOINT;
  if (!endpoint.startsWith('https://')) throw new Error(`the test etcd must speak TLS, got ${endpoint}`);
  quietIpServerNameWarning([endpoint]); // the tests' own raw etcd3 clients dial it by IP too
  return {
    endpoint,
    host: new URL(endpoint).host,
    caFile: vars.MINIPOD_ETCD_CAFILE,
    certFile: vars.MINIPOD_ETCD_CERTFILE,
    keyFile: vars.MINIPOD_ETCD_KEYFILE,
    env: { MINIPOD_ETCD_CAFILE: vars.MINIPOD_ETCD_CAFILE, MINIPOD_ETCD_CERTFILE: vars.MINIPOD_ETCD_CERTFILE, MINIPOD_ETCD_KEYFILE: vars.MINIPOD_ETCD_KEYFILE },
  };
}

/** The store's credentials for it, read the way the daemon reads them (from MINIPOD_ETCD_*). */
export function testEtcdCredentials(etcd: TestEtcd) {
  return etcdCredentials(etcdTlsFiles(`etcds://${etcd.host}`, {}, etcd.env));
}

/** A raw etcd3 client that shows the client certificate, e.g. to clean up a prefix. */
export function testEtcdClient(etcd: TestEtcd): Etcd3 {
  return new Etcd3({ hosts: etcd.endpoint, credentials: testEtcdCredentials(etcd) });
}
