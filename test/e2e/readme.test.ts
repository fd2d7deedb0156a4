// The README's tutorial cannot go stale: every `$ minipod …` line in it runs here,
// in order, against a fresh daemon, and what it prints must be what the README
// shows — after ages, IPs, uids, times and the node's name are masked; a line
// `...` stands for any number of lines.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ROOT, TestCluster } from './harness.js';

const README_NODE = 'vm'; // the node name the README's output shows

interface Step {
  command: string;
  expected: string[];
}

export function tutorialSteps(readme: string): Step[] {
  const start = readme.indexOf('\n## Tutorial');
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end);
  const steps: Step[] = [];
  for (const block of section.matchAll(/```console\n([\s\S]*?)```/g)) {
    for (const line of block[1].replace(/\n$/, '').split('\n')) {
      if (line.startsWith('$ ')) steps.push({ command: line.slice(2), expected: [] });
      else steps.at(-1)!.expected.push(line);
    }
  }
  return steps;
}

export function normalize(line: string, node: string): string {
  return line
    .replaceAll(node, README_NODE)
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '<uid>')
    .replace(/\d{4}-\d\d-\d\dT[\d:.]+Z/g, '<time>')
    .replace(/\b\d+\.\d+\.\d+\.\d+\b/g, '<ip>')
    .replace(/\b\d+\.\d+s\b\+?/g, '<duration>')
    .replace(/\b\d+[smhd](\d+[smh])?\b/g, '<age>')
    .replace(/[█│]+/g, '<bar>')
    .replace(/\s+/g, ' ')
    .trim();
}

/** Matches actual lines against expected ones, where `...` is any number of lines. */
export function matches(expected: string[], actual: string[]): boolean {
  if (!expected.length) return !actual.length;
  if (expected[0] === '...') {
    for (let skip = 0; skip <= actual.length; skip++) if (matches(expected.slice(1), actual.slice(skip))) return true;
    return false;
  }
  return actual.length > 0 && expected[0] === actual[0] && matches(expected.slice(1), actual.slice(1));
}

const cluster = new TestCluster();
beforeAll(() => cluster.start(), 30_000);
afterAll(() => cluster.cleanup(), 60_000);

function sh(command: string): Promise<string> {
  return new Promise((resolve) => {
    const env = { ...cluster.env, PATH: `${join(ROOT, 'bin')}:${process.env.PATH}` };
    const child = spawn('bash', ['-c', `{ ${command}\n} 2>&1`], { cwd: ROOT, env });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('close', () => resolve(out));
  });
}

it('runs every command of the README tutorial and prints what the README shows', async () => {
  const steps = tutorialSteps(readFileSync(join(ROOT, 'README.md'), 'utf8'));
  expect(steps.length).toBeGreaterThanOrEqual(30);
  for (const step of steps) {
    const out = await sh(step.command);
    const actual = out.replace(/\n$/, '').split('\n').filter((l, i, all) => l !== '' || i < all.length - 1);
    const want = step.expected.map((l) => (l === '...' ? l : normalize(l, README_NODE)));
    const got = (out === '' ? [] : actual).map((l) => normalize(l, cluster.node));
    expect(matches(want, got), `$ ${step.command}\n--- README shows:\n${step.expected.join('\n')}\n--- minipod printed:\n${out}`).toBe(true);
  }
}, 180_000);
