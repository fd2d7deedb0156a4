// The kubelet's subPath resolver (CVE-2017-1002101) and hostPath creation, on
// real temporary folders: no symlink may carry a mount, or a created file or
// folder, out of where it belongs.
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync, chmodSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Container, Pod } from '../../src/api/types.js';
import { ContainerConfigError, buildContainerConfig, type PodContext } from '../../src/kubelet/container-config.js';
import { SubPathError, openInside, resolveSubPath, type SubPathStep } from '../../src/kubelet/subpath.js';
import { hostPathWithin, prepareVolumes } from '../../src/kubelet/volumes.js';

let root: string; // real path: os.tmpdir() may itself be a link
let vol: string;
let outside: string;

beforeEach(() => {
  root = realpathSync(mkdtempSync(join(os.tmpdir(), 'minipod-subpath-')));
  vol = join(root, 'vol');
  outside = join(root, 'outside');
  mkdirSync(vol);
  chmodSync(vol, 0o777);
  mkdirSync(outside);
  writeFileSync(join(outside, 'secret'), 'host data');
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function refused(subPath: string, step: SubPathStep, message?: RegExp): SubPathError {
  let caught: unknown;
  try {
    resolveSubPath(vol, subPath);
  } catch (err) {
    caught = err;
  }
  expect(caught, `subPath ${subPath} must be refused`).toBeInstanceOf(SubPathError);
  const err = caught as SubPathError;
  expect(err.step).toBe(step);
  if (message) expect(err.message).toMatch(message);
  return err;
}

describe('resolveSubPath', () => {
  it('a plain subPath is the folder inside the volume', () => {
    mkdirSync(join(vol, 'data'));
    expect(resolveSubPath(vol, 'data')).toEqual({ path: join(vol, 'data'), directory: true });
    expect(resolveSubPath(vol, './data/')).toEqual({ path: join(vol, 'data'), directory: true });
  });

  it('makes missing nested folders, real folders with the volume mode', () => {
    expect(resolveSubPath(vol, 'a/b/c')).toEqual({ path: join(vol, 'a/b/c'), directory: true });
    for (const p of ['a', 'a/b', 'a/b/c']) {
      const st = lstatSync(join(vol, p));
      expect(st.isDirectory()).toBe(true);
      expect(st.mode & 0o7777).toBe(0o777);
    }
  });

  it('mounts a single file', () => {
    writeFileSync(join(vol, 'app.conf'), 'x=1');
    expect(resolveSubPath(vol, 'app.conf')).toEqual({ path: join(vol, 'app.conf'), directory: false });
  });

  it.each([['..'], ['../outside'], ['a/../../outside'], ['a/..']])('refuses the backstep in %s', (subPath) => {
    refused(subPath, 'validate', /^unable to provision SubPath `.*`: must not contain '\.\.'$/);
    expect(readdirSync(vol)).toEqual([]);
  });

  it('refuses an absolute subPath', () => {
    refused('/etc', 'validate', /^error SubPath `\/etc` must not be an absolute path$/);
  });

  it.each([
    ['an absolute link to /', () => symlinkSync('/', join(vol, 'r')), 'r'],
    ['an absolute link to a host folder', () => symlinkSync(outside, join(vol, 'r')), 'r'],
    ['an absolute link to a host file', () => symlinkSync(join(outside, 'secret'), join(vol, 'r')), 'r'],
    ['a relative link climbing out', () => symlinkSync('../../..', join(vol, 'r')), 'r'],
    ['a relative link climbing out by one', () => symlinkSync('..', join(vol, 'r')), 'r/outside'],
    ['a link in a middle component', () => symlinkSync(outside, join(vol, 'm')), 'm/secret'],
    ['a link to a link out', () => (symlinkSync('/', join(vol, 'out')), symlinkSync('out', join(vol, 'r'))), 'r/etc'],
  ])('refuses %s', (_what, plant, subPath) => {
    plant();
    refused(subPath, 'prepare', /not within volume path/);
  });

  it('refuses to make a missing folder behind a link out of the volume', () => {
    symlinkSync(outside, join(vol, 'm'));
    refused('m/made', 'create', /outside of allowed base/);
    expect(existsSync(join(outside, 'made'))).toBe(false);
  });

  it.each([
    ['out of the volume', () => join(outside, 'made')],
    ['inside the volume', () => 'made'],
  ])('refuses a dangling link %s and creates nothing through it', (_what, target) => {
    symlinkSync(target(), join(vol, 'd'));
    refused('d', 'create', /cannot create directory/);
    refused('d/x', 'create');
    expect(existsSync(join(outside, 'made'))).toBe(false);
    expect(existsSync(join(vol, 'made'))).toBe(false);
  });

  it('follows links that stay inside the volume', () => {
    mkdirSync(join(vol, 'real/dir'), { recursive: true });
    symlinkSync('real', join(vol, 'rel'));
    symlinkSync(join(vol, 'real'), join(vol, 'abs'));
    expect(resolveSubPath(vol, 'rel/dir').path).toBe(join(vol, 'real/dir'));
    expect(resolveSubPath(vol, 'abs/dir').path).toBe(join(vol, 'real/dir'));
    expect(resolveSubPath(vol, 'rel/new').path).toBe(join(vol, 'real/new'));
    expect(lstatSync(join(vol, 'real/new')).isDirectory()).toBe(true);
    symlinkSync('.', join(vol, 'self'));
    expect(resolveSubPath(vol, 'self').path).toBe(vol);
  });

  it('takes a volume whose own path is a link (the host may have those)', () => {
    symlinkSync(vol, join(root, 'vol-link'));
    mkdirSync(join(vol, 'data'));
    expect(resolveSubPath(join(root, 'vol-link'), 'data').path).toBe(join(vol, 'data'));
  });

  it('the verifying walk refuses any link on the way, even one inside', () => {
    mkdirSync(join(vol, 'real'));
    symlinkSync('real', join(vol, 'alias'));
    expect(() => openInside(join(vol, 'alias'), vol)).toThrow(/unexpected symlink found/);
    expect(() => openInside(outside, vol)).toThrow(/outside of allowed base/);
  });
});

describe('buildContainerConfig with a subPath', () => {
  const container: Container = { name: 'app', image: 'busybox', volumeMounts: [{ name: 'd', mountPath: '/host', subPath: 'r' }] };
  const ctx = (): PodContext => ({
    pod: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default', uid: 'u' }, spec: { containers: [container] } },
    volumeDirs: new Map([['d', vol]]),
  });

  it('binds the verified path', () => {
    mkdirSync(join(vol, 'real'));
    symlinkSync('real', join(vol, 'r'));
    const cfg = buildContainerConfig(container, 'app', 0, ctx());
    expect(cfg.mounts).toEqual([{ hostPath: join(vol, 'real'), containerPath: '/host', readOnly: undefined }]);
  });

  it('an escape is a ContainerConfigError with the kubelet message, host paths only in the detail', () => {
    symlinkSync('/', join(vol, 'r'));
    let caught: unknown;
    try {
      buildContainerConfig(container, 'app', 0, ctx());
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ContainerConfigError);
    expect((caught as ContainerConfigError).message).toBe('failed to prepare subPath for volumeMount "d" of container "app"');
    expect((caught as ContainerConfigError).detail).toBe(`subpath "/" not within volume path "${vol}"`);
  });

  it('a folder that cannot be made has its own message', () => {
    symlinkSync(join(outside, 'made'), join(vol, 'r'));
    expect(() => buildContainerConfig(container, 'app', 0, ctx())).toThrow('failed to create subPath directory for volumeMount "d" of container "app"');
    expect(existsSync(join(outside, 'made'))).toBe(false);
  });
});

describe('hostPath volumes never create through a planted link', () => {
  const pod = (path: string, type: string): Pod => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', namespace: 'default', uid: 'u' },
    spec: { containers: [{ name: 'c', image: 'i' }], volumes: [{ name: 'h', hostPath: { path, type } }] },
  });
  const prepare = (path: string, type: string) => prepareVolumes(join(root, 'pods'), pod(path, type)).get('h');

  it('DirectoryOrCreate makes the missing folders; FileOrCreate an empty file', () => {
    expect(prepare(join(root, 'hp/a/b'), 'DirectoryOrCreate')).toBe(join(root, 'hp/a/b'));
    expect(lstatSync(join(root, 'hp/a/b')).isDirectory()).toBe(true);
    expect(prepare(join(root, 'hp/f'), 'FileOrCreate')).toBe(join(root, 'hp/f'));
    expect(statSync(join(root, 'hp/f')).size).toBe(0);
    expect(statSync(join(root, 'hp/f')).mode & 0o777).toBe(0o644);
  });

  it('an existing link is type-checked by what it points to', () => {
    symlinkSync(outside, join(root, 'dir-link'));
    expect(prepare(join(root, 'dir-link'), 'DirectoryOrCreate')).toBe(join(root, 'dir-link'));
    symlinkSync(join(outside, 'secret'), join(root, 'file-link'));
    expect(prepare(join(root, 'file-link'), 'FileOrCreate')).toBe(join(root, 'file-link'));
    expect(() => prepare(join(root, 'file-link'), 'DirectoryOrCreate')).toThrow(/is not a directory/);
  });

  it.each(['DirectoryOrCreate', 'FileOrCreate'])('%s refuses a dangling link and creates nothing through it', (type) => {
    symlinkSync(join(outside, 'planted'), join(root, 'dangling'));
    expect(() => prepare(join(root, 'dangling'), type)).toThrow(/could not be created/);
    expect(existsSync(join(outside, 'planted'))).toBe(false);
    expect(() => prepare(join(root, 'dangling/below'), type)).toThrow(/could not be created/);
    expect(existsSync(join(outside, 'planted'))).toBe(false);
  });

  it('hostPathWithin follows the host links a lexical prefix check misses', () => {
    const allowed = join(root, 'allowed');
    mkdirSync(allowed);
    symlinkSync('/etc', join(allowed, 'etc-link'));
    symlinkSync(join(outside, 'planted'), join(allowed, 'dangling'));
    expect(hostPathWithin(join(allowed, 'data'), allowed)).toBe(true);
    expect(hostPathWithin(join(allowed, 'new/deeper'), allowed)).toBe(true);
    expect(hostPathWithin(join(allowed, 'etc-link'), allowed)).toBe(false);
    expect(hostPathWithin(join(allowed, 'etc-link/passwd'), allowed)).toBe(false);
    expect(hostPathWithin(join(allowed, '../outside'), allowed)).toBe(false);
    expect(hostPathWithin(join(allowed, 'dangling'), allowed)).toBe(false);
    expect(hostPathWithin(join(root, 'allowed-not'), allowed)).toBe(false);
  });
});
