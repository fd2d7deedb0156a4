// One node name on one Docker Engine is served by one kubelet. Two minipods with
// different homes (two clusters, or two daemons of one etcd) that both called
// their node "vm" would otherwise each see the other's containers as their own.
// A kubelet claims its node name before it touches Docker, refuses to start when
// the claim is another's and that one still runs, and takes a stale claim over.
//
// The claim is a Docker volume named after the node (minipod-claim-NAME), its
// labels saying who holds it. A volume, the lightest labelled object Docker keeps:
// no image, no rootfs layer, no process, invisible to `docker ps` and to every
// listing or event stream of containers (so nothing that counts pods has to skip
// it); and Docker's create of an existing volume name answers that volume
// unchanged, which makes "create, then read whose labels Docker kept" an atomic
// test-and-set between two kubelets starting at once.
import { existsSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { lockHeld } from '../daemon/lock.js';
import { type NodeClaim, claimVolumeName } from '../runtime/labels.js';

/** What of the runtime a claim needs (src/runtime/docker.ts). */
export interface ClaimStore {
  getClaim(node: string): Promise<NodeClaim | undefined>;
  createClaim(claim: NodeClaim): Promise<NodeClaim | undefined>;
  removeClaim(node: string): Promise<void>;
}

/** How a claim's holder is looked at (injected in unit tests). Looking never touches it. */
export interface HolderProbe {
  hostname: string;
  socketAnswers(socket: string): Promise<boolean>;
  pidAlive(pid: number): boolean;
  /** true, false, or undefined when the lock cannot be looked at (another user's home). */
  lockHeld(file: string): boolean | undefined;
}

/** The node name is served by another live minipod: a message for people, no stack trace. */
export class NodeClaimRefused extends Error {
  constructor(
    message: string,
    readonly holder: NodeClaim,
  ) {
    super(message);
    this.name = 'NodeClaimRefused';
  }
}

const sameHolder = (a: NodeClaim, b: NodeClaim) =>
  a.node === b.node && a.cluster === b.cluster && a.home === b.home && a.socket === b.socket && a.pid === b.pid && a.lock === b.lock && a.host === b.host;

/** An earlier run of this very process's home: the lock it names is the one this process holds now. */
const earlierRunOfMine = (held: NodeClaim, mine: NodeClaim) => held.host === mine.host && held.lock === mine.lock;

/**
 * Claims `mine.node` on the runtime's engine. `flag` is the option that names the
 * node (--node-name for a daemon, --name for a node agent), for the refusal.
 */
export async function claimNode(store: ClaimStore, mine: NodeClaim, flag: string, probe: HolderProbe = hostProbe): Promise<void> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const seen = await store.getClaim(mine.node);
    const held = seen ?? (await store.createClaim(mine));
    if (!held) {
      throw new NodeClaimRefused(`a Docker volume named ${claimVolumeName(mine.node)} exists and is not a minipod node claim: minipod leaves it alone; start with another ${flag}`, mine);
    }
    if (sameHolder(held, mine)) return;
    if (!earlierRunOfMine(held, mine) && (await holderLive(held, probe))) throw new NodeClaimRefused(refusal(held, mine, flag), held);
    // Stale (its process is gone) or an earlier run of this home: take it over,
    // unless it changed while it was looked at (another claimant got there first).
    const now = await store.getClaim(mine.node);
    if (now && sameHolder(now, held)) await store.removeClaim(mine.node);
  }
  throw new Error(`could not claim node ${mine.node} on this Docker Engine: its claim keeps changing hands`);
}

/** Removes the claim if it is still this process's (a stopped kubelet frees its node name at once). */
export async function releaseNodeClaim(store: ClaimStore, mine: NodeClaim): Promise<void> {
  const held = await store.getClaim(mine.node);
  if (held && sameHolder(held, mine)) await store.removeClaim(mine.node);
}

/** Whether the holder still runs: it answers on its socket, or its pid lives and holds its lock. */
export async function holderLive(held: NodeClaim, probe: HolderProbe): Promise<boolean> {
  if (held.host !== probe.hostname) return true; // its pid and lock mean nothing here: only its owner can say
  if (held.socket && (await probe.socketAnswers(held.socket))) return true;
  if (!held.pid || !probe.pidAlive(held.pid)) return false;
  // A live pid may be a reused one, or a zombie: the lock, which the kernel drops with the process, decides.
  return held.lock ? (probe.lockHeld(held.lock) ?? true) : true;
}

function refusal(held: NodeClaim, mine: NodeClaim, flag: string): string {
  const who = held.cluster && held.cluster !== mine.cluster ? `another minipod cluster (cluster ${held.cluster})` : 'another minipod daemon of this cluster';
  const where = `MINIPOD_HOME=${held.home}${held.socket ? `, socket ${held.socket}` : ''}, pid ${held.pid}${held.host !== mine.host ? ` on host ${held.host}` : ''}`;
  const hint = held.host !== mine.host ? `; if that one is gone, remove its claim: docker volume rm ${claimVolumeName(mine.node)}` : `, or stop that one first (MINIPOD_HOME=${held.home} minipod daemon stop)`;
  return `node name "${mine.node}" is already served on this Docker Engine by ${who}: ${where}. Start this one with another ${flag}${hint}.`;
}

export const hostProbe: HolderProbe = {
  hostname: os.hostname(),
  socketAnswers: (socket) =>
    new Promise((resolve) => {
      if (!existsSync(socket)) return resolve(false);
      // A connection accepted is a process listening; a stale socket file refuses it.
      const s = net.connect(socket);
      const done = (ok: boolean) => {
        clearTimeout(timer);
        s.destroy();
        resolve(ok);
      };
      const timer = setTimeout(() => done(false), 1000);
      s.once('connect', () => done(true));
      s.once('error', () => done(false));
    }),
  pidAlive: (pid) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'EPERM'; // alive, another user's
    }
  },
  lockHeld: (file) => {
    try {
      return lockHeld(file, true);
    } catch {
      return undefined;
    }
  },
};
