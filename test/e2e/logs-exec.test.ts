// Issue 3, item 6: logs (-f, --previous, --tail, --timestamps) and exec (-c, -i, -t,
// exit codes) through the API server, which proxies them to the kubelet's own
// endpoint; kubectl and the JavaScript client use the same subresources.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import net from 'node:net';
import { Writable } from 'node:stream';
import { KubeConfig, Exec } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Node, Pod } from '../../src/api/types.js';
import { BIN, ROOT, TestCluster, dockerLogs, waitFor, watchPod } from './harness.js';

const cluster = new TestCluster();
let forwarder: net.Server;
let server = ''; // http://127.0.0.1:PORT, forwarded to the daemon's socket (no token needed there)

beforeAll(async () => {
  await cluster.start();
  forwarder = net.createServer((c) => {
    const u = net.connect(`${cluster.home}/minipod.sock`);
    c.pipe(u).pipe(c);
    c.on('error', () => u.destroy());
    u.on('error', () => c.destroy());
  });
  await new Promise<void>((r) => forwarder.listen(0, '127.0.0.1', r));
  server = `http://127.0.0.1:${(forwarder.address() as net.AddressInfo).port}`;
}, 30_000);
afterAll(async () => {
  forwarder?.close();
  await cluster.cleanup();
}, 60_000);

const status = (p: Pod, name: string) => p.status?.containerStatuses?.find((s) => s.name === name);
const lines = (s: string) => s.split('\n').filter(Boolean);

/** Starts the CLI and keeps it running; stdout arrives chunk by chunk, with the time it came. */
function startCli(args: string[]) {
  const child = spawn(process.execPath, [BIN, ...args], { env: cluster.env, cwd: ROOT });
  const chunks: { at: number; text: string }[] = [];
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => chunks.push({ at: Date.now(), text }));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
  return { child, chunks, stdout: () => chunks.map((c) => c.text).join(''), stderr: () => stderr, exited };
}

function kill(child: ChildProcess) {
  if (child.exitCode === null) child.kill('SIGINT');
}

describe('the kubelet endpoint', () => {
  it('is published on the node: a unix socket only its owner can open', async () => {
    const node = (await cluster.client.getNode(cluster.node)) as Node & { status: { daemonEndpoints?: { kubeletEndpoint?: { Port?: number } } } };
    const socket = `${cluster.home}/kubelet-${cluster.node}.sock`;
    expect(node.metadata.annotations?.['minipod.io/kubelet-endpoint']).toBe(`unix://${socket}`);
    expect(node.status.daemonEndpoints).toEqual({ kubeletEndpoint: { Port: 0 } });
    const st = statSync(socket);
    expect(st.isSocket()).toBe(true);
    expect(st.mode & 0o777).toBe(0o600);
  });
});

