// `minipod daemon`: the API server, the scheduler and this machine's kubelet in
// one process. The scheduler and the kubelet reach the API server only through
// the API client over its socket, exactly as if they ran elsewhere.
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { chmodSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type http from 'node:http';
import os from 'node:os';
import type { Logger } from 'pino';
import { createLogger } from './logging.js';
import type { AdmissionPolicy } from '../apiserver/admission.js';
import type { Level } from '../apiserver/pod-security/levels.js';
import { Registry } from '../apiserver/registry.js';
import { closeStreamTunnels } from '../apiserver/proxy.js';
import { createApiServer } from '../apiserver/server.js';
import { NodeCredentials, loadJoinToken } from '../apiserver/node-credentials.js';
import { Client } from '../client/client.js';
import { minipodHome, paths } from '../config.js';
import { Kubelet } from '../kubelet/kubelet.js';
import { hostAddress } from '../kubelet/node-status.js';
import { DockerRuntime } from '../runtime/docker.js';
import { ControllerManager } from '../controllers/manager.js';
import { openStore } from '../store/open.js';
import type { EtcdTls } from '../store/etcd-tls.js';
import { securePrivateState } from './private-state.js';
import { daemonLockFile } from './lock.js';
import { type DaemonStatus, removeDaemonStatus, writeDaemonStatus } from './status-file.js';

export interface DaemonOptions {
  nodeName: string;
  nodeLabels: Record<string, string>;
  kubelet: boolean;
  dockerHost?: string;
  /** --log-level (else $MINIPOD_LOG_LEVEL, else info). */
  logLevel?: string;
  /** --log-max-size in bytes: the log is rotated past it. */
  logMaxBytes?: number;
  /** Pod Security level for namespaces without pod-security.kubernetes.io labels (default baseline). */
  podSecurity?: Level;
  /** Admission: hostPath volumes only under these prefixes, in every namespace. */
  allowHostPaths?: string[];
  /** Also serve the API on TCP (HOST:PORT), guarded by a bearer token. */
  listen?: string;
  tokenFile?: string;
  /** "sqlite" (default: $MINIPOD_HOME/store.db), etcd://HOST:PORT[,…][/PREFIX] or etcds://… (TLS). */
  store?: string;
  /** With etcds://: the CA, client certificate and key (--etcd-cafile, --etcd-certfile, --etcd-keyfile). */
  etcdTls?: EtcdTls;
  /** Control-plane lease duration when several daemons share etcd (default 15 s). */
  leaseDurationMs?: number;
  /** Heartbeat silence after which a node is Unknown (default 40 s). */
  nodeMonitorGracePeriodMs?: number;
}

export interface RunningDaemon {
  /** Stops; answers how many pods keep running (the next start adopts them). */
  stop(): Promise<{ podsRunning: number }>;
  logger: Logger;
  /** With --listen: what a node needs to join (see `minipod node join`). */
  join?: { server: string; caCertHash: string; joinTokenFile: string };
}

/** The serving leaf is checked this often too, so that a daemon running for a year renews it in time. */
const CERT_CHECK_MS = 24 * 3600_000;

export async function runDaemon(opts: DaemonOptions): Promise<RunningDaemon> {
  securePrivateState(minipodHome(), [paths.logFile()]);
  const logger = createLogger({ file: paths.logFile(), level: opts.logLevel, maxBytes: opts.logMaxBytes });
  const { store, shared, description } = await openStore(opts.store, paths.store(), opts.etcdTls);
  logger.info({ store: description }, 'store opened');
  const podSecurityLog = logger.child({ component: 'pod-security' });
  const admission: AdmissionPolicy = {
    podSecurity: opts.podSecurity ?? 'baseline',
    allowHostPaths: (opts.allowHostPaths ?? []).map((p) => resolve(p)),
    // Audit mode: upstream writes these annotations to the API server's audit log; minipod's is the daemon log.
    audit: ({ annotations, ...request }) => podSecurityLog.warn({ ...request, ...annotations }, 'PodSecurity audit'),
  };
  const token = opts.listen ? loadToken(opts.tokenFile ?? paths.token()) : undefined;
  // Nodes join with the join token and then use a token of their own (node-credentials.ts).
  const nodeCredentials = opts.listen ? new NodeCredentials(store, loadJoinToken(paths.joinToken())) : undefined;
  const kubeletCredential = nodeCredentials && ((node: string) => nodeCredentials.kubeletClientToken(node));
  // The CA and the serving certificate exist before the daemon answers on its socket (`daemon start` prints the CA's hash).
  let certCheck: NodeJS.Timeout | undefined;
  const host = opts.listen ? listenHost(opts.listen) : '';
  const pki = opts.listen ? await import('../api/pki.js') : undefined;
  if (pki) {
    const ensureCertificate = async () => {
      const { reissued } = await pki.ensureServingCertificate(minipodHome(), host);
      if (reissued) logger.info({ reason: reissued, cert: pki.pkiFiles(minipodHome()).cert }, 'serving certificate issued');
    };
    await ensureCertificate();
    certCheck = setInterval(() => void ensureCertificate().catch((err) => logger.error({ err }, 'serving certificate renewal failed')), CERT_CHECK_MS);
    certCheck.unref();
  }
  const server = createApiServer({ registry: new Registry(store, admission), logger: logger.child({ component: 'apiserver' }), nodeCredentials, kubeletCredential });
  await listenOnSocket(server, paths.socket());
  logger.info({ socket: paths.socket() }, 'API server listening');
  let tcp: http.Server | undefined;
  let join: RunningDaemon['join'];
  let listening: DaemonStatus['listen'];
  if (opts.listen && pki) {
    tcp = createApiServer({ registry: new Registry(store, admission), logger: logger.child({ component: 'apiserver' }), requireToken: token, nodeCredentials, kubeletCredential });
    (await import('../apiserver/tls.js')).acceptTls(tcp, minipodHome()); // TLS too: kubectl sends its token only over TLS
    await listenOnTcp(tcp, opts.listen);
    const { caCertHash } = await import('../api/cert-pins.js');
    const address = tcp.address() as { port: number };
    const reachable = host === '0.0.0.0' || host === '::' ? (hostAddress() ?? os.hostname()) : host;
    const hostForUrl = reachable.includes(':') ? `[${reachable}]` : reachable;
    join = { server: `https://${hostForUrl}:${address.port}`, caCertHash: caCertHash(readFileSync(pki.pkiFiles(minipodHome()).caCert, 'utf8')), joinTokenFile: paths.joinToken() };
    logger.info({ listen: opts.listen, caCertHash: join.caCertHash }, 'API server listening on TCP');
    // A wildcard is reached here by loopback, which the serving certificate always names.
    const local = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
    listening = { server: `https://${local}:${address.port}`, tokenFile: resolve(opts.tokenFile ?? paths.token()) };
  }

  securePrivateState(minipodHome()); // the store's, the token's and the certificate's files, now that they exist
  const client = new Client({ socketPath: paths.socket() });
  // Several daemons on one etcd: only the holder of the lease schedules and watches nodes.
  const controllers = new ControllerManager({
    client,
    store,
    logger,
    leaderElect: shared,
    leaseDurationMs: opts.leaseDurationMs,
    nodeMonitorGracePeriodMs: opts.nodeMonitorGracePeriodMs,
  });
  await controllers.start();
  let kubelet: Kubelet | undefined;
  let docker: string | undefined;
  const shutdown = async (): Promise<{ podsRunning: number }> => {
    if (certCheck) clearInterval(certCheck);
    // Pods keep running: a restarted daemon adopts them. The containers of pods already deleted go first.
    const { podsRunning } = (await kubelet?.stop()) ?? { podsRunning: 0 };
    await controllers.stop(); // releases the lease: a standby takes over at once
    client.close();
    closeStreamTunnels(); // exec sessions are upgraded sockets that server.close() would wait for
    for (const s of [server, tcp]) {
      if (!s) continue;
      await new Promise<void>((resolve) => {
        s.close(() => resolve());
        s.closeAllConnections();
      });
    }
    await store.close();
    rmSync(paths.socket(), { force: true });
    removeDaemonStatus();
    return { podsRunning };
  };
  if (opts.kubelet) {
    const runtime = new DockerRuntime(opts.nodeName, opts.dockerHost);
    const k = new Kubelet({
      nodeName: opts.nodeName,
      nodeLabels: opts.nodeLabels,
      client,
      runtime,
      logger,
      podsDir: paths.podsDir(),
      server: { socketPath: paths.kubeletSocket(opts.nodeName) },
      claim: { home: minipodHome(), socket: paths.socket(), lock: daemonLockFile(minipodHome()), flag: '--node-name' },
    });
    try {
      await k.start();
    } catch (err) {
      // Refused (the node name is another's) or Docker unreachable: leave nothing half-started.
      await k.stop().catch(() => {});
      await shutdown().catch(() => {});
      logger.flush();
      throw err;
    }
    kubelet = k;
    docker = await runtime.version().catch(() => undefined);
  }
  writeDaemonStatus({ pid: process.pid, startedAt: new Date().toISOString(), store: description, node: opts.kubelet ? opts.nodeName : undefined, docker, log: paths.logFile(), socket: paths.socket(), listen: listening });
  return {
    logger,
    join,
    async stop() {
      const stopped = await shutdown();
      logger.info(stopped, 'daemon stopped');
      logger.flush();
      return stopped;
    },
  };
}

/** The token in `file`, created (random, mode 0600) when the file does not exist. */
function loadToken(file: string): string {
  if (!existsSync(file)) writeFileSync(file, randomBytes(24).toString('hex') + '\n', { mode: 0o600 });
  const token = readFileSync(file, 'utf8').trim();
  if (!token) throw new Error(`the token file ${file} is empty`);
  return token;
}

/** The host of --listen [HOST:]PORT (127.0.0.1 when only a port is given). */
function listenHost(address: string): string {
  const m = /^(?:(.*):)?(\d+)$/.exec(address);
  return (m?.[1] ?? '').replace(/^\[|\]$/g, '') || '127.0.0.1';
}

function listenOnTcp(server: http.Server, address: string): Promise<void> {
  // PORT or :PORT alone binds loopback only: listening wider must be asked for.
  const m = /^(?:(.*):)?(\d+)$/.exec(address);
  if (!m) throw new Error(`--listen wants [HOST:]PORT, got "${address}"`);
  const host = (m[1] ?? '').replace(/^\[|\]$/g, '') || '127.0.0.1';
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(m[2]), host, () => resolve());
  });
}

function listenOnSocket(server: http.Server, socket: string): Promise<void> {
  rmSync(socket, { force: true });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    const umask = process.umask(0o177); // the socket is born 0600: only the owner may drive the daemon
    server.listen(socket, () => {
      process.umask(umask);
      chmodSync(socket, 0o600);
      resolve();
    });
  });
}
