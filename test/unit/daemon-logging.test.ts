// The daemon's log: rotated by size with no line lost, one `component` key per
// line, levels checked, and `daemon logs` turning a JSON line into a readable one.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { follow, formatLogLine } from '../../src/cli/commands/daemon-logs.js';
import { createLogger, logLevel, parseLogSize } from '../../src/daemon/logging.js';
import { topLevelKeys } from '../support/json-keys.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempLog(): string {
  const dir = mkdtempSync(join(os.tmpdir(), 'minipod-log-'));
  dirs.push(dir);
  return join(dir, 'daemon.log');
}

/** Polls (with a deadline) until the asynchronous destination has written line `n` to one of `files`. */
async function written(files: string[], n: number): Promise<void> {
  const deadline = Date.now() + 5000;
  const mark = `"n":${n},`;
  while (!files.some((f) => existsSync(f) && readFileSync(f, 'utf8').includes(mark))) {
    if (Date.now() > deadline) throw new Error(`line ${n} was not written within 5 s`);
    await new Promise((r) => setImmediate(r));
  }
}

async function waitUntil(cond: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('not within 5 s');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('daemon log', () => {
  it('rotates past the size limit, keeps the newest files and loses no line in between', async () => {
    const file = tempLog();
    const logger = createLogger({ file, level: 'info', maxBytes: 8 * 1024, maxFiles: 2 });
    const N = 400; // ~100 bytes each: about five rotations
    for (let i = 0; i < N; i++) {
      logger.info({ n: i }, 'a line of about a hundred bytes');
      if (i % 50 === 49) await written([file, `${file}.1`], i); // bursts, as a daemon writes them
    }
    expect(existsSync(`${file}.1`)).toBe(true);
    expect(existsSync(`${file}.2`)).toBe(true);
    expect(existsSync(`${file}.3`), 'only two rotated files are kept').toBe(false);
    const kept = [`${file}.2`, `${file}.1`, file].flatMap((f) => readFileSync(f, 'utf8').split('\n').filter(Boolean)).map((l) => (JSON.parse(l) as { n: number }).n);
    // What is kept is the newest lines, in order, without a gap.
    expect(kept.at(-1)).toBe(N - 1);
    expect(kept).toEqual(Array.from({ length: kept.length }, (_, k) => N - kept.length + k));
    for (const f of [`${file}.2`, `${file}.1`]) expect(readFileSync(f).length).toBeLessThan(8 * 1024 + 50 * 120);
  });

  it('is followed across rotations without a line lost or repeated', async () => {
    const file = tempLog();
    const logger = createLogger({ file, level: 'info', maxBytes: 4096, maxFiles: 1 });
    logger.info({ n: -1 }, 'before following');
    await written([file], -1);
    const seen: number[] = [];
    const following = follow(file, (l) => seen.push((JSON.parse(l) as { n: number }).n), 10);
    const N = 300; // ~7 rotations of 4 KiB
    for (let i = 0; i < N; i++) {
      logger.info({ n: i }, 'a line of about a hundred bytes');
      if (i % 20 === 19) {
        await written([file, `${file}.1`], i);
        const upTo = i;
        await waitUntil(() => seen.includes(upTo)); // the follower caught up before the next rotation
      }
    }
    following.stop();
    expect(seen).toEqual(Array.from({ length: N }, (_, i) => i));
  });

  it('writes one component key per line, also for a component logger’s children', async () => {
    const file = tempLog();
    const root = createLogger({ file, level: 'info' });
    root.child({ component: 'kubelet', node: 'n1' }).child({ pod: 'default/web', uid: 'u1' }).info({ container: 'app', n: 1 }, 'container exited');
    await written([file], 1);
    const line = readFileSync(file, 'utf8').trim();
    const keys = topLevelKeys(line);
    expect(keys.filter((k) => k === 'component')).toEqual(['component']);
    expect(new Set(keys).size, `duplicate keys in ${line}`).toBe(keys.length);
  });

  it('refuses an unknown level or size with the choices', () => {
    expect(logLevel('debug')).toBe('debug');
    expect(() => logLevel('verbose')).toThrow('invalid log level "verbose": must be one of fatal, error, warn, info, debug, trace');
    expect(parseLogSize('10Mi')).toBe(10 * 1024 * 1024);
    expect(() => parseLogSize('10 apples')).toThrow('invalid --log-max-size "10 apples"');
    expect(() => parseLogSize('1Ki')).toThrow('at least 4Ki');
  });

  it('prints a line readably, filters by level, and passes non-JSON lines through', () => {
    const line = JSON.stringify({ level: 40, time: Date.UTC(2026, 11, 2, 16, 0, 1, 234), pid: 7, component: 'kubelet', node: 'n1', pod: 'default/web', container: 'app', reason: 'BackOff', msg: 'Back-off restarting failed container app', err: { type: 'Error', message: 'boom here', stack: 'Error: boom here\n  at x' } });
    expect(formatLogLine(line)).toBe('2026-12-02 16:00:01.234  WARN   kubelet  Back-off restarting failed container app  node=n1 pod=default/web container=app reason=BackOff err="boom here"');
    expect(formatLogLine(line, 50)).toBeUndefined();
    expect(formatLogLine(line, 0, true)).toBe(line);
    expect(formatLogLine('error: etcd refused the connection')).toBe('error: etcd refused the connection');
  });
});
