// Every bad manifest is refused with exit code 1, each problem at its file:line:col,
// no stack trace, and nothing stored or running changes.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, TestCluster, watchPod } from './harness.js';

const BAD = 'test/fixtures/bad';
const fixtures = readdirSync(BAD).filter((f) => f.endsWith('.yaml') || f.endsWith('.json'));
const cluster = new TestCluster();
let before: string;

const podsSnapshot = async () =>
  JSON.stringify((await cluster.client.listPods(undefined)).items.map((p) => [p.metadata.name, p.metadata.resourceVersion]));

beforeAll(async () => {
  await cluster.start();
  // A pod that must survive every bad apply unchanged.
  const ok = await cluster.mp(['apply', '-f', 'manifests/sleeper.yaml']);
  expect(ok.code).toBe(0);
  await watchPod(cluster.client, 'default', 'sleeper', (p) => p.status?.containerStatuses?.[0]?.ready === true, 30_000, 'ready');
  before = await podsSnapshot();
}, 60_000);
afterAll(() => cluster.cleanup(), 60_000);

describe('bad manifests', () => {
  it('has at least 20 of them', () => expect(fixtures.length).toBeGreaterThanOrEqual(20));

  it.each(fixtures)('%s is refused with its file:line:col', async (name) => {
    const file = join(BAD, name);
    const expected = readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('# expect: '))
      .map((l) => l.slice('# expect: '.length));
    const res = await cluster.mp(['apply', '-f', file]);
    expect(res.code).toBe(1);
    expect(res.stdout).toBe('');
    expect(res.stderr).not.toMatch(/\n\s+at /); // no stack trace
    const lines = res.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(expected.length);
    expected.forEach((exp, i) => {
      const [line, col] = exp.split(':');
      expect(lines[i].startsWith(`${file}:${line}:${col}: `)).toBe(true);
      expect(lines[i]).toContain(exp.split(': ').slice(1).join(': ').slice(0, 40));
    });
  });

  it('changed nothing stored', async () => {
    expect(await podsSnapshot()).toBe(before);
  });

  it('are refused by --dry-run=client without a daemon too', async () => {
    const env = { ...process.env, MINIPOD_HOME: '/nonexistent-minipod-home' };
    const bad = await runCli(['apply', '--dry-run=client', '-f', join(BAD, 'misspelt-field.yaml')], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('did you mean "imagePullPolicy"?');
    const good = await runCli(['apply', '--dry-run=client', '-f', 'test/fixtures/good/multi-doc.yaml'], env);
    expect(good.code).toBe(0);
    expect(good.stdout).toMatch(/^pod\/\S+ created \(dry run\)$/m);
  });

  it('are refused by the API server as well, as a 422 Status', async () => {
    const res = await cluster.client
      .request('POST', '/api/v1/namespaces/default/pods', {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'Bad_Name' },
        spec: { containers: [{ name: 'a', image: 'x', imagePullPolicy: 'Sometimes' }] },
      })
      .catch((e) => e);
    expect(res.status).toMatchObject({ kind: 'Status', code: 422, reason: 'Invalid' });
    expect(res.message).toContain('metadata.name: Invalid value: "Bad_Name"');
    expect(res.message).toContain('spec.containers[0].imagePullPolicy: Unsupported value: "Sometimes"');
    expect(await podsSnapshot()).toBe(before);
  });
});
