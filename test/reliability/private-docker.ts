// A private Docker Engine for tests that stop, freeze or restart dockerd: its own
// data root, exec root, pid file, unix socket and bridge, so the machine's main
// engine (which other test files use in parallel) is never touched. Its bridge is
// one we create: a second dockerd with `--bridge none` deletes the main docker0.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Docker from 'dockerode';

const run = promisify(execFile);

export class PrivateDocker {
  readonly dir = mkdtempSync(join(os.tmpdir(), 'mp-dockerd-'));
  readonly socket = join(this.dir, 'docker.sock');
  readonly host = `unix://${this.socket}`;
  // Interface names are at most 15 characters.
  readonly bridge = `mp-rel${Math.random().toString(36).slice(2, 8)}`;
  readonly docker = new Docker({ socketPath: this.socket });
  private proc?: ChildProcess;
  private subnet?: string;

  /** Creates the bridge (first time), starts dockerd and waits until it answers. */
  async start(timeoutMs = 20_000): Promise<number> {
    if (!this.subnet) await this.createBridge();
    const began = Date.now();
    const log = openSync(join(this.dir, 'dockerd.log'), 'a');
    this.proc = spawn(
      'dockerd',
      [
        `--data-root=${join(this.dir, 'data')}`,
        `--exec-root=${join(this.dir, 'exec')}`,
        `--pidfile=${join(this.dir, 'docker.pid')}`,
        `-H`, this.host,
        `--bridge=${this.bridge}`,
        // No iptables: a second engine must not rewrite the main engine's DOCKER chains.
        '--iptables=false',
        '--ip-masq=false',
        '--cgroup-parent=/minipod-reliability',
        '--shutdown-timeout=1',
      ],
      { stdio: ['ignore', log, log] },
    );
    const exited = new Promise<void>((_, reject) => this.proc!.once('exit', (code) => reject(new Error(`dockerd exited (${code}); see ${join(this.dir, 'dockerd.log')}`))));
    exited.catch(() => {});
    for (;;) {
      const ok = await Promise.race([this.docker.ping().then(() => true, () => false), exited]);
      if (ok) return Date.now() - began;
      if (Date.now() - began > timeoutMs) throw new Error(`dockerd did not answer within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Stops dockerd with `signal` and waits for it to exit (SIGKILL: a crash). */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const containerd = this.containerdPid();
    const exited = new Promise((r) => p.once('exit', r));
    p.kill(signal);
    await exited;
    this.proc = undefined;
    // A killed dockerd leaves its pid file behind, and the next start refuses to run.
    rmSync(join(this.dir, 'docker.pid'), { force: true });
    // Its containerd dies with it, but not at once: a start before that waits for the
    // dying one and gives up.
    for (const deadline = Date.now() + 10_000; containerd && alive(containerd) && Date.now() < deadline; ) {
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  private containerdPid(): number | undefined {
    try {
      return Number(readFileSync(join(this.dir, 'exec/containerd/containerd.pid'), 'utf8').trim()) || undefined;
    } catch {
      return undefined;
    }
  }

  /** Freezes (SIGSTOP) or thaws (SIGCONT) dockerd: it keeps its socket but answers nothing. */
  signal(signal: 'SIGSTOP' | 'SIGCONT'): void {
    this.proc?.kill(signal);
  }

  /** Copies images from the main engine (no registry is reachable). */
  async loadImages(images: string[]): Promise<void> {
    const save = spawn('docker', ['save', ...images], { stdio: ['ignore', 'pipe', 'inherit'] });
    const load = spawn('docker', ['-H', this.host, 'load', '-q'], { stdio: ['pipe', 'ignore', 'inherit'] });
    save.stdout.pipe(load.stdin);
    const code = await new Promise<number | null>((r) => load.once('exit', r));
    if (code !== 0) throw new Error(`docker load into the private engine failed (${code})`);
  }

  /**
   * Stops dockerd, removes every container, its mounts, its data and its bridge.
   * Bounded in time and best effort at each step: a test that failed half-way
   * must still leave no dockerd, mount or bridge behind.
   */
  async destroy(): Promise<void> {
    const p = this.proc;
    if (p && p.exitCode === null && p.signalCode === null) {
      this.signal('SIGCONT');
      const removeAll = this.docker
        .listContainers({ all: true })
        .then((list) => Promise.all(list.map((c) => this.docker.getContainer(c.Id).remove({ force: true }).catch(() => {}))))
        .catch(() => {});
      await Promise.race([removeAll, new Promise((r) => setTimeout(r, 10_000))]);
      const exited = this.stop('SIGTERM');
      const late = await Promise.race([exited.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), 15_000))]);
      if (late) await this.stop('SIGKILL');
    }
    if (this.subnet) await run('ip', ['link', 'del', this.bridge]).catch(() => {});
    this.subnet = undefined;
    // dockerd bind-mounts its data root onto itself, and may leave overlay mounts under it.
    const { stdout } = await run('findmnt', ['-rn', '-o', 'TARGET']).catch(() => ({ stdout: '' }));
    const mounts = stdout.split('\n').filter((m) => m.startsWith(this.dir)).sort((a, b) => b.length - a.length);
    for (const m of mounts) await run('umount', ['-l', m]).catch(() => {});
    try {
      rmSync(this.dir, { recursive: true, force: true });
    } catch (err) {
      console.warn(`private dockerd: could not remove ${this.dir}: ${(err as Error).message}`);
    }
  }

  private async createBridge(): Promise<void> {
    const { stdout } = await run('ip', ['-4', 'route', 'show']);
    let subnet: string | undefined;
    for (let i = 0; i < 50 && !subnet; i++) {
      const candidate = `10.213.${Math.floor(Math.random() * 254) + 1}`;
      if (!stdout.includes(`${candidate}.`)) subnet = candidate;
    }
    if (!subnet) throw new Error('no free 10.213.x.0/24 subnet for the private bridge');
    await run('ip', ['link', 'add', 'name', this.bridge, 'type', 'bridge']);
    this.subnet = subnet;
    await run('ip', ['addr', 'add', `${subnet}.1/24`, 'dev', this.bridge]);
    await run('ip', ['link', 'set', this.bridge, 'up']);
  }

  get bridgeSubnet(): string | undefined {
    return this.subnet && `${this.subnet}.0/24`;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** docker0's IPv4 address on the main engine ('' when it is gone). */
export async function docker0Address(): Promise<string> {
  if (!existsSync('/sys/class/net/docker0')) return '';
  const { stdout } = await run('ip', ['-4', '-o', 'addr', 'show', 'docker0']);
  return /inet (\S+)/.exec(stdout)?.[1] ?? '';
}
