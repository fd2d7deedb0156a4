// `minipod node join`: the node agent. It runs only a kubelet, on this machine's
// Docker Engine, against a remote API server (a `minipod daemon --listen`): it
// registers its Node, heartbeats, and runs the pods the scheduler binds to it.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { ApiStatusError, Client, ConnectionError } from '../../client/client.js';
import { minipodHome, paths } from '../../config.js';
import { UsageError } from '../output.js';
import { parseKeyValues } from './daemon.js';

export interface JoinFlags {
  server: string;
  tokenFile: string;
  name: string;
  nodeLabels?: string;
  dockerHost?: string;
  kubeletListen?: string;
}

const NODE_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export function parseServer(server: string): URL {
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    throw new UsageError(`--server wants http://HOST:PORT (the address of a \`minipod daemon --listen\`), got "${server}"`);
  }
  if (url.protocol === 'https:') {
    throw new UsageError(`--server ${server}: the node agent speaks plain HTTP with the bearer token, not TLS yet; use http://${url.host} (or a TLS tunnel that ends on this machine)`);
  }
  if (url.protocol !== 'http:' || !url.port || (url.pathname !== '/' && url.pathname !== '')) {
    throw new UsageError(`--server wants http://HOST:PORT (the address of a \`minipod daemon --listen\`), got "${server}"`);
  }
  return url;
}

function readToken(file: string): string {
  if (!existsSync(file)) throw new UsageError(`--token-file ${file}: no such file (copy the daemon's $MINIPOD_HOME/token)`);
  const token = readFileSync(file, 'utf8').trim();
  if (!token) throw new UsageError(`--token-file ${file} is empty`);
  return token;
}

export async function join_(flags: JoinFlags): Promise<void> {
  const url = parseServer(flags.server);
  const token = readToken(flags.tokenFile);
  const name = flags.name;
  if (!NODE_NAME.test(name) || name.length > 253) {
    throw new UsageError(`--name "${name}" is not a valid node name: lowercase letters, digits, '-' and '.', starting and ending with a letter or digit`);
  }
  const nodeLabels = parseKeyValues(flags.nodeLabels, '--node-labels');
  const client = new Client({ server: url.origin, token });

  // Fail here, with a message, rather than in the kubelet's retry loops.
  try {
    await client.listNodes();
  } catch (err) {
    client.close();
    if (err instanceof ConnectionError) throw new UsageError(`cannot reach the API server at ${url.origin}: ${err.cause.message}`);
    if (err instanceof ApiStatusError && err.code === 401) throw new UsageError(`the API server at ${url.origin} refused the token in ${flags.tokenFile} (401 Unauthorized)`);
    throw err;
  }
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
  const logger = pino({ base: { pid: process.pid }, level: process.env.MINIPOD_LOG_LEVEL ?? 'info' }, pino.destination({ dest: logFile, sync: false, mkdir: true }));
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
    // Logs and exec: on TCP with the cluster's token when asked, else a socket beside the API server's machine.
    server: flags.kubeletListen ? { listen: flags.kubeletListen, token } : { socketPath: paths.kubeletSocket(name) },
  });
  await kubelet.start();
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
