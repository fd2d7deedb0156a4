// $MINIPOD_HOME is the owner's alone (0700, files 0600, whatever the umask or
// the modes an older version left), and "is a daemon running?" is the daemon's
// lock on it, which the kernel drops the moment the process dies: a zombie or a
// stale pid file is not a running daemon.
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, TestCluster, waitFor } from '../e2e/harness.js';

const cluster = new TestCluster({ daemonArgs: ['--listen', String(20000 + Math.floor(Math.random() * 20000))] });
afterAll(async () => {
  await cluster.mp(['daemon', 'stop']);
  await cluster.cleanup();
}, 60_000);

const mode = (p: string) => statSync(p).mode & 0o777;
const processState = (pid: number) => readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '')[0];

describe('the home folder', () => {
  it('is forced to 0700 and its files to 0600, whatever was there and whatever the umask', async () => {
    mkdirSync(cluster.home, { recursive: true });
    chmodSync(cluster.home, 0o755);
    writeFileSync(join(cluster.home, 'token'), 'a-token-from-an-older-version\n', { mode: 0o644 });
    chmodSync(join(cluster.home, 'token'), 0o644);
    const umask = process.umask(0); // the daemon inherits it
    try {
      await cluster.start();
    } finally {
      process.umask(umask);
    }
    try {
      expect(mode(cluster.home)).toBe(0o700);
      // The pid file comes a moment after the node registers.
      await waitFor(() => existsSync(join(cluster.home, 'daemon.pid')), 10_000, 'the pid file');
      const files = readdirSync(cluster.home).filter((f) => statSync(join(cluster.home, f)).isFile() || statSync(join(cluster.home, f)).isSocket());
      const expected = ['token', 'join-token', 'daemon.log', 'daemon.pid', 'store.db', 'ca.key', 'ca.crt', 'tls.key', 'tls.crt', 'daemon.lock', 'minipod.sock'];
      for (const f of expected) expect(files).toContain(f);
      for (const f of files) expect([f, mode(join(cluster.home, f))]).toEqual([f, 0o600]);
    } finally {
      await cluster.stopDaemon();
    }
  });
});

describe('daemon start after a crash', () => {
  it('starts at once after kill -9, even while the dead daemon is an unreaped zombie', async () => {
    // `exec sleep` leaves the daemon a child that nobody reaps: after kill -9 it stays a zombie.
    const holder = spawn('sh', ['-c', `"${process.execPath}" "${BIN}" daemon >/dev/null 2>&1 & echo $!; exec sleep 120`], { env: cluster.env, stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      const pid = Number(await new Promise<string>((r) => holder.stdout!.once('data', (d) => r(String(d).trim()))));
      await waitFor(async () => (await cluster.mp(['daemon', 'status'])).code === 0, 20_000, 'the daemon to answer');
      const second = await cluster.mp(['daemon']);
      expect(second.code).toBe(1);
      expect(second.stderr).toContain(`the minipod daemon is already running (pid ${pid}) on ${cluster.home}`);

      process.kill(pid, 'SIGKILL');
      await waitFor(() => processState(pid) === 'Z', 5_000, 'the daemon to be a zombie');
      expect(existsSync(join(cluster.home, 'daemon.pid'))).toBe(true); // stale, and pointing at the zombie
      expect((await cluster.mp(['daemon', 'status'])).stdout).toContain('not running');

      const started = await cluster.mp(['daemon', 'start']);
      expect(started.stdout).toMatch(/^minipod daemon started \(pid \d+\)/);
      expect(started.code).toBe(0);
      const status = await cluster.mp(['daemon', 'status']);
      expect(status.stdout).toMatch(/minipod daemon is running \(pid (\d+)\)/);
      expect(status.stdout).not.toContain(`(pid ${pid})`);
      const stopped = await cluster.mp(['daemon', 'stop']);
      expect(stopped.stdout).toMatch(/^minipod daemon stopped/);
      expect((await cluster.mp(['daemon', 'status'])).code).toBe(1);
    } finally {
      holder.kill('SIGKILL');
    }
  });
});