describe('manifests/logs-demo.yaml', () => {
  let pod: Pod;
  beforeAll(async () => {
    expect((await cluster.mp(['apply', '-f', 'manifests/logs-demo.yaml'])).code).toBe(0);
    // The first attempt crashes; the first restart comes at once (no back-off yet).
    pod = await watchPod(cluster.client, 'default', 'logs-demo', (p) => !!status(p, 'app')?.state.running && status(p, 'app')!.restartCount === 1 && !!status(p, 'sidecar')?.state.running, 30_000, 'restarted once and running');
    await waitFor(async () => (await cluster.mp(['logs', 'logs-demo'])).stdout.includes('tick 2'), 10_000, 'the second attempt to tick');
  }, 60_000);

  it('logs shows the running attempt of the annotated default container, without a "Defaulted" notice', async () => {
    const res = await cluster.mp(['logs', 'logs-demo']);
    expect(res.code).toBe(0);
    expect(res.stderr).toBe('');
    expect(lines(res.stdout)[0]).toBe('attempt 2 starting');
    expect(lines(res.stdout)[1]).toBe('attempt 2 tick 1');
    expect(res.stdout).not.toContain('attempt 1');
    expect(res.stdout).not.toContain('sidecar up');
    const side = await cluster.mp(['logs', 'pod/logs-demo', '-c', 'sidecar']);
    expect(side).toMatchObject({ code: 0, stdout: 'sidecar up\n', stderr: '' });
  });

  it('logs --previous shows the crashed attempt, stdout and stderr, as Docker kept it', async () => {
    const res = await cluster.mp(['logs', 'logs-demo', '--previous']);
    expect(res.code).toBe(0);
    expect(lines(res.stdout).sort()).toEqual(['attempt 1 crashing', 'attempt 1 starting']);
    // The same container the pod's lastState names, and Docker agrees on its output.
    const previousId = status(pod, 'app')!.lastState.terminated!.containerID!.replace('docker://', '');
    expect(lines(await dockerLogs(previousId))).toEqual(['attempt 1 starting']); // docker logs' stdout
    const p = await cluster.mp(['logs', 'logs-demo', '-p', '-c', 'sidecar']);
    expect(p).toMatchObject({ code: 1, stdout: '', stderr: 'Error from server (BadRequest): previous terminated container "sidecar" in pod "logs-demo" not found\n' });
  });

  it('--tail and --timestamps select and stamp lines', async () => {
    const res = await cluster.mp(['logs', 'logs-demo', '--tail', '2', '--timestamps']);
    expect(res.code).toBe(0);
    const got = lines(res.stdout);
    expect(got).toHaveLength(2);
    for (const l of got) expect(l).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z attempt 2 tick \d+$/);
    const n = got.map((l) => Number(l.split(' ').at(-1)));
    expect(n[1]).toBe(n[0] + 1);
    expect((await cluster.mp(['logs', 'logs-demo', '--tail', '0'])).stdout).toBe('');
  });

  it('logs -f follows live output until stopped', async () => {
    const started = Date.now();
    const f = startCli(['logs', 'logs-demo', '-f', '--tail', '1']);
    try {
      const ticks = () => lines(f.stdout()).map((l) => Number(/tick (\d+)$/.exec(l)?.[1]));
      const first = await waitFor(() => ticks()[0], 10_000, 'the first line');
      // New lines keep arriving while the command runs: the container ticks every 0.2 s.
      await waitFor(() => (ticks().at(-1) ?? 0) >= first + 5, 10_000, 'five more ticks');
      expect(ticks()).toEqual(ticks().map((_, i) => first + i));
      expect(f.chunks.length).toBeGreaterThan(1);
      expect(f.chunks.at(-1)!.at - f.chunks[0].at).toBeGreaterThanOrEqual(500);
      expect(f.child.exitCode).toBeNull();
    } finally {
      kill(f.child);
    }
    await f.exited;
    expect(Date.now() - started).toBeLessThan(15_000);
  }, 30_000);

  it('exec returns the command output, stdout and stderr apart, and its exit code', async () => {
    const res = await cluster.mp(['exec', 'logs-demo', '--', 'sh', '-c', 'echo out; echo err >&2; exit 7']);
    expect(res.code).toBe(7);
    expect(res.stdout).toBe('out\n');
    expect(res.stderr).toBe('err\ncommand terminated with exit code 7\n');
    // It runs in the app container (the annotation's default): it sees the app's volume.
    expect(await cluster.mp(['exec', 'logs-demo', '--', 'cat', '/state/attempts'])).toEqual({ code: 0, stdout: '2\n', stderr: '' });
    // The sidecar has no such volume: a real failing command, with its own exit code.
    const side = await cluster.mp(['exec', 'logs-demo', '-c', 'sidecar', '--', 'ls', '/state']);
    expect(side.code).toBe(1);
    expect(side.stderr).toBe("ls: /state: No such file or directory\ncommand terminated with exit code 1\n");
  });

  it('exec -i passes stdin and ends it', async () => {
    const res = await cluster.mp(['exec', '-i', 'logs-demo', '--', 'sh', '-c', 'tr a-z A-Z; echo done'], 'hello\nworld\n');
    expect(res).toEqual({ code: 0, stdout: 'HELLO\nWORLD\ndone\n', stderr: '' });
  });

  it('exec -it gives the command a terminal of the caller\'s size', async () => {
    // `script` gives the CLI a pseudo-terminal, as a person's shell would.
    const child = spawn('script', ['-qec', `stty cols 91 rows 27; ${process.execPath} ${BIN} exec -it logs-demo -- sh`, '/dev/null'], { env: cluster.env, cwd: ROOT });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    const exited = new Promise<number>((r) => child.on('close', (c) => r(c ?? -1)));
    try {
      await waitFor(() => out.includes('# '), 15_000, 'the shell prompt');
      child.stdin.write('tty; stty size; exit 5\n');
      expect(await exited).toBe(5);
    } finally {
      kill(child);
    }
    expect(out).toMatch(/\/dev\/pts\/\d+/);
    expect(out).toContain('27 91');
    expect(out).toContain('command terminated with exit code 5');
  }, 30_000);

  it('says what is wrong as kubectl does', async () => {
    expect(await cluster.mp(['exec', 'logs-demo', '-c', 'nope', '--', 'true'])).toMatchObject({
      code: 1,
      stderr: 'error: container nope is not valid for pod logs-demo out of: sidecar, app\n',
    });
    expect(await cluster.mp(['logs', 'logs-demo', '-c', 'nope'])).toMatchObject({ code: 1, stderr: 'error: container nope is not valid for pod logs-demo\n' });
    expect(await cluster.mp(['exec', 'logs-demo'])).toMatchObject({ code: 1, stderr: 'error: you must specify at least one command for the container\n' });
    expect(await cluster.mp(['logs', 'nope'])).toMatchObject({ code: 1, stderr: 'Error from server (NotFound): pods "nope" not found\n' });
    // Without the annotation, the first container is chosen, and the CLI says so.
    const plain = `apiVersion: v1
kind: Pod
metadata: {name: two}
spec:
  containers:
  - {name: first, image: busybox:1.36, env: [{name: WHO, value: first}], command: [sleep, '3600']}
  - {name: second, image: busybox:1.36, command: [sleep, '3600']}
`;
    expect((await cluster.mp(['apply', '-f', '-'], plain)).code).toBe(0);
    await watchPod(cluster.client, 'default', 'two', (p) => !!status(p, 'first')?.state.running, 30_000, 'running');
    const res = await cluster.mp(['exec', 'two', '--', 'sh', '-c', 'echo I am $WHO']);
    expect(res.stderr).toBe('Defaulted container "first" out of: first, second\n');
    expect(res.stdout).toBe('I am first\n');
    // The API itself wants a container name when there is a choice, as Kubernetes' does.
    const raw = await cluster.client.send('GET', '/api/v1/namespaces/default/pods/two/log');
    expect(raw.statusCode).toBe(400);
    const body = await new Promise<string>((r) => {
      let t = '';
      raw.on('data', (d) => (t += d)).on('end', () => r(t));
    });
    expect(JSON.parse(body)).toMatchObject({ kind: 'Status', reason: 'BadRequest', message: 'a container name must be specified for pod two, choose one of: [first second]' });
  }, 60_000);
});

