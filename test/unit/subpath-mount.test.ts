// The pinned bind mount of a verified subPath: the runtime mounts a target that
// shows the inode that was checked, whatever happens to the path afterwards.
// (Needs mount(2): the suite runs as root, as its Docker tests do.)
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bindSubPath, canBindMount, subPathTarget } from '../../src/kubelet/subpath-mount.js';
import { SubPathError } from '../../src/kubelet/subpath.js';
import { unmountAllUnder } from '../../src/kubelet/tmpfs.js';

let root: string;
let vol: string;
beforeEach(() => {
  root = realpathSync(mkdtempSync(join(os.tmpdir(), 'minipod-subpath-mount-')));
  vol = join(root, 'vol');
  mkdirSync(join(vol, 'data'), { recursive: true });
  writeFileSync(join(vol, 'data', 'mine'), 'pod data');
  writeFileSync(join(vol, 'file'), 'one file');
});
afterEach(() => {
  unmountAllUnder(root);
  rmSync(root, { recursive: true, force: true });
});

describe.runIf(canBindMount())('bindSubPath', () => {
  it('mounts the checked folder, and keeps showing it after the path is swapped for a link to /', () => {
    const target = bindSubPath(vol, 'data', subPathTarget(join(root, 'subpaths'), 'v', 'c', 0));
    expect(statSync(target).ino).toBe(statSync(join(vol, 'data')).ino);
    // The container's move: rename the checked folder away and plant a link to the host's root.
    renameSync(join(vol, 'data'), join(vol, 'moved'));
    symlinkSync('/', join(vol, 'data'));
    expect(readdirSync(target)).toEqual(['mine']);
    expect(readFileSync(join(target, 'mine'), 'utf8')).toBe('pod data');
  });

  it('mounts a single file too, and re-binds the same target at the next start', () => {
    const target = subPathTarget(join(root, 'subpaths'), 'v', 'c', 1);
    bindSubPath(vol, 'file', target);
    writeFileSync(join(vol, 'file2'), 'two');
    execFileSync('mv', [join(vol, 'file2'), join(vol, 'file')]);
    bindSubPath(vol, 'file', target); // next attempt: the old mount is replaced
    expect(readFileSync(target, 'utf8')).toBe('two');
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.split(' ')[4] === target);
    expect(mounts).toHaveLength(1);
  });

  it('refuses a link out of the volume before mounting anything', () => {
    symlinkSync('/', join(vol, 'r'));
    const target = subPathTarget(join(root, 'subpaths'), 'v', 'c', 2);
    expect(() => bindSubPath(vol, 'r', target)).toThrow(SubPathError);
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(target);
  });
});
