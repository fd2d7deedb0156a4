// `minipod node join`: the node agent. It runs only a kubelet, on this machine's
// Docker Engine, against a remote API server (a `minipod daemon --listen`): it
// registers its Node, heartbeats, and runs the pods the scheduler binds to it.
// It speaks HTTPS only, to a server whose CA it pinned (--ca-cert-hash) or was
// given (--certificate-authority), with a token of its own got for the join
// token (src/client/node-bootstrap.ts), kept in $MINIPOD_HOME/node-NAME/.
import { X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CA_CERT_HASH } from '../../api/cert-pins.js';
import { ApiStatusError, Client, ConnectionError } from '../../client/client.js';
import { DiscoveryError, type NodeState, discoverClusterCa, loadNodeState, nodeStateFiles, requestNodeCredentials, saveNodeState, verifyServer } from '../../client/node-bootstrap.js';
import { minipodHome, paths } from '../../config.js';
import { UsageError } from '../output.js';
import { logSettings, parseKeyValues } from './daemon.js';

export interface JoinFlags {
  server: string;
  /** The join token (needed the first time; later the node's own credentials are used). */
  tokenFile?: string;
  caCertHash?: string;
  certificateAuthority?: string;
  name: string;
  nodeLabels?: string;
  dockerHost?: string;
  kubeletListen?: string;
  logLevel?: string;
  logMaxSize?: string;
}

const NODE_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export function parseServer(server: string): URL {
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    throw new UsageError(`--server wants https://HOST:PORT (the address of a \`minipod daemon --listen\`), got "${server}"`);
  }
  if (url.protocol === 'http:') {
    throw new UsageError(`--server ${server}: a node agent speaks HTTPS only, to an API server whose certificate it verifies; use https://${url.host}`);
  }
  if (url.protocol !== 'https:' || !url.port || (url.pathname !== '/' && url.pathname !== '')) {
    throw new UsageError(`--server wants https://HOST:PORT (the address of a \`minipod daemon --listen\`), got "${server}"`);
  }
  return url;
}

function readToken(file: string): string {
  if (!existsSync(file)) throw new UsageError(`--token-file ${file}: no such file (copy the daemon's $MINIPOD_HOME/join-token)`);
  const token = readFileSync(file, 'utf8').trim();
  if (!token) throw new UsageError(`--token-file ${file} is empty`);
  return token;
}

/** The cluster CA: given as a file, or found at the server and checked against the pinned hash. */
async function clusterCa(url: URL, flags: JoinFlags): Promise<string> {
  if (!flags.caCertHash === !flags.certificateAuthority) {
    throw new UsageError(
      'node join verifies the API server: give --ca-cert-hash sha256:<hex> (printed by `minipod daemon` at start, and by `minipod daemon ca-hash`) or --certificate-authority FILE (a copy of its $MINIPOD_HOME/ca.crt), one of them',
    );
  }
  try {
    if (flags.caCertHash) {
      if (!CA_CERT_HASH.test(flags.caCertHash.toLowerCase())) throw new UsageError(`--ca-cert-hash wants sha256:<64 hex digits>, got "${flags.caCertHash}"`);
      return await discoverClusterCa(url, flags.caCertHash.toLowerCase());
    }
    const file = flags.certificateAuthority!;
    if (!existsSync(file)) throw new UsageError(`--certificate-authority ${file}: no such file`);
    const ca = readFileSync(file, 'utf8');
    try {
      if (!new X509Certificate(ca).ca) throw new Error('not a CA certificate');
    } catch (err) {
      throw new UsageError(`--certificate-authority ${file}: ${(err as Error).message}`);
    }
    await verifyServer(url, ca);
    return ca;
  } catch (err) {
    if (err instanceof DiscoveryError) throw new UsageError(err.message);
    const e = err as NodeJS.ErrnoException;
    if (e.code && !(err instanceof UsageError)) throw new UsageError(`cannot reach the API server at ${url.origin}: ${e.message}`);
    throw err;
  }
}

/** A client with this node's own token: kept from an earlier join, else got now for the join token. */
async function nodeClient(url: URL, ca: string, flags: JoinFlags, dir: string): Promise<{ client: Client; state: NodeState }> {
  const kept = loadNodeState(dir, url.origin, ca);
  if (kept) {
    const client = new Client({ server: url.origin, token: kept.token, ca });
    try {
      await client.listNodes(); // fail here, with a message, rather than in the kubelet's retry loops
      return { client, state: kept };
    } catch (err) {
      client.close();
      if (!(err instanceof ApiStatusError && err.code === 401)) throw reachError(url, err);
      // Revoked: this node name joined again elsewhere. Join anew when a join token was given.
      if (!flags.tokenFile) {
        throw new UsageError(`the API server at ${url.origin} refused the credentials node ${flags.name} got when it joined (401: revoked by a later join of the same name); join again with --token-file`);
      }
    }
  }
  if (!flags.tokenFile) throw new UsageError(`node ${flags.name} has not joined ${url.origin} yet: give --token-file (a copy of the daemon's $MINIPOD_HOME/join-token)`);
  let state: NodeState;
  try {
    state = await requestNodeCredentials(url, ca, readToken(flags.tokenFile), flags.name);
  } catch (err) {
    if (err instanceof ApiStatusError && err.code === 401) throw new UsageError(`the API server at ${url.origin} refused the join token in ${flags.tokenFile} (401 Unauthorized)`);
    if (err instanceof ApiStatusError && err.code === 403) throw new UsageError(`the token in ${flags.tokenFile} may not join nodes: ${err.message}`);
    throw reachError(url, err);
  }
  saveNodeState(dir, ca, state);
  const client = new Client({ server: url.origin, token: state.token, ca });
  try {
    await client.listNodes();
  } catch (err) {
    client.close();
    throw reachError(url, err);
  }
  return { client, state };
}