describe('a container that ends', () => {
  it('logs -f ends when the container stops; exec then refuses a completed pod', async () => {
    const m = `apiVersion: v1
kind: Pod
metadata: {name: counter}
spec:
  restartPolicy: Never
  containers:
  - name: main
    image: busybox:1.36
    command: [sh, -c, 'for i in 1 2 3 4 5 6 7 8 9 10; do echo count $i; sleep 0.3; done']
`;
    expect((await cluster.mp(['apply', '-f', '-'], m)).code).toBe(0);
    await watchPod(cluster.client, 'default', 'counter', (p) => !!status(p, 'main')?.state.running, 30_000, 'running');
    const f = startCli(['logs', 'counter', '-f']);
    const code = await f.exited; // no kill: the stream ends with the container
    expect(code).toBe(0);
    expect(lines(f.stdout())).toEqual(Array.from({ length: 10 }, (_, i) => `count ${i + 1}`));
    // Lines came while the container ran, not all at the end.
    expect(f.chunks.at(-1)!.at - f.chunks[0].at).toBeGreaterThanOrEqual(1000);
    await watchPod(cluster.client, 'default', 'counter', (p) => p.status?.phase === 'Succeeded', 10_000, 'Succeeded');
    expect(await cluster.mp(['logs', 'counter', '--tail', '1'])).toMatchObject({ code: 0, stdout: 'count 10\n' });
    expect(await cluster.mp(['exec', 'counter', '--', 'true'])).toMatchObject({
      code: 1,
      stderr: 'error: cannot exec into a container in a completed pod; current phase is Succeeded\n',
    });
  }, 60_000);
});

