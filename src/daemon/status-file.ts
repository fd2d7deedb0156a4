// $MINIPOD_HOME/daemon.json: what `minipod daemon status` reports that only the
// running daemon knows (its start time, store, node, Docker's version). Written
// once the daemon serves, removed when it stops; a stale one (kill -9) is ignored,
// since whether a daemon runs is its lock's answer, not this file's.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { minipodHome } from '../config.js';

export interface DaemonStatus {
  pid: number;
  startedAt: string;
  store: string;
  /** Its kubelet's node (none with --no-kubelet). */
  node?: string;
  docker?: string;
  log: string;
  socket: string;
  /** With --listen: the listener as a client on this machine reaches it, and the admin token's file (`minipod kubeconfig`). */
  listen?: { server: string; tokenFile: string };
}

const file = () => join(minipodHome(), 'daemon.json');

export function writeDaemonStatus(s: DaemonStatus): void {
  writeFileSync(file(), JSON.stringify(s) + '\n', { mode: 0o600 });
}

export function readDaemonStatus(): DaemonStatus | undefined {
  try {
    return JSON.parse(readFileSync(file(), 'utf8')) as DaemonStatus;
  } catch {
    return undefined;
  }
}

export function removeDaemonStatus(): void {
  rmSync(file(), { force: true });
}
