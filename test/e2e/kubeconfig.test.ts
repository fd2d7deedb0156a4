// `minipod kubeconfig [--merge]` against a real daemon listening on TCP: the
// kubeconfig it writes is enough for a real kubectl 1.32 (`get pods`, `get nodes`),
// merged into a $KUBECONFIG that holds another cluster (kept), through a symlink
// (kept), mode 0600 under umask 0, and the token never on stderr. A daemon that does
// not listen on TCP, or is not running, is a one-line error saying what to do.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readFileSync, realpathSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { BIN, type CliResult, TestCluster } from './harness.js';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

/** kubectl 1.32 beside the file that the `kubectl` on PATH (a version-dispatching wrapper) links to. */
function findKubectl132(): string | undefined {
  try {
    const wrapper = execFileSync('sh', ['-c', 'command -v kubectl'], { encoding: 'utf8' }).trim();
    const real = join(dirname(realpathSync(wrapper)), 'kubectl.1.32');
    return existsSync(real) ? real : undefined;
  } catch {
    return undefined;
  }
}
const KUBECTL = findKubectl132();
if (!KUBECTL) console.warn('kubectl.1.32 was not found next to the kubectl on PATH: the kubectl steps of kubeconfig.test.ts are skipped');

const port = await freePort();
const cluster = new TestCluster({ daemonArgs: ['--listen', `127.0.0.1:${port}`] });
/** A second home, for a daemon without --listen (and none at all). */
const bare = new TestCluster();
let token = '';
beforeAll(async () => {
  await cluster.start();
  token = readFileSync(join(cluster.home, 'token'), 'utf8').trim();
}, 30_000);
afterAll(async () => {
  await bare.mp(['daemon', 'stop']);
  await Promise.all([cluster.cleanup(), bare.cleanup()]);
}, 60_000);