describe('manifests/crashloop.yaml', () => {
  it('in back-off, logs and logs --previous show the last crash; exec finds no running container', async () => {
    expect((await cluster.mp(['apply', '-f', 'manifests/crashloop.yaml'])).code).toBe(0);
    const pod = await watchPod(cluster.client, 'default', 'crashloop', (p) => status(p, 'main')?.state.waiting?.reason === 'CrashLoopBackOff', 30_000, 'CrashLoopBackOff');
    const lastId = status(pod, 'main')!.lastState.terminated!.containerID!.replace('docker://', '');
    const crashed = await dockerLogs(lastId);
    expect(crashed).toMatch(/^crashing at \d\d:\d\d:\d\d\n$/);
    expect(await cluster.mp(['logs', 'crashloop'])).toMatchObject({ code: 0, stdout: crashed });
    expect(await cluster.mp(['logs', 'crashloop', '--previous'])).toMatchObject({ code: 0, stdout: crashed });
    expect(await cluster.mp(['exec', 'crashloop', '--', 'true'])).toMatchObject({
      code: 1,
      stderr: 'error: unable to upgrade connection: container not found ("main")\n',
    });
  }, 60_000);

  it('a container still waiting to start has no log yet', async () => {
    const m = `apiVersion: v1
kind: Pod
metadata: {name: never-pulled}
spec:
  containers:
  - {name: main, image: minipod-test/missing:1, imagePullPolicy: Never}
`;
    expect((await cluster.mp(['apply', '-f', '-'], m)).code).toBe(0);
    await watchPod(cluster.client, 'default', 'never-pulled', (p) => status(p, 'main')?.state.waiting?.reason === 'ErrImageNeverPull', 30_000, 'ErrImageNeverPull');
    expect(await cluster.mp(['logs', 'never-pulled'])).toMatchObject({
      code: 1,
      stderr: 'Error from server (BadRequest): container "main" in pod "never-pulled" is waiting to start: ErrImageNeverPull\n',
    });
  }, 60_000);
});

describe('other API clients', () => {
  const hasKubectl = (() => {
    try {
      execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();

  it.skipIf(!hasKubectl)('kubectl logs and exec work against the daemon', async () => {
    // Not execFileSync: the forwarder to the daemon's socket lives in this process.
    const kubectl = (args: string[], input?: string) =>
      new Promise<{ code: number; out: string; err: string }>((resolve) => {
        const child = spawn('kubectl', ['--server', server, ...args]);
        let out = '';
        let err = '';
        child.stdout.on('data', (d) => (out += d));
        child.stderr.on('data', (d) => (err += d));
        child.on('close', (code) => resolve({ code: code ?? -1, out, err }));
        child.stdin.end(input ?? '');
      });
    expect((await kubectl(['logs', 'logs-demo', '--previous'])).out).toContain('attempt 1 starting');
    expect(await kubectl(['exec', 'logs-demo', '--', 'sh', '-c', 'cat /state/attempts; exit 3'])).toEqual({ code: 3, out: '2\n', err: 'command terminated with exit code 3\n' });
    expect(await kubectl(['exec', '-i', 'logs-demo', '--', 'cat'], 'via kubectl\n')).toEqual({ code: 0, out: 'via kubectl\n', err: '' });
  }, 30_000);

  it('the JavaScript client execs over the same WebSocket protocol', async () => {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'minipod', server, skipTLSVerify: true }],
      users: [{ name: 'me' }],
      contexts: [{ name: 'minipod', cluster: 'minipod', user: 'me' }],
      currentContext: 'minipod',
    });
    let out = '';
    const sink = new Writable({ write: (c, _e, cb) => ((out += c), cb()) });
    const result = await new Promise<{ status?: string; code?: string }>((resolve, reject) => {
      new Exec(kc)
        .exec('default', 'logs-demo', 'app', ['sh', '-c', 'echo from js; exit 4'], sink, sink, null, false, (s) =>
          resolve({ status: s.status, code: s.details?.causes?.find((c) => c.reason === 'ExitCode')?.message }),
        )
        .catch(reject);
    });
    expect(out).toBe('from js\n');
    expect(result).toEqual({ status: 'Failure', code: '4' });
  });
});
