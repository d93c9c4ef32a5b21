import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { discardsFreedBlocks, mountOf } from '../../src/stores/mount-options.js';

const onLinux = existsSync('/proc/mounts');

describe('mountOf', { skip: onLinux ? false : 'no /proc/mounts (not Linux)' }, () => {
  const lines = () => readFileSync('/proc/mounts', 'utf8').split('\n').filter(Boolean);

  it('names the mount of the root folder as /proc/mounts lists it', () => {
    const root = lines()
      .map((l) => l.split(' '))
      .filter((f) => f[1] === '/')
      .at(-1);
    assert.ok(root, 'a mount of /');
    assert.deepEqual(mountOf('/'), { type: root[2], options: root[3]?.split(',') });
    assert.equal(discardsFreedBlocks('/'), root[3]?.split(',').includes('discard'));
  });

  it('takes the longest mount point holding the folder', () => {
    // /proc is a mount of its own below /, whatever / is.
    assert.equal(mountOf('/proc/self')?.type, 'proc');
  });

  it('is undefined for a folder that does not exist', () => {
    assert.equal(mountOf('/no/such/folder/anywhere'), undefined);
    assert.equal(discardsFreedBlocks('/no/such/folder/anywhere'), false);
  });
});