const run = (cmd: string, args: string[], env: NodeJS.ProcessEnv) =>
  new Promise<CliResult>((resolve) => {
    const child = spawn(cmd, args, { env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end();
  });

/** `minipod kubeconfig …` with kubectl's environment: its own HOME and KUBECONFIG. */
const kubeEnv = (home: string, kubeconfig?: string): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = { ...cluster.env, HOME: home };
  if (kubeconfig === undefined) delete env.KUBECONFIG;
  else env.KUBECONFIG = kubeconfig;
  return env;
};
const minipod = (args: string[], env: NodeJS.ProcessEnv) => run(process.execPath, [BIN, ...args], env);

const OTHER = `# someone else's cluster
apiVersion: v1
kind: Config
clusters:
- name: elsewhere
  cluster:
    server: https://elsewhere.example:6443
users:
- name: elsewhere-admin
  user:
    token: elsewhere-secret
contexts:
- name: elsewhere
  context: {cluster: elsewhere, user: elsewhere-admin}
current-context: elsewhere
`;

describe('minipod kubeconfig', () => {
  it('prints a kubeconfig for the listener: server, the CA, the admin token, its context current', async () => {
    const r = await cluster.mp(['kubeconfig']);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    const cfg = parse(r.stdout);
    expect(cfg).toMatchObject({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'minipod', cluster: { server: `https://127.0.0.1:${port}` } }],
      users: [{ name: 'minipod', user: { token } }],
      contexts: [{ name: 'minipod', context: { cluster: 'minipod', user: 'minipod' } }],
      'current-context': 'minipod',
    });
    expect(Buffer.from(cfg.clusters[0].cluster['certificate-authority-data'], 'base64').toString()).toBe(readFileSync(join(cluster.home, 'ca.crt'), 'utf8'));
  });

  it('--merge adds minipod to $KUBECONFIG (through its symlink, 0600 under umask 0), keeps the rest, and kubectl 1.32 works', async () => {
    const home = join(cluster.home, 'kubectl-home');
    mkdirSync(home, { recursive: true });
    const real = join(home, 'real-config');
    writeFileSync(real, OTHER, { mode: 0o644 });
    const link = join(home, 'config-link');
    symlinkSync(real, link);
    const env = kubeEnv(home, `${link}:${join(home, 'second')}`);
    const umask = process.umask(0); // the CLI inherits it
    let r: CliResult;
    try {
      r = await minipod(['kubeconfig', '--merge'], env);
    } finally {
      process.umask(umask);
    }
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`Added cluster, user and context "minipod" (https://127.0.0.1:${port}) in ${link} (a link to ${real})\nSet kubectl context to "minipod"\n`);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(statSync(real).mode & 0o777).toBe(0o600);
    expect(existsSync(join(home, 'second'))).toBe(false);
    const cfg = parse(readFileSync(real, 'utf8'));
    expect(cfg['current-context']).toBe('minipod');
    expect(cfg.clusters.map((c: { name: string }) => c.name)).toEqual(['elsewhere', 'minipod']);
    expect(cfg.users[0]).toEqual({ name: 'elsewhere-admin', user: { token: 'elsewhere-secret' } });
    expect(readFileSync(real, 'utf8')).toContain("# someone else's cluster");

    if (!KUBECTL) return;
    const pods = await run(KUBECTL, ['get', 'pods'], env);
    expect(pods, pods.stderr).toMatchObject({ code: 0 });
    expect(pods.stderr).toContain('No resources found in default namespace.');
    const nodes = await run(KUBECTL, ['get', 'nodes'], env);
    expect(nodes, nodes.stderr).toMatchObject({ code: 0 });
    expect(nodes.stdout).toMatch(new RegExp(`^${cluster.node}\\s+Ready\\b`, 'm'));

    // Again, with --no-switch, after the user chose another context: replaced, not duplicated; the choice kept.
    expect((await run(KUBECTL, ['config', 'use-context', 'elsewhere'], env)).code).toBe(0);
    const again = await minipod(['kubeconfig', '--merge', '--no-switch'], env);
    expect(again).toMatchObject({ code: 0, stderr: '' });
    expect(again.stdout).toContain('Updated cluster, user and context "minipod"');
    expect(again.stdout).toContain('kubectl context left as "elsewhere"');
    const after = parse(readFileSync(real, 'utf8'));
    expect(after['current-context']).toBe('elsewhere');
    expect(after.contexts.map((c: { name: string }) => c.name)).toEqual(['elsewhere', 'minipod']);
    const byContext = await run(KUBECTL, ['--context', 'minipod', 'get', 'nodes', '-o', 'name'], env);
    expect(byContext).toMatchObject({ code: 0, stdout: `node/${cluster.node}\n` });
  });

  it('--merge creates ~/.kube/config when there is no KUBECONFIG', async () => {
    const home = join(cluster.home, 'fresh-home');
    mkdirSync(home, { recursive: true });
    const r = await minipod(['kubeconfig', '--merge'], kubeEnv(home));
    expect(r).toMatchObject({ code: 0, stderr: '' });
    const file = join(home, '.kube', 'config');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(parse(readFileSync(file, 'utf8'))['current-context']).toBe('minipod');
  });

  it('refuses to overwrite a malformed kubeconfig, naming the file and the problem', async () => {
    const home = join(cluster.home, 'broken-home');
    mkdirSync(home, { recursive: true });
    const file = join(home, 'config');
    const broken = 'apiVersion: v1\nclusters:\n- name: a\n  cluster: {server: "https://a"\nusers: []\n';
    writeFileSync(file, broken);
    const r = await minipod(['kubeconfig', '--merge'], kubeEnv(home, file));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^error: ${file} is not a valid kubeconfig: .*\\(line \\d+, column \\d+\\); it was left unchanged\\n$`));
    expect(readFileSync(file, 'utf8')).toBe(broken);
    expect(r.stderr).not.toContain(token);
  });

  it('--server writes another address, and warns when the certificate does not name it', async () => {
    const ok = await cluster.mp(['kubeconfig', '--server', `https://localhost:${port}`]);
    expect(ok).toMatchObject({ code: 0, stderr: '' });
    expect(parse(ok.stdout).clusters[0].cluster.server).toBe(`https://localhost:${port}`);
    const far = await cluster.mp(['kubeconfig', '--server', 'https://10.255.0.7:6443']);
    expect(far.code).toBe(0);
    expect(far.stderr).toContain("warning: the API server's certificate");
    expect(far.stderr).toContain('does not name 10.255.0.7');
    expect(far.stderr).not.toContain(token);
    const plain = await cluster.mp(['kubeconfig', '--server', `http://127.0.0.1:${port}`]);
    expect(plain).toMatchObject({ code: 1, stdout: '' });
    expect(plain.stderr).toContain('--server wants https://HOST:PORT');
  });
});

describe('minipod kubeconfig without a TCP listener', () => {
  it('says to start the daemon with --listen: when none runs, and when it runs without --listen; daemon start --listen hints at it', async () => {
    const none = await bare.mp(['kubeconfig']);
    expect(none).toMatchObject({ code: 1, stdout: '' });
    expect(none.stderr).toBe(`error: the minipod daemon is not running on ${bare.home}: start it with: minipod daemon start --listen 127.0.0.1:6443\n`);

    expect((await bare.mp(['daemon', 'start', '--no-kubelet'])).code).toBe(0);
    const unix = await bare.mp(['kubeconfig', '--merge']);
    expect(unix).toMatchObject({ code: 1, stdout: '' });
    expect(unix.stderr).toMatch(/^error: the minipod daemon \(pid \d+\) does not listen on TCP, which kubectl needs: restart it with --listen: minipod daemon stop && minipod daemon start --listen 127.0.0.1:6443\n$/);
    expect((await bare.mp(['daemon', 'stop'])).code).toBe(0);

    const barePort = await freePort();
    const started = await bare.mp(['daemon', 'start', '--no-kubelet', '--listen', `127.0.0.1:${barePort}`]);
    expect(started.code).toBe(0);
    expect(started.stdout).toMatch(/^minipod daemon started \(pid \d+\)/);
    expect(started.stdout).toContain('\nkubectl: minipod kubeconfig --merge\n');
    const listening = await bare.mp(['kubeconfig']);
    expect(listening.code).toBe(0);
    expect(parse(listening.stdout).clusters[0].cluster.server).toBe(`https://127.0.0.1:${barePort}`);
  }, 90_000);
});
