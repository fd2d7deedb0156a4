// Issue 9, item 5: every command explains itself (`--help` with a description and
// examples that use it), colours show only on a terminal and never with NO_COLOR,
// and `get -o jsonpath=…` against a real daemon. The terminal is a real
// pseudo-terminal: util-linux's `script` runs the CLI on one.
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pod } from '../../src/api/types.js';
import { BIN, ROOT, TestCluster, type CliResult, runCli, watchPod } from './harness.js';

const ESC = '\x1b[';
const stripAnsi = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '');
const shellQuote = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`;

/** Runs the CLI on a pseudo-terminal; its output comes back as the terminal got it (\r\n line ends). */
function onTerminal(args: string[], env: NodeJS.ProcessEnv): Promise<CliResult> {
  const command = [process.execPath, BIN, ...args].map(shellQuote).join(' ');
  return new Promise((resolve) => {
    const child = spawn('script', ['-qfec', command, '/dev/null'], { env, cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

describe('--help', () => {
  // No daemon is needed for help.
  const env = { ...process.env, MINIPOD_HOME: '/nonexistent/minipod-help' };

  /** The subcommands a help text lists, without commander's own `help`. */
  const subcommands = (help: string) =>
    [...(help.split('\nCommands:\n')[1] ?? '').split('\n\n')[0].matchAll(/^ {2}([a-z][\w-]*)/gm)].map((m) => m[1]).filter((c) => c !== 'help');

  it('every command and subcommand has a description and examples that use it', async () => {
    const paths: string[][] = [];
    const walk = async (path: string[]) => {
      const res = await runCli([...path, '--help'], env);
      expect(res.code, path.join(' ')).toBe(0);
      paths.push(path);
      const text = res.stdout;
      const usage = `Usage: minipod${path.length ? ' ' + path.join(' ') : ''} `;
      expect(text.startsWith(usage), `${path.join(' ')}: ${text.slice(0, 80)}`).toBe(true);
      // The description is the paragraph after the usage line.
      expect(text.split('\n')[2].trim().length, `${path.join(' ')} has no description`).toBeGreaterThan(10);
      const examples = text.split('\nExamples:\n')[1];
      expect(examples, `${path.join(' ')} has no examples`).toBeDefined();
      const lines = examples!.split('\n').filter((l) => l.trim());
      expect(lines.length).toBeGreaterThan(0);
      for (const l of lines) expect(l.startsWith('  '), `${path.join(' ')}: example "${l}" is not indented`).toBe(true);
      if (path.length) expect(lines.some((l) => l.includes(`minipod ${path.join(' ')}`)), `${path.join(' ')}: no example runs it`).toBe(true);
      await Promise.all(subcommands(text).map((c) => walk([...path, c])));
    };
    await walk([]);
    const names = paths.map((p) => p.join(' '));
    // The walk found the commands kubectl users reach for, and the nested ones.
    for (const c of ['apply', 'get', 'describe', 'logs', 'exec', 'delete', 'port-forward', 'run', 'daemon start', 'node join']) expect(names).toContain(c);
  });
});

describe('with a daemon', () => {
  const cluster = new TestCluster();
  // The harness sets NO_COLOR for every run; these tests decide it themselves.
  const colourEnv = () => {
    const env: NodeJS.ProcessEnv = { ...cluster.env, TERM: 'xterm-256color' };
    delete env.NO_COLOR;
    delete env.FORCE_COLOR;
    delete env.CI; // chalk would trust a CI's idea of colours
    return env;
  };

  const MANIFESTS = `apiVersion: v1
kind: Pod
metadata: {name: hc-pending}
spec:
  nodeSelector: {nowhere: "true"}
  containers: [{name: c, image: busybox:1.36}]
---
apiVersion: v1
kind: Pod
metadata: {name: hc-never}
spec:
  containers: [{name: c, image: minipod/absent:1, imagePullPolicy: Never}]
---
apiVersion: v1
kind: Pod
metadata: {name: hc-web, labels: {app: web}}
spec:
  containers:
  - {name: side, image: busybox:1.36, command: [sleep, '3600']}
  - {name: web, image: minipod/testbox:1, command: [sleep, '3600']}
