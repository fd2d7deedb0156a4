// The daemon log tells what happened to each pod: admitted, scheduled, created,
// started, exited, backed off, probed, killed — one structured line each, with
// pod, uid and container, no key twice; `minipod daemon logs` prints it readably
// (and follows it across rotations); a bad --log-level is refused before anything
// starts.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Pod } from '../../src/api/types.js';
import { BIN, TestCluster, runCli, waitFor } from '../e2e/harness.js';
import { topLevelKeys } from '../support/json-keys.js';

// Pods in three kinds (crash-looping, probed, deleted); MINIPOD_LOG_PODS=30 gives the figure.
const N = Number(process.env.MINIPOD_LOG_PODS ?? 6);
const cluster = new TestCluster({ daemonArgs: ['--log-max-size', N <= 10 ? '8Ki' : '4Mi'] });
beforeAll(() => cluster.start(), 30_000);
afterAll(() => cluster.cleanup(), 60_000);

type Kind = 'crash' | 'probe' | 'kill';
const KINDS: Kind[] = ['crash', 'probe', 'kill'];

function pod(i: number): Pod {
  const kind = KINDS[i % 3];
  const c =
    kind === 'crash'
      ? { name: 'app', image: 'busybox:1.36', command: ['sh', '-c', 'exit 1'] }
      : kind === 'probe'
        ? { name: 'app', image: 'busybox:1.36', command: ['sh', '-c', 'touch /tmp/ready; exec sleep 3600'], readinessProbe: { exec: { command: ['cat', '/tmp/ready'] }, periodSeconds: 2, timeoutSeconds: 5 } }
        : { name: 'app', image: 'busybox:1.36', command: ['sh', '-c', 'trap "exit 0" TERM; while :; do sleep 1; done'] };
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name: `${kind}-${i}` }, spec: { terminationGracePeriodSeconds: 2, containers: [c] } };
}

type Line = Record<string, unknown> & { msg: string; pod?: string; reason?: string };

async function logLines(): Promise<{ raw: string[]; lines: Line[] }> {
  const r = await cluster.mp(['daemon', 'logs', '-o', 'json']);
  expect(r.code, r.stderr).toBe(0);
  const raw = r.stdout.split('\n').filter((l) => l.startsWith('{'));
  return { raw, lines: raw.map((l) => JSON.parse(l) as Line) };
}

