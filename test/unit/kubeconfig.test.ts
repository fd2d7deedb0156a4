// `minipod kubeconfig --merge`: minipod's cluster, user and context go into an
// existing kubeconfig, replacing those of the same name and leaving everything
// else as it was; a file that is not a kubeconfig is refused, not overwritten.
// And the file itself: 0600 whatever the umask, written through a symlink.
import { lstatSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { KubeconfigError, type MinipodEntry, kubeconfigText, mergeKubeconfig } from '../../src/cli/kubeconfig/config.js';
import { followSymlinks, kubeconfigPath, readKubeconfig, writeKubeconfig } from '../../src/cli/kubeconfig/file.js';

const CA = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const entry: MinipodEntry = { name: 'minipod', server: 'https://127.0.0.1:6443', caPem: CA, token: 'tok-123' };
const ours = {
  cluster: { name: 'minipod', cluster: { server: 'https://127.0.0.1:6443', 'certificate-authority-data': Buffer.from(CA).toString('base64') } },
  user: { name: 'minipod', user: { token: 'tok-123' } },
  context: { name: 'minipod', context: { cluster: 'minipod', user: 'minipod' } },
};

const OTHERS = `# my clusters
apiVersion: v1
kind: Config
preferences:
  colors: true
clusters:
- name: prod # the real one
  cluster:
    server: https://prod.example:6443
    insecure-skip-tls-verify: false
users:
- name: prod-admin
  user:
    token: prod-secret
contexts:
- name: prod
  context: {cluster: prod, user: prod-admin, namespace: web}
current-context: prod
extensions:
- name: x
  extension: {a: 1}
`;

const STALE = `apiVersion: v1
kind: Config
clusters:
- name: minipod
  cluster: {server: "https://127.0.0.1:1111", certificate-authority-data: b2xk}
- name: other
  cluster: {server: "https://other:6443"}
- name: minipod
  cluster: {server: "https://shadowed:1"}
users:
- name: minipod
  user: {token: old-token}
contexts:
- name: minipod
  context: {cluster: minipod, user: minipod, namespace: dev}
current-context: minipod
`;

describe('mergeKubeconfig', () => {
  const cases: { name: string; existing: string; switchContext?: boolean; expect: (cfg: any, r: ReturnType<typeof mergeKubeconfig>) => void }[] = [
    {
      name: 'an empty (or missing) file becomes a Config with minipod current',
      existing: '',
      expect: (cfg, r) => {
        expect(cfg).toMatchObject({ apiVersion: 'v1', kind: 'Config', clusters: [ours.cluster], users: [ours.user], contexts: [ours.context], 'current-context': 'minipod' });
        expect(r.replaced).toBe(false);
      },
    },
    {
      name: 'a file of comments only keeps them',
      existing: '# nothing yet\n',
      expect: (cfg, r) => {
        expect(cfg.clusters).toEqual([ours.cluster]);
        expect(r.text).toContain('# nothing yet');
      },
    },
    {
      name: 'null lists (kubectl config view of an empty config) are filled',
      existing: 'apiVersion: v1\nkind: Config\nclusters: null\nusers: []\ncontexts:\ncurrent-context: ""\npreferences: {}\n',
      expect: (cfg, r) => {
        expect([cfg.clusters, cfg.users, cfg.contexts]).toEqual([[ours.cluster], [ours.user], [ours.context]]);
        expect(r.text).not.toContain('[ {'); // block style, not a flow line
      },
    },
    {
      name: 'other clusters, users, contexts, preferences, extensions and comments are kept',
      existing: OTHERS,
      expect: (cfg, r) => {
        const before = parse(OTHERS);
        expect(cfg.clusters).toEqual([...before.clusters, ours.cluster]);
        expect(cfg.users).toEqual([...before.users, ours.user]);
        expect(cfg.contexts).toEqual([...before.contexts, ours.context]);
        expect(cfg.preferences).toEqual(before.preferences);
        expect(cfg.extensions).toEqual(before.extensions);
        expect(cfg['current-context']).toBe('minipod');
        expect(r.text).toContain('# my clusters');
        expect(r.text).toContain('# the real one');
        expect(r.text.startsWith(OTHERS.slice(0, OTHERS.indexOf('users:')))).toBe(true); // untouched lines stay as written
      },
    },
    {
      name: '--no-switch keeps the current context',
      existing: OTHERS,
      switchContext: false,
      expect: (cfg, r) => {
        expect(cfg['current-context']).toBe('prod');
        expect(r.currentContext).toBe('prod');
        expect(cfg.contexts).toContainEqual(ours.context);
      },
    },
    {
      name: 'entries of the same name are replaced (shadowed duplicates dropped), the context keeps its namespace',
      existing: STALE,
      expect: (cfg, r) => {
        expect(r.replaced).toBe(true);
        expect(cfg.clusters).toEqual([ours.cluster, { name: 'other', cluster: { server: 'https://other:6443' } }]);
        expect(cfg.users).toEqual([ours.user]);
        expect(cfg.contexts).toEqual([{ name: 'minipod', context: { cluster: 'minipod', user: 'minipod', namespace: 'dev' } }]);
        expect(r.text).not.toContain('old-token');
      },
    },
    {
      name: 'a JSON kubeconfig is merged too',
      existing: JSON.stringify({ apiVersion: 'v1', kind: 'Config', clusters: [{ name: 'j', cluster: { server: 'https://j' } }], users: [], contexts: [] }),
      expect: (cfg) => {
        expect(cfg.clusters).toEqual([{ name: 'j', cluster: { server: 'https://j' } }, ours.cluster]);
      },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const r = mergeKubeconfig(c.existing, entry, { switchContext: c.switchContext ?? true, file: '/k/config' });
      c.expect(parse(r.text), r);
    });
  }

  const malformed: [string, string, RegExp][] = [
    ['broken YAML', 'clusters:\n- name: a\n  cluster: {server: "x"\n', /^\/k\/config is not a valid kubeconfig: .*\(line \d+, column \d+\); it was left unchanged$/],
    ['a duplicate key', 'apiVersion: v1\napiVersion: v1\n', /Map keys must be unique/],
    ['a list at the top', '- a\n- b\n', /its top level is not a mapping/],
    ['another kind', 'apiVersion: v1\nkind: Pod\n', /its kind is "Pod", not Config/],
    ['clusters not a list', 'clusters: {a: 1}\n', /"clusters" is not a list/],
    ['an item not a mapping', 'users:\n- just-a-string\n', /an item of "users" is not a mapping/],
  ];
  for (const [what, text, message] of malformed) {
    it(`refuses ${what}`, () => {
      expect(() => mergeKubeconfig(text, entry, { switchContext: true, file: '/k/config' })).toThrow(KubeconfigError);
      expect(() => mergeKubeconfig(text, entry, { switchContext: true, file: '/k/config' })).toThrow(message);
    });
  }

  it('does not quote the file in its error (it may hold other tokens)', () => {
    const text = 'users:\n- name: a\n  user: {token: "very-secret-token"\n';
    let message = '';
    try {
      mergeKubeconfig(text, entry, { switchContext: true, file: '/k/config' });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/^\/k\/config is not a valid kubeconfig: .* \(line 4, column 1\); it was left unchanged$/);
    expect(message).not.toContain('very-secret-token');
  });
});

