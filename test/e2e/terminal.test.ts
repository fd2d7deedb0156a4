// Terminal rendering, checked in a real terminal: tmux runs the CLI, send-keys
// types, capture-pane reads the screen as a person would see it.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, ROOT, TestCluster, waitFor } from './harness.js';

const run = promisify(execFile);
const cluster = new TestCluster();
const session = `minipod-${cluster.node}`;
const tmux = (...args: string[]) => run('tmux', args);

/** The visible screen, one string per line, trailing blanks dropped. */
async function screen(): Promise<string[]> {
  const { stdout } = await tmux('capture-pane', '-p', '-t', session);
  return stdout.replace(/\s+$/, '').split('\n');
}

async function type(command: string): Promise<void> {
  await tmux('send-keys', '-t', session, command, 'Enter');
}

beforeAll(async () => {
  await cluster.start();
  const env = Object.entries({ MINIPOD_HOME: cluster.home, PATH: process.env.PATH ?? '', TERM: 'xterm-256color' })
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  await tmux('new-session', '-d', '-s', session, '-x', '160', '-y', '40', '-c', ROOT, `env -i ${env} bash --norc --noprofile`);
  await type(`alias minipod=${BIN}; PS1='$ '; clear`);
}, 30_000);

afterAll(async () => {
  await tmux('kill-session', '-t', session).catch(() => {});
  await cluster.cleanup();
}, 60_000);

describe('in a terminal', () => {
  it('apply --wait redraws one line per pod in place, then prints the summary', async () => {
    await type('minipod apply -f manifests/init-containers.yaml -f manifests/sleeper.yaml --wait; echo "exit=$?"');
    const lines = await waitFor(async () => {
      const s = await screen();
      return s.some((l) => l.startsWith('exit=')) ? s : undefined;
    }, 30_000, 'apply --wait to finish');
    const i = lines.findIndex((l) => l.includes('apply -f manifests/init-containers.yaml'));
    const out = lines.slice(i + 1);
    expect(out[0]).toBe('pod/init-demo created');
    expect(out[1]).toBe('pod/sleeper created');
    // The live block: exactly one line per pod, redrawn in place (no trail of old states).
    expect(out.filter((l) => l.startsWith('pod/init-demo ')).length).toBe(3); // created, live line, summary
    expect(out[2]).toMatch(/^pod\/init-demo\s+(Ready|Running)\s+[\d.]+s$/);
    expect(out[3]).toMatch(/^pod\/sleeper\s+(Ready|Running)\s+[\d.]+s$/);
    expect(out[4]).toMatch(/^pod\/init-demo (Running and Ready|Running) in [\d.]+s$/);
    expect(out[5]).toMatch(/^pod\/sleeper (Running and Ready|Running) in [\d.]+s$/);
    expect(out[6]).toBe('exit=0');
    expect(out.join('\n')).not.toMatch(/\x1b|\[\d+A|\[2K/); // no escape sequences left on screen
  }, 60_000);

  it('trace draws aligned bars with durations', async () => {
    await type('clear; minipod trace pod init-demo; echo "exit=$?"');
    const lines = await waitFor(async () => {
      const s = await screen();
      return s.some((l) => l.startsWith('exit=')) ? s : undefined;
    }, 15_000, 'trace to finish');
    const i = lines.findIndex((l) => l.startsWith('pod/init-demo (uid'));
    const rows = lines.slice(i + 1, lines.findIndex((l) => l.startsWith('exit=')));
    expect(rows.length).toBeGreaterThanOrEqual(6);
    // Every row: offset, a bar column of fixed width, then the duration and label.
    const barStart = rows.map((r) => /^\s*[\d.]+s {2}/.exec(r)![0].length);
    expect(new Set(barStart).size).toBe(1);
    const first = rows.find((r) => r.endsWith('init first ran, exited 0 (Completed)'))!;
    expect(first).toMatch(/█+\s+0\.\d\ds\s+init first/);
    expect(rows.find((r) => r.endsWith('app running'))).toMatch(/█+\s+[\d.]+s\+\s+app running$/);
    expect(lines.find((l) => l.startsWith('exit='))).toBe('exit=0');
  }, 30_000);
});
