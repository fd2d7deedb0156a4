// Every example in manifests/ is valid and is exercised by a test (directly, or
// through the README tutorial that test/e2e/readme.test.ts runs).
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { validateManifests } from '../../src/api/validate.js';

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

describe.each(manifests)('manifests/%s', (name) => {
  it('is valid', () => {
    const { pods, problems } = validateManifests(readFileSync(join(ROOT, 'manifests', name), 'utf8'), name);
    expect(problems).toEqual([]);
    expect(pods.length).toBeGreaterThan(0);
  });

  it('is exercised by a test', () => {
    const base = name.replace(/\.(ya?ml|json)$/, '');
    const named = tests.includes(`manifests/${name}`) || tests.includes(`apply('${base}')`); // probes.test.ts applies by base name
    expect(named || tutorial.includes(`manifests/${name}`)).toBe(true);
  });
});
