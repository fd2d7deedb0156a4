// Every example in manifests/ is valid, is admitted by the daemon's default Pod
// Security level (baseline), and is exercised by a test (directly, or through
// the README tutorial that test/e2e/readme.test.ts runs).
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { validateManifests } from '../../src/api/validate.js';
import { describeFailures, evaluate } from '../../src/apiserver/pod-security/checks.js';

const ROOT = join(import.meta.dirname, '../..');
const manifests = readdirSync(join(ROOT, 'manifests')).filter((f) => /\.(ya?ml|json)$/.test(f));

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}
const tests = filesUnder(join(ROOT, 'test')).map((f) => readFileSync(f, 'utf8')).join('\n');
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const tutorial = readme.slice(readme.indexOf('\n## Tutorial'), readme.indexOf('\n## ', readme.indexOf('\n## Tutorial') + 1));

/** The examples that show what baseline refuses: they run in a namespace labelled enforce=privileged. */
const NOT_BASELINE: Record<string, string> = {
  'host-port.yaml': 'hostPort (container "web" uses hostPort 18080)',
};

describe.each(manifests)('manifests/%s', (name) => {
  it('is valid', () => {
    const { pods, problems } = validateManifests(readFileSync(join(ROOT, 'manifests', name), 'utf8'), name);
    expect(problems).toEqual([]);
    expect(pods.length).toBeGreaterThan(0);
  });

  it('is admitted under the default Pod Security level, baseline', () => {
    const { pods } = validateManifests(readFileSync(join(ROOT, 'manifests', name), 'utf8'), name);
    expect(pods.map((p) => describeFailures(evaluate('baseline', p.metadata, p.spec))).filter(Boolean).join('; ')).toBe(NOT_BASELINE[name] ?? '');
  });

  it('is exercised by a test', () => {
    const base = name.replace(/\.(ya?ml|json)$/, '');
    const named = tests.includes(`manifests/${name}`) || tests.includes(`apply('${base}')`); // probes.test.ts applies by base name
    expect(named || tutorial.includes(`manifests/${name}`)).toBe(true);
  });
});