it(`logs every state change of ${N} pods with restarts, probes and kills, one line each with pod, uid and container`, async () => {
  const pods = Array.from({ length: N }, (_, i) => pod(i));
  await Promise.all(pods.map((p) => cluster.client.createPod('default', p)));
  const name = (k: Kind) => pods.filter((p) => p.metadata.name!.startsWith(k)).map((p) => p.metadata.name!);
  let late: string[] = [];
  const backedOff = new Set<string>(); // each crash pod seen in CrashLoopBackOff once (they restart at different times)
  await waitFor(async () => {
    const list = (await cluster.client.listPods('default')).items;
    const by = new Map(list.map((p) => [p.metadata.name!, p]));
    for (const n of name('crash')) if (by.get(n)?.status?.containerStatuses?.[0]?.state.waiting?.reason === 'CrashLoopBackOff') backedOff.add(n);
    const crashing = backedOff.size === name('crash').length;
    const unready = [...name('probe'), ...name('kill')].filter((n) => !by.get(n)?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
    late = [...name('crash').filter((n) => !backedOff.has(n)), ...unready].map((n) => `${n}: ${JSON.stringify(by.get(n)?.status?.containerStatuses?.[0]?.state)}`);
    return crashing && !unready.length;
  }, 30_000 + N * 3_000, 'crash pods in CrashLoopBackOff, the others Ready').catch((err) => {
    throw new Error(`${(err as Error).message}: ${late.join('; ')}`);
  });
  await Promise.all(name('kill').map((n) => cluster.client.deletePod('default', n)));
  await waitFor(async () => (await cluster.client.listPods('default')).items.every((p) => !p.metadata.name!.startsWith('kill')), 30_000, 'the killed pods to go');

  const expectations: [string, (l: Line) => boolean][] = [];
  for (const p of pods) {
    const key = `default/${p.metadata.name}`;
    const of = (l: Line) => l.pod === key;
    const kind = p.metadata.name!.split('-')[0] as Kind;
    expectations.push(
      [`${key} admitted`, (l) => of(l) && l.msg === 'pod admitted'],
      [`${key} Scheduled`, (l) => of(l) && l.reason === 'Scheduled'],
      [`${key} sandbox started`, (l) => of(l) && l.msg === 'sandbox started'],
      [`${key} Created`, (l) => of(l) && l.reason === 'Created' && l.container === 'app'],
      [`${key} Started`, (l) => of(l) && l.reason === 'Started' && l.container === 'app'],
    );
    if (kind === 'crash') {
      expectations.push([`${key} exited`, (l) => of(l) && l.msg === 'container exited' && l.container === 'app' && l.exitCode === 1]);
      expectations.push([`${key} BackOff`, (l) => of(l) && l.reason === 'BackOff' && l.level === 40]);
    }
    if (kind === 'probe') expectations.push([`${key} readiness success`, (l) => of(l) && l.msg === 'probe result changed' && l.probe === 'readiness' && l.result === 'success']);
    if (kind === 'kill') expectations.push([`${key} Killing`, (l) => of(l) && l.reason === 'Killing' && l.container === 'app']);
  }
  // The log is written asynchronously: poll it (with a deadline) until every line is there.
  let got = await logLines();
  await waitFor(async () => {
    got = await logLines();
    return expectations.every(([, match]) => got.lines.some(match));
  }, 10_000, 'every expected line in the daemon log').catch(() => undefined);
  const missing = expectations.filter(([, match]) => !got.lines.some(match)).map(([what]) => what);
  expect(missing, 'log lines missing').toEqual([]);

  // Structured: no key twice, one component, and every pod line also names the uid.
  for (const raw of got.raw) {
    const keys = topLevelKeys(raw);
    expect(keys.length - new Set(keys).size, `duplicate keys in ${raw}`).toBe(0);
  }
  for (const l of got.lines.filter((l) => typeof l.pod === 'string' && l.component === 'kubelet')) expect(l.uid, JSON.stringify(l)).toBeTruthy();
  expect(got.lines[0].msg, 'nothing lost to rotation').toBe('store opened');
  const perPod = got.lines.filter((l) => typeof l.pod === 'string').length;
  const bytes = got.raw.reduce((n, l) => n + l.length + 1, 0);
  console.info(`daemon log: ${got.lines.length} lines, ${bytes} bytes (${perPod} lines about pods) for ${N} pods (${N / 3} crash-looping, ${N / 3} probed, ${N / 3} deleted)`);
  if (N <= 10) expect(existsSync(join(cluster.home, 'daemon.log.1')), 'the log was rotated at 8Ki').toBe(true);

  // Readable: time, level, component, message, keys.
  const tail = await cluster.mp(['daemon', 'logs', '--tail', '3']);
  expect(tail.code, tail.stderr).toBe(0);
  const shown = tail.stdout.trimEnd().split('\n');
  expect(shown).toHaveLength(3);
  for (const l of shown) expect(l).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} {2}(TRACE|DEBUG|INFO |WARN |ERROR|FATAL) {2}\S/);
  const warn = await cluster.mp(['daemon', 'logs', '--level', 'warn']);
  expect(warn.stdout.trimEnd().split('\n').every((l) => / {2}(WARN |ERROR|FATAL) {2}/.test(l)), warn.stdout).toBe(true);
  expect(warn.stdout).toContain('Back-off restarting failed container app in pod crash-0_default(');
}, 120_000 + N * 5_000);

it('daemon logs -f prints new lines as they are written', async () => {
  const follower = spawn(process.execPath, [BIN, 'daemon', 'logs', '-f', '--tail', '1'], { env: cluster.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  follower.stdout.on('data', (d) => (out += d));
  try {
    // --tail 1: the last line so far, then the follower is following.
    await waitFor(() => out.endsWith('\n'), 20_000, 'the follower to print the last line');
    expect(out.trimEnd().split('\n')).toHaveLength(1);
    await cluster.client.createPod('default', pod(100 * 3 + 2)); // a plain one: kill-302
    await waitFor(() => /pod admitted {2}.*pod=default\/kill-302/.test(out), 20_000, 'the follower to print the new pod').catch((err) => {
      throw new Error(`${(err as Error).message}; it printed:\n${out}`);
    });
  } finally {
    follower.kill('SIGTERM');
  }
  const code = await new Promise((r) => follower.once('exit', (c) => r(c)));
  expect(code).toBe(0);
}, 30_000);

it('refuses a bad --log-level or --log-max-size before starting anything', async () => {
  for (const [flag, value, message] of [
    ['--log-level', 'verbose', 'invalid log level "verbose": must be one of fatal, error, warn, info, debug, trace'],
    ['--log-max-size', 'lots', 'invalid --log-max-size "lots"'],
  ]) {
    const r = await runCli(['daemon', 'start', flag, value], { ...cluster.env, MINIPOD_HOME: join(cluster.home, 'unused') });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(message);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(existsSync(join(cluster.home, 'unused', 'daemon.log'))).toBe(false);
  }
});
