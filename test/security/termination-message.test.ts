// A container writes its termination message into a file the kubelet reads: a
// hostile container may make it huge. The kubelet reads only its last 4 KiB, and
// a pod's messages together keep at most 12 KiB.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pod } from '../../src/api/types.js';
import { bytesPerContainer, readMessage } from '../../src/kubelet/termination-messages.js';
import { TestCluster, watchPod } from '../e2e/harness.js';

describe('reading a termination message file', () => {
  const dir = mkdtempSync(join(os.tmpdir(), 'minipod-termination-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps the last 4 KiB of a 100 MB file without reading the rest', () => {
    const file = join(dir, 'huge');
    truncateSync((writeFileSync(file, ''), file), 100 * 1024 * 1024);
    writeFileSync(file, 'the end\n', { flag: 'a' });
    const before = process.memoryUsage().rss;
    const message = readMessage(file);
    expect(Buffer.byteLength(message)).toBe(4096);
    expect(message.endsWith('\0the end\n')).toBe(true);
    expect(process.memoryUsage().rss - before).toBeLessThan(10 * 1024 * 1024);
  });

  it('reads nothing through a symlink or from a fifo planted in its place', () => {
    writeFileSync(join(dir, 'secret'), 'host secret');
    symlinkSync(join(dir, 'secret'), join(dir, 'link'));
    expect(readMessage(join(dir, 'link'))).toBe('');
    execFileSync('mkfifo', [join(dir, 'fifo')]);
    expect(readMessage(join(dir, 'fifo'))).toBe(''); // and does not block
  });

  it('splits 12 KiB between the containers of a pod', () => {
    const pod = (n: number, init = 0) => ({ spec: { containers: Array(n).fill({}), initContainers: Array(init).fill({}) } }) as unknown as Pod;
    expect(bytesPerContainer(pod(1))).toBe(12288);
    expect(bytesPerContainer(pod(3))).toBe(4096);
    expect(bytesPerContainer(pod(4, 2))).toBe(2048);
  });
});

describe('a daemon facing a 100 MB termination message', () => {
  const cluster = new TestCluster();
  beforeAll(() => cluster.start(), 60_000);
  afterAll(() => cluster.cleanup(), 60_000);
  const peakRss = () => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${cluster.daemonPid}/status`, 'utf8'))![1]) * 1024;

  it('keeps its peak RSS within 10 MB and reports 4 KiB per container at most, 12 KiB per pod', async () => {
    const before = peakRss();
    const writer = (name: string, fill: string) => `    - name: ${name}
      image: busybox:1.36
      command: ["sh", "-c", "${fill}; echo LAST-${name} >> /dev/termination-log; exit 3"]`;
    const res = await cluster.mp(['apply', '-f', '-'], `apiVersion: v1
kind: Pod
metadata: {name: huge-last-words}
spec:
  restartPolicy: Never
  containers:
${writer('huge', 'yes x | head -c 104857600 > /dev/termination-log')}
${writer('a', 'yes a | head -c 8000 > /dev/termination-log')}
${writer('b', 'yes b | head -c 8000 > /dev/termination-log')}
${writer('c', 'yes c | head -c 8000 > /dev/termination-log')}
`);
    expect(res.stderr).toBe('');
    const pod = await watchPod(cluster.client, 'default', 'huge-last-words', (p) => p.status?.phase === 'Failed', 60_000, 'Failed');
    const messages = pod.status!.containerStatuses!.map((s) => s.state.terminated!.message ?? '');
    // Four containers: 3 KiB each, the start of each one's last 4 KiB.
    for (const m of messages) expect(Buffer.byteLength(m)).toBe(3072);
    expect(messages.join('').length).toBeLessThanOrEqual(12 * 1024);
    expect(messages[0]).toMatch(/^[x\n]+$/);
    expect(messages[1]).toMatch(/^[a\n]+$/);
    const growth = peakRss() - before;
    console.log(`termination messages: daemon peak RSS grew ${(growth / 1024 / 1024).toFixed(1)} MB reading a 100 MB file`);
    expect(growth).toBeLessThan(10 * 1024 * 1024);
  }, 90_000);
});
