// A real daemon on real Docker for one test file: its own MINIPOD_HOME, socket and
// node name (every Docker object it makes is labelled with that node), and
// everything it created removed afterwards.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import { Client } from '../../src/client/client.js';
import { unmountAllUnder } from '../../src/kubelet/tmpfs.js';

const run = promisify(execFile);
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const BIN = join(ROOT, 'bin/minipod');
export const docker = new Docker();

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface TestClusterOptions {
  /** Another Docker Engine (unix://…) for the daemon's kubelet; default: the main engine. */
  dockerHost?: string;
  /** Extra environment for the daemon and the CLI (e.g. MINIPOD_NODE_STATUS_UPDATE_FREQUENCY). */
  env?: Record<string, string>;
  /** Extra flags for `minipod daemon` (e.g. --listen, --node-labels). */
  daemonArgs?: string[];
  /** The node name (default: a random e2e-XXXXXX), e.g. to start two clusters on one name. */
  nodeName?: string;
}

export class TestCluster {
  readonly home = mkdtempSync(join(os.tmpdir(), 'minipod-e2e-'));
  readonly node: string;
  private daemon?: ChildProcess;
  client = new Client({ socketPath: join(this.home, 'minipod.sock') });
  /** The Docker Engine this cluster's kubelet uses. */
  readonly docker: Docker;

  constructor(private options: TestClusterOptions = {}) {
    this.docker = options.dockerHost ? new Docker({ socketPath: options.dockerHost.replace(/^unix:\/\//, '') }) : docker;
    this.node = options.nodeName ?? `e2e-${Math.random().toString(36).slice(2, 8)}`;
  }

  get env(): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { ...process.env, MINIPOD_HOME: this.home, MINIPOD_NODE_NAME: this.node, NO_COLOR: '1' };
    if (this.options.dockerHost) env.DOCKER_HOST = this.options.dockerHost;
    return { ...env, ...this.options.env };
  }

  /** The daemon's process id while it runs. */
  get daemonPid(): number | undefined {
    return this.daemon?.exitCode === null ? this.daemon.pid : undefined;
  }

  /** Starts `minipod daemon` in the foreground and waits until its node is registered. */
  async start(): Promise<void> {
    this.daemon = spawn(process.execPath, [BIN, 'daemon', ...(this.options.daemonArgs ?? [])], { env: this.env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    this.daemon.stderr!.on('data', (d) => (stderr += d));
    await waitFor(async () => {
      if (this.daemon!.exitCode !== null) throw new Error(`daemon exited: ${stderr}`);
      try {
        await this.client.getNode(this.node);
        return true;
      } catch {
        return false;
      }
    }, 20_000, 'daemon to start');
  }

  async stopDaemon(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const d = this.daemon;
    if (!d || d.exitCode !== null || d.signalCode !== null) return; // already exited, or killed
    const exited = new Promise((r) => d.once('exit', r));
    d.kill(signal);
    await exited;
    this.client.close();
    this.client = new Client({ socketPath: join(this.home, 'minipod.sock') });
  }

  /** Runs the real CLI. */
  async mp(args: string[], input?: string): Promise<CliResult> {
    return runCli(args, this.env, input);
  }

  /** Docker containers of this test's node (optionally of one pod). */
  async containers(podUid?: string): Promise<Docker.ContainerInfo[]> {
    const label = [`minipod.io/node=${this.node}`];
    if (podUid) label.push(`io.kubernetes.pod.uid=${podUid}`);
    return this.docker.listContainers({ all: true, filters: { label } });
  }

  async cleanup(): Promise<void> {
    await this.stopDaemon();
    this.client.close();
    for (const c of await this.containers().catch(() => [])) await this.docker.getContainer(c.Id).remove({ force: true }).catch(() => {});
    // A node claim that a killed daemon left (a stopped one removes its own).
    const claim = this.docker.getVolume(`minipod-claim-${this.node}`);
    if ((await claim.inspect().catch(() => undefined))?.Labels?.['minipod.io/home'] === this.home) await claim.remove().catch(() => {});
    unmountAllUnder(this.home); // memory-backed emptyDirs of pods that outlived the daemon
    rmSync(this.home, { recursive: true, force: true });
  }
}

export function runCli(args: string[], env: NodeJS.ProcessEnv, input?: string): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env, cwd: ROOT });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    if (input !== undefined) child.stdin.end(input);
    else child.stdin.end();
  });
}

/** Polls `cond` until it returns a truthy value, or fails after `timeoutMs`. */
export async function waitFor<T>(cond: () => Promise<T | false | undefined> | T | false | undefined, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await cond();
      if (v) return v;
    } catch (err) {
      last = err;
      if ((err as Error).message?.startsWith('daemon exited')) throw err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function dockerLogs(id: string): Promise<string> {
  const { stdout } = await run('docker', ['logs', id]);
  return stdout;
}

export async function dockerExec(id: string, cmd: string[]): Promise<string> {
  const { stdout } = await run('docker', ['exec', id, ...cmd]);
  return stdout;
}

/** Resolves with the pod once `pred` holds, following the API's watch (not polling). */
export async function watchPod(client: Client, ns: string, name: string, pred: (p: import('../../src/api/types.js').Pod) => boolean, timeoutMs: number, what: string) {
  type Pod = import('../../src/api/types.js').Pod;
  const list = await client.listPods(ns, { fieldSelector: `metadata.name=${name}` });
  const now = list.items[0];
  if (now && pred(now)) return now;
  return new Promise<Pod>((resolve, reject) => {
    let last: Pod | undefined = now;
    const timer = setTimeout(() => {
      w.stop();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for pod ${name} to be ${what}; last status: ${JSON.stringify(last?.status)}`));
    }, timeoutMs);
    const w = client.watch<Pod>('pods', ns, { fieldSelector: `metadata.name=${name}`, resourceVersion: list.metadata.resourceVersion }, (e) => {
      if (e.type === 'ADDED' || e.type === 'MODIFIED') {
        last = e.object;
        if (pred(e.object)) {
          clearTimeout(timer);
          w.stop();
          resolve(e.object);
        }
      }
    });
    w.done.catch((err) => reject(err));
  });
}