describe('kubeconfigText', () => {
  it('is a whole kubeconfig with minipod current, the CA on one line', () => {
    const text = kubeconfigText({ ...entry, caPem: CA.repeat(20) });
    const cfg = parse(text);
    expect(cfg).toMatchObject({ apiVersion: 'v1', kind: 'Config', 'current-context': 'minipod', users: [ours.user], contexts: [ours.context] });
    expect(Buffer.from(cfg.clusters[0].cluster['certificate-authority-data'], 'base64').toString()).toBe(CA.repeat(20));
    expect(text).toMatch(/certificate-authority-data: \S{200,}\n/);
  });
});

describe('the kubeconfig file', () => {
  const dir = mkdtempSync(join(os.tmpdir(), 'minipod-kubeconfig-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is the first file of $KUBECONFIG, else ~/.kube/config', () => {
    expect(kubeconfigPath({ KUBECONFIG: `/a/one:/b/two`, HOME: '/h' })).toBe('/a/one');
    expect(kubeconfigPath({ KUBECONFIG: `::/b/two`, HOME: '/h' })).toBe('/b/two');
    expect(kubeconfigPath({ KUBECONFIG: '', HOME: '/h' })).toBe('/h/.kube/config');
    expect(kubeconfigPath({ HOME: '/h' })).toBe('/h/.kube/config');
  });

  it('is written 0600 even with umask 0, creating its folder, leaving no temp file', () => {
    const file = join(dir, 'new', '.kube', 'config');
    const umask = process.umask(0);
    try {
      writeKubeconfig(file, 'a: 1\n');
    } finally {
      process.umask(umask);
    }
    expect(readFileSync(file, 'utf8')).toBe('a: 1\n');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'new', '.kube')).mode & 0o777).toBe(0o700);
    writeFileSync(join(dir, 'loose'), 'x', { mode: 0o644 });
    writeKubeconfig(join(dir, 'loose'), 'y');
    expect(statSync(join(dir, 'loose')).mode & 0o777).toBe(0o600);
    expect(readdirSync(join(dir, 'new', '.kube'))).toEqual(['config']);
  });

  it('is written through a symlink (chains and dangling links too), which stays a link', () => {
    const target = join(dir, 'real-config');
    writeFileSync(target, 'old\n');
    symlinkSync('real-config', join(dir, 'link1'));
    symlinkSync(join(dir, 'link1'), join(dir, 'link2'));
    const resolved = followSymlinks(join(dir, 'link2'));
    expect(resolved).toBe(target);
    writeKubeconfig(resolved, 'new\n');
    expect(lstatSync(join(dir, 'link2')).isSymbolicLink()).toBe(true);
    expect(readlinkSync(join(dir, 'link1'))).toBe('real-config');
    expect(readFileSync(join(dir, 'link2'), 'utf8')).toBe('new\n');
    symlinkSync('not-yet', join(dir, 'dangling'));
    expect(followSymlinks(join(dir, 'dangling'))).toBe(join(dir, 'not-yet'));
    expect(readKubeconfig(join(dir, 'dangling'))).toBe('');
  });

  it('refuses a symlink loop', () => {
    symlinkSync('loop-b', join(dir, 'loop-a'));
    symlinkSync('loop-a', join(dir, 'loop-b'));
    expect(() => followSymlinks(join(dir, 'loop-a'))).toThrow(/too many levels of symbolic links/);
  });
});
