// Where minipod keeps its state: $MINIPOD_HOME (default ~/.minipod).
import os from 'node:os';
import { join } from 'node:path';

export function minipodHome(): string {
  return process.env.MINIPOD_HOME || join(os.homedir(), '.minipod');
}

export const paths = {
  socket: () => join(minipodHome(), 'minipod.sock'),
  pidFile: () => join(minipodHome(), 'daemon.pid'),
  logFile: () => join(minipodHome(), 'daemon.log'),
  store: () => join(minipodHome(), 'store.db'),
  podsDir: () => join(minipodHome(), 'pods'),
  token: () => join(minipodHome(), 'token'),
  /** What a node presents once, to get credentials of its own (`minipod node join`). */
  joinToken: () => join(minipodHome(), 'join-token'),
  /** A node agent's own state: the cluster CA it trusts, its credentials, its kubelet's certificate. */
  nodeDir: (node: string) => join(minipodHome(), `node-${node}`),
  /** The daemon's kubelet serves logs and exec for the API server here. */
  kubeletSocket: (node: string) => join(minipodHome(), `kubelet-${node}.sock`),
};

/** The node this daemon's kubelet registers: --node-name, $MINIPOD_NODE_NAME, or the host name. */
export function defaultNodeName(): string {
  return (process.env.MINIPOD_NODE_NAME || os.hostname()).toLowerCase();
}