function reachError(url: URL, err: unknown): unknown {
  if (err instanceof ConnectionError) return new UsageError(`cannot reach the API server at ${url.origin}: ${err.cause.message}`);
  return err;
}

/** The kubelet's serving certificate (self-signed; its fingerprint goes on the Node). */
async function kubeletServingCertificate(dir: string, listen: string, name: string): Promise<{ cert: string; key: string }> {
  const { ensureSelfSigned, servingHosts } = await import('../../api/pki.js');
  const host = (/^(.*):\d+$/.exec(listen)?.[1] ?? '').replace(/^\[|\]$/g, '');
  const f = nodeStateFiles(dir);
  return ensureSelfSigned({ cert: f.kubeletCert, key: f.kubeletKey }, servingHosts(host), `system:node:${name}`);
}

export async function join_(flags: JoinFlags): Promise<void> {
  const url = parseServer(flags.server);
  const name = flags.name;
  if (!NODE_NAME.test(name) || name.length > 253) {
    throw new UsageError(`--name "${name}" is not a valid node name: lowercase letters, digits, '-' and '.', starting and ending with a letter or digit`);
  }
  const nodeLabels = parseKeyValues(flags.nodeLabels, '--node-labels');
  const logging = logSettings(flags);
  mkdirSync(minipodHome(), { recursive: true, mode: 0o700 });
  const dir = paths.nodeDir(name);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const ca = await clusterCa(url, flags);
  const { client, state } = await nodeClient(url, ca, flags, dir);
  const { DockerRuntime } = await import('../../runtime/docker.js');
  const runtime = new DockerRuntime(name, flags.dockerHost);
  try {
    await runtime.ping();
  } catch (err) {
    client.close();
    throw new UsageError(`cannot reach Docker at ${flags.dockerHost ?? process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock'}: ${(err as Error).message}`);
  }

  const logFile = join(minipodHome(), `node-${name}.log`);
  const { securePrivateState } = await import('../../daemon/private-state.js');
  securePrivateState(minipodHome(), [logFile]);
  const pidFile = join(minipodHome(), `node-${name}.pid`);
  // The agent's lock, named in its node claim: it tells a live agent from a dead one (kill -9 drops it).
  const { acquireLock } = await import('../../daemon/lock.js');
  const lockFile = join(dir, 'agent.lock');
  const lock = acquireLock(lockFile);
  if (!lock) {
    client.close();
    throw new UsageError(`a node agent for node ${name} already runs on ${minipodHome()}`);
  }
  chmodSync(lockFile, 0o600);
  const { createLogger } = await import('../../daemon/logging.js');
  const logger = createLogger({ file: logFile, level: logging.logLevel, maxBytes: logging.logMaxBytes });
  const { Kubelet } = await import('../../kubelet/kubelet.js');
  const kubelet = new Kubelet({
    nodeName: name,
    nodeLabels,
    client,
    runtime,
    logger,
    podsDir: paths.podsDir(),
    // Pods reach the API server where this agent does (KUBERNETES_SERVICE_HOST/PORT).
    apiHost: url.hostname.replace(/^\[|\]$/g, ''),
    apiPort: Number(url.port),
    // Logs and exec: on TCP (HTTPS, for the API server's kubelet-client token alone) when asked, else a socket.
    server: flags.kubeletListen
      ? { listen: flags.kubeletListen, tls: await kubeletServingCertificate(dir, flags.kubeletListen, name), clientTokenSha256: state.kubeletClientTokenSHA256 }
      : { socketPath: paths.kubeletSocket(name) },
    claim: { home: minipodHome(), socket: flags.kubeletListen ? '' : paths.kubeletSocket(name), lock: lockFile, flag: '--name' },
  });
  try {
    await kubelet.start();
  } catch (err) {
    await kubelet.stop().catch(() => {});
    client.close();
    lock.release();
    const { NodeClaimRefused } = await import('../../kubelet/node-claim.js');
    if (err instanceof NodeClaimRefused) throw new UsageError(err.message);
    throw err;
  }
  writeFileSync(pidFile, String(process.pid));
  logger.info({ server: url.origin, node: name, labels: nodeLabels }, 'node agent joined');

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    // Pods keep running: the agent's next start adopts them.
    await kubelet.stop().catch((err) => logger.error({ err }, 'stop failed'));
    client.close();
    rmSync(pidFile, { force: true });
    lock.release();
    logger.info('node agent stopped');
    logger.flush();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.on('uncaughtException', (err) => logger.fatal({ err }, 'uncaught exception'));
  process.on('unhandledRejection', (err) => logger.error({ err }, 'unhandled rejection'));
  console.error(`minipod node agent running: node ${name} joined ${url.origin}, log ${logFile}`);
}

export { join_ as join };