`;
  let web: Pod;

  beforeAll(async () => {
    await cluster.start();
    expect((await cluster.mp(['apply', '-f', '-'], MANIFESTS)).code).toBe(0);
    const waiting = (p: Pod) => p.status?.containerStatuses?.[0]?.state.waiting?.reason;
    await watchPod(cluster.client, 'default', 'hc-never', (p) => waiting(p) === 'ErrImageNeverPull', 30_000, 'ErrImageNeverPull');
    await watchPod(cluster.client, 'default', 'hc-pending', (p) => !!p.status?.conditions?.some((c) => c.type === 'PodScheduled' && c.status === 'False'), 30_000, 'unschedulable');
    web = await watchPod(cluster.client, 'default', 'hc-web', (p) => p.status?.phase === 'Running' && !!p.status.podIP, 30_000, 'Running');
  }, 60_000);
  afterAll(() => cluster.cleanup(), 60_000);

  describe('STATUS colours', () => {
    it('on a terminal: red for errors, yellow for waiting, none for Running, columns still aligned', async () => {
      const res = await onTerminal(['get', 'pods'], colourEnv());
      expect(res.code).toBe(0);
      expect(res.stdout).toContain(`${ESC}31mErrImageNeverPull${ESC}39m`);
      expect(res.stdout).toContain(`${ESC}33mPending${ESC}39m`);
      expect(res.stdout).toMatch(/ Running {3}/); // no escape around it
      // Padding counts what shows, not the escapes: STATUS values start under the header.
      const lines = stripAnsi(res.stdout).split('\r\n').filter(Boolean);
      const at = lines[0].indexOf('STATUS');
      expect(lines.slice(1).map((l) => l.slice(at).split(' ')[0])).toEqual(['ErrImageNeverPull', 'Pending', 'Running']);
    });

    it('off with NO_COLOR, even on a terminal', async () => {
      const res = await onTerminal(['get', 'pods'], { ...colourEnv(), NO_COLOR: '1' });
      expect(res.code).toBe(0);
      expect(res.stdout).toContain('ErrImageNeverPull');
      expect(res.stdout).not.toContain(ESC);
    });

    it('off when stdout is not a terminal', async () => {
      const res = await runCli(['get', 'pods'], colourEnv());
      expect(res.code).toBe(0);
      expect(res.stdout).toContain('ErrImageNeverPull');
      expect(res.stdout).not.toContain(ESC);
    });

    it("trace's timeline follows the same rule", async () => {
      const tty = await onTerminal(['trace', 'pod', 'hc-never'], colourEnv());
      expect(tty.stdout).toContain(ESC);
      const plain = await onTerminal(['trace', 'pod', 'hc-never'], { ...colourEnv(), NO_COLOR: '1' });
      expect(plain.stdout).toContain('scheduled to');
      expect(plain.stdout).not.toContain(ESC);
    });
  });

  describe('get -o jsonpath', () => {
    it('a named get gives the object itself; a list gives a List', async () => {
      expect(await cluster.mp(['get', 'pod', 'hc-web', '-o', 'jsonpath={.metadata.name}'])).toEqual({ code: 0, stdout: 'hc-web', stderr: '' });
      expect(await cluster.mp(['get', 'pods', '-o', 'jsonpath={.items[*].metadata.name}'])).toEqual({ code: 0, stdout: 'hc-never hc-pending hc-web', stderr: '' });
      expect((await cluster.mp(['get', 'pods', '-l', 'app=web', '-o', 'jsonpath={.items[0].status.podIP}'])).stdout).toBe(web.status!.podIP);
      expect((await cluster.mp(['get', 'pods', 'hc-web', 'hc-never', '-o', 'jsonpath={.kind} {.items[*].metadata.name}'])).stdout).toBe('List hc-web hc-never');
    });

    it('range, literals and filters, as kubectl users write them', async () => {
      const res = await cluster.mp(['get', 'pods', '-o', 'jsonpath={range .items[*]}{.metadata.name}{"\\t"}{.status.phase}{"\\n"}{end}']);
      expect(res).toEqual({ code: 0, stdout: 'hc-never\tPending\nhc-pending\tPending\nhc-web\tRunning\n', stderr: '' });
      const image = await cluster.mp(['get', 'pod/hc-web', '-o=jsonpath={.spec.containers[?(@.name=="web")].image}']);
      expect(image).toEqual({ code: 0, stdout: 'minipod/testbox:1', stderr: '' });
      const asJson = await cluster.mp(['get', 'pods', '-l', 'app=web', '-o', 'jsonpath-as-json={.items[*].spec.containers[*].name}']);
      expect(asJson.stdout).toBe('[\n    "side",\n    "web"\n]\n');
    });

    it('template errors as kubectl reports them', async () => {
      expect(await cluster.mp(['get', 'pods', '-o', 'jsonpath={.items[0'])).toEqual({ code: 1, stdout: '', stderr: 'error: error parsing jsonpath {.items[0, unterminated array\n' });
      const out = await cluster.mp(['get', 'pods', '-l', 'app=none', '-o', 'jsonpath={.items[0].metadata.name}']);
      expect(out.code).toBe(1);
      expect(out.stderr.split('\n')[0]).toBe(
        'error: error executing jsonpath "{.items[0].metadata.name}": Error executing template: array index out of bounds: index 0, length 0. Printing more information for debugging the template:',
      );
      expect(await cluster.mp(['get', 'pods', '-o', 'jsonpath'])).toEqual({ code: 1, stdout: '', stderr: 'error: template format specified but no template given\n' });
      const bad = await cluster.mp(['get', 'pods', '-o', 'xml']);
      expect(bad.stderr).toBe('error: unable to match a printer suitable for the output format "xml", allowed formats are: json,jsonpath,jsonpath-as-json,name,wide,yaml\n');
    });
  });
});
