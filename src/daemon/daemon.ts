// `minipod daemon`: the API server, the scheduler and this machine's kubelet in
// one process. The scheduler and the kubelet reach the API server only through
// the API client over its socket, exactly as if they ran elsewhere.
import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import type http from 'node:http';
import pino, { type Logger } from 'pino';
import { Registry } from '../apiserver/registry.js';
import { createApiServer } from '../apiserver/server.js';
import { Client } from '../client/client.js';
import { minipodHome, paths } from '../config.js';
import { Kubelet } from '../kubelet/kubelet.js';
import { DockerRuntime } from '../runtime/docker.js';
import { Scheduler } from '../scheduler/scheduler.js';
import { SqliteStore } from '../store/sqlite.js';

export interface DaemonOptions {
  nodeName: string;
  nodeLabels: Record<string, string>;
  kubelet: boolean;
  dockerHost?: string;
  logToStdout?: boolean;
}

export interface RunningDaemon {
  stop(): Promise<void>;
  logger: Logger;
}

export async function runDaemon(opts: DaemonOptions): Promise<RunningDaemon> {
  mkdirSync(minipodHome(), { recursive: true, mode: 0o700 });
  const logger = pino(
    { base: { pid: process.pid }, level: process.env.MINIPOD_LOG_LEVEL ?? 'info' },
    opts.logToStdout ? pino.destination(1) : pino.destination({ dest: paths.logFile(), sync: false, mkdir: true }),
  );
  const store = new SqliteStore(paths.store());
  const server = createApiServer({ registry: new Registry(store), logger: logger.child({ component: 'apiserver' }) });
  await listenOnSocket(server, paths.socket());
  logger.info({ socket: paths.socket() }, 'API server listening');

  const client = new Client({ socketPath: paths.socket() });
  const scheduler = new Scheduler(client, logger);
  await scheduler.start();
  let kubelet: Kubelet | undefined;
  if (opts.kubelet) {
    const runtime = new DockerRuntime(opts.nodeName, opts.dockerHost);
    kubelet = new Kubelet({ nodeName: opts.nodeName, nodeLabels: opts.nodeLabels, client, runtime, logger, podsDir: paths.podsDir() });
    await kubelet.start();
  }
  return {
    logger,
    async stop() {
      // Pods keep running: a restarted daemon adopts them.
      await kubelet?.stop();
      scheduler.stop();
      client.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await store.close();
      rmSync(paths.socket(), { force: true });
      logger.info('daemon stopped');
      logger.flush();
    },
  };
}

function listenOnSocket(server: http.Server, socket: string): Promise<void> {
  rmSync(socket, { force: true });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(socket, () => {
      chmodSync(socket, 0o600); // only the owner may drive the daemon
      resolve();
    });
  });
}
