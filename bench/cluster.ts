// The benchmarks' own minipod daemon: its own MINIPOD_HOME, socket and node name
// (every Docker object it makes carries that node's label), as the e2e harness does.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Docker from 'dockerode';
import { mustRun, sleep, timeProcess, type Timed } from './proc.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const BIN = join(ROOT, 'bin/minipod');
export const docker = new Docker();

export class BenchCluster {
  readonly home = mkdtempSync(join(os.tmpdir(), 'minipod-bench-'));
  readonly node = `bench-${Math.random().toString(36).slice(2, 8)}`;
  private daemon?: ChildProcess;

  get env(): NodeJS.ProcessEnv {
    return { ...process.env, MINIPOD_HOME: this.home, MINIPOD_NODE_NAME: this.node, NO_COLOR: '1', MINIPOD_LOG_LEVEL: 'warn' };
  }

  get socket(): string {
    return join(this.home, 'minipod.sock');
  }

  file(name: string, text: string): string {
    const path = join(this.home, name);
    writeFileSync(path, text);
    return path;
  }

  async start(): Promise<void> {
    this.daemon = spawn(process.execPath, [BIN, 'daemon'], { env: this.env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    this.daemon.stderr!.on('data', (d) => (stderr += d));
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      if (this.daemon.exitCode !== null) throw new Error(`the bench daemon exited: ${stderr}`);
      if ((await this.get(`/api/v1/nodes/${this.node}`).catch(() => 0)) === 200) return;
      await sleep(100);
    }
    throw new Error('the bench daemon did not register its node within 30 s');
  }

  get pid(): number | undefined {
    return this.daemon?.pid;
  }

  /** Status code of a GET against the daemon's socket. */
  get(path: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const req = http.get({ socketPath: this.socket, path, agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
    });
  }

  /** The real CLI, timed from spawn to exit. */
  mp(args: string[]): Promise<Timed> {
    return timeProcess(process.execPath, [BIN, ...args], this.env, ROOT);
  }

  async mustMp(args: string[]): Promise<Timed> {
    return mustRun(process.execPath, [BIN, ...args], this.env, ROOT);
  }

  /** This daemon's containers in Docker. */
  containers(): Promise<Docker.ContainerInfo[]> {
    return docker.listContainers({ all: true, filters: { label: [`minipod.io/node=${this.node}`] } });
  }

  async waitNoContainers(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while ((await this.containers()).length) {
      if (Date.now() > deadline) throw new Error('containers of deleted pods are still there');
      await sleep(50);
    }
  }

  async stop(): Promise<void> {
    const d = this.daemon;
    if (d && d.exitCode === null) {
      const exited = new Promise((r) => d.once('exit', r));
      d.kill('SIGTERM');
      await exited;
    }
  }

  async cleanup(): Promise<void> {
    await this.stop();
    for (const c of await this.containers()) await docker.getContainer(c.Id).remove({ force: true }).catch(() => {});
    rmSync(this.home, { recursive: true, force: true });
  }
}

/** `node -e 0`: the start-up floor of any Node command-line tool. */
export function nodeFloor(): Promise<Timed> {
  return mustRun(process.execPath, ['-e', '0'], process.env, ROOT);
}

export { timeProcess };
